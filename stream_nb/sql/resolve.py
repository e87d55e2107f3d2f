"""Name resolution: what each ``FROM x`` is (DESIGN §1).

``x`` is looked up in the namespaces the caller passes, in order (``sn.start``: ``sources=``, the notebook's
namespace, then the running queries by name, ``engine.registry.namespace()``): a Source is a stream, a pandas
DataFrame (or Arrow table) is a static table, a running query is its result stream.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlglot import exp

from stream_nb.sources._protocol import missing_members
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.joins import find_stream_join
from stream_nb.sql.positions import start_of
from stream_nb.types import static_table


@dataclass(frozen=True)
class Stream:
    """A stream the query reads: its name in the SQL and the source behind it."""

    name: str
    source: Any  # a stream_nb.sources.Source


@dataclass(frozen=True)
class Static:
    """A static table, snapshotted when the query starts."""

    name: str
    table: pa.Table


@dataclass(frozen=True)
class Bindings:
    streams: dict[str, Stream]  # every stream the query reads, in the order they first appear in the SQL
    statics: dict[str, Static]

    @property
    def stream(self) -> Stream:
        """The only stream of a single-input query; a multi-input query has no one stream to pick."""
        if len(self.streams) != 1:
            raise ValueError(f"the query reads {len(self.streams)} streams ({', '.join(self.streams)}): "
                             "use Bindings.streams")
        (stream,) = self.streams.values()
        return stream

    def schema(self) -> dict[str, dict[str, str]]:
        """Every table's columns and types, as sqlglot's optimizer wants them."""
        tables = {name: stream.source.schema for name, stream in self.streams.items()}
        tables.update({name: static.table.schema for name, static in self.statics.items()})
        return {name: {f.name: _sql_type(f.type) for f in schema} for name, schema in tables.items()}


def resolve(tree: exp.Query, sql: str, namespaces: list[Mapping[str, Any]]) -> Bindings:
    """Bind every table the query reads; at least one must be a stream, and several only in a UNION ALL
    (a JOIN of two streams is a stream-stream join: refused until its planner rule lands)."""
    streams: dict[str, Stream] = {}
    statics: dict[str, Static] = {}
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table, bfs=False):  # depth first: in the order the SQL names them
        name = table.name
        if not isinstance(table.this, exp.Identifier):
            _refuse_table_function(table, sql)
        if table.db.lower() in _FILE_FORMATS and table.this.quoted:
            raise StreamSQLError(
                f"FROM {table.db}.`{name}` reads files in Spark; here files are a stream source",
                sql=sql, start=start_of(table),
                hint=f"src = sn.sources.files({name!r}, format={table.db.lower()!r}), then FROM src")
        if name in ctes or name in streams or name in statics:
            continue
        value = _lookup(name, namespaces, table, sql)
        if _is_source(value):
            streams[name] = Stream(name, value)
        elif _is_query(value):
            streams[name] = Stream(name, value.as_source())
        elif isinstance(value, (pd.DataFrame, pa.Table)):  # read as add_data reads rows (timestamps, NaN)
            statics[name] = Static(name, static_table(value))
        else:
            missing = missing_members(value)  # some but not all of a source's members: a source of one's own
            raise StreamSQLError(
                f"{name!r} is a {type(value).__name__}, not a table: FROM takes a stream source "
                "(sn.sources...), a pandas DataFrame or a running query's name",
                sql=sql, start=start_of(table),
                hint=f"a source of your own lacks {', '.join(missing)} (the Source protocol in "
                     "stream_nb/sources/_protocol.py)" if len(missing) < 3 else None)
    if not streams:
        raise StreamSQLError(
            "this query reads no stream, only static tables: run it with pandas or DuckDB directly, "
            "or read from a source such as sn.sources.memory(...)", sql=sql, start=0)
    if len(streams) > 1 and not _union_of_streams(tree, streams) and find_stream_join(tree, streams) is None:
        second = next(t for t in tree.find_all(exp.Table) if t.name == list(streams)[1])
        raise StreamSQLError(
            f"stream-stream joins are not supported yet: {', '.join(streams)} are all streams; "
            "join a stream with a static pandas DataFrame instead", sql=sql, start=start_of(second))
    return Bindings(streams=streams, statics=statics)


def _union_of_streams(tree: exp.Query, streams: dict[str, Stream]) -> bool:
    """A UNION at the top whose SELECTs each read one stream: each input's rows pass through on their own
    (validate.py checks the rest)."""
    return isinstance(tree, exp.SetOperation) and all(
        len({t.name for t in select.find_all(exp.Table)} & set(streams)) <= 1 for select in union_selects(tree))


def union_selects(tree: exp.Expression) -> list[exp.Expression]:
    """The SELECTs of a chain of set operations, left to right (a single query: itself)."""
    if isinstance(tree, exp.SetOperation):
        return union_selects(tree.left) + union_selects(tree.right)
    return [tree]


def _lookup(name: str, namespaces: list[Mapping[str, Any]], table: exp.Table, sql: str) -> Any:
    for namespace in namespaces:
        if name in namespace:
            return namespace[name]
    # IPython keeps every shown DataFrame as _, __, _2, ...: those are history, not tables anyone names
    tables = sorted({k for ns in namespaces for k, v in ns.items()
                     if (_is_source(v) or isinstance(v, (pd.DataFrame, pa.Table))) and not k.startswith("_")})
    running = sorted({k for ns in namespaces for k, v in ns.items() if _is_query(v) and k == _name_of(v)})
    close = difflib.get_close_matches(name, tables + running, n=1)
    known = "; ".join(part for part in (f"known tables: {', '.join(tables)}" if tables else "",
                                        f"running queries: {', '.join(running)}" if running else "") if part)
    hint = f"did you mean {close[0]!r}?" if close else known or (
        "pass it with sources={...} or define it in the notebook, e.g. events = sn.sources.memory(...)")
    raise StreamSQLError(f"unknown table {name!r}", sql=sql, start=start_of(table), hint=hint)


_FILE_FORMATS = {"csv", "json", "parquet", "text", "orc"}  # Spark's FROM json.`/path` syntax


def _refuse_table_function(table: exp.Table, sql: str) -> None:
    start = start_of(table.this, sql)
    name = sql[start:].split("(")[0].strip() if start is not None else table.this.sql(dialect="spark")
    raise StreamSQLError(
        f"FROM {name}(...) is a table function, which a streaming query cannot read: FROM takes a stream, "
        "a pandas DataFrame or a running query, by name", sql=sql, start=start,
        hint="read files as a stream with sn.sources.files(path, format='csv'), or load them into a pandas "
             "DataFrame, and name it in FROM")


def _is_source(value: Any) -> bool:
    return not missing_members(value)


def _is_query(value: Any) -> bool:
    return hasattr(value, "as_source") and hasattr(value, "last_progress")


def _name_of(query: Any) -> str | None:
    """A query's own name: the running queries' namespace binds each under it (a notebook's ``q = ...`` does
    not, and is a variable, not a running query's name)."""
    return getattr(query, "name", None)


def _sql_type(dtype: pa.DataType) -> str:
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP"
    if pa.types.is_struct(dtype):
        return "STRUCT<" + ", ".join(f"{f.name} {_sql_type(f.type)}" for f in dtype) + ">"
    names = {pa.string(): "STRING", pa.large_string(): "STRING", pa.int8(): "TINYINT", pa.int16(): "SMALLINT",
             pa.int32(): "INT", pa.int64(): "BIGINT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE",
             pa.bool_(): "BOOLEAN", pa.date32(): "DATE", pa.binary(): "BINARY"}
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    return names.get(dtype, "STRING")
