"""Plan a streaming query: split it into what runs per batch, what is kept as state, and what runs last.

    SELECT device, round(avg(temp), 1) AS t FROM events WHERE temp > 0 GROUP BY device HAVING count(*) > 2

becomes three steps:

* ``pre``      per batch, stateless, DuckDB: ``SELECT device AS __k0, temp AS __x0 FROM __batch AS events
               WHERE temp > 0``
* ``partial``  per batch, Arrow hash aggregation of ``pre`` by ``__k0``: ``sum_double(__x0)``, ``count(__x0)``,
               ``count_all()`` — merged by key into state (``engine/state.py``)
* ``final``    DuckDB, over the state rows the batch changed: ``SELECT __k0 AS device, round(__a0, 1) AS t ...
               WHERE __a1 > 2``

A query without aggregation is stateless: the whole query runs per batch over the batch's rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from stream_nb.sql.aggregates import Aggregate, aggregate_argument, make_aggregate
from stream_nb.sql.dialect import DIALECT, Watermark, parse
from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.event_time import EventTime, EventTimeKey, resolve_event_time
from stream_nb.sql.output_modes import choose_output_mode
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.resolve import Bindings, resolve
from stream_nb.sql.rewrites import name_select_items, spark_casts, window_fields
from stream_nb.sql.validate import refuse_unsupported
from stream_nb.sql.windows import (SessionSpec, WindowSpec, contains_row, explode_for_sliding, is_window_call,
                                   session_spec, window_spec, window_struct)

BATCH = "__batch"  # the name the batch's rows have in DuckDB
AGG = "__agg"
STATE = "__state"


@dataclass(frozen=True)
class AggregatePlan:
    """The stateful part: group keys, partial aggregates, and the queries around the state."""

    keys: list[str]                 # state key columns: __k0, __k1, ...
    key_texts: list[str]            # the GROUP BY expressions as written
    aggregates: list[Aggregate]
    pre_sql: str                    # per batch: keys and aggregate arguments, over __batch
    pre_projection: dict[str, str] | None  # when pre only picks columns: {pre column: stream column}
    final_sql: str                  # over the changed state rows (__state): the user's columns, then __k*
    event_time_key: EventTimeKey | None = None  # the key the watermark follows (state eviction, late rows)
    session: SessionSpec | None = None  # session_window(): that key holds the event time in pre
    window: tuple[int, WindowSpec] | None = None  # window(): that key holds the event time in pre
    key_columns: list[str | None] = field(default_factory=list)  # the output column showing each key

    @property
    def partials(self):
        return [p for a in self.aggregates for p in a.partials]

    def pre(self, con, batch):
        """The batch's keys and aggregate arguments: a column pick when that is all it is, else DuckDB."""
        if self.pre_projection is not None:
            return batch.select(list(self.pre_projection.values())).rename_columns(list(self.pre_projection))
        from stream_nb.engine import duck  # the engine's door into DuckDB

        duck.register(con, BATCH, batch)
        return duck.query(con, self.pre_sql)


@dataclass(frozen=True)
class DedupPlan:
    """Deduplication (Spark's dropDuplicates): the first row per key, then never that key again."""

    keys: list[str]                 # key columns of the pre table: __d0, __d1, ...
    key_texts: list[str]            # the keys as written
    pre_sql: str                    # per batch: the query's rows plus their keys, over __batch
    event_time_key: EventTimeKey | None = None


@dataclass(frozen=True)
class Plan:
    sql: str
    bindings: Bindings
    output_mode: str
    columns: list[str]
    stateless_sql: str | None = None        # queries without aggregation: the whole query over __batch
    aggregate: AggregatePlan | None = None
    dedup: DedupPlan | None = None
    watermarks: list[Watermark] = field(default_factory=list)
    event_time: EventTime | None = None     # the stream's watermark, if declared
    window: WindowSpec | None = None

    @property
    def stream(self):
        return self.bindings.stream

    def explain(self) -> str:
        """The incremental plan in words and SQL, for ``q.explain()``."""
        from stream_nb.sql.explain import explain

        return explain(self)


def plan_query(sql: str, *, namespaces: list[Mapping[str, Any]], output_mode: str | None = None,
               watermark: Mapping[str, tuple[str, str]] | None = None) -> Plan:
    """Parse, resolve, validate and split a query.

    >>> import stream_nb as sn
    >>> src = sn.sources.memory("device string, temp double")
    >>> plan = plan_query("SELECT device, avg(temp) AS t FROM s GROUP BY device", namespaces=[{"s": src}])
    >>> plan.output_mode, plan.aggregate.keys, plan.columns
    ('update', ['__k0'], ['device', 't'])
    """
    tree, watermarks = parse(sql)
    bindings = resolve(tree, sql, namespaces)
    refuse_unsupported(tree, sql, bindings.stream.name)
    event_time = resolve_event_time(watermarks, watermark, bindings.stream.name, bindings.stream.source.schema,
                                    sql)
    name_select_items(tree)
    window_fields(tree)
    tree = _qualify(tree, sql, bindings)
    spark_casts(tree)
    window = _the_window(tree, sql)
    chain = _select_chain(tree, bindings.stream.name)
    aggregating = [s for s in chain if _aggregates_in(s) or s.args.get("group")]
    if len(aggregating) > 1:
        raise StreamSQLError("multiple streaming aggregations (an aggregate over an aggregate) are not "
                             "supported, as in Spark; aggregate once, then compute over the result in pandas",
                             sql=sql, start=start_of(_aggregates_in(aggregating[0])[0], sql))
    _refuse_distinct(tree, sql, bool(aggregating))
    columns = [s.alias_or_name for s in tree.selects]
    mode = choose_output_mode(output_mode, aggregating=bool(aggregating), sql=sql, tree=tree,
                              watermarks=watermarks, watermark_option=watermark)
    _refuse_ordering(tree, sql, mode, aggregating[0] if aggregating else None)
    common = dict(watermarks=watermarks, event_time=event_time, window=window)
    if not aggregating:
        _refuse_stray_sessions(tree, None, sql)
    if not aggregating and tree.args.get("distinct"):
        dedup = _dedup(tree, event_time)
        _apply_window(tree, window, bindings.stream.name)
        _replace_stream(tree, bindings.stream.name)
        return Plan(sql, bindings, mode, columns, dedup=replace(dedup, pre_sql=_duckdb(tree)), **common)
    if not aggregating:
        _apply_window(tree, window, bindings.stream.name)
        _replace_stream(tree, bindings.stream.name)
        return Plan(sql, bindings, mode, columns, stateless_sql=_duckdb(tree), **common)
    _refuse_stray_sessions(tree, aggregating[0] if aggregating else None, sql)
    aggregate = _split(tree, aggregating[0], chain, sql, bindings, window, event_time)
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


def _the_window(tree: exp.Query, sql: str) -> WindowSpec | None:
    """The query's window(), if any: one window per query (it may be written in several places)."""
    calls = [node for node in tree.find_all(exp.Anonymous) if is_window_call(node)]
    specs = [window_spec(call, sql) for call in calls]
    for call, spec in zip(calls, specs):
        if spec != specs[0]:
            raise StreamSQLError("a query can use one window() only; write the same window(...) everywhere",
                                 sql=sql, start=start_of(call, sql))
    return specs[0] if specs else None


def _apply_window(node: exp.Expression, window: WindowSpec | None, stream: str) -> None:
    """Rewrite window() calls into DuckDB structs; for sliding windows, repeat each row per window."""
    if window is None:
        return
    struct = window_struct(window)
    for call in [n for n in node.find_all(exp.Anonymous) if is_window_call(n)]:
        call.replace(struct.copy())
    if not window.sliding:
        return
    for table in [t for t in node.find_all(exp.Table) if t.name == stream]:
        owner = table.find_ancestor(exp.Select)
        table.replace(explode_for_sliding(table, window))
        owner.where(contains_row(window, struct), copy=False)


def _qualify(tree: exp.Query, sql: str, bindings: Bindings) -> exp.Query:
    schema = bindings.schema()
    try:
        tree = qualify(tree, schema=schema, dialect=DIALECT, quote_identifiers=False, identify=False,
                       validate_qualify_columns=True)
        return annotate_types(tree, schema=schema, dialect=DIALECT)
    except sqlglot.errors.OptimizeError as err:
        raise _unknown_column(str(err), sql, schema) from None


def _unknown_column(message: str, sql: str, schema: dict[str, dict[str, str]]) -> StreamSQLError:
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
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(columns)}"
    return StreamSQLError(f"unknown column {name!r}", sql=sql, start=start, hint=hint)


def _select_chain(tree: exp.Query, stream: str) -> list[exp.Select]:
    """The SELECTs from the outermost down to the one whose FROM (or JOIN) reads the stream directly."""
    chain = []
    node = tree
    while isinstance(node, exp.Select):
        chain.append(node)
        node = next((_as_query(source) for source in _sources(node) if _reads(source, stream)), None)
    return chain


def _sources(select: exp.Select) -> list[exp.Expression]:
    from_ = select.args.get("from_")
    return ([from_.this] if from_ else []) + [join.this for join in select.args.get("joins") or []]


def _as_query(source: exp.Expression) -> exp.Expression | None:
    return source.this if isinstance(source, exp.Subquery) else None


def _reads(node: exp.Expression, stream: str) -> bool:
    return any(t.name == stream for t in node.find_all(exp.Table))


def _aggregates_in(select: exp.Select) -> list[exp.AggFunc]:
    found = []
    for part in [*select.expressions, select.args.get("having"), select.args.get("order")]:
        if part is not None:
            found.extend(n for n in part.find_all(exp.AggFunc) if n.find_ancestor(exp.Select) is select)
    return found


def _refuse_distinct(tree: exp.Query, sql: str, aggregating: bool) -> None:
    """SELECT DISTINCT is deduplication: a stateful operator of its own, so only on the outermost SELECT of
    a query without aggregation (one stateful operator per query, for now)."""
    for select in tree.find_all(exp.Select):
        if not select.args.get("distinct"):
            continue
        if select is not tree:
            raise StreamSQLError("SELECT DISTINCT (deduplication) is supported on the outermost SELECT only",
                                 sql=sql, start=keyword_start(sql, "DISTINCT"))
        if aggregating:
            raise StreamSQLError("deduplication and aggregation in one query are two stateful operators, "
                                 "which is not supported yet; GROUP BY the columns instead of DISTINCT",
                                 sql=sql, start=keyword_start(sql, "DISTINCT"))


def _dedup(tree: exp.Select, event_time: EventTime | None) -> DedupPlan:
    """Turn SELECT DISTINCT [ON (keys)] into a plain SELECT that also outputs the keys (__d0, ...)."""
    distinct = tree.args["distinct"]
    on = distinct.args.get("on")
    keys = list(on.expressions) if on is not None else [s.unalias() if isinstance(s, exp.Alias) else s
                                                        for s in tree.selects]
    names = [f"__d{i}" for i in range(len(keys))]
    texts = [k.sql("spark") for k in keys]
    tree.set("distinct", None)
    tree.select(*(k.copy().as_(n) for k, n in zip(keys, names)), copy=False)
    event_time_key = None
    if event_time is not None:
        event_time_key = next((EventTimeKey(i) for i, k in enumerate(keys)
                               if isinstance(k, exp.Column) and k.name == event_time.column), None)
    return DedupPlan(keys=names, key_texts=texts, pre_sql="", event_time_key=event_time_key)


def _refuse_ordering(tree: exp.Query, sql: str, mode: str, aggregate: exp.Select | None) -> None:
    for node in tree.find_all(exp.Order, exp.Limit):
        word = "ORDER BY" if isinstance(node, exp.Order) else "LIMIT"
        owner = node.parent
        over_aggregate = aggregate is not None and any(s is aggregate for s in owner.find_all(exp.Select))
        if mode != "complete" or not over_aggregate:
            raise StreamSQLError(
                f"{word} is not supported on a stream, except over an aggregation in complete output mode "
                "(as in Spark): a stream has no last row to sort up to", sql=sql, start=keyword_start(sql, word),
                hint="aggregate with GROUP BY and use output_mode='complete', or sort q.result in pandas")


def _replace_stream(tree: exp.Expression, stream: str) -> None:
    for table in tree.find_all(exp.Table):
        if table.name == stream:
            table.set("this", exp.to_identifier(BATCH))
            table.set("db", None)
            table.set("catalog", None)


def _duckdb(tree: exp.Expression) -> str:
    return tree.sql(dialect="duckdb")


def _split(tree: exp.Query, select: exp.Select, chain: list[exp.Select], sql: str,
           bindings: Bindings, window: WindowSpec | None, event_time: EventTime | None) -> AggregatePlan:
    """Cut the aggregating SELECT into pre / partial / final, and keep the SELECTs above it in final."""
    group = select.args.get("group")
    keys = list(group.expressions) if group else []
    calls: dict[str, exp.AggFunc] = {}
    for node in _aggregates_in(select):
        if node.find(exp.AggFunc) is not node or any(inner is not node for inner in node.find_all(exp.AggFunc)):
            raise StreamSQLError("an aggregate inside another aggregate is not allowed", sql=sql,
                                 start=start_of(node, sql))
        calls.setdefault(node.sql(), node)
    aggregates, arguments = [], {}
    for index, node in enumerate(calls.values()):
        argument = aggregate_argument(node)
        if isinstance(node.this, exp.Distinct) and argument is None:
            raise StreamSQLError("count(DISTINCT ...) takes one column here", sql=sql, start=start_of(node, sql))
        name = None
        if argument is not None:
            name = arguments.setdefault(argument.sql(), f"__x{len(arguments)}")
        aggregates.append(make_aggregate(node, index, name, sql))
    arguments = [aggregate_argument(n).copy().as_(arguments[aggregate_argument(n).sql()])
                 for n in {aggregate_argument(n).sql(): n for n in calls.values()
                           if aggregate_argument(n) is not None}.values()]
    session = next((session_spec(k, i, sql) for i, k in enumerate(keys) if is_window_call(k, "session_window")),
                   None)
    if session is not None and window is not None:
        raise StreamSQLError("a query groups by window() or by session_window(), not both", sql=sql,
                             start=start_of(keys[session.index], sql))
    if session is not None and any(p.merge == "distinct" for a in aggregates for p in a.partials):
        raise StreamSQLError("count(DISTINCT ...) over session windows is not supported yet", sql=sql,
                             start=start_of(keys[session.index], sql))
    # In pre a window or session key is the row's event time: the engine turns it into {start, end}
    # (windows in Arrow, engine/windowing.py; sessions in the session operator).
    window_index = next((i for i, k in enumerate(keys) if is_window_call(k)), None)
    if window_index is not None and _window_calls_outside(select, keys[window_index]):
        window_index = None  # window() used beyond the GROUP BY: let DuckDB compute it everywhere
    timed = {session.index if session else None, window_index} - {None}
    pre_keys = [k.expressions[0] if i in timed else k for i, k in enumerate(keys)]
    pre = exp.Select(expressions=[k.copy().as_(f"__k{i}") for i, k in enumerate(pre_keys)] + arguments)
    for part in ("from_", "joins", "where"):
        if select.args.get(part) is not None:
            pre.set(part, select.args[part].copy())
    if not pre.expressions:  # count(*) alone: the rows matter, not their columns
        pre.select(exp.Literal.number(1).as_("__one"), copy=False)
    projection = _plain_projection(pre, bindings.stream.name)
    _apply_window(pre, window, bindings.stream.name)
    _replace_stream(pre, bindings.stream.name)
    key_names = [f"__k{i}" for i in range(len(keys))]

    final = _final_select(select, keys, calls, aggregates, key_names, sql)
    _carry_keys(select, chain, key_names)
    if select is tree:
        tree = final
    else:
        select.replace(final)
    plan = AggregatePlan(
        keys=key_names, key_texts=[k.sql("spark") for k in keys], aggregates=aggregates,
        pre_sql=_duckdb(pre), pre_projection=projection, final_sql=_duckdb(tree),
        event_time_key=_event_time_key(keys, event_time), session=session,
        window=(window_index, window) if window_index is not None else None,
        # through outer SELECTs the names may change: there, the keys count as not shown
        key_columns=[_shown_as(final, name) if tree is final else None for name in key_names])
    return plan


def _shown_as(final: exp.Select, key: str) -> str | None:
    """The output column that is exactly state key ``key``, if the query shows it."""
    for item in final.expressions:
        if isinstance(item, exp.Alias) and isinstance(item.this, exp.Column) and item.this.name == key \
                and item.alias != key:
            return item.alias
    return None


def _window_calls_outside(select: exp.Select, key: exp.Expression) -> bool:
    """Whether window() appears in the aggregating SELECT's input beyond its GROUP BY key (e.g. in WHERE)."""
    parts = [select.args.get("where"), *(select.args.get("joins") or []),
             *(a for a in select.find_all(exp.AggFunc) if a.find_ancestor(exp.Select) is select)]
    return any(is_window_call(call) for part in parts if part is not None for call in part.find_all(exp.Anonymous))


def _refuse_stray_sessions(tree: exp.Query, aggregate: exp.Select | None, sql: str) -> None:
    """session_window() is a grouping: it belongs in the GROUP BY (and the SELECT) of the aggregation."""
    group = aggregate.args.get("group") if aggregate is not None else None
    grouped = [n for n in (group.find_all(exp.Anonymous) if group else []) if is_window_call(n, "session_window")]
    for call in tree.find_all(exp.Anonymous):
        if is_window_call(call, "session_window") and not any(call == g for g in grouped):
            raise StreamSQLError("session_window() groups rows into sessions: put it in GROUP BY "
                                 "(e.g. GROUP BY session_window(ts, '30 seconds'), device)",
                                 sql=sql, start=start_of(call, sql))


def _event_time_key(keys: list[exp.Expression], event_time: EventTime | None) -> EventTimeKey | None:
    """The group key the watermark follows: its column, or a window over it (whose end counts)."""
    if event_time is None:
        return None
    for index, key in enumerate(keys):
        if (is_window_call(key) or is_window_call(key, "session_window")) and \
                key.expressions[0].name == event_time.column:
            return EventTimeKey(index, "end")
        if isinstance(key, exp.Column) and key.name == event_time.column:
            return EventTimeKey(index)
    return None


def _final_select(select: exp.Select, keys: list[exp.Expression], calls: dict[str, exp.AggFunc],
                  aggregates: list[Aggregate], key_names: list[str], sql: str) -> exp.Select:
    by_call = {text: exp.column(a.column, table=AGG) for text, a in zip(calls, aggregates)}

    def to_state(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AggFunc) and node.sql() in by_call:
            return by_call[node.sql()].copy()
        for key, name in zip(keys, key_names):
            if node == key:
                return exp.column(name, table=AGG)
        return node

    outputs = {s.alias_or_name for s in select.expressions}
    final = exp.Select(expressions=[e.copy().transform(to_state) for e in select.expressions])
    final.set("from_", exp.From(this=exp.Subquery(this=_finish_select(aggregates, key_names),
                                                  alias=exp.TableAlias(this=exp.to_identifier(AGG)))))
    if select.args.get("having") is not None:
        final.set("where", exp.Where(this=select.args["having"].this.copy().transform(to_state)))
    for part in ("order", "limit"):
        if select.args.get(part) is not None:
            final.set(part, select.args[part].copy().transform(to_state))
    for column in final.find_all(exp.Column):
        if column.find_ancestor(exp.Select) is not final:
            continue
        if column.table != AGG and not (not column.table and column.name in outputs):
            raise StreamSQLError(
                f"column {column.name!r} is neither in GROUP BY nor inside an aggregate",
                sql=sql, start=start_of(column),
                hint=f"add it to GROUP BY, or aggregate it, e.g. max({column.name})")
    final.select(*(exp.column(k, table=AGG).as_(k) for k in key_names), copy=False)
    return final


def _finish_select(aggregates: list[Aggregate], key_names: list[str]) -> exp.Select:
    columns = [exp.column(k) for k in key_names]
    columns += [sqlglot.parse_one(a.finish, read="duckdb").as_(a.column) for a in aggregates]
    return exp.Select(expressions=columns).from_(STATE)


def _carry_keys(select: exp.Select, chain: list[exp.Select], key_names: list[str]) -> None:
    """SELECTs above the aggregation pass the state keys through, so update mode can upsert by them."""
    index = next(i for i, s in enumerate(chain) if s is select)
    for outer, inner in zip(reversed(chain[:index]), reversed(chain[1:index + 1])):
        alias = inner.parent.alias_or_name if isinstance(inner.parent, exp.Subquery) else None
        outer.select(*(exp.column(k, table=alias).as_(k) for k in key_names), copy=False)


def _plain_projection(pre: exp.Select, stream: str) -> dict[str, str] | None:
    """{output: stream column} when pre only renames the stream's columns (no filter, join or expression)."""
    from_ = pre.args.get("from_")
    if pre.args.get("where") or pre.args.get("joins") or not from_ or not isinstance(from_.this, exp.Table) \
            or from_.this.name != stream:
        return None
    picked = {}
    for item in pre.expressions:
        if not isinstance(item, exp.Alias) or not isinstance(item.this, exp.Column):
            return None
        picked[item.alias] = item.this.name
    return picked
