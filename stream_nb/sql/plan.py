"""Plan a streaming query: parse, then run the planner's rules (``rules.py``) until one picks its shape.

A query without aggregation is stateless: the whole query runs per batch over the batch's rows. With
aggregation it is split into per-batch SQL, keyed state and a final projection (``split_aggregates.py``);
with SELECT DISTINCT it deduplicates (``dedup.py``). A UNION ALL of streams is stateless over several inputs,
each SELECT over its own input's batch table (``tree.batch_table``); read as a table (``FROM (... UNION ALL
...)``), its rows are the batch of the rest of the query, stateful or not (``unions.py``). ``q.explain()``
shows the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from stream_nb.sql.dedup import DedupPlan, plan_dedup
from stream_nb.sql.dialect import Watermark, parse
from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.event_time import EventTime
from stream_nb.sql.limit import LimitPlan, plan_limit
from stream_nb.sql.output_modes import choose_output_mode
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.resolve import Bindings, union_selects
from stream_nb.sql.resolve import qualify_columns as _qualify  # noqa: F401 (sql/chain.py reads it by this name)
from stream_nb.sql.split_aggregates import AggregatePlan, refuse_stray_sessions, split_aggregates
from stream_nb.sql.tree import (
    AGG,
    BATCH,
    STATE,
    aggregates_in,
    apply_window,
    batch_table,
    replace_stream,
    select_chain,
    to_duckdb,
)
from stream_nb.sql.validate import refuse_ordering
from stream_nb.sql.windows import WindowSpec
from stream_nb.udfs import registered

if TYPE_CHECKING:
    from stream_nb.sql.chain import ChainPlan  # C's
    from stream_nb.sql.group_state import GroupStatePlan  # G's
    from stream_nb.sql.joins import JoinPlan  # J's
    from stream_nb.sql.rules import Planning
    from stream_nb.sql.unions import UnionInput

__all__ = ["AGG", "BATCH", "STATE", "AggregatePlan", "DedupPlan", "Plan", "batch_table", "plan_query"]


@dataclass(frozen=True)
class Plan:
    sql: str
    bindings: Bindings
    output_mode: str
    columns: list[str]
    stateless_sql: str | None = None        # queries without aggregation: the whole query over the batch tables
    aggregate: AggregatePlan | None = None
    dedup: DedupPlan | None = None
    watermarks: list[Watermark] = field(default_factory=list)
    event_time: EventTime | None = None     # the single input's watermark, if declared (None: multi-input)
    window: WindowSpec | None = None
    inputs: list[str] = field(default_factory=list)  # the streams' names: the order of the offset log's lines
    event_times: dict[str, EventTime] = field(default_factory=dict)  # each input's declared watermark
    watermark_policy: str = "min"           # the global watermark: min (Spark's default) or max over inputs
    join: JoinPlan | None = None            # a stream-stream join (sql/joins.py)
    chain: ChainPlan | None = None          # chained stateful operators (sql/chain.py)
    rules: list[str] = field(default_factory=list)  # the planner's rewrites that changed the query
    group_state: GroupStatePlan | None = None  # applyInPandasWithState on top of the stateless SQL (group_state.py)
    udfs: Mapping[str, Any] = field(default_factory=dict)  # the Python functions registered when it was planned
    limit: LimitPlan | None = None          # LIMIT in append mode: the stream's first rows, ever (limit.py)
    union: UnionInput | None = None         # the batch is a UNION ALL of the inputs' batches (unions.py)

    @property
    def stream(self):
        """The only stream of a single-input plan (``ValueError`` on a multi-input one)."""
        return self.bindings.stream

    def batch_table(self, input_name: str) -> str:
        """The table an input's batch rows are read from in this plan's SQL: ``__batch`` for a single-input
        plan, ``__batch_<input name>`` for each input of a multi-input one."""
        if input_name not in self.inputs:
            raise KeyError(f"{input_name!r} is not an input of this query (inputs: {', '.join(self.inputs)})")
        return batch_table(None if len(self.inputs) == 1 else input_name)

    def explain(self) -> str:
        """The incremental plan in words and SQL, for ``q.explain()``."""
        from stream_nb.sql.explain import explain

        if self.union is None:
            return explain(self)
        if self.join is not None:  # the join explains its sides: the union is one of them
            streams = {**self.bindings.streams, self.union.name: self.union.stream}
            text = explain(replace(self, bindings=replace(self.bindings, streams=streams)))
        else:
            text = explain(self)
        at = text.index("\n== ", text.index("==", 2))  # after the query and its inputs: the union comes first
        return (f"{text[:at]}\n== 0. Per batch (DuckDB): the UNION ALL of {', '.join(self.union.tables)}, each SELECT over "
                f"its own stream's batch; what follows reads its rows as {self.union.name} ==\n{self.union.sql}\n"
                f"{text[at:]}")


def plan_query(sql: str, *, namespaces: list[Mapping[str, Any]], output_mode: str | None = None,
               watermark: Mapping[str, tuple[str, str]] | tuple[str, str] | None = None,
               watermark_policy: str = "min") -> Plan:
    """Parse the query and run the planner's rules over it (``rules.RULES``).

    >>> import stream_nb as sn
    >>> src = sn.sources.memory("device string, temp double")
    >>> plan = plan_query("SELECT device, avg(temp) AS t FROM s GROUP BY device", namespaces=[{"s": src}])
    >>> plan.output_mode, plan.aggregate.keys, plan.columns
    ('update', ['__k0'], ['device', 't'])
    """
    from stream_nb.sql import rules  # the rules call back into the planners below: imported when used
    from stream_nb.sql.unions import plan_union_input

    union = plan_union_input(sql, namespaces=namespaces, output_mode=output_mode, watermark=watermark,
                             watermark_policy=watermark_policy, plan=plan_query)
    if union is not None:  # FROM (... UNION ALL ...): the union, then the rest over its rows
        return _with_udfs(union, registered())
    tree, watermarks = parse(sql)
    planning = rules.Planning(sql, namespaces, output_mode, watermark, watermark_policy, watermarks)
    plan = rules.run(tree, planning)
    plan = _with_udfs(plan, registered())  # a query runs with the functions registered as it starts
    return plan if plan.rules else replace(plan, rules=list(planning.changed))


def _common(q: Planning, event_time: EventTime | None) -> dict[str, Any]:
    return {"watermarks": q.watermarks, "event_time": event_time, "window": q.window, **q.inputs(),
            "rules": list(q.changed)}


def plan_deduplicate(tree: exp.Query, q: Planning) -> Plan | None:
    """SELECT DISTINCT without aggregation: each key's first row, once (``dedup.py``)."""
    if q.aggregating or not tree.args.get("distinct"):
        return None
    stream = q.bindings.stream.name
    event_time = q.event_times.get(stream)
    columns = _columns(tree)
    dedup = plan_dedup(tree, event_time, q.sql)
    apply_window(tree, q.window, stream)
    replace_stream(tree, stream)
    return Plan(q.sql, q.bindings, q.mode, columns, dedup=replace(dedup, pre_sql=to_duckdb(tree)),
                **_common(q, event_time))


def plan_stateless(tree: exp.Query, q: Planning) -> Plan | None:
    """No aggregation: the whole query per batch, over the batch's rows."""
    if q.aggregating:
        return None
    stream = q.bindings.stream.name
    columns = _columns(tree)
    apply_window(tree, q.window, stream)
    replace_stream(tree, stream)
    limit = plan_limit(tree, q.sql, to_duckdb)
    return Plan(q.sql, q.bindings, q.mode, columns, stateless_sql=to_duckdb(tree), limit=limit,
                **_common(q, q.event_times.get(stream)))


def plan_aggregate(tree: exp.Query, q: Planning) -> Plan:
    """An aggregation: per-batch SQL, partial aggregates merged into keyed state, a final projection."""
    sql, bindings, mode = q.sql, q.bindings, q.mode
    event_time = q.event_times.get(bindings.stream.name)
    columns = _columns(tree)
    aggregate = split_aggregates(tree, q.aggregating[0], q.chain, sql, bindings, q.window, event_time)
    aggregate = _picked_as_the_stream_spells_them(aggregate, bindings.stream.source.schema.names)
    if aggregate.session is not None and mode == "update":
        raise OutputModeError("session windows are not supported in update output mode (as in Spark): a "
                              "session's start moves when sessions merge, so its rows cannot be upserted",
                              sql=sql, hint="use output_mode='append' (with a watermark) or 'complete'")
    if len(aggregate.event_time_keys) > 1 and (mode != "complete" or aggregate.session is not None):
        # Spark's stateful operators find one event-time column among the keys, else fail (its first batch
        # raises MULTIPLE_EVENT_TIME_COLUMNS); only complete mode over window() never asks (nor evicts)
        raise StreamSQLError(
            f"{len(aggregate.event_time_keys)} GROUP BY keys carry the watermark's event time "
            f"({event_time.column}, and a window over it): Spark allows one event-time column per stateful "
            "operator (MULTIPLE_EVENT_TIME_COLUMNS)", sql=sql,
            hint=f"group by one of them, or by an expression of the other (e.g. CAST({event_time.column} AS "
                 "STRING)), or use output_mode='complete'" if aggregate.session is None else
                 "group by one of them")
    if mode == "append" and aggregate.event_time_key is None:
        raise OutputModeError(
            f"append output mode with an aggregation needs the watermark's column ({event_time.column}) among "
            "the GROUP BY keys, directly or through window(): only then does a group ever become final "
            "(as in Spark)", sql=sql,
            hint=f"GROUP BY window({event_time.column}, '10 seconds'), ... or use output_mode='update'")
    return Plan(sql, bindings, mode, columns, aggregate=aggregate, **_common(q, event_time))


def plan_union(tree: exp.Union, q: Planning) -> Plan:
    """A UNION ALL of streams (Spark allows it): stateless, each SELECT over its own input's batch table.
    A stream read by one SELECT only has the WHERE conditions of that SELECT pushed below its watermark."""
    sql, bindings = q.sql, q.bindings
    branches = union_selects(tree)
    widths = {len(branch.selects) for branch in branches}
    if len(widths) > 1:
        raise StreamSQLError("every SELECT of a UNION ALL must have the same number of columns (as in Spark)",
                             sql=sql, start=keyword_start(sql, "UNION"))
    read = [next(t.name for t in branch.find_all(exp.Table) if t.name in bindings.streams) for branch in branches]
    single = len(bindings.streams) == 1
    for branch, stream in zip(branches, read):
        select = branch.this if isinstance(branch, exp.Subquery) else branch
        chain = select_chain(select, stream) if isinstance(select, exp.Select) else []
        grouping = [s for s in chain if aggregates_in(s) or s.args.get("group") or s.args.get("distinct")]
        if grouping:
            raise StreamSQLError("an aggregation or DISTINCT inside a UNION ALL of streams is not supported yet; "
                                 "run one query per stream, or union the streams in a subquery first",
                                 sql=sql, start=start_of((aggregates_in(grouping[0]) or [grouping[0]])[0], sql))
        refuse_stray_sessions(branch, None, sql)
        if stream in q.event_times and chain and read.count(stream) == 1:
            q.event_times[stream] = q.event_times[stream].pushed_filters(
                chain[-1], stream, to_duckdb, batch_table(None if single else stream))
    columns = _columns(tree)
    q.mode = choose_output_mode(q.output_mode, aggregating=False, sql=sql, tree=tree, watermarks=q.watermarks,
                                watermark_option=q.watermark)
    refuse_ordering(tree, sql, q.mode, None)
    for branch, stream in zip(branches, read):
        apply_window(branch, q.window, stream)
        replace_stream(branch, stream, batch_table(None if single else stream))
    limit = plan_limit(tree, sql, to_duckdb)
    return Plan(sql, bindings, q.mode, columns, stateless_sql=to_duckdb(tree), limit=limit,
                **_common(q, q.event_times.get(read[0]) if single else None))


def _with_udfs(plan: Plan, udfs: Mapping[str, Any]) -> Plan:
    """The plan, and each stage of a chain (its operators open connections of their own), with ``udfs``."""
    chain = plan.chain and replace(plan.chain, stages=[_with_udfs(stage, udfs) for stage in plan.chain.stages])
    return replace(plan, udfs=udfs, chain=chain)


def _columns(tree: exp.Query) -> list[str]:
    return [s.alias_or_name for s in tree.selects]


def _picked_as_the_stream_spells_them(aggregate: AggregatePlan, names: list[str]) -> AggregatePlan:
    """The planner's column names are lowercased (Spark resolves them case-insensitively); a column picked
    straight from the batch is named as the stream's schema spells it (``Dev``, not ``dev``)."""
    if aggregate.pre_projection is None:
        return aggregate
    spelled = {name.lower(): name for name in names}
    projection = {pre: spelled.get(column.lower(), column) for pre, column in aggregate.pre_projection.items()}
    return replace(aggregate, pre_projection=projection)
