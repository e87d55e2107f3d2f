"""The one door into DuckDB: tables go in with naive UTC timestamps and come out tagged UTC.

Our timestamps are UTC instants (Spark with its session time zone UTC). DuckDB computes on naive
timestamps many times faster than on TIMESTAMPTZ (which goes through ICU), and with every value in UTC the
two mean the same: so the tag comes off on the way in and goes back on on the way out.
"""

from __future__ import annotations

import hashlib
import math
import re
import weakref
from decimal import Decimal

import duckdb
import pyarrow as pa

from stream_nb.engine import spark_macros


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # for current_timestamp and friends
    con.create_function("spark_double_text", _spark_double_texts, ["DOUBLE"], "VARCHAR", type="arrow",
                        side_effects=False)
    con.create_function("spark_binary_text", _spark_binary_texts, ["BLOB"], "VARCHAR", type="arrow",
                        side_effects=False)
    con.create_function("spark_split", _spark_splits, ["VARCHAR", "VARCHAR", "INTEGER"], "VARCHAR[]", type="arrow",
                        side_effects=False)
    for name, kind in (("spark_sha2", "VARCHAR"), ("spark_sha2_binary", "BLOB")):
        con.create_function(name, _spark_sha2, [kind, "INTEGER"], "VARCHAR", type="arrow", side_effects=False,
                            null_handling="special")
    # Spark's window_time(w): the event time of a window's rows, its end minus 1 microsecond
    con.execute("CREATE MACRO window_time(w) AS w['end'] - INTERVAL 1 MICROSECOND")
    # Spark's round(x, d) of a double: half up on the number as Java writes it (1.005 -> 1.01, where DuckDB
    # rounds the binary 1.00499... to 1.0); the text fits DECIMAL(38, 18) below 1e20, above a double is whole
    con.execute("CREATE MACRO spark_round(x, d) AS CASE WHEN abs(x) < 1e20 THEN "
                "CAST(round(CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 18)), d) AS DOUBLE) ELSE round(x, d) END")
    con.execute("CREATE MACRO spark_bround(x, d) AS CASE WHEN abs(x) < 1e20 THEN "
                "CAST(round_even(CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 18)), d) AS DOUBLE) ELSE round_even(x, d) END")
    # Spark functions DuckDB does not have: substring_index(s, delim, n) (the text before the n-th delimiter, or
    # after the n-th from the end when n < 0), timestamp_seconds(x) (seconds since the epoch, truncated to micros)
    con.execute("CREATE MACRO substring_index(s, delim, n) AS CASE WHEN delim = '' THEN '' "
                "WHEN n > 0 THEN array_to_string(string_split(s, delim)[1:n], delim) "
                "WHEN n < 0 THEN array_to_string(string_split(s, delim)[n:], delim) ELSE '' END")
    con.execute("CREATE MACRO timestamp_seconds(x) AS CASE WHEN isfinite(CAST(x AS DOUBLE)) THEN "
                "make_timestamp(CAST(trunc(CAST(x AS DOUBLE) * 1000000) AS BIGINT)) END")
    con.execute("CREATE MACRO timestamp_millis(x) AS make_timestamp(CAST(x AS BIGINT) * 1000)")
    con.execute("CREATE MACRO timestamp_micros(x) AS make_timestamp(CAST(x AS BIGINT))")
    spark_macros.register(con)  # Spark's scalar functions DuckDB lacks or computes otherwise
    return con


_SHA2 = {0: hashlib.sha256, 224: hashlib.sha224, 256: hashlib.sha256, 384: hashlib.sha384, 512: hashlib.sha512}


def _spark_sha2(values: pa.Array, lengths: pa.Array) -> pa.Array:
    """Spark's sha2(x, bits): the hex digest of a string's UTF-8 bytes or of bytes; NULL for a length that is
    not 0, 224, 256, 384 or 512."""
    digests = []
    for value, bits in zip(values.to_pylist(), lengths.to_pylist()):
        digest = _SHA2.get(bits)
        if value is None or digest is None:
            digests.append(None)
        else:
            digests.append(digest(value.encode() if isinstance(value, str) else value).hexdigest())
    return pa.array(digests, pa.string())


def _spark_double_texts(values: pa.Array) -> pa.Array:
    """A double as Spark (Java's Double.toString) writes it: 1.5E10 and 1.0E-4 where DuckDB writes
    15000000000.0 and 0.0001 (the non_ansi rewrite sends CAST(double AS STRING) here)."""
    return pa.array([None if v is None else java_double_text(v) for v in values.to_pylist()], pa.string())


def _spark_binary_texts(values: pa.Array) -> pa.Array:
    """Bytes as Spark's CAST(binary AS STRING) reads them, UTF-8 (a Kafka value, an MQTT payload), bytes that are
    not UTF-8 as U+FFFD; DuckDB writes a BLOB cast to VARCHAR escaped (\\x22 for a double quote)."""
    try:
        return values.cast(pa.large_string() if pa.types.is_large_binary(values.type) else pa.string())
    except pa.ArrowInvalid:  # not all UTF-8: each value on its own
        return pa.array([None if v is None else v.decode("utf-8", "replace") for v in values.to_pylist()],
                        pa.string())


def _spark_splits(texts: pa.Array, patterns: pa.Array, limits: pa.Array) -> pa.Array:
    """Spark's ``split(s, regex, limit)`` with a limit above 0: at most ``limit`` parts, the last holding the rest
    of the text (DuckDB's regexp split takes no limit; the rewrite sends only this form here).

    >>> _spark_splits(pa.array(["a,b,c", None]), pa.array([",", ","]), pa.array([2, 2], pa.int32())).to_pylist()
    [['a', 'b,c'], None]
    """
    def split(text, pattern, limit):
        if text is None or pattern is None or limit is None:
            return None
        if limit == 1:  # (maxsplit 0 is no limit to re.split)
            return [text]
        return re.split(pattern, text, maxsplit=limit - 1) if limit > 0 else re.split(pattern, text)

    return pa.array([split(*row) for row in zip(texts.to_pylist(), patterns.to_pylist(), limits.to_pylist())],
                    pa.list_(pa.string()))


def java_double_text(value: float) -> str:
    """>>> [java_double_text(v) for v in (1.5e10, 1234567.0, 0.001, 1e-4, -2.5e300, 0.0, float("nan"))]
    ['1.5E10', '1234567.0', '0.001', '1.0E-4', '-2.5E300', '0.0', 'NaN']"""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    magnitude = abs(value)
    if value == 0 or 1e-3 <= magnitude < 1e7:
        return repr(value)  # the shortest digits that read back, in plain notation in this range
    _, digits, exponent = Decimal(repr(magnitude)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) - 1 + exponent
    return f"{'-' if value < 0 else ''}{text[0]}.{text[1:] or '0'}E{power}"


# what each connection has registered under each name: the same table again is not registered again (a join's
# inputs' batch tables are registered for the watermark's max event time, then read by the join's own queries)
_registered: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    names = _registered.setdefault(con, {})
    if names.get(name) is table:
        return
    con.register(name, _retag(table, None))
    names[name] = table


def query(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    return _retag(con.sql(sql).to_arrow_table(), "UTC")


def _retag(table: pa.Table, tz: str | None) -> pa.Table:
    schema = pa.schema([field.with_type(_retype(field.type, tz)) for field in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def _retype(dtype: pa.DataType, tz: str | None) -> pa.DataType:
    if pa.types.is_timestamp(dtype):
        return pa.timestamp(dtype.unit, tz=tz)
    if pa.types.is_struct(dtype):
        return pa.struct([f.with_type(_retype(f.type, tz)) for f in dtype])
    return dtype

