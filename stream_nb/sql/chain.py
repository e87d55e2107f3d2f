"""Chained stateful operators, as Spark (3.4 and later) allows them: an aggregation over what another
aggregation or a deduplication emits, in append mode.

    SELECT window(window_time(w), '1 minute') AS w2, sum(n) AS total
    FROM (SELECT window(ts, '10 seconds') AS w, device, count(*) AS n
          FROM events GROUP BY window(ts, '10 seconds'), device)
    GROUP BY window(window_time(w), '1 minute')

is two operators, each planned as a query of its own: the inner SELECT over the stream, then the rest over
the inner one's output as a stream (``__stage0``). Between them only event time links them: a window the
inner aggregation emits is a row whose event time is ``window_time(w)``, the window's end minus 1
microsecond (``window(w, ...)`` means the same), and each operator's watermark is the query's
(``engine/chain.py`` applies Spark's WatermarkPropagator). The cut is made in the SQL text, so every error
still points at the query as written.

A deduplication of one stream read by a join with another (``FROM (SELECT DISTINCT ts, ad FROM impressions) i
JOIN clicks c ON ...``, or GROUP BY without aggregate functions, or DISTINCT ON) is two operators too: the join
reads the deduplication's output as ``__stage0`` and the other stream as it is (``ChainPlan.joined``).

What Spark refuses is refused here with its reason (UnsupportedOperationChecker): an aggregation in update or
complete mode followed by another stateful operator, and an append-mode aggregation whose keys hold no event
time of what it reads.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from stream_nb.sql.chain_join import cut_join, join_output_name
from stream_nb.sql.chain_refusals import (
    is_aggregation,
    refuse_after_update,
    refuse_without_event_time,
    refuse_without_watermark,
    where,
)
from stream_nb.sql.chain_text import Text, cte_definition, kept_ctes, paren_span, span
from stream_nb.sql.dialect import parse
from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.joins import refuse_join_output_mode, streams_read
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.resolve import resolve
from stream_nb.sql.rewrites import inline_ctes, window_fields
from stream_nb.sql.spark_names import name_select_items
from stream_nb.sql.tree import aggregates_in
from stream_nb.sql.windows import is_window_call, window_spec
from stream_nb.types import TIMESTAMP, SchemaError, arrow_type

if TYPE_CHECKING:
    from stream_nb.sql.plan import Plan

STAGE = "__stage{}"              # the stream an operator reads: the output of the operator before it
WINDOW_TIME = "__window_time_{}"  # window_time(<window column>), added to the output an operator reads
WINDOW_TIME_US = 1                # window_time(w) = w.end - 1 microsecond, as in Spark
_WINDOW = pa.struct([pa.field("start", TIMESTAMP), pa.field("end", TIMESTAMP)])


@dataclass(frozen=True)
class ChainPlan:
    """Stateful operators one after another: ``stages[0]`` reads the query's stream, ``stages[i]`` the
    output of ``stages[i - 1]`` plus the event-time columns ``window_times[i - 1]`` ({hidden column:
    the window column whose end - 1 µs it holds})."""

    stages: list[Plan]
    window_times: list[dict[str, str]] = field(default_factory=list)
    joined: str | None = None  # stage 0 deduplicates one input; the join of stage 1 reads its output by this name

    def follows_watermark(self, index: int) -> bool:
        """Whether operator ``index`` drops late rows and evicts state behind the watermark."""
        stage = self.stages[index]
        if stage.aggregate is not None:
            return stage.aggregate.event_time_key is not None and stage.output_mode != "complete"
        return stage.dedup is not None and stage.dedup.event_time_key is not None


@dataclass(frozen=True)
class StageOutput:
    """What one operator emits, as the stream the next one is planned over (never read: the engine hands
    the next operator the rows themselves)."""

    schema: pa.Schema
    description: str = "the operator before"

    def latest_offset(self) -> int:
        return 0

    def read(self, start: int, end: int) -> pa.Table:
        return self.schema.empty_table()


def plan_chain(sql: str, tree: exp.Query, *, namespaces: list[Mapping[str, Any]], output_mode: str | None,
               watermark: Any, watermark_policy: str, plan: Callable[..., Plan]) -> Plan | None:
    """The plan of a query with several stateful operators in its FROM path (None: it has one or none).
    ``tree`` is the parsed query (CTEs inlined); ``plan`` plans one operator's SQL (``plan_query``).

    >>> import stream_nb as sn
    >>> from stream_nb.sql.plan import plan_query
    >>> inner = ("SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM s WATERMARK ts DELAY OF INTERVAL "
    ...          "5 SECONDS GROUP BY window(ts, '10 seconds')")
    >>> plan = plan_query(f"SELECT window(w, '1 minute') AS m, sum(n) AS n FROM ({inner}) GROUP BY window(w, '1 minute')",
    ...                   namespaces=[{"s": sn.sources.memory("ts timestamp")}])
    >>> plan.output_mode, [stage.sql for stage in plan.chain.stages][1]
    ('append', "SELECT window(__window_time_w, '1 minute') AS m, sum(n) AS n FROM __stage0 GROUP BY window(__window_time_w, '1 minute')")
    """
    path = _from_path(tree)
    streams = _streams(tree, sql, namespaces)
    joined = {i for i, select in enumerate(path) if _joins_streams(select, streams)}
    stateful = [i for i, select in enumerate(path) if _is_stateful(select) or i in joined]
    # the innermost operator may join two streams and aggregate what they give in one SELECT: two operators
    together = bool(stateful) and stateful[-1] in joined and _is_stateful(path[stateful[-1]])
    if len(stateful) < 2 and not together:
        return None
    upper = path[stateful[-1]] if together else path[stateful[-2]]
    lower = None if together else path[stateful[-1]]  # None: the join in the upper operator's own SELECT
    if not together and stateful[-2] in joined and _dedup_feeds_join(path, stateful):
        return _plan_dedup_join(sql, tree, path[stateful[-1]], namespaces=namespaces, output_mode=output_mode,
                                watermark=watermark, watermark_policy=watermark_policy, plan=plan)
    if not together and stateful[-2] in joined:
        raise StreamSQLError(
            "a stream-stream join over what an aggregation emits is not supported yet (Spark "
            "runs it in append mode): join the streams first, then aggregate what the join emits", sql=sql,
            start=keyword_start(sql, "JOIN", start_of(upper, sql) or 0),
            hint="run the aggregations as queries of their own and join their results in pandas")
    aggregating = lower is not None and is_aggregation(lower)
    mode = _output_mode(output_mode, aggregating, upper)
    if stateful[-1] in joined:  # the operators over a stream-stream join take the modes the join takes
        for join in path[stateful[-1]].args.get("joins") or []:
            if streams_read(join, streams):
                refuse_join_output_mode(join, mode, sql)
    if mode != "append" and aggregating and is_aggregation(upper):
        raise refuse_after_update(lower, upper, mode, sql)
    declared = bool(watermark) or bool(parse(sql)[1])
    if mode == "append" and is_aggregation(upper) and not declared:
        raise refuse_without_watermark(aggregating, upper, sql)
    # The upper operator reads the lower one's output as a stream by name: the CTE's (its definition goes), or
    # a free __stage<i> in place of the subquery (an operator further up is planned with the ones below it).
    name = next(STAGE.format(i) for i in itertools.count() if not any(STAGE.format(i) in n for n in namespaces))
    if together:
        pieces, edits = cut_join(upper, sql, name)
        renamed = join_output_name
    else:
        opened, closed = paren_span(path[stateful[-2] + 1], sql)  # the lower operator and the SELECTs above it
        pieces, edits, renamed = kept_ctes(sql, opened) + [(opened + 1, closed)], [(opened, closed + 1, name)], None
        cte = cte_definition(sql, opened, closed)
        if cte is not None:
            name, edits = cte[0], [cte[1]]
    lower_text = Text.of(sql, pieces)
    # a deduplication emits each new row whatever the mode, so it is planned as the append it is
    first = _planned(plan, lower_text, namespaces=namespaces, output_mode=mode if aggregating else "append",
                     watermark=watermark, watermark_policy=watermark_policy)
    schema, timed = _output_schema(first, lower_text, sql, namespaces)
    times = _event_time_columns(first, schema) if first.join is None else timed
    hidden, used = {}, None
    for call, column, whole in _window_time_calls(upper, times) if not together else ():
        hidden_name = WINDOW_TIME.format(column.name.lower())
        hidden[hidden_name] = times[column.name.lower()][0]
        qualifier = f"{column.table}." if column.table and whole else ""
        edits.append((*span(call if whole else column, sql), qualifier + hidden_name))
        used = used or hidden_name
    window = first.aggregate.window[1] if first.aggregate is not None and first.aggregate.window else None
    for column in _window_keys(upper, times) if not together and window is not None and not window.sliding else ():
        # GROUP BY w (Spark keys on the window column itself): the same window again, from its event time
        hidden_name = WINDOW_TIME.format(column.name.lower())
        hidden[hidden_name] = times[column.name.lower()][0]
        shown = f" AS {column.name}" if isinstance(column.parent, exp.Select) else ""
        edits.append((*span(column, sql), f"window({hidden_name}, '{window.size_us} microseconds', "
                                            f"'{window.slide_us} microseconds', '{window.offset_us} microseconds')"
                                            + shown))
        used = used or hidden_name
    for column, spec in _join_window_keys(upper, times, sql) if together else ():
        # GROUP BY i.w, a window a side computes (a window column keeps its event time through the join, as
        # in Spark): the same window again, from its window_time, in place of the join's own edit
        hidden_name = WINDOW_TIME.format(join_output_name(column).lower())
        hidden[hidden_name] = times[join_output_name(column).lower()][0]
        at = span(column, sql)
        edits = [edit for edit in edits if tuple(edit[:2]) != tuple(at)]
        shown = f" AS {column.name}" if isinstance(column.parent, exp.Select) else ""
        edits.append((*at, f"window({hidden_name}, '{spec.size_us} microseconds', '{spec.slide_us} microseconds', "
                           f"'{spec.offset_us} microseconds')" + shown))
        used = used or hidden_name
    used = used or _timestamp_key(upper, times, renamed or (lambda column: column.name))
    if mode != "append" and aggregating and used is not None:  # a dedup on event time: stateful
        raise refuse_after_update(lower, upper, mode, sql)
    if mode == "append" and is_aggregation(upper) and used is None:
        if together:  # the join's event times are its sides' watermarked columns, read or not
            times = {f"{side.alias}.{first.event_times[side.input].column}": ("", "timestamp")
                     for side in (first.join.left, first.join.right) if side.input in first.event_times}
        raise refuse_without_event_time(upper, times, sql)
    for hidden_name, column in hidden.items():
        schema = schema.append(pa.field(hidden_name, schema.field(column).type.field("end").type))
    rest = Text.edited(sql, edits)
    second = _planned(plan, rest, namespaces=[{name: StageOutput(schema)}, *namespaces], output_mode=mode,
                      watermark={name: (used, "0 seconds")} if used else None, watermark_policy="min")
    if second.aggregate is not None and second.aggregate.session is not None:
        raise StreamSQLError("session_window() over what another stateful operator emits is not supported yet; "
                             "session windows can come first in a chain", sql=sql,
                             start=where(upper, sql, keys_first=True))
    distinct = next((a for a in (second.aggregate.aggregates if second.aggregate is not None else [])
                     if any(part.function == "distinct" for part in a.partials)), None)
    if distinct is not None:  # its groups could not be emitted in the batch that closes them
        raise StreamSQLError("count(DISTINCT ...) over what another stateful operator emits is not supported, as "
                             "in Spark (distinct aggregations are not supported on streaming DataFrames)", sql=sql,
                             start=keyword_start(sql, "DISTINCT", start_of(upper, sql) or 0),
                             hint="count the distinct values in the operator before (GROUP BY them there), then "
                                  "count its rows here")
    stages, window_times = [first], [hidden]
    if second.chain is not None:
        stages += second.chain.stages
        window_times += second.chain.window_times
    else:
        stages.append(second)
    from stream_nb.sql.plan import Plan

    return Plan(sql, first.bindings, mode, second.columns, chain=ChainPlan(stages, window_times),
                watermarks=first.watermarks, event_time=first.event_time, inputs=first.inputs,
                event_times=first.event_times, watermark_policy=first.watermark_policy)


def _dedup_feeds_join(path: list[exp.Select], stateful: list[int]) -> bool:
    """Whether the query is a deduplication (DISTINCT, DISTINCT ON, a GROUP BY without aggregate functions)
    read straight by a join of it with another stream, nothing stateful after:
    ``FROM (SELECT DISTINCT ... FROM a) i JOIN b c ON ...``, which Spark runs in append mode."""
    upper, lower = stateful[-2], stateful[-1]
    return (len(stateful) == 2 and lower == upper + 1 and not aggregates_in(path[lower])
            and not _is_stateful(path[upper]))


def _plan_dedup_join(sql: str, tree: exp.Query, lower: exp.Select, *, namespaces: list[Mapping[str, Any]],
                     output_mode: str | None, watermark: Any, watermark_policy: str,
                     plan: Callable[..., Plan]) -> Plan:
    """Two operators: the deduplication over its stream, then the join of what it emits (read as
    ``__stage<i>``) with the other stream. The deduplication emits no row behind its input's watermark, so
    its output carries that watermark on the same event-time column (Spark's EventTimeWatermark metadata
    goes through it): the join bounds its state by it as by the stream's own."""
    opened, closed = paren_span(lower, sql)
    mode = str(output_mode).strip().lower() if output_mode is not None else "append"
    if mode != "append" and is_aggregation(lower):
        raise OutputModeError(
            f"an aggregation in {mode} output mode cannot be followed by a stream-stream join, as in Spark: it "
            "emits a group again each time the group changes, so the join would pair it again", sql=sql,
            start=opened + 1, hint="use output_mode='append' (each distinct row is emitted once, when the "
                                   "watermark passes its event time)")
    name = next(STAGE.format(i) for i in itertools.count() if not any(STAGE.format(i) in n for n in namespaces))
    lower_text = Text.of(sql, kept_ctes(sql, opened) + [(opened + 1, closed)])
    edits = [(opened, closed + 1, name)]
    cte = cte_definition(sql, opened, closed)  # WITH d AS (SELECT DISTINCT ...): the join reads d
    if cte is not None:
        name, edits = cte[0], [cte[1]]
    read = {table.name for table in lower.find_all(exp.Table)}  # the other stream's watermark is the join's
    first = _planned(plan, lower_text, namespaces=namespaces, output_mode="append", watermark_policy=watermark_policy,
                     watermark={k: v for k, v in watermark.items() if k in read}
                     if isinstance(watermark, Mapping) else watermark)
    schema, _ = _output_schema(first, lower_text, sql, namespaces)
    stream = first.inputs[0]
    times = _event_time_columns(first, schema)
    column = next(iter(times.values()))[0] if times else None
    if isinstance(watermark, Mapping):
        watermark = {key: value for key, value in watermark.items() if key != stream}
    elif watermark is None:
        watermark = {}
    if column is not None:  # a tuple applies to every input, the stage's too
        watermark = {**watermark, name: (column, "0 seconds")} if isinstance(watermark, Mapping) else watermark
    rest = Text.edited(sql, edits)
    second = _planned(plan, rest, namespaces=[{name: StageOutput(schema)}, *namespaces], output_mode=output_mode,
                      watermark=watermark or None, watermark_policy=watermark_policy)
    from stream_nb.sql.plan import Plan

    inputs = [stream, *(i for i in second.inputs if i != name)]
    event_times = {**first.event_times, **{k: v for k, v in second.event_times.items() if k != name}}
    bindings = resolve(tree.copy(), sql, namespaces)  # the query's streams: both inputs
    return Plan(sql, bindings, second.output_mode, second.columns,
                chain=ChainPlan([first, second], [{}], joined=name),
                watermarks=first.watermarks + second.watermarks, event_time=None, inputs=inputs,
                event_times=event_times, watermark_policy=watermark_policy)


def _from_path(tree: exp.Query) -> list[exp.Select]:
    """The SELECTs from the outermost down through the subqueries they read FROM."""
    path, node = [], tree
    while isinstance(node, exp.Select):
        path.append(node)
        from_ = node.args.get("from_")
        node = from_.this.this if from_ is not None and isinstance(from_.this, exp.Subquery) else None
    return path


def _streams(tree: exp.Query, sql: str, namespaces: list[Mapping[str, Any]]) -> set[str]:
    """The names of the streams the query reads (none when it cannot be resolved: the planner says why)."""
    if not any(select.args.get("joins") for select in tree.find_all(exp.Select)):
        return set()  # only a join of two streams needs to know them
    try:
        return set(resolve(tree.copy(), sql, namespaces).streams)
    except StreamSQLError:
        return set()


def _joins_streams(select: exp.Select, streams: set[str]) -> bool:
    """Whether the SELECT joins two streams (a stream-stream join, ``sql/joins.py``)."""
    return bool(streams_read(select.args.get("from_"), streams)) and \
        any(streams_read(join, streams) for join in select.args.get("joins") or [])


def _is_stateful(select: exp.Select) -> bool:
    return bool(aggregates_in(select) or select.args.get("group") or select.args.get("distinct"))


def _output_mode(requested: str | None, after_aggregation: bool, upper: exp.Select) -> str:
    """The chain's output mode: the requested one, else append after an aggregation (the only mode Spark
    lets an aggregation be followed in), else the usual default (update over an aggregation)."""
    if requested is not None:
        return str(requested).strip().lower()
    return "append" if after_aggregation or not is_aggregation(upper) else "update"


def _event_time_columns(stage: Plan, schema: pa.Schema) -> dict[str, tuple[str, str]]:
    """{lowercased name: (output column, "struct" | "timestamp")}: the columns of an operator's output that
    carry event time, as Spark's event-time metadata follows them: a window key (through outer SELECTs too,
    as the struct of two timestamps it is), a plain event-time key, the rows' own event time through a
    deduplication."""
    found = {}
    key = stage.aggregate.event_time_key if stage.aggregate is not None else None
    if key is not None:
        shown = stage.aggregate.key_columns[key.index] if stage.aggregate.key_columns else None
        if key.field is not None:
            found = {f.name.lower(): (f.name, "struct") for f in schema if f.type == _WINDOW}
        elif shown is not None:
            found[shown.lower()] = (shown, "timestamp")
    elif stage.dedup is not None and stage.event_time is not None:
        shown = next((c for c in stage.columns if c.lower() == stage.event_time.column.lower()), None)
        if shown is not None:
            found[shown.lower()] = (shown, "timestamp")
    return found


def _window_time_calls(select: exp.Select, times: dict[str, tuple[str, str]]):
    """``window_time(w)`` (whole: replaced by the hidden column) and ``window(w, ...)`` (the column replaced)
    over a window column of the operator before, in the SELECT that reads it."""
    for call in select.find_all(exp.Anonymous):
        if call.find_ancestor(exp.Select) is not select or not call.expressions:
            continue
        column = call.expressions[0]
        if not isinstance(column, exp.Column) or times.get(column.name.lower(), ("", ""))[1] != "struct":
            continue
        if call.name.lower() == "window_time" and len(call.expressions) == 1:
            yield call, column, True
        elif is_window_call(call):
            yield call, column, False


def _window_keys(upper: exp.Select, times: dict[str, tuple[str, str]]) -> list[exp.Column]:
    """The bare window columns of the operator before (``w``, not ``w.start``) among the upper operator's
    GROUP BY keys, and their other uses in its SELECT and HAVING, when it groups by one."""
    group = upper.args.get("group")
    keyed = {c.name.lower() for c in (group.expressions if group is not None else [])
             if isinstance(c, exp.Column) and not c.table and times.get(c.name.lower(), ("", ""))[1] == "struct"}
    parts = [*upper.expressions, group, upper.args.get("having")]
    return [c for part in parts if part is not None for c in part.find_all(exp.Column)
            if c.name.lower() in keyed and not c.table and c.find_ancestor(exp.Select) is upper
            and not isinstance(c.parent, exp.Anonymous)]


def _join_window_keys(upper: exp.Select, times: dict[str, tuple[str, str]], sql: str) -> list[tuple[exp.Column, Any]]:
    """The columns ``i.w`` of a join's sides that are a tumbling window the side's subquery computes, among the
    GROUP BY keys of the SELECT that joins and aggregates, with their other uses in its SELECT and HAVING: each
    with its window's spec."""
    group = upper.args.get("group")
    sources = [upper.args["from_"].this, *(join.this for join in upper.args.get("joins") or [])]
    keyed = {}
    for column in group.expressions if group is not None else []:
        if not isinstance(column, exp.Column) or not column.table or \
                times.get(join_output_name(column).lower(), ("", ""))[1] != "struct":
            continue
        side = next((s for s in sources if s.alias_or_name.lower() == column.table.lower()), None)
        if not isinstance(side, exp.Subquery) or not isinstance(side.this, exp.Select):
            continue
        call = next((item.unalias() for item in side.this.selects if item.alias_or_name.lower() == column.name.lower()
                     and is_window_call(item.unalias())), None)
        spec = window_spec(call, sql) if call is not None else None
        if spec is not None and not spec.sliding:
            keyed[(column.table.lower(), column.name.lower())] = spec
    parts = [*upper.expressions, group, upper.args.get("having")]
    return [(c, keyed[c.table.lower(), c.name.lower()]) for part in parts if part is not None
            for c in part.find_all(exp.Column) if (c.table.lower(), c.name.lower()) in keyed
            and c.find_ancestor(exp.Select) is upper and not isinstance(c.parent, exp.Anonymous)]


def _timestamp_key(upper: exp.Select, times: dict[str, tuple[str, str]], renamed) -> str | None:
    """The plain event-time column the upper operator keys on (GROUP BY ts, window(ts, ...), DISTINCT ON)."""
    distinct = upper.args.get("distinct")
    keys = [upper.args.get("group"), distinct.args.get("on") if distinct is not None else None]
    if distinct is not None and distinct.args.get("on") is None:  # SELECT DISTINCT: grouped by every column
        keys += upper.expressions
    for part in keys:
        for column in part.find_all(exp.Column) if part is not None else []:
            kind = times.get(renamed(column).lower())
            if kind is not None and kind[1] == "timestamp":
                return kind[0]
    return None


def _output_schema(stage: Plan, text: Text, sql: str,
                   namespaces: list[Mapping[str, Any]]) -> tuple[pa.Schema, dict[str, tuple[str, str]]]:
    """The types of what an operator emits, as the planner types its SELECT (a window is a struct of two
    timestamps); the names are the plan's. With them, the output columns that are a stream's event-time
    column as it is (through a join, both sides' keep it, as in Spark)."""
    from stream_nb.sql.plan import _qualify  # the planner's own typing, run again over this operator's SQL

    try:
        tree, _ = parse(text.text)
        tree = inline_ctes(tree)
        bindings = resolve(tree, text.text, namespaces)
        name_select_items(tree, text.text)
        window_fields(tree)
        tree = _qualify(tree, text.text, bindings)
    except StreamSQLError as err:
        raise text.error(err, sql) from None
    # a window picked through outer SELECTs is a column of unknown type there: the window() it names is typed
    windows = {item.alias_or_name.lower() for item in tree.find_all(exp.Alias)
               if is_window_call(item.this) or is_window_call(item.this, "session_window")}
    schema = pa.schema([pa.field(name, _arrow_type(item, windows)) for name, item in zip(stage.columns, tree.selects)])
    streams = {t.alias_or_name: t.name for t in tree.find_all(exp.Table)}
    timed = {}
    for name, item in zip(stage.columns, tree.selects):
        value = item.unalias()
        event_time = stage.event_times.get(streams.get(value.table)) if isinstance(value, exp.Column) else None
        if event_time is not None and value.name == event_time.column.lower():
            timed[name.lower()] = (name, "timestamp")
        elif schema.field(name).type == _WINDOW:
            timed[name.lower()] = (name, "struct")
    return schema, timed


def _arrow_type(item: exp.Expression, windows: set[str]) -> pa.DataType:
    value = item.unalias()
    if isinstance(value, exp.Column) and value.name.lower() in windows:
        return _WINDOW
    if is_window_call(value) or is_window_call(value, "session_window"):
        return _WINDOW
    if isinstance(value, exp.Anonymous) and value.name.lower() == "window_time":
        return TIMESTAMP
    try:
        return arrow_type(item.type)
    except (SchemaError, AttributeError):
        return pa.string()  # a type the planner cannot tell: read as text, as static tables' unknowns are


def _planned(plan: Callable[..., Plan], text: Text, **options) -> Plan:
    try:
        return plan(text.text, **options)
    except StreamSQLError as err:
        raise text.error(err, text.original) from None



__all__ = ["STAGE", "WINDOW_TIME", "WINDOW_TIME_US", "ChainPlan", "StageOutput", "plan_chain"]
