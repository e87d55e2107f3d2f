"""Plan a streaming query: parse, resolve names, validate, and pick its shape.

A query without aggregation is stateless: the whole query runs per batch over the batch's rows. With
aggregation it is split into per-batch SQL, keyed state and a final projection (``split_aggregates.py``);
with SELECT DISTINCT it deduplicates (``dedup.py``). A UNION ALL of streams is stateless over several inputs,
each SELECT over its own input's batch table (``tree.batch_table``). ``q.explain()`` shows the result.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from stream_nb.sql.chain import plan_chain
from stream_nb.sql.dedup import DedupPlan, distinct_as_group_by, plan_dedup, refuse_distinct
from stream_nb.sql.dialect import DIALECT, Watermark, parse
from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.event_time import EventTime, resolve_event_times
from stream_nb.sql.joins import find_stream_join, plan_stream_join
from stream_nb.sql.non_ansi import non_ansi
from stream_nb.sql.output_modes import choose_output_mode
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.resolve import Bindings, resolve, union_selects
from stream_nb.sql.rewrites import (
    inline_ctes,
    inner_aliases,
    keep_alias_case,
    name_select_items,
    spark_casts,
    spark_functions,
    window_fields,
    written_aliases,
)
from stream_nb.sql.spark_dates import spark_dates
from stream_nb.sql.split_aggregates import AggregatePlan, refuse_stray_sessions, split_aggregates
from stream_nb.sql.tree import (
    AGG,
    BATCH,
    STATE,
    aggregates_in,
    apply_window,
    batch_table,
    reads,
    replace_stream,
    sources_of,
    to_duckdb,
)
from stream_nb.sql.validate import refuse_unsupported
from stream_nb.sql.windows import WindowSpec, is_window_call, window_spec

if TYPE_CHECKING:
    from stream_nb.sql.chain import ChainPlan  # C's
    from stream_nb.sql.joins import JoinPlan  # J's

__all__ = ["AGG", "BATCH", "STATE", "AggregatePlan", "DedupPlan", "Plan", "batch_table", "plan_query"]

WATERMARK_POLICIES = ("min", "max")  # spark.sql.streaming.multipleWatermarkPolicy


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

        return explain(self)


def plan_query(sql: str, *, namespaces: list[Mapping[str, Any]], output_mode: str | None = None,
               watermark: Mapping[str, tuple[str, str]] | tuple[str, str] | None = None,
               watermark_policy: str = "min") -> Plan:
    """Parse, resolve, validate and split a query.

    >>> import stream_nb as sn
    >>> src = sn.sources.memory("device string, temp double")
    >>> plan = plan_query("SELECT device, avg(temp) AS t FROM s GROUP BY device", namespaces=[{"s": src}])
    >>> plan.output_mode, plan.aggregate.keys, plan.columns
    ('update', ['__k0'], ['device', 't'])
    """
    tree, watermarks = parse(sql)
    tree = inline_ctes(tree)
    chained = plan_chain(sql, tree, namespaces=namespaces, output_mode=output_mode, watermark=watermark,
                         watermark_policy=watermark_policy, plan=plan_query)
    if chained is not None:  # several stateful operators: each planned as a query of its own (sql/chain.py)
        return chained
    bindings = resolve(tree, sql, namespaces)
    refuse_unsupported(tree, sql, list(bindings.streams))
    aliases = {t.alias: t.name for t in tree.find_all(exp.Table) if t.name in bindings.streams and t.alias}
    event_times = resolve_event_times(watermarks, watermark, {name: stream.source.schema for name, stream
                                                              in bindings.streams.items()}, sql, aliases)
    policy = str(watermark_policy).strip().lower()
    if policy not in WATERMARK_POLICIES:
        raise StreamSQLError(f"unknown watermark policy {watermark_policy!r}; use 'min' (Spark's default: "
                             "the slowest input holds the watermark back) or 'max'")
    name_select_items(tree)
    window_fields(tree)
    written = written_aliases(tree)
    inner = inner_aliases(tree)
    tree = _qualify(tree, sql, bindings)
    keep_alias_case(tree, written, [c for table in bindings.schema().values() for c in table] + inner)
    spark_casts(tree)
    spark_functions(tree)
    spark_dates(tree)
    non_ansi(tree)
    inputs = {"inputs": list(bindings.streams), "event_times": event_times, "watermark_policy": policy}
    if find_stream_join(tree, bindings.streams) is not None:  # J's rule: a join of two streams (sql/joins.py)
        return plan_stream_join(tree, sql, bindings, output_mode, watermarks, watermark, inputs)
    window = _the_window(tree, sql)
    if isinstance(tree, exp.Union):
        return _plan_union(tree, sql, bindings, output_mode, watermarks, watermark, window, inputs)
    event_time = event_times.get(bindings.stream.name)
    if isinstance(tree, exp.Select):
        distinct_as_group_by(tree)
    chain = _select_chain(tree, bindings.stream.name)
    if event_time is not None and chain:
        event_time = event_time.pushed_filters(chain[-1], bindings.stream.name, to_duckdb)
        inputs["event_times"] = {bindings.stream.name: event_time}
    aggregating = [s for s in chain if aggregates_in(s) or s.args.get("group")]
    if len(aggregating) > 1:
        raise StreamSQLError("multiple streaming aggregations (an aggregate over an aggregate) are not "
                             "supported, as in Spark; aggregate once, then compute over the result in pandas",
                             sql=sql, start=start_of((aggregates_in(aggregating[0]) or [aggregating[0]])[0], sql))
    refuse_distinct(tree, sql, bool(aggregating))
    columns = [s.alias_or_name for s in tree.selects]
    mode = choose_output_mode(output_mode, aggregating=bool(aggregating), sql=sql, tree=tree,
                              watermarks=watermarks, watermark_option=watermark)
    _refuse_ordering(tree, sql, mode, aggregating[0] if aggregating else None)
    common = {"watermarks": watermarks, "event_time": event_time, "window": window, **inputs}
    if not aggregating:
        refuse_stray_sessions(tree, None, sql)
    if not aggregating and tree.args.get("distinct"):
        dedup = plan_dedup(tree, event_time)
        apply_window(tree, window, bindings.stream.name)
        replace_stream(tree, bindings.stream.name)
        return Plan(sql, bindings, mode, columns, dedup=replace(dedup, pre_sql=to_duckdb(tree)), **common)
    if not aggregating:
        apply_window(tree, window, bindings.stream.name)
        replace_stream(tree, bindings.stream.name)
        return Plan(sql, bindings, mode, columns, stateless_sql=to_duckdb(tree), **common)
    refuse_stray_sessions(tree, aggregating[0] if aggregating else None, sql)
    aggregate = split_aggregates(tree, aggregating[0], chain, sql, bindings, window, event_time)
    aggregate = _picked_as_the_stream_spells_them(aggregate, bindings.stream.source.schema.names)
    if aggregate.session is not None and mode == "update":
        raise OutputModeError("session windows are not supported in update output mode (as in Spark): a "
                              "session's start moves when sessions merge, so its rows cannot be upserted",
                              sql=sql, hint="use output_mode='append' (with a watermark) or 'complete'")
    if mode == "append" and aggregate.event_time_key is None:
        raise OutputModeError(
            f"append output mode with an aggregation needs the watermark's column ({event_time.column}) among "
            "the GROUP BY keys, directly or through window(): only then does a group ever become final "
            "(as in Spark)", sql=sql,
            hint=f"GROUP BY window({event_time.column}, '10 seconds'), ... or use output_mode='update'")
    return Plan(sql, bindings, mode, columns, aggregate=aggregate, **common)


def _plan_union(tree: exp.Union, sql: str, bindings: Bindings, output_mode: str | None, watermarks: list,
                watermark: Any, window: WindowSpec | None, inputs: dict[str, Any]) -> Plan:
    """A UNION ALL of streams (Spark allows it): stateless, each SELECT over its own input's batch table.
    A stream read by one SELECT only has the WHERE conditions of that SELECT pushed below its watermark."""
    branches = union_selects(tree)
    widths = {len(branch.selects) for branch in branches}
    if len(widths) > 1:
        raise StreamSQLError("every SELECT of a UNION ALL must have the same number of columns (as in Spark)",
                             sql=sql, start=keyword_start(sql, "UNION"))
    read = [next(t.name for t in branch.find_all(exp.Table) if t.name in bindings.streams) for branch in branches]
    single = len(bindings.streams) == 1
    event_times = dict(inputs["event_times"])
    for branch, stream in zip(branches, read):
        select = branch.this if isinstance(branch, exp.Subquery) else branch
        chain = _select_chain(select, stream) if isinstance(select, exp.Select) else []
        grouping = [s for s in chain if aggregates_in(s) or s.args.get("group") or s.args.get("distinct")]
        if grouping:
            raise StreamSQLError("an aggregation or DISTINCT inside a UNION ALL of streams is not supported yet; "
                                 "run one query per stream, or union the streams in a subquery first",
                                 sql=sql, start=start_of((aggregates_in(grouping[0]) or [grouping[0]])[0], sql))
        refuse_stray_sessions(branch, None, sql)
        if stream in event_times and chain and read.count(stream) == 1:
            event_times[stream] = event_times[stream].pushed_filters(
                chain[-1], stream, to_duckdb, batch_table(None if single else stream))
    columns = [s.alias_or_name for s in tree.selects]
    mode = choose_output_mode(output_mode, aggregating=False, sql=sql, tree=tree, watermarks=watermarks,
                              watermark_option=watermark)
    _refuse_ordering(tree, sql, mode, None)
    for branch, stream in zip(branches, read):
        apply_window(branch, window, stream)
        replace_stream(branch, stream, batch_table(None if single else stream))
    return Plan(sql, bindings, mode, columns, stateless_sql=to_duckdb(tree), watermarks=watermarks,
                event_time=event_times.get(read[0]) if single else None, window=window,
                **{**inputs, "event_times": event_times})


def _picked_as_the_stream_spells_them(aggregate: AggregatePlan, names: list[str]) -> AggregatePlan:
    """The planner's column names are lowercased (Spark resolves them case-insensitively); a column picked
    straight from the batch is named as the stream's schema spells it (``Dev``, not ``dev``)."""
    if aggregate.pre_projection is None:
        return aggregate
    spelled = {name.lower(): name for name in names}
    projection = {pre: spelled.get(column.lower(), column) for pre, column in aggregate.pre_projection.items()}
    return replace(aggregate, pre_projection=projection)


def _the_window(tree: exp.Query, sql: str) -> WindowSpec | None:
    """The query's window(), if any: one window per query (it may be written in several places)."""
    calls = [node for node in tree.find_all(exp.Anonymous) if is_window_call(node)]
    specs = [window_spec(call, sql) for call in calls]
    for call, spec in zip(calls, specs):
        if spec != specs[0]:
            raise StreamSQLError("a query can use one window() only; write the same window(...) everywhere",
                                 sql=sql, start=start_of(call, sql))
    return specs[0] if specs else None


def _qualify(tree: exp.Query, sql: str, bindings: Bindings) -> exp.Query:
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


def _select_chain(tree: exp.Query, stream: str) -> list[exp.Select]:
    """The SELECTs from the outermost down to the one whose FROM (or JOIN) reads the stream directly."""
    chain = []
    node = tree
    while isinstance(node, exp.Select):
        chain.append(node)
        node = next((_as_query(source) for source in sources_of(node) if reads(source, stream)), None)
    return chain


def _as_query(source: exp.Expression) -> exp.Expression | None:
    return source.this if isinstance(source, exp.Subquery) else None


def _refuse_ordering(tree: exp.Query, sql: str, mode: str, aggregate: exp.Select | None) -> None:
    for node in tree.find_all(exp.Order, exp.Limit):
        word = "ORDER BY" if isinstance(node, exp.Order) else "LIMIT"
        owner = node.parent
        over_aggregate = aggregate is not None and any(s is aggregate for s in owner.find_all(exp.Select))
        if mode != "complete" or not over_aggregate:
            why = ("(as in Spark): a stream has no last row to sort up to" if word == "ORDER BY" else
                   "yet (Spark keeps the first rows of an append-mode stream; stream_nb does not do that yet)")
            raise StreamSQLError(
                f"{word} is not supported on a stream, except over an aggregation in complete output mode {why}",
                sql=sql, start=keyword_start(sql, word),
                hint="aggregate with GROUP BY and use output_mode='complete', or sort and cut q.result in pandas")


