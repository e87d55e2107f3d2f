"""Run an aggregation plan's SQL around its state: ``pre`` over a batch, ``finish`` over state rows.

The planner (``sql/split_aggregates.py``) only writes the queries; running them at batch time is the
engine's: DuckDB for SQL, Arrow for what only picks or divides columns.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import decimals, duck
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.event_time import EventTimeKey
from stream_nb.sql.explain import as_written
from stream_nb.sql.split_aggregates import AggregatePlan
from stream_nb.sql.tree import BATCH, STATE


def pre(con: duckdb.DuckDBPyConnection, plan: AggregatePlan, batch: pa.Table) -> pa.Table:
    """The batch's keys and aggregate arguments: a column pick when that is all it is, else DuckDB."""
    if plan.pre_projection is not None:
        return batch.select(list(plan.pre_projection.values())).rename_columns(list(plan.pre_projection))
    duck.register(con, BATCH, batch)
    return duck.query(con, plan.pre_sql)


# partial functions that compare or hash their values, which Arrow does not do for arrays, maps and structs
_COMPARING = {"set": "collect_set", "distinct": "count(DISTINCT)", "min": "min", "max": "max"}
_INTEGERS_ONLY = ("bit_and", "bit_or", "bit_xor")
NEVER_US = np.iinfo(np.int64).max  # the event time of a key that has none: no watermark reaches it


def refuse_unsupported_values(plan: AggregatePlan, pre: pa.Table, sql: str) -> None:
    """Grouping by an array or a map, and the aggregates that compare or hash an array, map or struct value,
    refused by name (Arrow's grouping has no kernel for them), rather than Arrow's error in the middle of a
    batch. Spark runs these; here they are not supported yet, and each message says what works instead."""
    for text, key in zip(plan.key_texts, plan.keys):
        kind = pre.schema.field(key).type
        nested = [kind] if not pa.types.is_struct(kind) else [f.type for f in kind]
        if any(pa.types.is_nested(k) for k in nested):
            raise StreamSQLError(f"GROUP BY {as_written(text)}: grouping by {_kind(kind)} value is not supported yet",
                                 sql=sql, hint="group by its text instead, e.g. GROUP BY to_json(...)")
    for aggregate in plan.aggregates:
        for partial in aggregate.partials:
            if partial.argument is None:
                continue
            kind = pre.schema.field(partial.argument).type
            if partial.function in _INTEGERS_ONLY and not pa.types.is_integer(kind):
                raise StreamSQLError(f"{as_written(aggregate.text)}: {partial.function} takes integers, not "
                                     f"{kind}", sql=sql, hint=f"{partial.function}(CAST(x AS BIGINT))")
            if partial.function in _COMPARING and pa.types.is_nested(kind):
                raise StreamSQLError(
                    f"{as_written(aggregate.text)}: {_COMPARING[partial.function]} over {_kind(kind).split()[1]} "
                    "values is not supported yet",
                    sql=sql, hint="aggregate a field of it, or its text (to_json(...)); collect_list, first, last "
                                  "and max_by / min_by take any value")


def _kind(kind: pa.DataType) -> str:
    return "a struct" if pa.types.is_struct(kind) else "a map" if pa.types.is_map(kind) else "an array"


def finish(con: duckdb.DuckDBPyConnection, plan: AggregatePlan, rows: pa.Table) -> pa.Table:
    """The final query over state rows (keys, then partials): the user's columns, then the keys.
    Columns that only pick a key or a partial are taken from ``rows`` as they are; DuckDB computes the
    others, over the state columns they read."""

    def whole(sql: str, table: pa.Table) -> pa.Table:
        duck.register(con, STATE, table)
        return duck.query(con, sql)

    pick = plan.final_pick
    if pick is None or pick.sql is not None:
        rows = with_means(plan, rows)
    if pick is None:
        return whole(plan.final_sql, rows)
    computed = None
    if pick.sql is not None:
        computed = whole(pick.sql, rows.select(pick.inputs))  # a projection: DuckDB keeps the rows' order
        if computed.num_rows != rows.num_rows:  # not row by row after all: never zip mismatched rows
            return whole(plan.final_sql, rows)
    columns = []
    for name, source in pick.columns:
        if isinstance(source, str):
            columns.append(rows.column(source))
        elif isinstance(source, tuple):  # avg: its sum over its count, as its SQL finish says
            columns.append(mean(rows.column(source[0]), rows.column(source[1])))
        else:
            columns.append(computed.column(name))
    return pa.Table.from_arrays(columns, names=[name for name, _ in pick.columns])


def with_means(plan: AggregatePlan, rows: pa.Table) -> pa.Table:
    """State rows with each avg finished (its column, e.g. ``__a0``), which the final SQL reads."""
    for aggregate in plan.aggregates:
        if aggregate.mean_of is not None:
            total, count = aggregate.mean_of
            rows = rows.append_column(aggregate.column, mean(rows.column(total), rows.column(count)))
    return rows


def mean(total: pa.ChunkedArray, count: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """avg from its sum and count: a double, or for decimals Spark's exact decimal (DuckDB would divide
    decimals as doubles)."""
    if pa.types.is_decimal(total.type):
        return decimals.mean(total.combine_chunks(), count.combine_chunks())
    return pc.if_else(pc.greater(count, 0), pc.divide(total, pc.cast(count, pa.float64())),
                      pa.scalar(None, pa.float64()))


def event_times(key: EventTimeKey, keys: list[pa.ChunkedArray] | pa.Table,
                key_names: list[str] | None = None) -> pa.ChunkedArray:
    """The event time of each row, from the key columns (a list, or a table with ``key_names``): the key
    itself, or a window key's ``end``."""
    column = keys[key.index] if key_names is None else keys.column(key_names[key.index])
    return pc.struct_field(column, key.field) if key.field is not None else column


def event_time_micros(key: EventTimeKey, keys: list[pa.ChunkedArray]) -> np.ndarray:
    """Each key's event time in µs; a NULL one as the latest time there is: as in Spark, whose watermark
    predicate (``time <= watermark``) is never true of NULL, the watermark never passes that key."""
    return pc.fill_null(event_times(key, keys).cast(pa.int64()), NEVER_US).to_numpy(zero_copy_only=False)
