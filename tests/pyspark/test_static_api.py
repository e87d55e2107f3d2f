"""The static DataFrame API against PySpark 4's answers (found by random differential programs run on both):
each expected value or error below is what PySpark 4 (local, session time zone UTC, ANSI off) gives."""

import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import Window
from stream_nb.pyspark.sql import functions as F


@pytest.fixture
def df(spark):
    return spark.createDataFrame([("a", 1, 1.0), ("a", 2, None), ("b", None, 3.0), ("b", 2, float("nan")),
                                  (None, 5, -1.0), ("a", 1, 2.0)], "k string, v int, x double")


@pytest.mark.parametrize("call", [F.count_distinct("v"), F.countDistinct("v", "x"), F.sum_distinct("v"),
                                  F.expr("avg(DISTINCT v)")])
def test_an_aggregate_of_distinct_values_over_a_window_is_refused(df, call):
    """Spark: [DISTINCT_WINDOW_FUNCTION_UNSUPPORTED] Distinct window functions are not supported: "count(DISTINCT
    v) OVER (PARTITION BY k ...)" (DuckDB would answer it)."""
    with pytest.raises(AnalysisException, match="Distinct window functions are not supported") as err:
        df.withColumn("c", call.over(Window.partitionBy("k"))).collect()
    assert err.value.getCondition() == "DISTINCT_WINDOW_FUNCTION_UNSUPPORTED"


def test_sql_refuses_a_distinct_window_function_too(spark, df):
    df.createOrReplaceTempView("distinct_windows")
    with pytest.raises(AnalysisException, match="DISTINCT_WINDOW_FUNCTION_UNSUPPORTED"):
        spark.sql("SELECT k, count(DISTINCT v) OVER (PARTITION BY k ORDER BY v) AS c FROM distinct_windows").collect()
    rows = spark.sql("SELECT k, count(v) OVER (PARTITION BY k) AS c FROM distinct_windows").collect()
    assert sorted((r.k or "", r.c) for r in rows) == [("", 1), ("a", 3), ("a", 3), ("a", 3), ("b", 1), ("b", 1)]
