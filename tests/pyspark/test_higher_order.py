"""PySpark's higher-order functions (stream_nb/pyspark/sql/higher_order.py): a Python function of Columns is a
Spark SQL lambda, run as Spark runs it: the index from 0, forall three-valued, zip_with padding with NULL."""

import pandas as pd

from stream_nb.pyspark.sql import functions as F


def test_a_python_function_is_a_lambda_named_as_spark_names_it():
    assert F.transform("tags", lambda t: F.upper(t))._name == \
        "transform(tags, lambdafunction(upper(namedlambdavariable()), namedlambdavariable()))"


def test_higher_order_functions_on_a_stream(spark):
    import stream_nb as sn

    src = sn.sources.memory("ts timestamp, tags array<string>, n array<int>")
    src.add_data([{"ts": pd.Timestamp("2024-01-01", tz="UTC"), "tags": ["x", "y"], "n": [1, None, 3]},
                  {"ts": pd.Timestamp("2024-01-01", tz="UTC"), "tags": [], "n": None}])
    df = spark.readStream.load(src).select(
        F.transform("tags", lambda t, i: F.concat(t, i)).alias("indexed"),
        F.filter("tags", lambda t: t != "x").alias("kept"),
        F.exists("n", lambda x: x > 2).alias("any_big"), F.forall("n", lambda x: x > 0).alias("all_positive"),
        F.aggregate("n", F.lit(0), lambda acc, x: acc + F.coalesce(x, F.lit(0))).alias("total"),
        F.zip_with("tags", "n", lambda t, x: F.concat(t, x)).alias("zipped"),
        F.get("tags", 1).alias("second"))
    q = df.writeStream.format("memory").queryName("higher_order").start()
    try:
        q.processAllAvailable()
        first, second = spark.sql("SELECT * FROM higher_order").collect()
    finally:
        q.stop()
    assert first.indexed == ["x0", "y1"] and first.kept == ["y"] and first.second == "y"
    assert (first.any_big, first.all_positive, first.total) == (True, None, 4)  # a NULL element: forall NULL
    assert first.zipped == ["x1", None, None]  # tags padded with NULL to n's length; concat of NULL is NULL
    assert second.indexed == [] and second.total is None and second.zipped is None and second.second is None


def test_the_map_functions_take_a_key_and_a_value_as_spark(spark):
    """transform_values / transform_keys / map_filter (DuckDB has none): PySpark 4's answers and names."""
    df = spark.createDataFrame([({"a": 1, "b": 2},), ({},), (None,)], "m map<string,int>")
    out = df.select(F.transform_values("m", lambda k, v: v + 1).alias("tv"),
                    F.transform_keys("m", lambda k, v: F.concat(k, F.lit("!"))).alias("tk"),
                    F.map_filter("m", lambda k, v: v < 2).alias("mf"))
    assert [tuple(r) for r in out.collect()] == [({"a": 2, "b": 3}, {"a!": 1, "b!": 2}, {"a": 1}), ({}, {}, {}),
                                                 (None, None, None)]
    assert df.select(F.map_filter("m", lambda k, v: v > 0)).columns == [
        "map_filter(m, lambdafunction((namedlambdavariable() > 0), namedlambdavariable(), namedlambdavariable()))"]
