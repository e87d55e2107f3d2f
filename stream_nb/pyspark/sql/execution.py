"""Where a DataFrame meets the engine: its schema, its plan, and (static ones) its rows.

A streaming DataFrame is planned by ``stream_nb.sql.plan_query`` exactly as ``sn.start`` will plan it, and its
schema is the engine's output schema over empty batches; a static one runs once on DuckDB (Spark SQL
transpiled by sqlglot) over its tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa
import sqlglot

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.sql import OutputModeError, StreamSQLError
from stream_nb.sql.json_functions import json_functions
from stream_nb.types import SchemaError, static_table, to_pandas

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame


class Live:
    """A running query's memory sink as a table: its result as of the last committed batch, read when used."""

    def __init__(self, query: Any):
        self.query = query

    def table(self) -> pd.DataFrame:
        return self.query.result


def namespace(df: DataFrame) -> dict[str, Any]:
    """The DataFrame's inputs as ``sn.start`` resolves FROM names: sources, and tables as pandas frames."""
    return {name: value.table() if isinstance(value, Live) else value for name, value in df._inputs.items()}


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
    from stream_nb.engine.batch import output_schema
    from stream_nb.engine.inputs import Inputs
    from stream_nb.engine.operators import connect

    p = plan(df, "complete" if _aggregates(df) else None)
    try:
        return output_schema(p, connect(p), Inputs(p).empty())
    except StreamSQLError as err:
        raise AnalysisException(str(err), "STREAM_NB_PLAN") from None


def _aggregates(df: DataFrame) -> bool:
    """An aggregation without a watermark is planned in complete mode for its schema (append would refuse it)."""
    return any(s.args.get("group") or any(isinstance(e, sqlglot.exp.AggFunc) for e in s.expressions)
               for s in df._query.find_all(sqlglot.exp.Select))


def explain(df: DataFrame) -> str:
    if not df._streaming:
        return f"== Physical Plan ==\nDuckDB over static tables:\n{df._sql()}"
    return plan(df, "complete" if _aggregates(df) else None).explain()


def collect(df: DataFrame) -> pd.DataFrame:
    if df._streaming:
        raise AnalysisException("Queries with streaming sources must be executed with writeStream.start();",
                                "_LEGACY_ERROR_TEMP_3223")
    return to_pandas(_run_static(df))


def _run_static(df: DataFrame, limit_zero: bool = False) -> pa.Table:
    sql = df._sql() if not limit_zero else f"SELECT * FROM ({df._sql()}) LIMIT 0"
    try:
        # Spark's JSON functions with Spark's (PERMISSIVE) answers, as the engine runs them on a stream
        text = json_functions(sqlglot.parse_one(sql, read="spark"), sql).sql("duckdb")
    except sqlglot.errors.ParseError as err:
        raise AnalysisException(str(err), "PARSE_SYNTAX_ERROR") from None
    except StreamSQLError as err:
        raise AnalysisException(str(err), "STREAM_NB_STATIC_QUERY") from None
    from stream_nb.engine.udf_calls import register_udfs
    from stream_nb.udfs import registered

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        register_udfs(con, registered().values())  # the Python functions, as a streaming query has them
        for name, value in namespace(df).items():
            con.register(name, static_table(value) if isinstance(value, (pd.DataFrame, pa.Table)) else value)
        return con.sql(text).to_arrow_table()
    except duckdb.Error as err:
        raise AnalysisException(str(err).splitlines()[0], "STREAM_NB_STATIC_QUERY") from None
    finally:
        con.close()


def watermark_input(df: DataFrame, column: str) -> str:
    """The stream a watermark on ``column`` belongs to: the engine keeps a watermark per input, on one of its
    own columns (Spark lets it sit on any derived timestamp; stream_nb does not yet)."""
    from stream_nb.sources import Source

    streams = {n: v for n, v in df._inputs.items() if isinstance(v, Source)}
    owners = [n for n, s in streams.items() if column in s.schema.names]
    if len(owners) == 1:
        return owners[0]
    if not owners:
        raise AnalysisException(
            f"DataFrame.withWatermark('{column}', ...): stream_nb needs the watermark on a column its stream "
            f"reads as it is ({', '.join(f'{n}: {s.schema.names}' for n, s in streams.items())}), not on a "
            "derived one, yet", "NOT_IMPLEMENTED")
    raise AnalysisException(f"DataFrame.withWatermark('{column}', ...): several streams have '{column}' "
                            f"({', '.join(owners)}); call withWatermark on each stream before the union or join",
                            "AMBIGUOUS_REFERENCE")
