"""Where a DataFrame meets the engine: its schema, its plan, and (static ones) its rows.

A streaming DataFrame is planned by ``stream_nb.sql.plan_query`` exactly as ``sn.start`` will plan it, and its
schema is the engine's output schema over empty batches; a static one runs once on DuckDB (Spark SQL
transpiled by sqlglot) over its tables.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.sinks.memory import MemorySink
from stream_nb.sql import OutputModeError, StreamSQLError
from stream_nb.sql.static import spark_static_sql
from stream_nb.types import SchemaError, static_table, to_pandas

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame


class Live:
    """A running query's memory sink as a table: its result as of the last committed batch, read when used."""

    def __init__(self, query: Any):
        self.query = query

    def table(self) -> pa.Table | pd.DataFrame:
        """The memory sink's table as Arrow, so that a NULL stays NULL (pandas makes a NULL double NaN, which
        ``collect()`` would give as nan where Spark gives None); another sink's result as ``q.result`` says."""
        sink = self.query.sink
        return sink.table() if isinstance(sink, MemorySink) else self.query.result


# A stream's input name -> how to build a reader of it: a query started here gets readers of its own.
_readers: dict[str, Callable[[], Any]] = {}
_scans = itertools.count(2)


def with_reader(df: DataFrame, make: Callable[[], Any]) -> DataFrame:
    """``df`` (one stream, just read) with ``make`` as the way to build another reader of its source."""
    (name,) = df._inputs
    _readers[name] = make
    return df


# A scan's input name -> the input whose withWatermark it shares (a self-join split after one withWatermark)
_same_watermark: dict[str, str] = {}
# A scan's input name -> the input whose reader it reads. Spark plans a union of a stream with itself over one
# source and a self-join over two that list, fetch or poll one after the other, within microseconds; here
# every scan of a stream reads one reader, which the engine asks once a trigger and reads once a batch
# (``engine/inputs.py``): each batch, every scan sees the same rows, never a file or message a batch before
# another scan, whose watermark would then drop the rest as late
_same_reader: dict[str, str] = {}


def second_scan(name: str, same_watermark: bool = False) -> str:
    """A new input name for another scan of the stream ``name`` (an input of its own, with its own watermark,
    reading the stream's one reader in the query). ``same_watermark``: both scans sit under one withWatermark."""
    scan = f"{name}_scan{next(_scans)}"
    if name in _readers:
        _readers[scan] = _readers[name]
        _same_reader[scan] = _same_reader.get(name, name)
    if same_watermark:
        _same_watermark[scan] = _same_watermark.get(name, name)
    return scan


def derived_input(name: str) -> str:
    """A new input name for stream ``name`` seen through a query (``DataFrame._derived_stream``)."""
    return f"{name}_derived{next(_scans)}"


def watermark_policy(df: DataFrame, policy: str) -> str:
    """Spark 4 tracks a watermark per withWatermark node, the largest its scans saw (the two scans of a
    self-join split after one withWatermark are one node), then takes ``policy`` across nodes: a query whose
    watermarks all come from one node runs on the largest."""
    nodes = {_same_watermark.get(name, name) for name in df._watermark}
    return "max" if len(nodes) == 1 and len(df._watermark) > 1 else policy


class Stored(Live):
    """A table a query writes with ``toTable``: a DuckDB table, read when used."""

    def __init__(self, database: str, name: str):
        self.database, self.name = database, name

    def table(self) -> pd.DataFrame:
        from stream_nb.sinks.duckdb import quote

        with duckdb.connect(self.database) as con:
            return to_pandas(con.sql(f"SELECT * FROM {quote(self.name)}").to_arrow_table())


def stored_table(session: Any, database: str, name: str) -> DataFrame:
    """``spark.table(name)`` of a table written by ``toTable``: a static DataFrame over it."""
    from stream_nb.pyspark.sql.dataframe import DataFrame

    return DataFrame(session, sqlglot.exp.select(sqlglot.exp.Star()).from_(name), {name: Stored(database, name)},
                     streaming=False)


def namespace(df: DataFrame, fresh: bool = False) -> dict[str, Any]:
    """The DataFrame's inputs as ``sn.start`` resolves FROM names: sources, and tables as pandas frames;
    ``fresh``: each stream a reader of its own, for a query that starts (one, read by all its scans, and by
    the views of it a computed watermark makes, ``DataFrame._derived_stream``, which build theirs in here)."""
    outer = getattr(_making, "made", None)
    made: dict[str, Any] = {} if outer is None else outer  # a stream's one reader, by the input first named

    def reader(name: str) -> Any:
        shared = _same_reader.get(name, name)
        if shared not in made:
            made[shared] = _readers[name]()
        return made[shared]
    _making.made = made
    try:
        return {name: value.table() if isinstance(value, Live) else
                reader(name) if fresh and name in _readers else value for name, value in df._inputs.items()}
    finally:
        _making.made = outer


_making = threading.local()  # the readers made so far for the query being started (see namespace)


def plan(df: DataFrame, output_mode: str | None = None):
    from stream_nb.sql.plan import plan_query

    try:
        return plan_query(df._sql(), namespaces=[namespace(df)], output_mode=output_mode,
                          watermark=df._watermark or None)
    except OutputModeError as err:
        raise AnalysisException(str(err), "STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION") from None
    except (StreamSQLError, SchemaError) as err:
        raise AnalysisException(str(err), "STREAM_NB_PLAN") from None


def schema_of(df: DataFrame) -> pa.Schema:
    if not df._streaming:
        return _run_static(df, limit_zero=True).schema
    scanned = _scanned_source(df)
    if scanned is not None:  # a stream as read (withWatermark's usual subject): its source's columns, unplanned
        return scanned.schema
    return planned_schema(df)


def planned_schema(df: DataFrame) -> pa.Schema:
    """A streaming DataFrame's schema as the engine gives it: its plan's output over empty batches."""
    from stream_nb.engine.batch import output_schema
    from stream_nb.engine.inputs import Inputs
    from stream_nb.engine.operators import connect

    p = plan(df, "complete" if _aggregates(df) else None)
    try:
        # closed here, on the thread that opened it: a connection left to the garbage collector can be dropped
        # by a daemon thread at exit, which aborts the process (as engine/query.py says where a query closes its own)
        with connect(p) as con:
            return output_schema(p, con, Inputs(p).empty())
    except StreamSQLError as err:
        raise AnalysisException(str(err), "STREAM_NB_PLAN") from None


def _scanned_source(df: DataFrame) -> Any:
    """The source of a DataFrame that is one stream as read (``SELECT * FROM`` it), else None."""
    from stream_nb.sources import Source

    if len(df._inputs) != 1:
        return None
    ((name, value),) = df._inputs.items()
    return value if isinstance(value, Source) and df._query == exp.select(exp.Star()).from_(name) else None


def _aggregates(df: DataFrame) -> bool:
    """An aggregation without a watermark is planned in complete mode for its schema (append would refuse it)."""
    return any(s.args.get("group") or any(isinstance(e, sqlglot.exp.AggFunc) for e in s.expressions)
               for s in df._query.find_all(sqlglot.exp.Select))


def explain(df: DataFrame) -> str:
    if not df._streaming:
        return f"== Physical Plan ==\nDuckDB over static tables:\n{df._sql()}"
    return plan(df, "complete" if _aggregates(df) else None).explain()


def collect(df: DataFrame) -> pd.DataFrame:
    return to_pandas(static_arrow(df))


def static_arrow(df: DataFrame) -> pa.Table:
    """A static DataFrame's rows, run once; a streaming one is refused, as Spark refuses its actions."""
    if df._streaming:
        raise AnalysisException("Queries with streaming sources must be executed with writeStream.start();",
                                "_LEGACY_ERROR_TEMP_3223")
    return _run_static(df)


def _run_static(df: DataFrame, limit_zero: bool = False) -> pa.Table:
    sql = df._sql()
    tables = {name: static_table(value) if isinstance(value, (pd.DataFrame, pa.Table)) else value
              for name, value in namespace(df).items()}
    try:
        arrow = all(isinstance(value, pa.Table) for value in tables.values())
        text, names = spark_static_sql(sql, {name: value.schema for name, value in tables.items()} if arrow else None)
        text = f"SELECT * FROM ({text}) LIMIT 0" if limit_zero else text  # the columns alone
    except sqlglot.errors.ParseError as err:
        raise AnalysisException(str(err), "PARSE_SYNTAX_ERROR") from None
    except StreamSQLError as err:  # Spark's condition, where Spark refuses the query too
        raise AnalysisException(str(err), getattr(err, "condition", "STREAM_NB_STATIC_QUERY")) from None
    from stream_nb.engine.duck import connect
    from stream_nb.engine.udf_calls import register_udfs
    from stream_nb.udfs import registered

    udfs = list(registered().values())
    # UTC, and the macros of Spark's functions, as a streaming query's connection: a cursor of one made once
    # (a connection costs ~50 ms, a foreachBatch batch's collect() each time), or, for the Python functions
    # (bound to the connection that registers them), one of its own
    con = connect() if udfs else _static_connection().cursor()
    try:
        register_udfs(con, udfs)  # the Python functions, as a streaming query has them
        for name, value in tables.items():
            con.register(name, value)
        table = con.sql(text).to_arrow_table()
        # Spark's names: a name that comes twice stays so (DuckDB's second k of a join is k_1)
        return table.rename_columns(names) if names is not None and len(names) == table.num_columns else table
    except duckdb.Error as err:
        raise _refusal(str(err).splitlines()[0], text) from None
    finally:
        con.close()


# What DuckDB's binder refuses that Spark's analyzer refuses too, as Spark says it: (DuckDB's words, Spark's
# condition, its message; {0} the name DuckDB quotes)
_REFUSALS = (
    (r'Referenced column "(.+?)" not found', "UNRESOLVED_COLUMN.WITH_SUGGESTION",
     "A column, variable, or function parameter with name `{0}` cannot be resolved."),
    (r'column "(.+?)" must appear in the GROUP BY clause', "MISSING_AGGREGATION",
     ('The non-aggregating expression "{0}" is based on columns which are not participating in the GROUP BY '
     "clause.")),
    (r"Set operations can only apply to expressions with the same number of result columns()",
     "NUM_COLUMNS_MISMATCH", "UNION can only be performed on inputs with the same number of columns."),
)


def _refusal(message: str, sql: str) -> AnalysisException:
    """DuckDB's error as Spark's analyzer's where Spark refuses the query too (else DuckDB's words)."""
    import re

    for pattern, condition, spark in _REFUSALS:
        found = re.search(pattern, message)
        if found is None:
            continue
        if condition == "MISSING_AGGREGATION" and " GROUP BY " not in f" {sql.upper()} ":
            return AnalysisException("The query does not include a GROUP BY clause. Add GROUP BY or turn it into "
                                     "the window functions using OVER clauses.", "MISSING_GROUP_BY")
        return AnalysisException(f"{spark.format(*found.groups())} ({message})", condition)
    return AnalysisException(message, "STREAM_NB_STATIC_QUERY")


_static: list[duckdb.DuckDBPyConnection] = []
_static_lock = threading.Lock()


def _static_connection() -> duckdb.DuckDBPyConnection:
    """The connection whose cursors run static queries (each cursor sees its own registered tables)."""
    from stream_nb.engine.duck import connect

    with _static_lock:
        if not _static:
            _static.append(connect())
        return _static[0]


def watermark_input(df: DataFrame, column: str) -> tuple[str, str]:
    """The stream a watermark on ``column`` belongs to, and that stream's column it is: the engine keeps a
    watermark per input, on one of its own columns, so a column renamed on the way (``withColumnRenamed``, a
    select's alias) is followed back to the one it reads (a computed one is not, yet)."""
    from stream_nb.sources import Source

    streams = {n: v for n, v in df._inputs.items() if isinstance(v, Source)}
    traced = _source_column(df._query, column, streams)
    if traced is COMPUTED:  # withColumn("ts", to_timestamp("ts")): not the stream's ts, though named so
        owners = []
    elif traced is not None:
        return traced
    else:
        owners = [n for n, s in streams.items() if column in s.schema.names]
    if len(owners) == 1:
        return owners[0], column
    if not owners:
        raise AnalysisException(
            f"DataFrame.withWatermark('{column}', ...): stream_nb needs the watermark on a column its stream "
            f"reads, as it is or renamed ({', '.join(f'{n}: {s.schema.names}' for n, s in streams.items())}), "
            "not on a computed one, yet", "NOT_IMPLEMENTED")
    raise AnalysisException(f"DataFrame.withWatermark('{column}', ...): several streams have '{column}' "
                            f"({', '.join(owners)}); call withWatermark on each stream before the union or join",
                            "AMBIGUOUS_REFERENCE")


COMPUTED = ("", "")  # _source_column's answer for a column a projection computes


def _source_column(query: exp.Expression, column: str, streams: dict[str, Any],
                   qualifier: str = "") -> tuple[str, str] | None:
    """(input, its column) that ``column`` of ``query`` reads unchanged, through projections and subqueries;
    ``COMPUTED`` where a projection computes it; None where the query is not a plain SELECT chain."""
    if isinstance(query, exp.Subquery):
        query = query.this
    if not isinstance(query, exp.Select):
        return None
    items = {e.alias_or_name: e.unalias() for e in query.expressions if not isinstance(e, exp.Star)}
    if column in items:
        item = items[column]
        if not isinstance(item, exp.Column) or isinstance(item.this, exp.Star):
            return COMPUTED
        column, qualifier = item.name, item.table
    elif not any(isinstance(e, exp.Star) for e in query.expressions):
        return None
    sources = [query.args.get("from_") or query.args.get("from")] + list(query.args.get("joins") or [])
    sides = [s.this for s in sources if s is not None]
    if qualifier:
        sides = [s for s in sides if s.alias_or_name == qualifier]
    found = []
    for side in sides:
        if isinstance(side, exp.Table) and side.name in streams and column in streams[side.name].schema.names:
            found.append((side.name, column))
        elif isinstance(side, exp.Subquery):
            traced = _source_column(side, column, streams)
            if traced is COMPUTED:
                return COMPUTED
            found += [traced] if traced is not None else []
    return found[0] if len(found) == 1 else None
