"""PySpark's skewness and kurtosis, covariance, correlation and regression in ``groupBy(...).agg(...)`` on a
stream: the engine's streaming central moments and co-moments (sql/aggregates.py SHAPES, CO_MOMENTS), named
as Spark names them, NULL for a constant group as Spark's default."""

import pandas as pd
import pytest

from stream_nb.pyspark.sql import functions as F


def _at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


def test_names_as_spark():
    assert (F.skewness("n")._name, F.kurtosis(F.col("n"))._name) == ("skewness(n)", "kurtosis(n)")


def _two_batches(spark, events, df, name: str) -> dict:
    """Over n = 1, 5, 9, 2 (word a) and 4, 4 (b), in two batches: the memory table's rows by word."""
    q = df.writeStream.format("memory").queryName(name).outputMode("complete").start()
    try:
        events.add_data([{"ts": _at(1), "word": "a", "n": 1}, {"ts": _at(2), "word": "a", "n": 5},
                         {"ts": _at(2), "word": "b", "n": 4}])
        q.processAllAvailable()
        events.add_data([{"ts": _at(3), "word": "a", "n": 9}, {"ts": _at(4), "word": "a", "n": 2},
                         {"ts": _at(4), "word": "b", "n": 4}])
        q.processAllAvailable()
        return {r.word: r for r in spark.sql(f"SELECT * FROM {name}").collect()}
    finally:
        q.stop()


def test_skewness_and_kurtosis_on_a_stream(spark, events):
    df = spark.readStream.load(events).groupBy("word").agg(F.skewness("n"), F.kurtosis("n").alias("k"))
    rows = _two_batches(spark, events, df, "moments")
    # Spark's values for a: 1, 5, 9, 2 (population moments: sqrt(n) * M3 / M2^1.5, n * M4 / M2^2 - 3)
    assert rows["a"]["skewness(n)"] == pytest.approx(0.5130239584603057)
    assert rows["a"].k == pytest.approx(-1.277585848074922)
    # M2 = 0: NULL, as Spark 3.5 by default; collect() gives it as None, as Spark's does
    assert rows["b"]["skewness(n)"] is None and rows["b"].k is None


def test_covariance_correlation_and_regression_names_as_spark():
    assert (F.corr("n", "m")._name, F.covar_samp(F.col("n"), "m")._name, F.regr_slope("y", "x")._name) == \
        ("corr(n, m)", "covar_samp(n, m)", "regr_slope(y, x)")


def test_covariance_correlation_and_regression_on_a_stream(spark, events):
    """n against itself, doubled, and as y = 3n + 1."""
    n = F.col("n")
    df = spark.readStream.load(events).groupBy("word").agg(
        F.corr(n, n * 2).alias("c"), F.covar_samp("n", "n").alias("var"), F.covar_pop(n, n * 2).alias("cp"),
        F.regr_slope(n * 3 + 1, n).alias("slope"), F.regr_intercept(n * 3 + 1, n).alias("icpt"),
        F.regr_count(n, n).alias("rc"))
    rows = _two_batches(spark, events, df, "comoments")
    a = pd.Series([1, 5, 9, 2])
    assert rows["a"].c == pytest.approx(1.0) and rows["a"].var == pytest.approx(a.var())
    assert rows["a"].cp == pytest.approx(2 * a.var(ddof=0))
    assert (rows["a"].slope, rows["a"].icpt, rows["a"].rc) == (pytest.approx(3.0), pytest.approx(1.0), 4)
    # b is constant: no spread, so no correlation and no slope (NULL, as Spark), a covariance of 0
    assert (rows["b"].c, rows["b"].slope, rows["b"].var, rows["b"].rc) == (None, None, 0.0, 2)
