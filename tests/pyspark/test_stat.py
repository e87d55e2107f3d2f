"""df.replace / df.na.replace and df.stat (corr, cov, approxQuantile) on static DataFrames: each expected value
is PySpark 4's over the same rows (local[1])."""

import math

import pytest

from stream_nb.pyspark.errors import IllegalArgumentException, PySparkTypeError, PySparkValueError

NAN = float("nan")


@pytest.fixture
def df(spark):
    return spark.createDataFrame([("a", 1, 2.0, True), ("b", 2, NAN, False), (None, 3, None, None),
                                  ("a", None, 4.5, True)], "k string, i int, v double, b boolean")


def rows(df):
    return [tuple("NaN" if isinstance(x, float) and math.isnan(x) else x for x in r) for r in df.collect()]


def test_replace_puts_the_value_in_the_columns_of_its_kind_cast_to_each(df):
    assert rows(df.replace(2, 9.7)) == [("a", 1, 9.7, True), ("b", 9, "NaN", False), (None, 3, None, None),
                                        ("a", None, 4.5, True)]  # an int column takes 9
    assert rows(df.replace([1, 3], [10, 30])) == [("a", 10, 2.0, True), ("b", 2, "NaN", False),
                                                  (None, 30, None, None), ("a", None, 4.5, True)]
    assert rows(df.replace(["a", "b"], "z"))[:2] == [("z", 1, 2.0, True), ("z", 2, "NaN", False)]
    assert rows(df.replace("a", None))[0] == (None, 1, 2.0, True)
    assert rows(df.replace({1: 100, 4.5: 0.5}))[::3] == [("a", 100, 2.0, True), ("a", None, 0.5, True)]
    assert rows(df.replace(2, 5, subset=["v"]))[:2] == [("a", 1, 5.0, True), ("b", 2, "NaN", False)]
    assert rows(df.replace(True, False))[0] == ("a", 1, 2.0, False)
    assert rows(df.replace(NAN, 0.0))[1] == ("b", 2, 0.0, False)
    assert rows(df.na.replace("a", "A", "k"))[0] == ("A", 1, 2.0, True)
    assert df.replace(2, 20).schema == df.schema


def test_replace_refuses_mixed_kinds_and_a_missing_value(df):
    with pytest.raises(PySparkValueError, match="Mixed type replacements are not supported"):
        df.replace({"a": 1})
    with pytest.raises(PySparkTypeError, match="ARGUMENT_REQUIRED"):
        df.replace(1)


def test_corr_and_cov_read_a_null_as_zero_as_sparks_stat_functions(df, spark):
    nulls = spark.createDataFrame([(1, 2.0), (2, None), (3, 1.5), (3, 4.0), (None, 0.5), (5, 2.0)], "i int, v double")
    assert nulls.cov("i", "v") == pytest.approx(1.0333333333333332)
    assert nulls.corr("i", "v") == pytest.approx(0.42076709959337494)
    assert df.stat.cov("i", "i") == pytest.approx(1.6666666666666667)
    assert math.isnan(df.corr("i", "v"))  # a NaN among the values
    pair = spark.createDataFrame([(1.0, 2.0), (1.0, 3.0)], "x double, y double")
    assert math.isnan(pair.corr("x", "y"))  # a side that does not vary: 0 / 0 (SQL's corr says NULL)
    assert pair.limit(1).cov("x", "y") == 0.0 and pair.limit(0).cov("x", "y") == 0.0
    with pytest.raises(IllegalArgumentException, match="correlation calculation for columns with dataType string"):
        df.corr("k", "i")


def test_approx_quantile_answers_the_value_of_each_rank_leaving_nulls_and_nan_out(df, spark):
    assert df.approxQuantile(["i", "v"], [0.0, 0.25, 0.5, 1.0], 0.0) == [[1.0, 1.0, 2.0, 3.0], [2.0, 2.0, 2.0, 4.5]]
    hundred = spark.createDataFrame([(float(x),) for x in range(100)], "x double")
    assert hundred.approxQuantile("x", [0.33, 0.66], 0.0) == [32.0, 65.0]
    assert spark.createDataFrame([], "x double").approxQuantile("x", [0.5], 0.1) == []
    with pytest.raises(PySparkValueError, match="NEGATIVE_VALUE"):
        hundred.approxQuantile("x", [0.5], -1.0)


def test_approx_quantile_within_a_relative_error_answers_sparks_greenwald_khanna_value(spark):
    """Spark's QuantileSummaries merges neighbouring samples within 2 e n and answers the first sample whose
    rank range holds the target: not the exact rank's value (PySpark 4's answers, local[1])."""
    df = spark.createDataFrame([(1.0,), (None,), (3.0,), (NAN,), (-1.0,), (2.0,)], "x double")
    assert df.approxQuantile("x", [0.0, 0.25, 0.5, 0.75, 1.0], 0.3) == [-1.0, -1.0, -1.0, 3.0, 3.0]
    assert df.approxQuantile("x", [0.0, 0.25, 0.5, 0.75, 1.0], 0.0) == [-1.0, -1.0, 1.0, 2.0, 3.0]
    spread = spark.createDataFrame([(float(i * 7 % 1000), i) for i in range(1000)], "x double, i bigint")
    assert spread.approxQuantile("x", [0.1, 0.25, 0.5, 0.75, 0.9], 0.05) == [79.0, 238.0, 478.0, 703.0, 858.0]
    assert spread.approxQuantile(["x", "i"], [0.1, 0.25, 0.5, 0.75, 0.9], 0.2) == \
        [[0.0, 218.0, 441.0, 600.0, 999.0], [0.0, 218.0, 441.0, 600.0, 999.0]]


def test_sample_keeps_about_the_fraction_and_the_same_rows_for_the_same_seed(spark):
    df = spark.createDataFrame([(i,) for i in range(5000)], "id bigint")
    kept = [r.id for r in df.sample(fraction=0.2, seed=11).collect()]
    assert 800 < len(kept) < 1200 and kept == sorted(kept)  # rows keep their order
    assert kept == [r.id for r in df.sample(0.2, 11).collect()] == [r.id for r in df.sample(False, 0.2, 11).collect()]
    assert df.sample(0.0).count() == 0 and df.sample(1.0).count() == 5000
    assert df.sample(0.5, 1).columns == ["id"]
    with pytest.raises(PySparkValueError, match="must be <= 1.0"):
        df.sample(1.5)
