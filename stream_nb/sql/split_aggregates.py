"""Split an aggregating query into what runs per batch, what state keeps, and what runs last.

    SELECT device, round(avg(temp), 1) AS t FROM events WHERE temp > 0 GROUP BY device HAVING count(*) > 2

* ``pre``      per batch, stateless, DuckDB: ``SELECT device AS __k0, temp AS __x0 FROM __batch AS events
               WHERE temp > 0`` (a window or session key is the row's event time here)
* ``partial``  per batch, Arrow hash aggregation of ``pre`` by ``__k0``: ``sum_double(__x0)``, ``count(__x0)``,
               ``count_all()`` — merged by key into state (``engine/state.py``)
* ``final``    DuckDB, over the state rows a batch emits: ``SELECT __k0 AS device, round(__a0, 1) AS t ...
               WHERE __a1 > 2``; SELECTs above the aggregation stay around it.

The engine runs them (``engine/aggregate_queries.py``); this module only writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from stream_nb.sql.aggregates import NOT_YET, Aggregate, aggregate_argument, make_aggregate, not_yet
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.event_time import EventTime, EventTimeKey
from stream_nb.sql.positions import start_of
from stream_nb.sql.resolve import Bindings
from stream_nb.sql.tree import AGG, STATE, aggregates_in, apply_window, replace_stream, to_duckdb
from stream_nb.sql.windows import SessionSpec, WindowSpec, is_window_call, session_spec


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
    # the grouping keys that carry the event time, written differently (``window(ts, ...)`` and ``ts``):
    # Spark fails on more than one (MULTIPLE_EVENT_TIME_COLUMNS) wherever its state follows the watermark
    event_time_keys: tuple[str, ...] = ()
    session: SessionSpec | None = None  # session_window(): that key holds the event time in pre
    window: tuple[int, WindowSpec] | None = None  # window(): that key holds the event time in pre
    key_columns: list[str | None] = field(default_factory=list)  # the output column showing each key
    final_pick: FinalPick | None = None  # when the final query is one row per state row: which columns it computes

    @property
    def partials(self):
        return [p for a in self.aggregates for p in a.partials]


@dataclass(frozen=True)
class FinalPick:
    """A final query that maps each state row to one output row, in order (no filter, ordering, limit or
    outer query): per output column, the state column it picks as it is, or None where it computes."""

    # (output name, source) in output order; the source is a state column, (sum, count) columns of an avg,
    # or None: computed by ``sql``
    columns: list[tuple[str, str | tuple[str, str] | None]]
    sql: str | None                        # the computed columns alone, over __state (None: none to compute)
    inputs: list[str]                      # the state columns that sql reads




def split_aggregates(tree: exp.Query, select: exp.Select, chain: list[exp.Select], sql: str,
           bindings: Bindings, window: WindowSpec | None, event_time: EventTime | None) -> AggregatePlan:
    """Cut the aggregating SELECT into pre / partial / final, and keep the SELECTs above it in final."""
    group = select.args.get("group")
    keys = list(group.expressions) if group else []
    calls: dict[str, exp.AggFunc] = {}
    for node in aggregates_in(select):
        if node.find(exp.AggFunc) is not node or any(inner is not node for inner in node.find_all(exp.AggFunc)):
            raise StreamSQLError("an aggregate inside another aggregate is not allowed", sql=sql,
                                 start=start_of(node, sql))
        calls.setdefault(_call_text(node), node)
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
    if session is not None and len(keys) == 1:
        raise StreamSQLError("a session window needs another grouping key besides session_window() (Spark "
                             "refuses a global aggregation over session windows)", sql=sql,
                             start=start_of(keys[session.index], sql),
                             hint="GROUP BY session_window(ts, '30 seconds'), device")
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
    if session is not None and session.dynamic:
        pre.select(session.gap_column(), copy=False)
    for part in ("from_", "joins", "where"):
        if select.args.get(part) is not None:
            pre.set(part, select.args[part].copy())
    if not pre.expressions:  # count(*) alone: the rows matter, not their columns
        pre.select(exp.Literal.number(1).as_("__one"), copy=False)
    projection = _plain_projection(pre, bindings.stream.name)
    apply_window(pre, window, bindings.stream.name)
    replace_stream(pre, bindings.stream.name)
    key_names = [f"__k{i}" for i in range(len(keys))]

    final = _final_select(select, keys, calls, aggregates, key_names, sql)
    _carry_keys(select, chain, key_names)
    if select is tree:
        tree = final
    else:
        select.replace(final)
    plan = AggregatePlan(
        keys=key_names, key_texts=[k.sql("spark") for k in keys], aggregates=aggregates,
        pre_sql=to_duckdb(pre), pre_projection=projection, final_sql=to_duckdb(tree),
        event_time_key=_event_time_key(keys, event_time, select), session=session,
        event_time_keys=_event_time_keys(keys, event_time, select),
        window=(window_index, window) if window_index is not None else None,
        # through outer SELECTs the names may change: there, the keys count as not shown
        key_columns=[_shown_as(final, name) if tree is final else None for name in key_names],
        final_pick=_final_pick(final, aggregates) if tree is final else None)
    return plan


def _final_pick(final: exp.Select, aggregates: list[Aggregate]) -> FinalPick | None:
    """How the final query splits into picked and computed columns, or None when it is not row by row."""
    if any(final.args.get(part) for part in ("where", "group", "having", "order", "limit", "offset", "distinct",
                                             "joins", "qualify")) or final.find(exp.Window, exp.UDTF):  # UDTF: explode() and other generators
        return None
    inner = final.args["from_"].this.this  # (SELECT keys, finished aggregates FROM __state) AS __agg
    finished = {item.alias_or_name: item.unalias() for item in inner.expressions}
    means = {a.column: a.mean_of for a in aggregates if a.mean_of is not None}
    columns, computed = [], []
    for item in final.expressions:
        value = item.unalias()
        shown = value.name if isinstance(value, exp.Column) and value.table == AGG else None
        source = finished.get(shown)
        if shown in means:  # an avg as it is
            columns.append((item.alias_or_name, means[shown]))
            continue
        if isinstance(source, exp.Column):  # a key, or a partial the aggregate shows as it is
            columns.append((item.alias_or_name, source.name))
            continue
        if any(column.table != AGG for column in value.find_all(exp.Column)):
            return None  # refers to another output column by its name
        columns.append((item.alias_or_name, None))
        computed.append(item.copy())
    if len({name for name, _ in columns}) < len(columns):
        return None
    if not computed:
        return FinalPick(columns, None, [])
    read = {column.name for item in computed for column in item.find_all(exp.Column)}
    needed = [item.copy() for item in inner.expressions if item.alias_or_name in read]
    if not needed:  # nothing from the state (constants): let DuckDB run it whole, so it sees every row
        return None
    inputs = sorted({column.name for item in needed for column in item.find_all(exp.Column)})
    query = exp.Select(expressions=computed).from_(
        exp.Subquery(this=exp.Select(expressions=needed).from_(STATE), alias=exp.TableAlias(this=exp.to_identifier(AGG))))
    return FinalPick(columns, to_duckdb(query), inputs)



def _shown_as(final: exp.Select, key: str) -> str | None:
    """The output column that shows state key ``key``: the key itself, or a window key's start or end (a
    query's windows all have one size, so either field identifies the window)."""
    for item in final.expressions:
        if not isinstance(item, exp.Alias) or item.alias == key:
            continue
        shown = item.this
        if isinstance(shown, exp.Dot) and shown.name in ("start", "end"):
            shown = shown.this
        if isinstance(shown, exp.Column) and shown.name == key:
            return item.alias
    return None


def _window_calls_outside(select: exp.Select, key: exp.Expression) -> bool:
    """Whether window() appears in the aggregating SELECT's input beyond its GROUP BY key (e.g. in WHERE)."""
    parts = [select.args.get("where"), *(select.args.get("joins") or []),
             *(a for a in select.find_all(exp.AggFunc) if a.find_ancestor(exp.Select) is select)]
    return any(is_window_call(call) for part in parts if part is not None for call in part.find_all(exp.Anonymous))



def refuse_stray_sessions(tree: exp.Query, aggregate: exp.Select | None, sql: str) -> None:
    """session_window() is a grouping: it belongs in the GROUP BY (and the SELECT) of the aggregation."""
    group = aggregate.args.get("group") if aggregate is not None else None
    grouped = [n for n in (group.find_all(exp.Anonymous) if group else []) if is_window_call(n, "session_window")]
    for call in tree.find_all(exp.Anonymous):
        if is_window_call(call, "session_window") and not any(call == g for g in grouped):
            raise StreamSQLError("session_window() groups rows into sessions: put it in GROUP BY "
                                 "(e.g. GROUP BY session_window(ts, '30 seconds'), device)",
                                 sql=sql, start=start_of(call, sql))



def _event_time_key(keys: list[exp.Expression], event_time: EventTime | None,
                    select: exp.Select) -> EventTimeKey | None:
    """The group key the watermark follows: its column (or what a subquery renamed it to), or a window over
    it (whose end counts)."""
    if event_time is None:
        return None
    # the planner's names are lowercased (Spark resolves case-insensitively)
    names = _names_of(event_time.column.lower(), select)
    for index, key in enumerate(keys):
        if (is_window_call(key) or is_window_call(key, "session_window")) and \
                key.expressions[0].name.lower() in names:
            return EventTimeKey(index, "end")
        if isinstance(key, exp.Column) and key.name.lower() in names:
            return EventTimeKey(index)
    return None


def _event_time_keys(keys: list[exp.Expression], event_time: EventTime | None,
                     select: exp.Select) -> tuple[str, ...]:
    """The grouping keys (as written, each once) that carry the watermark's column: the column itself (or what
    a subquery renamed it to), or a window or session window over it."""
    if event_time is None:
        return ()
    names = _names_of(event_time.column.lower(), select)
    found = {}
    for key in keys:
        if (is_window_call(key) or is_window_call(key, "session_window")) and \
                isinstance(key.expressions[0], exp.Column) and key.expressions[0].name.lower() in names:
            found.setdefault(key.sql("spark"), None)
        elif isinstance(key, exp.Column) and key.name.lower() in names:
            found.setdefault(key.name.lower(), None)
    return tuple(found)


def _names_of(column: str, select: exp.Select) -> set[str]:
    """The names the stream's ``column`` has where ``select`` reads it: its own, or the ones subqueries in its
    FROM give it unchanged (``FROM (SELECT ts AS event_time ...)``, PySpark's withColumnRenamed)."""
    source = select.args.get("from_")
    inner = source.this if source is not None else None
    if not (isinstance(inner, exp.Subquery) and isinstance(inner.this, exp.Select)):
        return {column}
    below = _names_of(column, inner.this)
    names = {item.alias_or_name.lower() for item in inner.this.selects
             if isinstance(item.unalias(), exp.Column) and item.unalias().name.lower() in below}
    return names | below if any(isinstance(item, exp.Star) for item in inner.this.selects) else names



def _final_select(select: exp.Select, keys: list[exp.Expression], calls: dict[str, exp.AggFunc],
                  aggregates: list[Aggregate], key_names: list[str], sql: str) -> exp.Select:
    by_call = {text: exp.column(a.column, table=AGG) for text, a in zip(calls, aggregates)}

    def to_state(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AggFunc) and _call_text(node) in by_call:
            return by_call[_call_text(node)].copy()
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
        if column.find_ancestor(exp.Select) is not final or _bound_by_lambda(column):
            continue
        if column.table != AGG and not (not column.table and column.name in outputs):
            call = column.find_ancestor(exp.Anonymous)
            while call is not None and call.name.lower() not in NOT_YET:
                call = call.find_ancestor(exp.Anonymous)
            if call is not None:  # a Spark aggregate the parser does not know as one
                raise not_yet(call.name, sql, start_of(call))
            raise StreamSQLError(
                f"column {column.name!r} is neither in GROUP BY nor inside an aggregate",
                sql=sql, start=start_of(column),
                hint=f"add it to GROUP BY, or aggregate it, e.g. max({column.name})")
    final.select(*(exp.column(k, table=AGG).as_(k) for k in key_names), copy=False)
    return final



def _bound_by_lambda(column: exp.Column) -> bool:
    """A lambda's parameter (``x`` of ``x -> x + 1``), or a field of one (``e.value`` of ``e -> e.value``)."""
    lam = column.find_ancestor(exp.Lambda)
    while lam is not None:
        if {p.name for p in lam.expressions} & {column.table or column.name}:
            return True
        lam = lam.find_ancestor(exp.Lambda)
    return False


def _call_text(node: exp.AggFunc) -> str:
    """An aggregate call as text, telling first(x) from first(x, true): sqlglot wraps the latter in
    IgnoreNulls, outside the call."""
    return node.parent.sql() if isinstance(node.parent, exp.IgnoreNulls) else node.sql()


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
