"""groupBy(...).pivot(...) of a static DataFrame: each expected answer is PySpark 4's over the same rows."""

import pytest

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F


@pytest.fixture
def df(spark):
    return spark.createDataFrame([("a", "x", 1, 2.0), ("a", "y", 2, None), ("b", "x", 3, 1.5), ("b", None, 4, 4.0),
                                  ("c", "x", 5, 0.5), ("a", "x", 6, 1.0)], "k string, s string, i int, v double")


def answer(df):
    return df.columns, sorted((tuple(r) for r in df.collect()), key=str)


def test_a_column_per_value_sorted_null_first_and_null_where_a_key_has_no_row(df):
    assert answer(df.groupBy("k").pivot("s").count()) == (
        ["k", "null", "x", "y"], [("a", None, 2, 1), ("b", 1, 1, None), ("c", None, 1, None)])
    assert answer(df.groupBy("k").pivot("s").sum("i")) == (
        ["k", "null", "x", "y"], [("a", None, 7, 2), ("b", 4, 3, None), ("c", None, 5, None)])
    assert df.groupBy("k").pivot("s").agg(F.avg("v")).schema.simpleString() == \
        "struct<k:string,null:double,x:double,y:double>"


def test_several_aggregates_name_their_columns_by_value_and_aggregate(df):
    assert answer(df.groupBy("k").pivot("s").agg(F.sum("i"), F.max("v").alias("mx"))) == (
        ["k", "null_sum(i)", "null_mx", "x_sum(i)", "x_mx", "y_sum(i)", "y_mx"],
        [("a", None, None, 7, 2.0, 2, None), ("b", 4, 4.0, 3, 1.5, None, None), ("c", None, None, 5, 0.5, None, None)])


def test_the_values_given_in_their_order_and_a_number_pivot(df):
    assert answer(df.groupBy("k").pivot("s", ["y", "x", "z"]).sum("i")) == (
        ["k", "y", "x", "z"], [("a", 2, 7, None), ("b", None, 3, None), ("c", None, 5, None)])
    assert df.groupBy("s").pivot("i").count().columns == ["s", "1", "2", "3", "4", "5", "6"]
    assert answer(df.groupBy().pivot("s").sum("i")) == (["null", "x", "y"], [(4, 15, 2)])


def test_pivot_of_a_stream_is_refused(spark, events):
    with pytest.raises(AnalysisException, match="pivot of a streaming DataFrame"):
        spark.readStream.load(events).groupBy("word").pivot("n")


def test_crosstab_counts_each_pair_with_zero_for_none(spark):
    df = spark.createDataFrame([("a", "x", 1), ("a", "y", 2), ("b", "x", 3), ("b", None, 4), (None, "x", 5),
                                ("a", "x", 6)], "k string, s string, i int")
    assert answer(df.crosstab("k", "s")) == (["k_s", "null", "x", "y"],
                                             [("a", 0, 2, 1), ("b", 1, 1, 0), ("null", 0, 1, 0)])
    assert df.stat.crosstab("s", "i").schema.simpleString() == \
        "struct<s_i:string,1:bigint,2:bigint,3:bigint,4:bigint,5:bigint,6:bigint>"


def test_monotonically_increasing_id_numbers_a_static_dataframes_rows_in_order(spark):
    """As Spark numbers the rows of one partition (PySpark 4, local[1]): after the filter, in the rows' order."""
    df = spark.createDataFrame([("a", 1), ("b", 3), ("c", 2), ("d", 5)], "k string, i int")
    assert [tuple(r) for r in df.where("i > 1").select("k", F.monotonically_increasing_id().alias("id"))
            .collect()] == [("b", 0), ("c", 1), ("d", 2)]
    assert df.withColumn("id", F.monotonically_increasing_id()).schema["id"].dataType.simpleString() == "bigint"


def test_unpivot_gives_a_row_per_id_and_value_column_on_a_stream_too(spark, events):
    df = spark.createDataFrame([(1, 11, 1.1), (2, 12, None)], "id int, a int, b double")
    assert answer(df.unpivot("id", ["a", "b"], "var", "val")) == (
        ["id", "var", "val"], [(1, "a", 11.0), (1, "b", 1.1), (2, "a", 12.0), (2, "b", None)])  # PySpark 4's
    assert df.melt([], None, "variable", "value").columns == ["variable", "value"]
    with pytest.raises(AnalysisException, match="UNPIVOT_VALUE_DATA_TYPE_MISMATCH"):
        spark.createDataFrame([(1, "x", 2)], "id int, s string, n int").unpivot("id", ["s", "n"], "k", "v")
    stream = spark.readStream.load(events).unpivot(["word"], ["n"], "field", "amount")
    q = stream.writeStream.format("memory").queryName("unpivoted").start()
    try:
        import pandas as pd

        events.add_data([{"ts": pd.Timestamp("2024-01-01", tz="UTC"), "word": "a", "n": 3}])
        q.processAllAvailable()
        assert [tuple(r) for r in spark.sql("SELECT * FROM unpivoted").collect()] == [("a", "n", 3)]
    finally:
        q.stop()


def test_the_api_star_is_refused_in_a_pivot_and_count_of_sql_star_is_count_1(df):
    """PySpark 4: F.count("*") and agg({"*": "count"}) in a pivot fail with INVALID_USAGE_OF_STAR_OR_REGEX
    ("Invalid usage of '*' in Pivot."); F.expr("count(*)") (its parser's count(1)) and pivot().count() run."""
    for agg in (F.count("*"), F.count("*").alias("n"), F.count(F.col("*"))):
        with pytest.raises(AnalysisException, match=r"Invalid usage of '\*' in Pivot") as err:
            df.groupBy("k").pivot("s").agg(agg)
        assert err.value.getCondition() == "INVALID_USAGE_OF_STAR_OR_REGEX"
    with pytest.raises(AnalysisException, match="INVALID_USAGE_OF_STAR_OR_REGEX"):
        df.groupBy("k").pivot("s").agg({"*": "count"})
    expected = (["k", "null", "x", "y"], [("a", None, 2, 1), ("b", 1, 1, None), ("c", None, 1, None)])
    assert answer(df.groupBy("k").pivot("s").agg(F.expr("count(*)"))) == expected
    assert answer(df.groupBy("k").pivot("s").count()) == expected
