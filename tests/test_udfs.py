"""Registering Python functions for SQL (``sn.udf``): what a registration accepts and what it refuses."""

from __future__ import annotations

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.pyspark.sql.types import ArrayType, IntegerType
from stream_nb.udfs import registered, unregister


@pytest.fixture(autouse=True)
def _forget():
    yield
    for name in ("to_f", "lists", "Mixed_Case"):
        unregister(name)


def test_a_return_type_is_a_spark_ddl_string_or_a_pyspark_type():
    assert sn.udf("to_f", float, "double").arrow_type == pa.float64()
    assert sn.udf("lists", list, ArrayType(IntegerType())).return_type == "ARRAY<INT>"
    assert sn.udf("lists", list, "struct<a:int,b:string>").arrow_type == pa.struct(
        [("a", pa.int32()), ("b", pa.string())])


def test_names_are_case_insensitive_as_in_spark():
    f = sn.udf("Mixed_Case", str, "string")
    assert registered()["mixed_case"] is f and f("x") == "x"


def test_registering_a_name_again_replaces_it():
    sn.udf("to_f", float, "double")
    g = sn.udf("to_f", int, "bigint")
    assert registered()["to_f"] is g


@pytest.mark.parametrize("name, message", [
    ("2fast", "is not a function name SQL can call"),
    ("has space", "is not a function name SQL can call"),
    ("upper", "'upper' is a built-in SQL function"),        # Spark's, as sqlglot knows it
    ("list_reverse", "'list_reverse' is a built-in SQL function"),  # DuckDB's own
    ("window", "'window' is a built-in SQL function"),              # the planner's own
    ("from_json", "'from_json' is a built-in SQL function"),        # sqlglot's, with other arguments
    ("case", "'case' is a built-in SQL function or keyword"),
])
def test_a_name_sql_cannot_call_or_a_builtin_is_refused(name, message):
    with pytest.raises(ValueError, match=message):
        sn.udf(name, str, "string")


def test_an_unknown_return_type_is_refused_with_the_function_name():
    with pytest.raises(sn.SchemaError, match=r"sn.udf\('to_f', ...\): unknown return type 'dubble'"):
        sn.udf("to_f", float, "dubble")
    with pytest.raises(TypeError, match="must be callable"):
        sn.udf("to_f", 3, "double")
