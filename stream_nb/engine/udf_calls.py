"""Python functions called from a query's SQL (``sn.udf``), as DuckDB functions on the query's connection.

Both kinds are registered as Arrow functions: DuckDB hands over a vector of rows (2048 at a time) and this
module loops over it in Python (scalar: ``map`` over the column's values) or turns it into pandas Series
(vectorised). NULL arguments reach the function as ``None`` (as in Spark): ``null_handling="special"``.
Measured (``benchmarks/udfs.py``, one-shot over 2M rows), DuckDB's ``type="native"`` form, which calls
Python once per row, is 1.7x faster bare, but cannot say which row failed; wrapped in the Python frame that
naming the row takes, it is about 1.1x faster (within the noise of a shared machine). The Arrow form is kept:
it tags timestamps UTC once per vector rather than per value, names the value that does not fit the return
type instead of leaving it to DuckDB's conversion, and is one code path for both kinds.

A deterministic scalar function (the default, as in Spark) is called once per distinct argument tuple of a
vector when its arguments repeat (Spark lets a deterministic UDF's duplicate calls be eliminated): Arrow hashes
the arguments in C, the function runs on the distinct ones in the order rows first show them, and the results are
spread back by index (a vector of 2,048 rows over 100 keys: 5x faster; ``benchmarks/udfs.py``'s 1,000
devices, about 870 distinct a vector: 1.2x). Float and nested arguments are never merged (-0.0 == 0.0 in Python, yet ``str`` tells them apart), nor are
a nondeterministic function's calls.

A failure inside the function reaches the engine as DuckDB's error text only (DuckDB keeps no Python
exception); the ``UdfError`` with the function's own exception chained is kept here by its message, and
``failure_of`` gives it back to the query that stops on it.
"""

from __future__ import annotations

import datetime
import inspect
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache
from itertools import pairwise

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp
from sqlglot.tokens import TokenType

from stream_nb.engine.duck import _retype
from stream_nb.sql.aggregates import NOT_YET, not_yet
from stream_nb.sql.dialect import DIALECT
from stream_nb.sql.errors import StreamSQLError
from stream_nb.udfs import Udf, UdfError

_DUCKDB_FAILURE = "Python exception occurred while executing the UDF: "
_failures: OrderedDict[str, UdfError] = OrderedDict()  # recent failures by message, for failure_of
_failures_lock = threading.Lock()
_UNKNOWN = re.compile(r'Function with name "?(\w+)"? does not exist', re.IGNORECASE)
_SAMPLE_CHARS = 200  # a sample row's arguments, at most this long in a message
_MEMO_MIN_ROWS = 64    # a shorter vector calls the function row by row
_MEMO_MAX_SHARE = 2    # memoised when at most 1 row in this many brings a new argument tuple
_MEMO_BACKOFF = 16     # vectors called row by row after one whose arguments barely repeat


def register_udfs(con: duckdb.DuckDBPyConnection, udfs: Iterable[Udf]) -> None:
    """Make each function callable by its name in SQL run on ``con``."""
    for udf in udfs:
        if not udf.vectorized and _takes_nothing(udf.fn):
            # an Arrow function without arguments cannot know how many rows it is called for: a native one is
            # called once a row (side effects: DuckDB must not fold it into one value, as Spark never does)
            con.create_function(udf.name, _no_arguments(udf), [], duckdb_type(udf.return_type), type="native",
                                side_effects=True)
            continue
        call = _vectorized(udf) if udf.vectorized else _scalar(udf)
        # parameters None: any argument types (DuckDB's ANY), so one registration serves every call site
        con.create_function(udf.name, call, None, duckdb_type(udf.return_type), type="arrow",
                            null_handling="special", side_effects=not udf.deterministic)


def duckdb_type(ddl: str) -> str:
    """A Spark DDL type in DuckDB's words, timestamps naive (the engine computes in UTC without the tag).

    >>> duckdb_type("STRUCT<a: INT, b: TIMESTAMP>")
    'STRUCT(a INT, b TIMESTAMP)'
    """
    dtype = exp.DataType.build(ddl, dialect="spark")
    for node in dtype.find_all(exp.DataType):
        if node.this in (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ):
            node.set("this", exp.DataType.Type.TIMESTAMP)
    return dtype.sql("duckdb")


@cache
def builtin_names() -> frozenset[str]:
    """The names DuckDB (and the engine's own connection) already gives a function: a UDF cannot take them."""
    from stream_nb.engine.duck import connect

    con = connect()
    try:
        return frozenset(row[0].lower() for row in con.sql("SELECT function_name FROM duckdb_functions()").fetchall())
    finally:
        con.close()


def failure_of(err: BaseException) -> BaseException:
    """The ``UdfError`` behind a DuckDB error raised by a failing function (its cause chained), else ``err``."""
    text = str(err)
    if not isinstance(err, duckdb.Error) or _DUCKDB_FAILURE not in text:
        return err
    message = text.split(_DUCKDB_FAILURE, 1)[1].removeprefix(f"{UdfError.__name__}: ")
    with _failures_lock:
        return _failures.get(message, err)


def _scalar(udf: Udf):
    result_type = _retype(udf.arrow_type, None)
    skip = [0]  # vectors still to call row by row after one without repeats (a hint: races do no harm)

    def call(*columns: pa.ChunkedArray) -> pa.Array:
        if not udf.deterministic or skip[0]:
            skip[0] = max(skip[0] - 1, 0)
            return call_each(columns)
        repeats = _repeats(columns)
        if repeats is None:
            skip[0] = _MEMO_BACKOFF
            return call_each(columns)
        distinct, rows = repeats  # called once per distinct argument tuple, in the order rows first show it
        return call_each(distinct).take(rows)

    def call_each(columns) -> pa.Array:
        values = [_python_values(_arguments(c, udf), udf) for c in columns]
        results: list = []
        try:  # map's loop runs in C; extend keeps what came before a failing row, so its index is known
            results.extend(map(udf.fn, *values))
        except Exception as err:  # the function's own error: named, with its row, and chained
            raise _failed(udf, f"raised {type(err).__name__}: {err}", _row(values, len(results))) from err
        try:
            if pa.types.is_integer(result_type):  # pa.array(..., int) would truncate 1.5 to 1; a safe cast refuses
                return pa.array(results).cast(result_type)
            return pa.array(results, result_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError) as err:
            bad = next((i for i, v in enumerate(results) if not _fits(v, result_type)), 0)
            raise _failed(udf, f"returned {results[bad]!r}, which is not a {udf.return_type.lower()} "
                               "(its return type)", _row(values, bad)) from err
    return call


def _repeats(columns) -> tuple[list[pa.Array], pa.Array] | None:
    """For a vector whose argument tuples repeat (a key, a code, a status): the distinct tuples as columns, in
    the order rows first show them, and each row's index among them. Spark lets a deterministic function's
    duplicate calls be eliminated, and a Python call costs far more than hashing its arguments. None where
    there is little to gain, or values equal as Python values could differ to the function (floats: -0.0 and
    0.0; nested values)."""
    rows = len(columns[0]) if columns else 0
    if rows < _MEMO_MIN_ROWS or not all(_memo_type(c.type) for c in columns):
        return None
    encoded = [_encoded(c, rows) for c in columns]  # Arrow numbers values in the order they first show
    if any(e is None for e in encoded):
        return None
    if len(encoded) == 1:
        return [encoded[0].dictionary], encoded[0].indices
    codes = np.zeros(rows, np.int64)
    for e in encoded:
        if int(codes.max()) > np.iinfo(np.int64).max // len(e.dictionary):
            return None
        codes = codes * len(e.dictionary) + e.indices.to_numpy(zero_copy_only=False)
    combined = _encoded(pa.array(codes), rows)
    if combined is None:
        return None
    index = combined.indices.to_numpy(zero_copy_only=False)
    first = np.empty(len(combined.dictionary), np.int64)
    first[index[::-1]] = np.arange(rows - 1, -1, -1)  # the last write of each is its first row
    return [c.take(first) for c in columns], combined.indices


def _encoded(column, rows: int) -> pa.DictionaryArray | None:
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
    return None if len(encoded.dictionary) * _MEMO_MAX_SHARE > rows else encoded


def _memo_type(dtype: pa.DataType) -> bool:
    return (pa.types.is_integer(dtype) or pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
            or pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype) or pa.types.is_boolean(dtype)
            or pa.types.is_date(dtype) or pa.types.is_timestamp(dtype) or pa.types.is_time(dtype)
            or pa.types.is_decimal(dtype))


def _takes_nothing(fn) -> bool:
    """Whether ``fn`` is called with no arguments (``F.udf(lambda: str(uuid.uuid4()))()``)."""
    try:
        return not inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: called with the arguments SQL gives
        return False


def _no_arguments(udf: Udf):
    def call():
        try:
            value = udf.fn()
        except Exception as err:
            raise _failed(udf, f"raised {type(err).__name__}: {err}", ()) from err
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:  # DuckDB's TIMESTAMP is UTC, naive
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value
    return call


def _vectorized(udf: Udf):
    result_type = _retype(udf.arrow_type, None)

    def call(*columns: pa.ChunkedArray) -> pa.Array:
        # PySpark's Series: timestamps datetime64[ns] (its Arrow serializer coerces them to nanoseconds)
        series = [_arguments(c, udf).to_pandas(coerce_temporal_nanoseconds=udf.naive_timestamps) for c in columns]
        length = len(columns[0]) if columns else 0
        first = tuple(s.iloc[0] for s in series) if length else ()
        try:
            result = udf.fn(*series)
        except Exception as err:
            raise _failed(udf, f"raised {type(err).__name__}: {err} (on a batch of {length} rows; its first "
                               "row's arguments follow)", first) from err
        try:
            if isinstance(result, pd.DataFrame):  # a struct, as Spark's pandas_udf returns one: a column a field
                table = pa.Table.from_pandas(result, preserve_index=False)
                values = table.to_struct_array().combine_chunks().cast(result_type)
            else:
                values = pa.Array.from_pandas(result, type=result_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError, OverflowError) as err:
            raise _failed(udf, f"returned values that are not {udf.return_type.lower()} (its return type): "
                               f"{err}", first) from err
        if len(values) != length:
            raise _failed(udf, f"returned {len(values)} values for {length} rows: a vectorized function "
                               "returns a Series as long as its arguments", first)
        return values
    return call


def _row(values: list[list], index: int) -> tuple:
    return tuple(column[index] for column in values)


def _python_values(column: pa.ChunkedArray, udf: Udf) -> list:
    """A column as a scalar function's values; for the PySpark API's functions a struct is a ``Row`` and a map a
    dict, as PySpark hands them (``row.field``), where Arrow gives dicts and lists of pairs."""
    values = column.to_pylist()
    convert = _spark_converter(column.type) if udf.naive_timestamps else None
    return values if convert is None else [convert(v) for v in values]


def _spark_converter(dtype: pa.DataType):
    """What turns Arrow's Python value of ``dtype`` into PySpark's; None: it is the same already."""
    if pa.types.is_struct(dtype):
        from stream_nb.pyspark.sql.types import Row

        fields = [(f.name, _spark_converter(f.type)) for f in dtype]
        return lambda v: None if v is None else Row(**{n: v[n] if c is None or v[n] is None else c(v[n])
                                                       for n, c in fields})
    if pa.types.is_map(dtype):
        key, item = _spark_converter(dtype.key_type), _spark_converter(dtype.item_type)
        return lambda v: None if v is None else {(k if key is None else key(k)): (i if item is None or i is None
                                                                               else item(i)) for k, i in v}
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        inner = _spark_converter(dtype.value_type)
        return None if inner is None else lambda v: None if v is None else [None if x is None else inner(x)
                                                                             for x in v]
    return None


def _arguments(column: pa.ChunkedArray, udf: Udf) -> pa.ChunkedArray:
    """Timestamps as the function's user sees them everywhere else: tagged UTC; for the PySpark API's functions
    naive, as Spark hands them over (in the session time zone, UTC: the values DuckDB holds)."""
    tagged = _retype(column.type, None if udf.naive_timestamps else "UTC")
    return column if tagged == column.type else column.cast(tagged)


def _fits(value: object, dtype: pa.DataType) -> bool:
    try:
        pa.array([value]).cast(dtype) if pa.types.is_integer(dtype) else pa.array([value], dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError):
        return False
    return True


def _failed(udf: Udf, what: str, row: tuple) -> UdfError:
    arguments = ", ".join(repr(v) for v in row)
    if len(arguments) > _SAMPLE_CHARS:
        arguments = arguments[:_SAMPLE_CHARS] + "..."
    error = UdfError(f"the Python function {udf.name} {what}; arguments: ({arguments})")
    with _failures_lock:
        _failures[str(error)] = error
        while len(_failures) > 32:
            _failures.popitem(last=False)
    return error


def unknown_function(err: duckdb.Error, sql: str) -> StreamSQLError | None:
    """DuckDB's "no such function" as the planner's error: the name, where it is in the SQL, what to do."""
    found = _UNKNOWN.search(str(err))
    if found is None:
        return None
    name = found.group(1)
    tokens = DIALECT.tokenize(sql)
    at = next((t.start for t, after in pairwise(tokens)
               if t.text.lower() == name.lower() and after.token_type == TokenType.L_PAREN), None)
    if name.lower() in NOT_YET:  # a Spark aggregate over the whole stream, read as a plain call
        return not_yet(name, sql, at)
    return StreamSQLError(f"no function {name}: register it with sn.udf(...)", sql=sql, start=at,
                          hint=f"sn.udf({name!r}, fn, 'double') makes a Python function callable here "
                               "(register it before the query starts)")
