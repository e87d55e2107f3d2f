"""``createDataFrame`` of nested Python data, and of pandas frames, as PySpark 4.3 makes it: a tuple, Row or dict
of a struct column, PySpark's inference of rows (a Row is a struct, a dict a map, a list an array), one
``value`` column for a schema that is not a struct, a pandas NaN as NULL. Expected values: what PySpark 4.3
gives for the same calls (session time zone UTC)."""

import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from stream_nb.pyspark.errors import PySparkTypeError, PySparkValueError
from stream_nb.pyspark.sql import Row
from stream_nb.pyspark.sql import functions as F
from stream_nb.pyspark.sql import types as T

NAME = "name struct<first:string,middle:string,last:string>, state string, gender string"


def test_a_tuple_is_a_struct_columns_value_when_the_schema_says_struct(spark, capsys):
    df = spark.createDataFrame([(("James", None, "Smith"), "OH", "M"), (("Anna", "Rose", ""), "NY", "F")], NAME)
    assert df.schema.simpleString() == (
        "struct<name:struct<first:string,middle:string,last:string>,state:string,gender:string>")
    assert df.collect() == [Row(name=Row(first="James", middle=None, last="Smith"), state="OH", gender="M"),
                            Row(name=Row(first="Anna", middle="Rose", last=""), state="NY", gender="F")]
    assert df.collect()[0].name.first == "James"
    df.show(truncate=False)
    assert capsys.readouterr().out == (
        "+--------------------+-----+------+\n"
        "|name                |state|gender|\n"
        "+--------------------+-----+------+\n"
        "|{James, NULL, Smith}|OH   |M     |\n"
        "|{Anna, Rose, }      |NY   |F     |\n"
        "+--------------------+-----+------+\n\n")
    assert [tuple(r) for r in df.select("name.first", F.col("name.last")).collect()] == [
        ("James", "Smith"), ("Anna", "")]


def test_a_row_or_a_dict_is_a_struct_columns_value_a_dicts_missing_field_null(spark):
    rows = spark.createDataFrame([(Row(a="x", b=2),), (None,)], "s struct<a:string,b:int>")
    assert rows.collect() == [Row(s=Row(a="x", b=2)), Row(s=None)]
    dicts = spark.createDataFrame([({"a": "x", "b": 2},), ({"b": 3},)], "s struct<a:string,b:int>")
    assert dicts.collect() == [Row(s=Row(a="x", b=2)), Row(s=Row(a=None, b=3))]


def test_nested_structs_arrays_and_maps_of_structs_take_tuples_at_every_level(spark):
    df = spark.createDataFrame([((1, ("a", [1.5, None])),)],
                               "s struct<n:int, inner:struct<k:string, xs:array<double>>>")
    assert df.collect() == [Row(s=Row(n=1, inner=Row(k="a", xs=[1.5, None])))]
    pairs = spark.createDataFrame([([("a", 1), ("b", 2)],)], "xs array<struct<n:string,v:int>>")
    assert pairs.collect() == [Row(xs=[Row(n="a", v=1), Row(n="b", v=2)])]
    maps = spark.createDataFrame([({"a": (1, "x"), "b": None},)], "m map<string, struct<n:int, s:string>>")
    assert maps.collect() == [Row(m={"a": Row(n=1, s="x"), "b": None})]


def test_a_nested_row_is_inferred_a_struct(spark):
    df = spark.createDataFrame([Row(id=1, info=Row(a=1, b="x")), Row(id=2, info=None)])
    assert df.schema.simpleString() == "struct<id:bigint,info:struct<a:bigint,b:string>>"
    assert df.collect() == [Row(id=1, info=Row(a=1, b="x")), Row(id=2, info=None)]


def test_a_tuple_value_is_inferred_a_struct_of_underscore_fields(spark):
    df = spark.createDataFrame([(1, (2, "x"))])
    assert df.schema.simpleString() == "struct<_1:bigint,_2:struct<_1:bigint,_2:string>>"
    assert df.collect() == [Row(_1=1, _2=Row(_1=2, _2="x"))]


def test_a_dict_value_is_inferred_a_map_and_map_functions_read_it(spark, capsys):
    df = spark.createDataFrame([(1, {"a": 1, "b": 2}), (2, {})], ["id", "m"])
    assert df.schema.simpleString() == "struct<id:bigint,m:map<string,bigint>>"
    assert df.collect() == [Row(id=1, m={"a": 1, "b": 2}), Row(id=2, m={})]
    df.show()
    assert capsys.readouterr().out == (
        "+---+----------------+\n"
        "| id|               m|\n"
        "+---+----------------+\n"
        "|  1|{a -> 1, b -> 2}|\n"
        "|  2|              {}|\n"
        "+---+----------------+\n\n")
    assert [tuple(r) for r in df.select("id", F.map_keys("m")).collect()] == [(1, ["a", "b"]), (2, [])]
    assert [tuple(r) for r in df.select("id", F.explode("m")).collect()] == [(1, "a", 1), (1, "b", 2)]


def test_a_rows_dict_is_a_map_whose_types_merge_over_its_entries(spark):
    df = spark.createDataFrame([Row(id=1, props={"x": "1", "y": None})])
    assert df.schema.simpleString() == "struct<id:bigint,props:map<string,string>>"
    assert df.collect() == [Row(id=1, props={"x": "1", "y": None})]
    lists = spark.createDataFrame([({"a": [1, 2]},), ({"b": []},)], ["m"])
    assert lists.schema.simpleString() == "struct<m:map<string,array<bigint>>>"
    ints = spark.createDataFrame([({1: "a", 2: None},)], ["m"])
    assert ints.schema.simpleString() == "struct<m:map<bigint,string>>"
    structs = spark.createDataFrame([({"k": Row(x=1)},)])
    assert structs.schema.simpleString() == "struct<_1:map<string,struct<x:bigint>>>"
    assert structs.collect() == [Row(_1={"k": Row(x=1)})]


def test_a_list_of_rows_is_inferred_an_array_of_structs(spark):
    df = spark.createDataFrame([(1, [Row(x=1), Row(x=2)]), (2, []), (3, [Row(x=3), None])], ["id", "xs"])
    assert df.schema.simpleString() == "struct<id:bigint,xs:array<struct<x:bigint>>>"
    assert df.collect() == [Row(id=1, xs=[Row(x=1), Row(x=2)]), Row(id=2, xs=[]), Row(id=3, xs=[Row(x=3), None])]


def test_structs_of_rows_merge_their_fields_over_the_rows(spark):
    df = spark.createDataFrame([{"tags": ["a", None], "n": None}, {"tags": None, "n": 2}])
    assert df.schema.simpleString() == "struct<n:bigint,tags:array<string>>"
    assert df.collect() == [Row(n=None, tags=["a", None]), Row(n=2, tags=None)]


def test_dict_rows_columns_are_their_sorted_keys_and_given_names_rename_them(spark):
    df = spark.createDataFrame([{"b": 1, "a": "x"}])
    assert df.schema.simpleString() == "struct<a:string,b:bigint>"
    renamed = spark.createDataFrame([{"b": 1, "a": "x"}], ["p", "q"])
    assert renamed.collect() == [Row(p="x", q=1)]
    short = spark.createDataFrame([(1, 2, 3)], ["a"])
    assert short.schema.simpleString() == "struct<a:bigint,_2:bigint,_3:bigint>"


def test_python_values_infer_sparks_types(spark):
    df = spark.createDataFrame([(Decimal("1.5"), b"ab", datetime.date(2024, 1, 2),
                                 datetime.datetime(2024, 1, 2, 3, 4, 5), bytearray(b"z"), True)])
    assert df.schema.simpleString() == "struct<_1:decimal(38,18),_2:binary,_3:date,_4:timestamp,_5:binary,_6:boolean>"
    row = df.collect()[0]
    assert row[0] == Decimal("1.500000000000000000") and row[1] == b"ab" and row[4] == b"z"
    assert row[2] == datetime.date(2024, 1, 2) and row[5] is True
    nested = spark.createDataFrame([(Row(t=datetime.datetime(2024, 1, 2, 3, 4, 5), d=Decimal("2.25")),)], ["s"])
    assert nested.schema.simpleString() == "struct<s:struct<t:timestamp,d:decimal(38,18)>>"


def test_an_atomic_value_and_a_string_in_one_column_are_a_string_column(spark):
    df = spark.createDataFrame([(1,), ("a",), (True,)])
    assert df.schema.simpleString() == "struct<_1:string>"
    assert df.collect() == [Row(_1="1"), Row(_1="a"), Row(_1="true")]


def test_inference_refuses_what_pyspark_refuses(spark):
    with pytest.raises(PySparkTypeError, match="CANNOT_MERGE_TYPE"):
        spark.createDataFrame([(1,), (2.5,)])  # a long and a double: PySpark does not widen
    with pytest.raises(PySparkValueError, match="CANNOT_DETERMINE_TYPE"):
        spark.createDataFrame([(1, None)])
    with pytest.raises(PySparkValueError, match="CANNOT_DETERMINE_TYPE"):
        spark.createDataFrame([(1, {"a": None})])
    with pytest.raises(PySparkTypeError, match="CANNOT_INFER_SCHEMA_FOR_TYPE"):
        spark.createDataFrame([1, 2, 3])
    with pytest.raises(PySparkValueError, match="CANNOT_INFER_EMPTY_SCHEMA"):
        spark.createDataFrame([])
    with pytest.raises(PySparkTypeError, match="CANNOT_INFER_TYPE_FOR_FIELD"):
        spark.createDataFrame([(1, [{"a": 1}, {"b": 2.5}])], ["id", "xs"])


@pytest.mark.parametrize("schema, data, expected", [
    ("int", [1, 2, 3], "struct<value:int>"),
    ("string", ["a", None], "struct<value:string>"),
    (T.IntegerType(), [1, 2, 3], "struct<value:int>"),
    ("array<int>", [[1, 2], [3]], "struct<value:array<int>>"),
])
def test_a_schema_that_is_not_a_struct_gives_one_column_named_value(spark, schema, data, expected):
    df = spark.createDataFrame(data, schema)
    assert df.schema.simpleString() == expected
    assert df.collect() == [Row(value=v) for v in data]


def test_a_pandas_nan_is_null_as_pysparks_create_data_frame_makes_it(spark):
    df = spark.createDataFrame(pd.DataFrame({"x": [1.0, np.nan, 3.0]}))
    assert df.collect() == [Row(x=1.0), Row(x=None), Row(x=3.0)]
    assert df.where(F.col("x").isNull()).count() == 1
    assert tuple(df.agg(F.avg("x"), F.count("x")).collect()[0]) == (2.0, 2)
    typed = spark.createDataFrame(pd.DataFrame({"x": [1.0, np.nan, 3.0]}), "x double")
    assert typed.where(F.col("x").isNull()).count() == 1


def test_every_pandas_missing_value_is_null_whatever_the_columns_dtype(spark):
    frame = pd.DataFrame({"i": [1, 2, 3], "x": [1.0, None, 3.0], "s": ["a", None, np.nan],
                          "f32": np.array([1, np.nan, 2], dtype="float32")})
    df = spark.createDataFrame(frame)
    assert df.schema.simpleString() == "struct<i:bigint,x:double,s:string,f32:float>"
    assert df.collect() == [Row(i=1, x=1.0, s="a", f32=1.0), Row(i=2, x=None, s=None, f32=None),
                            Row(i=3, x=3.0, s=None, f32=2.0)]
