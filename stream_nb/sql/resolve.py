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
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from stream_nb.sources._protocol import missing_members
from stream_nb.sql.dialect import DIALECT
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.joins import find_stream_join
from stream_nb.sql.positions import start_of
from stream_nb.sql.validate import in_subquery_expression
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
        return optimizer_schema(tables)


def optimizer_schema(tables: Mapping[str, pa.Schema]) -> dict[str, dict[str, str]]:
    """Each table's columns and their SQL types, as sqlglot's optimizer takes a schema."""
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
        if in_subquery_expression(second, tree):
            raise StreamSQLError(
                f"the stream {second.name!r} cannot be read in a subquery expression (as in Spark: \"Streaming "
                "query is not allowed in subquery expressions\")", sql=sql, start=start_of(second),
                hint="join the two streams (FROM a JOIN b ON ...) instead")
        raise StreamSQLError(
            f"{', '.join(streams)} are all streams, read here other than by a JOIN or a UNION ALL of two of "
            "them, which is not supported", sql=sql, start=start_of(second),
            hint="join them (FROM a JOIN b ON ...), union them (... UNION ALL ...), or join a stream with a "
                 "static pandas DataFrame")
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
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return f"ARRAY<{_sql_type(dtype.value_type)}>"
    if pa.types.is_map(dtype):
        return f"MAP<{_sql_type(dtype.key_type)}, {_sql_type(dtype.item_type)}>"
    names = {pa.string(): "STRING", pa.large_string(): "STRING", pa.int8(): "TINYINT", pa.int16(): "SMALLINT",
             pa.int32(): "INT", pa.int64(): "BIGINT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE",
             pa.bool_(): "BOOLEAN", pa.date32(): "DATE", pa.binary(): "BINARY"}
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    return names.get(dtype, "STRING")


def qualify_columns(tree: exp.Query, sql: str, bindings: Bindings) -> exp.Query:
    """Every column qualified with its table and typed, as sqlglot's optimizer does; an unknown or ambiguous
    column is refused where it is written."""
    schema = bindings.schema()
    read = [(t.name, t.alias_or_name) for t in tree.find_all(exp.Table) if t.name in schema]
    try:
        tree = qualify(tree, schema=schema, dialect=DIALECT, quote_identifiers=False, identify=False,
                       validate_qualify_columns=True)
        return annotate_types(tree, schema=schema, dialect=DIALECT)
    except sqlglot.errors.OptimizeError as err:
        raise _unknown_column(str(err), sql, schema, read) from None


def _unknown_column(message: str, sql: str, schema: dict[str, dict[str, str]],
                    read: list[tuple[str, str]]) -> StreamSQLError:
    # sqlglot says "Column 'tmp' could not be resolved. Line: 1, Col: 10": point the caret there.
    name, start = None, None
    if "'" in message:
        name = message.split("'")[1]
    if "Line:" in message and "Col:" in message:
        line = int(message.split("Line:")[1].split(",")[0])
        col = int(message.split("Col:")[1].split()[0].strip(". "))
        lines = sql.splitlines(keepends=True)
        start = sum(len(text) for text in lines[: line - 1]) + col - len(name or "x")
    columns = sorted({c for table in schema.values() for c in table})
    if name is None:
        return StreamSQLError(message, sql=sql)
    having = [alias for table, alias in read if name in schema[table]]
    if len(having) > 1:
        return StreamSQLError(f"column {name!r} is ambiguous: {' and '.join(having)} both have it", sql=sql,
                              start=start, hint=f"say which one: {' or '.join(f'{a}.{name}' for a in having)}")
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(columns)}"
    return StreamSQLError(f"unknown column {name!r}", sql=sql, start=start, hint=hint)
