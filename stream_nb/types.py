"""Schemas and the two edges of the data path: rows in (pandas, dicts) and results out (pandas).

Inside the engine every batch is a ``pyarrow.Table``; timestamps are ``timestamp[us, tz=UTC]``.
This module is the one place that turns user rows into Arrow and Arrow into what a user sees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from stream_nb import gc_pause

TIMESTAMP = pa.timestamp("us", tz="UTC")

_SIMPLE_TYPES: dict[exp.DataType.Type, pa.DataType] = {
    exp.DataType.Type.TEXT: pa.string(),
    exp.DataType.Type.VARCHAR: pa.string(),
    exp.DataType.Type.CHAR: pa.string(),
    exp.DataType.Type.INT: pa.int32(),
    exp.DataType.Type.BIGINT: pa.int64(),
    exp.DataType.Type.SMALLINT: pa.int16(),
    exp.DataType.Type.TINYINT: pa.int8(),
    exp.DataType.Type.DOUBLE: pa.float64(),
    exp.DataType.Type.FLOAT: pa.float32(),
    exp.DataType.Type.BOOLEAN: pa.bool_(),
    exp.DataType.Type.TIMESTAMP: TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ: TIMESTAMP,
    exp.DataType.Type.TIMESTAMPLTZ: TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ: TIMESTAMP,
    exp.DataType.Type.DATE: pa.date32(),
    exp.DataType.Type.BINARY: pa.binary(),
    exp.DataType.Type.VARBINARY: pa.binary(),
}


class SchemaError(ValueError):
    """A schema that cannot be understood, or rows that do not fit it."""


def arrow_type(spark_type: str | exp.DataType) -> pa.DataType:
    """The Arrow type for a Spark SQL type name.

    >>> arrow_type("timestamp")
    TimestampType(timestamp[us, tz=UTC])
    >>> arrow_type("decimal(10,2)")
    Decimal128Type(decimal128(10, 2))
    """
    dtype = spark_type if isinstance(spark_type, exp.DataType) else _parse_type(spark_type)
    if dtype.this in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[dtype.this]
    if dtype.this == exp.DataType.Type.DECIMAL:
        params = [int(p.name) for p in dtype.expressions]
        precision, scale = (params + [10, 0])[:2] if params else (10, 0)
        return pa.decimal128(precision, scale)
    if dtype.this == exp.DataType.Type.ARRAY:
        return pa.list_(arrow_type(dtype.expressions[0]))
    if dtype.this == exp.DataType.Type.MAP:
        return pa.map_(arrow_type(dtype.expressions[0]), arrow_type(dtype.expressions[1]))
    if dtype.this == exp.DataType.Type.STRUCT:
        return pa.struct(
            [pa.field(f.name, arrow_type(f.args["kind"])) for f in dtype.expressions]
        )
    raise SchemaError(f"unsupported column type {dtype.sql('spark')!r}")


def _parse_type(text: str) -> exp.DataType:
    try:
        return exp.DataType.build(text, dialect="spark")
    except (sqlglot.errors.ParseError, ValueError) as err:
        raise SchemaError(f"unknown column type {text!r}: {err}") from None


def parse_schema(spec: str | Mapping[str, str] | pa.Schema) -> pa.Schema:
    """A schema from a Spark DDL string, a ``{"col": "type"}`` mapping, or an Arrow schema.

    >>> parse_schema("ts timestamp, device string, temp double")
    ts: timestamp[us, tz=UTC]
    device: string
    temp: double
    >>> parse_schema({"n": "bigint"}).types
    [DataType(int64)]
    """
    if isinstance(spec, pa.Schema):
        return spec
    if isinstance(spec, Mapping):
        return pa.schema([pa.field(name, arrow_type(t)) for name, t in spec.items()])
    if not isinstance(spec, str) or not spec.strip():
        raise SchemaError(f"a schema is a DDL string like 'ts timestamp, v double' or a dict, not {spec!r}")
    try:
        create = sqlglot.parse_one(f"CREATE TABLE t ({spec})", read="spark")
    except sqlglot.errors.ParseError as err:
        raise SchemaError(f"cannot parse schema {spec!r}: {err.errors[0]['description']}") from None
    fields = []
    for column in create.this.expressions:
        if not isinstance(column, exp.ColumnDef) or column.args.get("kind") is None:
            raise SchemaError(f"schema {spec!r}: expected 'name type', got {column.sql('spark')!r}")
        fields.append(pa.field(column.name, arrow_type(column.args["kind"])))
    return pa.schema(fields)


def spark_type_name(dtype: pa.DataType) -> str:
    """The Spark SQL name of an Arrow type, for messages and ``explain()``.

    >>> spark_type_name(TIMESTAMP)
    'timestamp'
    """
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    if pa.types.is_struct(dtype):
        inner = ", ".join(f"{f.name}: {spark_type_name(f.type)}" for f in dtype)
        return f"struct<{inner}>"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return f"array<{spark_type_name(dtype.value_type)}>"
    if pa.types.is_map(dtype):
        return f"map<{spark_type_name(dtype.key_type)}, {spark_type_name(dtype.item_type)}>"
    if pa.types.is_decimal(dtype):  # DDL that parse_schema reads back (a files sink's manifest)
        return f"decimal({dtype.precision},{dtype.scale})"
    names = {
        pa.string(): "string", pa.large_string(): "string", pa.int8(): "tinyint", pa.int16(): "smallint",
        pa.int32(): "int", pa.int64(): "bigint", pa.float32(): "float", pa.float64(): "double",
        pa.bool_(): "boolean", pa.date32(): "date", pa.binary(): "binary", pa.null(): "void",
    }
    return names.get(dtype, str(dtype))


def to_arrow(rows: pd.DataFrame | Iterable[Mapping[str, Any]] | pa.Table, schema: pa.Schema) -> pa.Table:
    """User rows as an Arrow table of exactly ``schema``; a clear error names the column that does not fit.

    >>> to_arrow([{"v": 1}], parse_schema("v double")).column("v").to_pylist()
    [1.0]
    """
    if isinstance(rows, pa.Table):
        if rows.schema.equals(schema, check_metadata=True):
            return rows  # already that table (rebuilt a column at a time, it costs a call 0.05 ms)
        table = rows
    elif isinstance(rows, pd.DataFrame):
        table = _from_pandas(rows, schema)
    else:
        if rows is None or isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
            hint = " (one row? put it in a list: [row])" if isinstance(rows, Mapping) else ""
            raise TypeError("rows are a pandas DataFrame, a list of dicts or an Arrow table, "
                            f"not {type(rows).__name__}{hint}")
        records = list(rows)
        bad = next((r for r in records if not isinstance(r, Mapping)), None)
        if bad is not None:
            raise SchemaError(f"rows must be dicts (or a pandas DataFrame); got {type(bad).__name__}: {bad!r}")
        table = _from_records(records, schema)
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise SchemaError(f"rows lack column(s) {missing} of schema {_describe(schema)}")
    extra = [name for name in table.column_names if name not in schema.names]
    if extra:
        raise SchemaError(f"rows have column(s) {extra} that are not in schema {_describe(schema)}")
    columns = [_cast_column(table.column(f.name), f) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def static_table(value: pd.DataFrame | pa.Table) -> pa.Table:
    """A static table (the other side of a stream-static join) read as ``add_data`` reads rows: NaN stays
    NaN in a floating-point column (pandas NaN is NULL elsewhere), timestamps are microseconds in UTC.

    >>> static_table(pd.DataFrame({"t": [pd.Timestamp("2024-05-01 12:00:00.123456789")]})).schema
    t: timestamp[us, tz=UTC]
    """
    table = value if isinstance(value, pa.Table) else _from_pandas(value, pa.schema([]))
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type != TIMESTAMP:
            table = table.set_column(index, field.name, utc_timestamps(table.column(index)))
    return table


def _from_pandas(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise SchemaError(f"rows have duplicate column name(s) {duplicated}")
    arrays = {}
    for name, values in frame.items():
        field = schema.field(name) if name in schema.names else None
        if field is not None and pa.types.is_timestamp(field.type):
            values = _utc(values, name)
        elif values.dtype == object:  # pd.NA is a null; NaN stays NaN (below)
            values = pd.Series([None if v is pd.NA else v for v in values], dtype=object)
        # pandas has no missing int but NaN: NaN is NULL in a column that is not floating point
        nan_is_null = not pa.types.is_floating(field.type) if field is not None else values.dtype.kind != "f"
        arrays[str(name)] = _array(values, str(name), nan_is_null=nan_is_null)
    return pa.table(arrays)


def _from_records(records: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    names = list(dict.fromkeys(name for record in records for name in record)) or schema.names
    data = {name: [_none_if_na(record.get(name)) for record in records] for name in names}
    types = {}
    for field in schema:
        if field.name in data and pa.types.is_timestamp(field.type):
            data[field.name] = _utc(pd.Series(data[field.name], dtype=object), field.name)
        elif pa.types.is_decimal(field.type) or _has_map(field.type):  # ints and Decimals straight
            types[field.name] = field.type  # into the declared precision; a map from dicts or (key, value) pairs
    return pa.table({name: _array(values, name, types.get(name)) for name, values in data.items()})


def _none_if_na(value: Any) -> Any:
    return None if value is pd.NA or value is pd.NaT else value


def _array(values: Any, name: str, dtype: pa.DataType | None = None, *,
           nan_is_null: bool = False) -> pa.Array:
    """One column's values as Arrow: as inferred (``_cast_column`` casts them with a clear error), or of a
    decimal ``dtype`` when given and they fit it (ints and Decimals straight into the declared precision).
    A NaN in a double column stays NaN, not NULL, whatever the input form (None, pd.NA and NaT are NULL), as
    Spark keeps a NaN its sources read: a float64 pandas column holds None as NaN, so write a missing double
    with dtype "Float64". (PySpark's ``createDataFrame`` of a pandas frame makes NaN NULL: ``pyspark/sql/rows.py``
    does so before it calls this.)"""
    if dtype is not None:
        try:
            return pa.array(values, type=dtype, from_pandas=nan_is_null)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # inferred, then cast with a clear error about the column
    try:
        return pa.array(values, from_pandas=nan_is_null)
    except (pa.ArrowInvalid, OverflowError) as err:
        big = next((v for v in values if isinstance(v, int) and not -2**63 <= v < 2**63), None)
        if big is not None:
            raise SchemaError(f"column {name!r} holds the int {big}, outside bigint's range "
                              "-2**63 to 2**63-1 (write a float for a double column)") from None
        raise SchemaError(f"column {name!r}: values of mixed or unsupported types ({err})") from None
    except pa.ArrowTypeError as err:
        raise SchemaError(f"column {name!r}: values of mixed or unsupported types ({err})") from None


def _utc(values: pd.Series, name: str) -> pd.Series:
    """Timestamps as UTC; naive ones are taken to be UTC already (as Spark does with its session zone UTC).
    ``utc=True`` does both per value, so one call may mix zones, offsets and naive times.

    >>> _utc(pd.Series(["2024-01-01 00:00:00", "2024-01-01T00:00:00+02:00"]), "ts").astype(str).tolist()
    ['2024-01-01 00:00:00+00:00', '2023-12-31 22:00:00+00:00']
    """
    try:
        return pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError) as err:
        raise SchemaError(f"column {name!r}: cannot read {values.tolist()[:3]} as timestamps ({err})") from None


def utc_timestamps(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Any timestamp column as Spark keeps it: microseconds, UTC. A naive time is taken as UTC (the session
    zone here); nanoseconds are truncated to the microsecond below, as Spark truncates the digits it drops.

    >>> utc_timestamps(pa.array([1_500, -1], pa.timestamp("ns"))).to_pylist()[1].isoformat()
    '1969-12-31T23:59:59.999999+00:00'
    """
    if column.type == TIMESTAMP:
        return column
    if column.type.unit == "ns":
        column = pc.floor_temporal(column, unit="microsecond")
    return column.cast(TIMESTAMP)


def _cast_column(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type) and pa.types.is_timestamp(field.type):
        column = utc_timestamps(column)
    if column.type == field.type:
        return column
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), field.type)
    try:
        return column.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        sample = column.slice(0, 3).to_pylist()
        raise SchemaError(
            f"column {field.name!r} is declared {spark_type_name(field.type)} but holds "
            f"{spark_type_name(column.type)} values such as {sample}: {err}"
        ) from None


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{_name(f.name)} {spark_type_name(f.type)}" for f in schema) + ")"


def _name(name: str) -> str:
    """A column name as DDL writes it: backquoted unless it is a plain identifier."""
    return name if name.isidentifier() else "`" + name.replace("`", "``") + "`"


def describe_schema(schema: pa.Schema) -> str:
    """A schema in Spark DDL, e.g. ``ts timestamp, temp double``."""
    return _describe(schema)[1:-1]


def iso_utc(micros: int) -> str:
    """A UTC timestamp in microseconds as Spark's progress writes it: ``2026-11-24T10:00:00.000Z``.

    >>> iso_utc(0)
    '1970-01-01T00:00:00.000Z'
    """
    return pd.Timestamp(int(micros), unit="us", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """What a user sees: a pandas DataFrame with tz-aware UTC timestamps and structs as dicts.

    >>> to_pandas(pa.table({"n": [1, None]})).dtypes["n"]
    Int64Dtype()
    """
    names = table.column_names
    if len(set(names)) < len(names):  # pyarrow makes duplicate names one string block: convert by position
        frame = to_pandas(table.rename_columns([f"_{i}" for i in range(len(names))]))
        frame.columns = names
        return frame
    structs = [i for i, field in enumerate(table.schema) if pa.types.is_struct(field.type) or _has_map(field.type)]
    plain = table.select([i for i in range(table.num_columns) if i not in structs]) if structs else table
    # one thread: a batch's few columns convert faster than Arrow's pool hands them out (0.25 vs 0.45 ms a batch)
    frame = plain.to_pandas(types_mapper=_nullable_ints, ignore_metadata=True, use_threads=False)
    for index, field in enumerate(plain.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            frame.isetitem(index, frame.iloc[:, index].dt.tz_localize("UTC"))
        elif field.type == pa.month_day_nano_interval():  # a day-time interval (ts - ts) as a Timedelta,
            frame.isetitem(index, _intervals(plain.column(index)))  # as PySpark gives it
    for index in structs:  # in column order, so each goes back where it was
        with gc_pause.paused():  # a dict a row: see gc_pause
            column = table.column(index)
            values = _with_dicts(column.to_pylist(), column.type) if _has_map(column.type) else \
                _struct_values(column)
        frame.insert(index, table.schema[index].name, values, allow_duplicates=True)
    return frame


def _intervals(column: pa.ChunkedArray) -> pd.Series:
    """Intervals without months as Timedeltas (Spark's day-time interval is a ``timedelta`` in PySpark); one
    with months stays a DateOffset (a month has no fixed length).

    >>> _intervals(pa.chunked_array([[pa.MonthDayNano([0, 1, 5_000_000_000]), None]])).tolist()
    [Timedelta('1 days 00:00:05'), None]
    """
    values = []
    for value in column.to_pylist():
        if value is None:
            values.append(None)
        elif value.months:
            values.append(pd.DateOffset(months=value.months, days=value.days, nanoseconds=value.nanoseconds))
        else:
            values.append(pd.Timedelta(days=value.days, nanoseconds=value.nanoseconds))
    return pd.Series(values, dtype=object)


def _has_map(dtype: pa.DataType) -> bool:
    return pa.types.is_map(dtype) or any(_has_map(dtype.field(i).type) for i in range(dtype.num_fields))


def _with_dicts(values: list, dtype: pa.DataType) -> list:
    """Python values with every map a dict, as PySpark gives a map (Arrow's are lists of (key, value) pairs).

    >>> _with_dicts([[("a", 1)], None], pa.map_(pa.string(), pa.int64()))
    [{'a': 1}, None]
    """
    if not _has_map(dtype):
        return values
    if pa.types.is_map(dtype):
        keys, items = dtype.key_type, dtype.item_type
        return [None if v is None else dict(zip(_with_dicts([k for k, _ in v], keys),
                                                _with_dicts([i for _, i in v], items))) for v in values]
    if pa.types.is_struct(dtype):
        names = [f.name for f in dtype]
        columns = {name: _with_dicts([None if v is None else v[name] for v in values], dtype.field(name).type)
                   for name in names}
        return [None if v is None else {name: columns[name][i] for name in names} for i, v in enumerate(values)]
    inner = dtype.value_type  # a list
    return [None if v is None else _with_dicts(v, inner) for v in values]


def _struct_values(column: pa.ChunkedArray) -> list[dict | None] | np.ndarray:
    """A struct column as dicts, its fields converted column by column (timestamps as UTC pandas Timestamps)."""
    names = [f.name for f in column.type]
    # one array, its fields with the struct's nulls and offset applied (as pc.struct_field makes them, each)
    fields = column.combine_chunks().flatten()
    rows = _repeated_rows(names, fields) if names else [{} for _ in range(len(column))]
    if rows is None:
        rows = _dict_rows(len(names))(names, [_field_values(field) for field in fields])
    if column.null_count:
        rows = [row if ok else None for row, ok in zip(rows, column.is_valid().to_pylist())]
    return rows


_copies = np.frompyfunc(dict.copy, 1, 1)  # a copy of each dict, in C


def _repeated_rows(names: list[str], fields: list[pa.Array]) -> np.ndarray | None:
    """The dicts of a struct whose fields are timestamps without nulls (a window, a session) when its rows
    repeat a few values (a batch spans a few windows): each distinct value's dict is made once and copied for
    each of its rows (``dict.copy`` runs in C: 20 k rows 2.0-2.6 -> 1.0-1.3 ms). Every row still gets a dict of
    its own, and, copied from a dict the collector does not track, is not walked by its collections
    (``gc_pause.untracked_template``). None for other fields, or values mostly distinct (a dict made a row).

    >>> starts = pa.array([0, 0, 0, 10_000_000], pa.timestamp("us", "UTC"))
    >>> rows = _repeated_rows(["start"], [starts])
    >>> rows[0] == rows[1] and rows[0] is not rows[1], rows[3]["start"].second
    (True, 10)
    """
    if not all(pa.types.is_timestamp(f.type) and not f.null_count for f in fields) or not len(fields[0]):
        return None
    combined, dictionaries, radix = np.zeros(len(fields[0]), np.int64), [], 1
    for field in fields:  # each row's fields as one integer, in mixed radix (a field's index, a digit)
        encoded = pc.dictionary_encode(field)
        radix *= len(encoded.dictionary)
        if radix >= 1 << 62:
            return None
        combined = combined * len(encoded.dictionary) + encoded.indices.to_numpy().astype(np.int64)
        dictionaries.append(encoded.dictionary)
    codes, distinct = pd.factorize(combined)  # hashed: a whole result's rows may span many windows
    if 2 * len(distinct) > len(combined):
        return None
    values = []
    for dictionary in reversed(dictionaries):  # the digits back, last field first
        values.append(_timestamps(dictionary)[distinct % len(dictionary)].tolist())
        distinct = distinct // len(dictionary)
    made = np.empty(len(values[0]), dtype=object)
    made[:] = [gc_pause.untracked_template(row) for row in _dict_rows(len(names))(names, values[::-1])]
    return _copies(made[codes])  # an object array: pandas takes it as it is (a list it copies into one)


_DICT_ROWS: dict[int, Any] = {}
_DISPLAY_MAX_FIELDS = 64  # wider structs go the generic way: their dicts cost more than the call anyway


def _dict_rows(arity: int):
    """``rows(names, fields)``: one dict a row from ``arity`` field value lists. A dict display with the keys
    in local variables builds a dict about 3 x faster than ``dict(zip(names, values))`` (no zip, no call per
    row), and a batch's window structs are a dict each. Only the variable names are generated, never a user's
    field name; duplicate names keep the last value, as ``dict(zip(...))`` does.

    >>> _dict_rows(2)(["start", "end"], [[1, 2], [3, 4]])
    [{'start': 1, 'end': 3}, {'start': 2, 'end': 4}]
    """
    if arity > _DISPLAY_MAX_FIELDS:
        return lambda names, fields: list(map(dict, map(zip, repeat(names), zip(*fields))))
    rows = _DICT_ROWS.get(arity)
    if rows is None:
        keys = ", ".join(f"k{i}" for i in range(arity))
        values = ", ".join(f"v{i}" for i in range(arity))
        pairs = ", ".join(f"k{i}: v{i}" for i in range(arity))
        source = (f"def rows(names, fields):\n    {keys}, = names\n"
                  f"    return [{{{pairs}}} for {values}, in zip(*fields)]\n")
        namespace: dict[str, Any] = {}
        exec(source, namespace)  # noqa: S102 - generated from the arity alone
        rows = _DICT_ROWS[arity] = namespace["rows"]
    return rows


def _field_values(field: pa.ChunkedArray | pa.Array) -> list:
    """A struct field's values as Python objects. Window bounds repeat across rows (a batch spans few windows):
    a Timestamp is made once per distinct time and shared, as Timestamps are immutable."""
    if pa.types.is_timestamp(field.type) and not field.null_count and len(field):
        # hashed, not sorted: a whole result's rows come in key order, and np.unique's sort cost 36 ms at 400 k
        encoded = pc.dictionary_encode(field.combine_chunks() if isinstance(field, pa.ChunkedArray) else field)
        return _timestamps(encoded.dictionary)[encoded.indices.to_numpy()].tolist()
    return to_pandas(pa.table({"v": field}))["v"].tolist()


_TIMESTAMPS: dict[tuple[pa.DataType, int], pd.Timestamp] = {}  # (type, integer value) -> its Timestamp
_TIMESTAMPS_KEPT = 1 << 16  # emptied when it has more: about 10 MB at most


def _timestamps(distinct: pa.Array) -> np.ndarray:
    """Distinct timestamps (no nulls) as an object array of UTC pandas Timestamps. The same window bounds come
    back batch after batch, and a Timestamp is immutable, so each is made once and kept: making a handful
    through pandas costs about 0.6 ms a field, more than the rest of the field (a 20 k-row batch)."""
    kind = distinct.type
    values = distinct.cast(pa.int64()).to_pylist()
    made = [_TIMESTAMPS.get((kind, value)) for value in values]
    missing = [i for i, stamp in enumerate(made) if stamp is None]
    if missing:
        fresh = distinct.take(pa.array(missing, pa.int64())).to_pandas()  # as to_pandas converts a column
        if kind.tz is None:
            fresh = fresh.dt.tz_localize("UTC")
        if len(_TIMESTAMPS) + len(missing) > _TIMESTAMPS_KEPT:
            _TIMESTAMPS.clear()
        for i, stamp in zip(missing, fresh.to_numpy(dtype=object)):
            made[i] = _TIMESTAMPS[kind, values[i]] = stamp
    out = np.empty(len(made), dtype=object)  # (np.array would look into each Timestamp)
    out[:] = made
    return out


_PANDAS_INTS = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
}


def _nullable_ints(dtype: pa.DataType):
    # Integers keep their type when a column has nulls, as in Spark (not float64 with NaN).
    return _PANDAS_INTS.get(dtype)


def hashable_keys(table: pa.Table, names: list[str]) -> list:
    """One hashable key per row of these columns: the value itself for one column, a tuple for several,
    ``()`` for none. Times are their integer microseconds and structs (windows) tuples of their fields,
    which hash fast and never need a Python datetime.

    >>> hashable_keys(pa.table({"w": [{"start": 1, "end": 2}]}), ["w"])
    [(1, 2)]
    """
    if not names:
        return [()] * table.num_rows
    columns = [hashable_column(table.column(name)) for name in names]
    return columns[0] if len(columns) == 1 else list(zip(*columns))


def hashable_column(column: pa.ChunkedArray | pa.Array) -> list:
    """A column's values as hashable Python values (see ``hashable_keys``)."""
    dtype = column.type
    if pa.types.is_struct(dtype):
        fields = [hashable_column(pc.struct_field(column, i)) for i in range(dtype.num_fields)]
        valid = column.is_valid().to_pylist()
        return [values if ok else None for values, ok in zip(zip(*fields), valid)]
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype) or pa.types.is_duration(dtype):
        return temporal_integers(column).to_pylist()
    if pa.types.is_list(dtype):
        return [tuple(v) if v is not None else None for v in column.to_pylist()]
    if pa.types.is_floating(dtype) and pc.any(pc.is_nan(column)).as_py():
        # one NaN object for all: dicts and tuples match a key by identity first, and NaN != NaN
        return [_NAN if v is not None and math.isnan(v) else v for v in column.to_pylist()]
    return column.to_pylist()


def temporal_integers(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A date, time, timestamp or duration column as the int64 it counts (days, µs, ...); date32 and time32,
    which Arrow will not cast to int64 directly, by way of their int32. Other columns as they are.

    >>> import datetime
    >>> temporal_integers(pa.array([datetime.date(1970, 1, 3)])).to_pylist()
    [2]
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_temporal(array.type) or array.type.bit_width not in (32, 64):
        return array
    return array.view(pa.int32() if array.type.bit_width == 32 else pa.int64()).cast(pa.int64())


_NAN = float("nan")
