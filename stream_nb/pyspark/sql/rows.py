"""``createDataFrame``'s inputs (pandas, rows, tuples, dicts, values) as an Arrow table with Spark's column types.

Rows are typed as PySpark types them: by the schema when one is given, else by PySpark's inference
(``_infer_schema`` and ``_merge_type``): a Row or tuple is a struct, a dict a map, a list an array of its
elements' merged type. Values are then converted to the schema's Arrow types all the way down (a tuple, Row or
dict for a struct, a dict for a map), so a None stays NULL at every level. A pandas frame's NaN is NULL, as
PySpark's createDataFrame makes it.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from stream_nb.pyspark.errors import PySparkTypeError, PySparkValueError
from stream_nb.pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    MapType,
    NullType,
    Row,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
    _parse_datatype_string,
    to_ddl,
)
from stream_nb.types import parse_schema, to_arrow


def frame_of(data: Any, schema: DataType | str | list[str] | None) -> pd.DataFrame | pa.Table:
    """``createDataFrame(data, schema)``'s table: ``schema`` a struct (or DDL of one), a type of one column
    ``value``, the columns' names, or None to infer the types from the rows."""
    names = list(schema) if isinstance(schema, (list, tuple)) else None
    dtype = _parse_datatype_string(schema) if isinstance(schema, str) else (
        schema if isinstance(schema, DataType) else None)
    if isinstance(data, pd.DataFrame):
        return _of_pandas(data, names, dtype)
    rows = list(data)
    if dtype is not None and not isinstance(dtype, StructType):  # createDataFrame([1, 2], "int"): as PySpark,
        dtype, rows = StructType([StructField("value", dtype)]), [(v,) for v in rows]  # one column, value
    records = [_record(r, lone=dtype is not None) for r in rows]
    struct = dtype if dtype is not None else _inferred(records, names)
    arrow = parse_schema(to_ddl(struct))
    table = to_arrow([_struct_value(r, pa.struct(list(arrow)), top=True) for r in records], arrow) \
        if records else arrow.empty_table()
    if dtype is None and names:  # as PySpark: the rows read by the inferred names (a dict's keys), then renamed
        table = table.rename_columns(names[:table.num_columns] + table.column_names[len(names):])
    return table


def _of_pandas(frame: pd.DataFrame, names: list[str] | None, dtype: DataType | None) -> pd.DataFrame | pa.Table:
    """A pandas frame with PySpark's NULLs: a NaN of a float column is NULL, as PySpark's createDataFrame
    makes it (the engine's ``add_data`` keeps it NaN, as Spark keeps a NaN it reads)."""
    frame = frame.copy()
    if names is not None:
        frame.columns = names
    for name, values in frame.items():
        if values.dtype.kind == "f" and isinstance(values.dtype, np.dtype):  # Float64's missing value is NULL
            frame[name] = values.astype("Float32" if values.dtype.itemsize == 4 else "Float64")
    if dtype is None:
        return frame
    return to_arrow(frame, parse_schema(to_ddl(dtype)))


def _record(row: Any, lone: bool) -> Any:
    """A row as a dict (by name) or a tuple (by position; a Row's or namedtuple's names kept, to infer the
    columns' names from); a ``lone`` value (a schema types it) as a row of one, else as it is, which PySpark's
    inference refuses."""
    if isinstance(row, (dict, tuple)):
        return row
    return tuple(row) if isinstance(row, list) else (row,) if lone else row


def _inferred(records: list, names: list[str] | None) -> StructType:
    """The rows' schema as PySpark infers it: each row's struct (a dict's keys sorted, a tuple's columns
    ``_1``, ``_2``... unless named), merged over the rows; a column that is NULL in every row is refused, as
    PySpark refuses it. ``names`` name a tuple's columns (``frame_of`` renames the others' after reading them)."""
    if not records:
        raise PySparkValueError("Can not infer schema from an empty dataset.", "CANNOT_INFER_EMPTY_SCHEMA")
    if any(isinstance(r, dict) for r in records) and not all(isinstance(r, dict) for r in records):
        raise TypeError("createDataFrame: rows are all tuples (or lists, Rows) or all dicts, not a mix")
    widths = {len(r) for r in records if isinstance(r, tuple)}
    if len(widths) > 1:
        raise ValueError(f"createDataFrame: rows of {sorted(widths)} values: every row needs as many values "
                         "as the first")
    struct = reduce(_merge, (_row_type(r, names) for r in records))
    if _has_null(struct):
        raise PySparkValueError("Some of types cannot be determined after inferring.", "CANNOT_DETERMINE_TYPE")
    return struct


def _row_type(row: Any, names: list[str] | None = None) -> StructType:
    """One row's struct, as PySpark's ``_infer_schema``."""
    if isinstance(row, dict):
        items = sorted(row.items())
    elif isinstance(row, Row) and row.__fields__:
        items = list(zip(row.__fields__, row))
    elif isinstance(row, tuple) and hasattr(row, "_fields"):  # a namedtuple
        items = list(zip(row._fields, row))
    elif isinstance(row, tuple):
        given = list(names or [])[:len(row)]
        items = list(zip(given + [f"_{i + 1}" for i in range(len(given), len(row))], row))
    else:
        raise PySparkTypeError(f"Can not infer schema for type: `{type(row).__name__}`.",
                               "CANNOT_INFER_SCHEMA_FOR_TYPE")
    fields = []
    for name, value in items:
        try:
            fields.append(StructField(name, _value_type(value)))
        except TypeError:
            raise PySparkTypeError(f"Unable to infer the type of the field `{name}`.",
                                   "CANNOT_INFER_TYPE_FOR_FIELD") from None
    return StructType(fields)


_ATOMS: tuple[tuple[type | tuple[type, ...], type[DataType]], ...] = (
    ((bool, np.bool_), BooleanType), ((int, np.integer), LongType), ((float, np.floating), DoubleType),
    (str, StringType), ((bytes, bytearray), BinaryType), (datetime.datetime, TimestampType),
    (datetime.date, DateType))


def _value_type(value: Any) -> DataType:
    """A value's type, as PySpark's ``_infer_type``: a dict is a map (keys' and values' types merged over its
    entries), a list an array of its elements' merged type, a Row or tuple a struct, a Decimal a
    decimal(38,18)."""
    if value is None:
        return NullType()
    if isinstance(value, decimal.Decimal):
        return DecimalType(38, 18)
    for kinds, dtype in _ATOMS:  # datetime before date: a datetime is a date too
        if isinstance(value, kinds):
            return dtype()
    if isinstance(value, dict):
        keys = [_value_type(k) for k in value if k is not None]
        values = [_value_type(v) for v in value.values() if v is not None]
        return MapType(reduce(_merge, keys, NullType()), reduce(_merge, values, NullType()))
    if isinstance(value, list):
        return ArrayType(reduce(_merge, (_value_type(v) for v in value), NullType()))
    if isinstance(value, tuple):
        return _row_type(value)
    raise TypeError(f"cannot infer a type for {type(value).__name__}")


def _merge(a: DataType, b: DataType) -> DataType:
    """Two inferred types as one, as PySpark's ``_merge_type``: NULL takes the other's type, an atomic type and
    a string are a string, structs merge field by field (a field one lacks added), arrays and maps by their
    parts; any other two types differ and are refused (a long and a double too, as PySpark)."""
    if isinstance(a, NullType):
        return b
    if isinstance(b, NullType):
        return a
    if {type(a), type(b)} == {TimestampType, TimestampNTZType}:
        return TimestampType()
    if _atomic(a) and _atomic(b) and StringType in (type(a), type(b)):
        return StringType()
    if type(a) is not type(b):
        raise PySparkTypeError(f"Can not merge type `{type(a).__name__}` and `{type(b).__name__}`.",
                               "CANNOT_MERGE_TYPE")
    if isinstance(a, StructType):
        theirs = {f.name: f.dataType for f in b.fields}
        fields = [StructField(f.name, _merge(f.dataType, theirs.get(f.name, NullType()))) for f in a.fields]
        return StructType(fields + [StructField(n, t) for n, t in theirs.items() if n not in a.fieldNames()])
    if isinstance(a, ArrayType):
        return ArrayType(_merge(a.elementType, b.elementType))
    if isinstance(a, MapType):
        return MapType(_merge(a.keyType, b.keyType), _merge(a.valueType, b.valueType))
    return a


def _atomic(dtype: DataType) -> bool:
    return not isinstance(dtype, (StructType, ArrayType, MapType, NullType))


def _has_null(dtype: DataType) -> bool:
    if isinstance(dtype, StructType):
        return any(_has_null(f.dataType) for f in dtype.fields)
    if isinstance(dtype, ArrayType):
        return _has_null(dtype.elementType)
    if isinstance(dtype, MapType):
        return _has_null(dtype.keyType) or _has_null(dtype.valueType)
    return isinstance(dtype, NullType)


def _struct_value(value: Any, dtype: pa.StructType, top: bool = False) -> dict | None:
    """A struct's value as a dict of its fields' values: a dict's by name, a tuple's or Row's by position (as
    PySpark converts a Row), each converted to its field's type."""
    if value is None:
        return None
    names = [f.name for f in dtype]
    if isinstance(value, Mapping):
        values = [value.get(n) for n in names]
    elif isinstance(value, (tuple, list)):
        values = list(value)
        if len(values) != len(names):
            where = "a row" if top else "a struct's value"
            raise PySparkValueError(f"{where} {value!r} has {len(values)} values where the schema has "
                                    f"{len(names)} fields ({', '.join(names)})", "LENGTH_SHOULD_BE_THE_SAME")
    else:
        raise PySparkTypeError(f"StructType can not accept object {value!r} in type {type(value)}.",
                               "CANNOT_ACCEPT_OBJECT_IN_TYPE")
    return {f.name: _value(v, f.type) for f, v in zip(dtype, values)}


def _value(value: Any, dtype: pa.DataType) -> Any:
    """A value as Arrow takes one of ``dtype``: a struct as a dict, a map as (key, value) pairs (from a dict,
    or pairs), an array's elements converted; an atomic value under a string type as its text (a bool as
    ``true``/``false``), as PySpark coerces what it inferred a string column."""
    if value is None:
        return None
    if pa.types.is_struct(dtype):
        return _struct_value(value, dtype)
    if pa.types.is_map(dtype):
        pairs = value.items() if isinstance(value, Mapping) else value
        return [(_value(k, dtype.key_type), _value(v, dtype.item_type)) for k, v in pairs]
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return [_value(v, dtype.value_type) for v in value]
    if pa.types.is_string(dtype) and isinstance(value, (bool, int, float, decimal.Decimal)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value
