"""PySpark's collect_list, collect_set, max_by, min_by and the percentiles in ``groupBy(...).agg(...)`` on a
stream: the engine's streaming aggregates (tests/engine/test_collect_aggregates.py), named as Spark names them."""

import pandas as pd
import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F


def _at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


@pytest.mark.parametrize(("column", "name"), [
    (F.collect_list("n"), "collect_list(n)"),
    (F.max_by("word", "n"), "max_by(word, n)"),
    (F.percentile_approx("n", 0.5), "percentile_approx(n, 0.5, 10000)"),
    (F.percentile_approx("n", [0.25, 0.75], 100), "percentile_approx(n, array(0.25, 0.75), 100)"),
    (F.percentile("n", 0.5), "percentile(n, 0.5, 1)"),
    (F.median("n"), "median(n)"),
])
def test_names_as_spark(column, name):
    assert column._name == name


def test_percentile_with_a_frequency_is_refused():
    with pytest.raises(AnalysisException, match="frequency"):
        F.percentile("n", 0.5, 2)


def test_collect_and_by_aggregates_on_a_stream(spark, events):
    df = spark.readStream.load(events).groupBy("word").agg(
        F.collect_list("n").alias("ns"), F.collect_set("n").alias("distinct_ns"), F.max_by("ts", "n").alias("at_max"),
        F.min_by("n", "ts").alias("first_n"), F.percentile_approx("n", 0.5).alias("mid"), F.median("n").alias("med"))
    q = df.writeStream.format("memory").queryName("collected").outputMode("complete").start()
    try:
        events.add_data([{"ts": _at(1), "word": "a", "n": 3}, {"ts": _at(2), "word": "a", "n": 1}])
        q.processAllAvailable()
        events.add_data([{"ts": _at(3), "word": "a", "n": 3}, {"ts": _at(4), "word": "b", "n": 7}])
        q.processAllAvailable()
        rows = {r.word: r for r in spark.sql("SELECT * FROM collected").collect()}
    finally:
        q.stop()
    a = rows["a"]
    assert list(a.ns) == [3, 1, 3] and sorted(a.distinct_ns) == [1, 3]
    assert pd.Timestamp(a.at_max).tz_localize(None) == _at(3).tz_localize(None)  # the later of two n = 3
    assert (a.first_n, a.mid, a.med) == (3, 3, 3.0)
    assert list(rows["b"].ns) == [7]
