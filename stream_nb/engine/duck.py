"""The one door into DuckDB: tables go in with naive UTC timestamps and come out tagged UTC.

Our timestamps are UTC instants (Spark with its session time zone UTC). DuckDB computes on naive
timestamps many times faster than on TIMESTAMPTZ (which goes through ICU), and with every value in UTC the
two mean the same: so the tag comes off on the way in and goes back on on the way out.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # for current_timestamp and friends
    return con


def register(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register(name, _retag(table, None))


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

