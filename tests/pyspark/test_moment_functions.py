"""PySpark's skewness and kurtosis in ``groupBy(...).agg(...)`` on a stream: the engine's streaming central
moments (sql/aggregates.py SHAPES), named as Spark names them, NULL for a constant group as Spark's default."""

import pandas as pd
import pytest

from stream_nb.pyspark.sql import functions as F


def _at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


def test_names_as_spark():
    assert (F.skewness("n")._name, F.kurtosis(F.col("n"))._name) == ("skewness(n)", "kurtosis(n)")


def test_skewness_and_kurtosis_on_a_stream(spark, events):
    df = spark.readStream.load(events).groupBy("word").agg(F.skewness("n"), F.kurtosis("n").alias("k"))
    q = df.writeStream.format("memory").queryName("moments").outputMode("complete").start()
    try:
        events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "a", "n": 5},
                         {"ts": _at(2), "word": "b", "n": 4}])
        q.processAllAvailable()
        events.add_data([{"ts": _at(3), "word": "a", "n": 9}, {"ts": _at(4), "word": "a", "n": 2},
                         {"ts": _at(4), "word": "b", "n": 4}])
        q.processAllAvailable()
        rows = {r.word: r for r in spark.sql("SELECT * FROM moments").collect()}
    finally:
        q.stop()
    # Spark's values for a: 1, 5, 9, 2 (population moments: sqrt(n) * M3 / M2^1.5, n * M4 / M2^2 - 3)
    assert rows["a"]["skewness(n)"] == pytest.approx(0.5130239584603057)
    assert rows["a"].k == pytest.approx(-1.277585848074922)
    # M2 = 0: NULL, as Spark 3.5 by default; collect() gives it as None, as Spark's does
    assert rows["b"]["skewness(n)"] is None and rows["b"].k is None
