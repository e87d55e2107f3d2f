import datetime

import pytest

from stream_nb.pyspark.sql.types import (
    ArrayType,
    DayTimeIntervalType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
    _parse_datatype_string,
)


def test_simple_string_and_field_names_as_spark():
    schema = StructType([StructField("ts", TimestampType()), StructField("tags", ArrayType(StringType()))])
    assert schema.simpleString() == "struct<ts:timestamp,tags:array<string>>"
    assert schema.fieldNames() == ["ts", "tags"]


def test_json_is_sparks_json():
    assert StructType().add("n", LongType(), False).json() == (
        '{"fields":[{"metadata":{},"name":"n","nullable":false,"type":"long"}],"type":"struct"}')


def test_ddl_strings_parse_to_types():
    assert _parse_datatype_string("a int, b string") == StructType(
        [StructField("a", _parse_datatype_string("int")), StructField("b", StringType())])
    assert _parse_datatype_string("bigint") == LongType()


def test_bad_ddl_says_it_cannot_parse():
    with pytest.raises(ValueError, match="PARSE_SYNTAX_ERROR"):
        _parse_datatype_string("a int,, b")


def test_print_schema_tree(spark):
    df = spark.createDataFrame([("a", 1)], "word string, n bigint")
    assert df.schema.treeString() == ("root\n |-- word: string (nullable = true)\n"
                                      " |-- n: long (nullable = true)\n")


def test_print_schema_shows_an_arrays_element_and_a_maps_key_and_value_as_spark(spark, capsys):
    # PySpark 4.3's printSchema() of the same schema, the empty line after it included
    df = spark.createDataFrame([], "tags array<string>, m map<string, int>, l array<struct<x: int>>")
    df.printSchema()
    assert capsys.readouterr().out == (
        "root\n"
        " |-- tags: array (nullable = true)\n"
        " |    |-- element: string (containsNull = true)\n"
        " |-- m: map (nullable = true)\n"
        " |    |-- key: string\n"
        " |    |-- value: integer (valueContainsNull = true)\n"
        " |-- l: array (nullable = true)\n"
        " |    |-- element: struct (containsNull = true)\n"
        " |    |    |-- x: integer (nullable = true)\n"
        "\n")


def test_print_schema_says_which_columns_are_never_null_as_sparks_analyzer_does(spark, capsys):
    import datetime

    import stream_nb as sn
    from stream_nb.pyspark.sql import Window
    from stream_nb.pyspark.sql import functions as F

    df = spark.createDataFrame([(datetime.datetime(2024, 1, 1), "a")], "ts timestamp, s string")
    counted = df.groupBy(F.window("ts", "10 seconds"), "s").agg(F.count("*").alias("n"), F.sum(F.lit(1)).alias("t"))
    assert [(f.name, f.nullable) for f in counted.schema.fields] == \
        [("window", False), ("s", True), ("n", False), ("t", True)]
    sliding = df.groupBy(F.window("ts", "10 seconds", "5 seconds")).count()
    assert [f.nullable for f in sliding.schema.fields] == [True, False]  # a sliding window's rows are filtered
    ranked = df.select(F.lit(1).alias("one"), F.coalesce("s", F.lit("x")).alias("c"), F.upper("s").alias("u"),
                       F.row_number().over(Window.orderBy("ts")).alias("r"))
    assert [f.nullable for f in ranked.schema.fields] == [False, False, True, False]
    stream = spark.readStream.load(sn.sources.memory("ts timestamp, s string"))
    assert [f.nullable for f in stream.groupBy("s").count().schema.fields] == [True, True]  # as Spark's streams
    assert [f.nullable for f in stream.select(F.lit(1).alias("one"), "s").schema.fields] == [False, True]
    counted.printSchema()
    assert " |-- n: long (nullable = false)" in capsys.readouterr().out.splitlines()


def test_in_a_row_asks_for_a_field_name_as_pysparks_row():
    from stream_nb.pyspark.sql import Row

    assert "name" in Row(name="Alice", age=3) and "Alice" not in Row(name="Alice", age=3)
    assert "Alice" in Row("Alice", 3)


def test_a_difference_of_timestamps_is_a_day_to_second_interval_as_spark(spark):
    """ts - ts is Spark's interval day to second, a timedelta in a Row (PySpark 4's answers); the optimizer typed
    it a timestamp, and the query failed casting it to one."""
    at = [datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
          datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)]
    df = spark.createDataFrame([tuple(at), tuple(reversed(at))], "a timestamp, b timestamp")
    late = df.selectExpr("b - a AS d", "b - (b - a) AS back", "b - a > INTERVAL 1 HOUR AS late")
    assert late.schema.simpleString() == "struct<d:interval day to second,back:timestamp,late:boolean>"
    assert [tuple(r) for r in late.collect()] == [
        (datetime.timedelta(days=1, seconds=11045), datetime.datetime(2024, 1, 1), True),
        (datetime.timedelta(days=-2, seconds=75355), datetime.datetime(2024, 1, 2, 3, 4, 5), False)]
    assert DayTimeIntervalType().simpleString() == "interval day to second"
