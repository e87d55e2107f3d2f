"""Stream-stream joins, planned as Spark plans them (``StreamingSymmetricHashJoinExec``).

``FROM a [INNER | LEFT | RIGHT | FULL [OUTER] | LEFT SEMI] JOIN b ON ...`` between two streams, each side a
stream (with an alias) or a subquery over one (e.g. computing a window). The ON condition is split as Spark
splits it (``JoinConditionSplitPredicates``): equality keys between the sides (at least one), conjuncts that
read one side only (pre-join filters: a row failing its own is never stored; on the preserved side of an outer
join it comes out at once, NULL-padded), and the rest (checked on each joined pair). Each side's state is
evicted by the watermark: by the join key when the key is an event-time column or window (both sides), else
by the side's own time through the range condition (``join_watermark.py``). Queries Spark refuses are
refused with Spark's words, pointing at the JOIN.

The engine (``engine/join.py``) runs the plan: every SQL here is DuckDB's, over the batch and state tables
named below.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from sqlglot import exp

from stream_nb.sql import tree as _tree
from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.event_time import EventTime
from stream_nb.sql.join_plan import (
    LEFT,
    PASS,
    RIGHT,
    TYPES,
    JoinPlan,
    JoinSide,
    batch_table,
)
from stream_nb.sql.join_refusals import join_type_refusal, refuse_shape
from stream_nb.sql.join_watermark import ValueBound, value_bounds
from stream_nb.sql.positions import start_of
from stream_nb.sql.windows import is_window_call, window_spec


def find_stream_join(tree: exp.Expression, streams: Collection[str]) -> tuple[exp.Select, exp.Join] | None:
    """The SELECT whose FROM joins two streams, and that JOIN; None when no join reads two streams."""
    for select in tree.find_all(exp.Select):
        for join in select.args.get("joins") or []:
            left = streams_read(select.args.get("from_") or select.args.get("from"), streams)
            if left and streams_read(join, streams):
                return select, join
    return None


def plan_join(tree: exp.Select, sql: str, *, streams: Collection[str], event_times: Mapping[str, EventTime],
              output_mode: str) -> JoinPlan | None:
    """Plan the stream-stream join of the query (qualified by sqlglot), or None if it has none.

    >>> import sqlglot
    >>> on = "SELECT i.ad_id AS ad_id, c.ts AS clicked FROM impressions AS i JOIN clicks AS c " \\
    ...      "ON i.ad_id = c.ad_id AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE"
    >>> plan = plan_join(sqlglot.parse_one(on, read="spark"), on, streams={"impressions", "clicks"},
    ...                  event_times={"impressions": EventTime("ts", 10_000_000),
    ...                               "clicks": EventTime("ts", 20_000_000)}, output_mode="append")
    >>> plan.join_type, plan.key_texts, plan.left.eviction, plan.right.eviction
    ('Inner', ('i.ad_id = c.ad_id',), 'value', 'value')
    >>> print(plan.left.pre_sql)
    SELECT i.*, i.ad_id AS __k0, COALESCE(TRUE, FALSE) AS __pass FROM __batch_impressions AS i WHERE NOT i.ad_id IS NULL
    """
    found = find_stream_join(tree, streams)
    if found is None:
        return None
    select, join = found
    at = join_start(join, sql)
    _where_into_on(select, join, sql)
    kind = TYPES.get(((join.side or "").upper(), (join.kind or "").upper()))
    if kind is None:
        raise StreamSQLError(join_type_refusal(join), sql=sql, start=at)
    refuse_shape(tree, select, join, sql, at)
    refuse_join_output_mode(join, output_mode, sql)
    left_node, right_node = (select.args.get("from_") or select.args.get("from")).this, join.this
    left, right = (_side(node, sql, streams, event_times, at) for node in (left_node, right_node))
    on = join.args.get("on")
    keys, left_only, right_only, both = _split(on, left.alias, right.alias)
    if not keys:
        raise StreamSQLError("Stream-stream join without equality predicate is not supported (as in Spark): "
                             "the join needs a key that both sides have", sql=sql, start=at,
                             hint=f"add an equality between the sides to ON, e.g. {left.alias}.id = {right.alias}.id")
    key_eviction = _key_eviction(keys, left, right)
    full = exp.and_(*(c.copy() for c in both)) if both else None
    left = _with_eviction(left, right, key_eviction, full)
    right = _with_eviction(right, left, key_eviction, full)
    _refuse_unbounded(kind, left, right, key_eviction, full, sql, at)
    key_names = tuple(f"__k{i}" for i in range(len(keys)))
    pushed = pushed_down(kind, keys, left_only, right_only)
    left = _with_sql(left, left_node, [k[0] for k in keys], left_only, pushed[0], key_names, sql)
    right = _with_sql(right, right_node, [k[1] for k in keys], right_only, pushed[1], key_names, sql)
    return JoinPlan(
        join_type=kind, left=left, right=right, keys=key_names,
        key_texts=tuple(f"{a.sql('spark')} = {b.sql('spark')}" for a, b in keys), key_eviction=key_eviction,
        condition_sql=full.sql(dialect="duckdb") if full is not None else None,
        condition_text=full.sql(dialect="spark") if full is not None else None,
        output_sql=_output_sql(tree, select, left.alias, right.alias))


def _where_into_on(select: exp.Select, join: exp.Join, sql: str) -> None:
    """``FROM a, b WHERE a.k = b.k AND ...`` or ``a JOIN b ON ... WHERE a.k = b.k``: Spark's optimizer moves the
    WHERE's conditions on both sides of an inner join (a comma's is one) into its condition, where the join finds
    its keys and time range. An explicit CROSS JOIN stays one (refused, as by Spark's checker)."""
    where = select.args.get("where")
    comma = _is_comma(join, sql)
    inner = not join.side and (join.kind or "").upper() in ("", "INNER")
    if where is None or not (comma or inner):
        return
    sides = {(select.args.get("from_") or select.args.get("from")).this.alias_or_name, join.this.alias_or_name}
    body = where.this.unnest()
    conjuncts = [c.unnest() for c in body.flatten()] if isinstance(body, exp.And) else [body]
    moved = [c for c in conjuncts if {col.table for col in c.find_all(exp.Column)} == sides]
    if not moved:
        return
    kept = [c for c in conjuncts if all(c is not m for m in moved)]
    on = join.args.get("on")
    on = None if on is None or (isinstance(on, exp.Boolean) and on.this) else on.unnest()
    written = [c.unnest() for c in on.flatten()] if isinstance(on, exp.And) else [on] if on is not None else []
    join.set("on", exp.and_(*(c.copy() for c in written + moved)))  # one flat AND, as _split reads it
    if comma:
        join.set("kind", None)
    select.set("where", exp.Where(this=exp.and_(*(c.copy() for c in kept))) if kept else None)


def _is_comma(join: exp.Join, sql: str) -> bool:
    """``FROM a, b`` (sqlglot reads it as a CROSS JOIN; Spark as an inner join without a condition)."""
    if (join.kind or "").upper() != "CROSS":
        return False
    from stream_nb.sql.dialect import DIALECT

    if not any(t.text.upper() == "CROSS" for t in DIALECT.tokenize(sql)):
        return True
    return sql[:start_of(join.this, sql) or 0].rstrip().endswith(",")  # a table's, after its comma


def refuse_join_output_mode(join: exp.Join, output_mode: str, sql: str) -> None:
    """Spark runs a stream-stream join in append mode, an inner or a left semi one in update mode too (Spark
    4's UnsupportedOperationChecker: InnerLike and LeftSemi take Append or Update), and none in complete mode:
    also when an aggregation or a deduplication reads what the join emits (an outer join's NULL-padded rows
    come once the watermark passes, into windows that may have been emitted already)."""
    kind = "Inner" if _is_comma(join, sql) else TYPES.get(((join.side or "").upper(), (join.kind or "").upper()))
    both = kind in ("Inner", "LeftSemi")
    if output_mode == "append" or kind is None or (output_mode == "update" and both):
        return
    raise OutputModeError(f"{kind} join between two streaming DataFrames/Datasets is not supported in "
                          f"{output_mode.capitalize()} output mode, only in "
                          f"{'Append and Update output modes' if both else 'Append output mode'} "
                          "(as in Spark)",
                          sql=sql, start=join_start(join, sql),
                          hint="use output_mode='append'")


def join_start(join: exp.Join, sql: str) -> int | None:
    """Where the join clause starts in the SQL (its LEFT/RIGHT/FULL/INNER/JOIN word), for carets."""
    from stream_nb.sql.dialect import DIALECT

    table_at = start_of(join.this, sql)
    tokens = DIALECT.tokenize(sql)
    joins = [i for i, t in enumerate(tokens) if t.text.upper() == "JOIN"]
    before = [i for i in joins if table_at is not None and tokens[i].start < table_at]
    # a CTE's copy carries the CTE's positions, ahead of any JOIN: then the query's first JOIN
    index = before[-1] if before else joins[0] if joins else None
    if index is None:
        return None
    while index > 0 and tokens[index - 1].text.upper() in ("LEFT", "RIGHT", "FULL", "OUTER", "INNER", "SEMI",
                                                             "ANTI", "CROSS"):
        index -= 1
    return tokens[index].start


def streams_read(node: exp.Expression | None, streams: Collection[str]) -> list[str]:
    """The streams a FROM, a JOIN or a subquery reads, by the tables it names."""
    return [] if node is None else [t.name for t in node.find_all(exp.Table) if t.name in streams]


def _side(node: exp.Expression, sql: str, streams: Collection[str], event_times: Mapping[str, EventTime],
          at: int | None) -> JoinSide:
    read = streams_read(node, streams)
    if len(read) != 1:
        raise StreamSQLError("each side of a stream-stream join reads one stream", sql=sql, start=at)
    stream = read[0]
    declared = event_times.get(stream)
    alias = node.alias_or_name
    if isinstance(node, exp.Table):
        return JoinSide(stream, alias, "", event_time=declared.column if declared else None)
    inner = node.this
    if not isinstance(inner, exp.Select) or inner.args.get("group") or \
            any(isinstance(n, exp.AggFunc) for item in inner.expressions for n in item.walk()):
        raise StreamSQLError("a join after a streaming aggregation is not supported yet (Spark allows it only "
                             "in append mode, as a chain of stateful operators)", sql=sql, start=_opening(node, sql))
    if inner.args.get("distinct"):  # per batch it would be, not across batches: refused, not run wrong
        raise StreamSQLError(
            "a deduplication (SELECT DISTINCT) on the joined side of a stream-stream join is not supported yet; "
            "stream_nb runs one before a join when it is the side in FROM", sql=sql, start=_opening(node, sql),
            hint="put the deduplicated stream first: FROM (SELECT DISTINCT ...) c JOIN ... (LEFT becomes RIGHT)")
    if declared is None:
        return JoinSide(stream, alias, "")
    times = []  # the side's columns that carry the watermark: the event time itself, or a window over it
    for item in inner.selects:
        value = item.unalias()
        if isinstance(value, exp.Column) and value.name.lower() == declared.column.lower():
            times.append((item.alias_or_name, None))
        elif is_window_call(value) and isinstance(value.expressions[0], exp.Column) and \
                value.expressions[0].name.lower() == declared.column.lower():
            times.append((item.alias_or_name, "end"))
    if len(times) > 1:  # Spark prunes the ones the query never reads above the side before it looks
        times = [t for t in times if _read_above(node, alias, t[0])]
    if len(times) > 1:
        raise StreamSQLError(
            f"More than one event time columns are available (as Spark says, failing at the first batch): the "
            f"side {alias!r} of the join outputs {' and '.join(t for t, _ in times)}, both carrying {stream}'s "
            "watermark; a stream may have at most one event time column", sql=sql, start=_opening(node, sql),
            hint=f"select only one of them in {alias!r}, e.g. the window")
    name, field = times[0] if times else (None, None)
    return JoinSide(stream, alias, "", event_time=name, event_time_field=field)


def _read_above(node: exp.Expression, alias: str, name: str) -> bool:
    """Whether the query reads column ``name`` of the join side ``node`` (aliased ``alias``) anywhere outside
    it: by name (``alias.name`` or unqualified) or through a star (``*``, ``alias.*``)."""
    select = node.find_ancestor(exp.Select)
    if select is None:
        return True
    inside = {id(n) for n in node.walk()}
    for found in select.walk():
        if id(found) in inside:
            continue
        if isinstance(found, exp.Star) and (not isinstance(found.parent, exp.Column) or
                                            found.parent.table.lower() == alias.lower()):
            return True
        if isinstance(found, exp.Column) and not isinstance(found.this, exp.Star) and \
                found.name.lower() == name.lower() and found.table.lower() in ("", alias.lower()):
            return True
    return False


def _opening(node: exp.Expression, sql: str) -> int | None:
    """Where a side's subquery opens: its parenthesis."""
    first = start_of(node, sql)
    return sql.rfind("(", 0, first) if first is not None and "(" in sql[:first] else first


def _split(on: exp.Expression, left: str, right: str):
    """Spark's split of the ON condition: equality keys, left-only, right-only, and both-sides conjuncts."""
    keys, left_only, right_only, both = [], [], [], []
    on = on.unnest()
    for conjunct in ([c.unnest() for c in on.flatten()] if isinstance(on, exp.And) else [on]):
        tables = {c.table for c in conjunct.find_all(exp.Column)}
        if isinstance(conjunct, exp.EQ):
            a, b = ({c.table for c in side.find_all(exp.Column)} for side in (conjunct.this, conjunct.expression))
            if a == {left} and b == {right}:
                keys.append((conjunct.this, conjunct.expression))
                continue
            if a == {right} and b == {left}:
                keys.append((conjunct.expression, conjunct.this))
                continue
        if tables <= {left}:
            left_only.append(conjunct)
        if tables <= {right}:
            right_only.append(conjunct)
        if not tables <= {left} and not tables <= {right}:
            both.append(conjunct)
    return keys, left_only, right_only, both


def _is_time(node: exp.Expression, side: JoinSide) -> bool:
    return isinstance(node, exp.Column) and side.event_time is not None and \
        node.name.lower() == side.event_time.lower()  # Spark's names are case-insensitive


def _key_eviction(keys, left: JoinSide, right: JoinSide) -> int | None:
    """The first key that is an event time (left keys first, as Spark's findJoinKeyOrdinalForWatermark)."""
    for index, (a, _) in enumerate(keys):
        if _is_time(a, left):
            return index
    for index, (_, b) in enumerate(keys):
        if _is_time(b, right):
            return index
    return None


def _columns_of(condition: exp.Expression | None, alias: str) -> set[str]:
    if condition is None:
        return set()
    return {f"{c.table}.{c.name}" for c in condition.find_all(exp.Column) if c.table == alias}


def _bounds(this: JoinSide, other: JoinSide, condition: exp.Expression | None) -> tuple[ValueBound, ...]:
    watermarked = f"{other.alias}.{other.event_time}" if other.event_time and not other.event_time_field else None
    others = _columns_of(condition, other.alias)
    # the condition's names may be spelled in another case than the watermark's (clickTime, clicktime)
    watermarked = next((c for c in others if watermarked and c.lower() == watermarked.lower()), watermarked)
    return value_bounds(condition, _columns_of(condition, this.alias), others, watermarked)


def _with_eviction(side: JoinSide, other: JoinSide, key_eviction: int | None,
                   condition: exp.Expression | None) -> JoinSide:
    if key_eviction is not None:
        return replace(side, eviction="key")
    if side.event_time is None:
        return side
    bounds = _bounds(side, other, condition)
    return replace(side, eviction="value" if bounds else None, bounds=bounds)


def _refuse_unbounded(kind: str, left: JoinSide, right: JoinSide, key_eviction: int | None,
                      condition: exp.Expression | None, sql: str, at: int | None) -> None:
    """Spark's checkForStreamStreamJoinWatermark: an outer or semi join must know when a row can no longer
    match, from a watermarked join key or from the other side's watermark through a range condition."""
    if kind == "Inner" or key_eviction is not None:
        return
    preserved = {"LeftOuter": [(left, right)], "LeftSemi": [(left, right)], "RightOuter": [(right, left)],
                 "FullOuter": [(left, right), (right, left)]}[kind]
    if any(_bounds(this, other, condition) for this, other in preserved):
        return
    this, other = preserved[0]
    need = [(f"a watermark on {other.input!r} (FROM {other.input} {other.alias} WATERMARK ts DELAY OF INTERVAL "
            "20 SECONDS)")] if other.event_time is None else []
    need.append(f"a time-range condition that bounds {this.alias}'s time from below by {other.alias}'s, e.g. "
                f"{other.alias}.ts BETWEEN {this.alias}.ts AND {this.alias}.ts + INTERVAL 1 MINUTE")
    raise StreamSQLError(
        f"Stream-stream {kind} join between two streaming DataFrame/Datasets is not supported without a watermark "
        "in the join keys, or a watermark on the nullable side and an appropriate range condition (as in Spark): "
        f"without them no row of {this.input} is ever known to have no match", sql=sql, start=at,
        hint="add " + " and ".join(need))


# The sides whose rows Spark's optimizer filters below the join (PushPredicateThroughJoin, and the IS NOT NULL of
# the join keys InferFiltersFromConstraints adds): never a side whose unmatched rows an outer join emits.
_FILTERED = {"Inner": (True, True), "LeftSemi": (True, True), "LeftOuter": (False, True),
             "RightOuter": (True, False), "FullOuter": (False, False)}


def pushed_down(kind: str, keys, left_only: list[exp.Expression],
                right_only: list[exp.Expression]) -> tuple[list[exp.Expression], list[exp.Expression]]:
    """Each side's filters that Spark runs below the join, and so below the side's watermark: the rows they
    drop are never stored, never emitted, and (unless they read the event time) never move the watermark. A
    NULL key is filtered so on every side but an outer join's preserved ones (where, as in Spark's state, a
    NULL key matches a NULL key)."""
    sides = []
    for index, (filtered, only) in enumerate(zip(_FILTERED[kind], (left_only, right_only))):
        not_null = [exp.Not(this=exp.Is(this=pair[index].copy(), expression=exp.Null())) for pair in keys]
        sides.append(not_null + [c.copy() for c in only] if filtered else [])
    return sides[0], sides[1]


# what Spark's NullIntolerant marks (and what stream_nb's rewrites wrap them in: casts, the bit masks that wrap
# integer overflow as the JVM does)
_NULL_INTOLERANT = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.Add, exp.Sub, exp.Mul, exp.Div,
                    exp.IntDiv, exp.Mod, exp.Neg, exp.Not, exp.Paren, exp.Cast, exp.BitwiseAnd, exp.BitwiseOr,
                    exp.BitwiseXor, exp.BitwiseNot)


def _inferred_not_null(conjuncts: list[exp.Expression], alias: str) -> list[exp.Expression]:
    """``alias.col IS NOT NULL`` for each column of that side a conjunct over both sides reads through
    null-intolerant operators only (comparisons, arithmetic, NOT): Spark's InferFiltersFromConstraints
    (``scanNullIntolerantAttribute``) adds them as filters on each side the join filters, and pushes them below
    the side's watermark, so a row they drop never moves it (``i.n <= c.m``: a click whose ``m`` is NULL)."""
    found: dict[str, exp.Column] = {}

    def scan(node: exp.Expression) -> None:
        if isinstance(node, exp.Column):
            if node.table == alias:
                found.setdefault(node.name.lower(), node)
        elif isinstance(node, _NULL_INTOLERANT):
            for child in node.iter_expressions():
                scan(child)
        elif isinstance(node, exp.Between):  # Spark reads it as two comparisons
            for child in (node.this, node.args["low"], node.args["high"]):
                scan(child)

    for conjunct in conjuncts:
        scan(conjunct)
    return [exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())) for column in found.values()]


def _through_keys(conjuncts: list[exp.Expression], keys, other: int, this: int) -> list[exp.Expression]:
    """The other side's own conjuncts that read its key columns only, each rewritten over this side's
    counterparts of them: Spark infers them from the key equalities (``inferAdditionalConstraints``: ``i.ad =
    c.ad AND i.ad <> 'b'`` gives ``c.ad <> 'b'``) for each side the join filters, and pushes them below its
    watermark, as the side's own conjuncts are."""
    pairs = {}
    for pair in keys:
        if isinstance(pair[other], exp.Column) and isinstance(pair[this], exp.Column):
            pairs.setdefault(pair[other].name.lower(), pair[this])
    inferred = []
    for conjunct in conjuncts:
        columns = list(conjunct.find_all(exp.Column))
        if not columns or not all(c.name.lower() in pairs for c in columns) or \
                any(isinstance(n, (exp.Subquery, exp.AggFunc)) for n in conjunct.walk()):
            continue
        copy = conjunct.copy()
        for column in list(copy.find_all(exp.Column)):
            column.replace(pairs[column.name.lower()].copy())
        inferred.append(copy)
    return inferred


def _with_sql(side: JoinSide, node: exp.Expression, keys: list[exp.Expression], only: list[exp.Expression],
              pushed: list[exp.Expression], key_names: tuple[str, ...], sql: str) -> JoinSide:
    source = node.copy()
    if isinstance(source, exp.Subquery):
        inner = source.this
        calls = [n for n in inner.find_all(exp.Anonymous) if is_window_call(n)]
        if calls:
            _tree.apply_window(inner, window_spec(calls[0], sql), side.input)
    for table in [t for t in source.find_all(exp.Table) if t.name == side.input]:
        alias = table.args.get("alias")
        table.set("this", exp.to_identifier(batch_table(side.input)))
        table.set("db", None)
        table.set("catalog", None)
        if alias is None:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(side.input)))
    passing = exp.and_(*(c.copy() for c in only)) if only else exp.true()
    query = exp.select(f"{side.alias}.*").from_(source)
    query = query.select(*(k.copy().as_(n) for k, n in zip(keys, key_names)), copy=False)
    query = query.select(exp.func("coalesce", passing, exp.false()).as_(PASS), copy=False)
    if pushed:
        query = query.where(exp.and_(*pushed), copy=False)
    plain = isinstance(node, exp.Table) and node.name == side.input and not only and \
        all(isinstance(k, exp.Column) and k.table == side.alias for k in keys)
    return replace(side, pre_sql=query.sql(dialect="duckdb"), plain_keys=tuple(k.name for k in keys) if plain
                   else None, drops_null_keys=bool(pushed))


def _output_sql(tree: exp.Select, select: exp.Select, left: str, right: str) -> str:
    """The query over the batch's pairs: the join's SELECT (and those over it) with the join's FROM read from
    the pairs' rows, the n-th left row beside the n-th right row (the engine takes them by the pairs)."""
    whole = tree.copy()
    output = next(copy for original, copy in zip(tree.walk(), whole.walk()) if original is select)
    output.set("joins", None)
    output.set("from_", exp.From(this=exp.Table(this=exp.to_identifier(LEFT), alias=exp.TableAlias(
        this=exp.to_identifier(left)))))
    output.append("joins", exp.Join(this=exp.Table(this=exp.to_identifier(RIGHT), alias=exp.TableAlias(
        this=exp.to_identifier(right))), method="POSITIONAL"))
    return whole.sql(dialect="duckdb")


def plan_stream_join(tree: exp.Select, sql: str, bindings, output_mode: str | None, watermarks: list,
                     watermark_option, inputs: dict):
    """The planner's rule for a query whose FROM joins two streams: its ``Plan`` (``plan.join``)."""
    from stream_nb.sql.output_modes import choose_output_mode
    from stream_nb.sql.plan import Plan

    mode = choose_output_mode(output_mode, aggregating=False, sql=sql, tree=tree, watermarks=watermarks,
                              watermark_option=watermark_option)
    event_times = dict(inputs["event_times"])
    join = plan_join(tree, sql, streams=list(bindings.streams), event_times=event_times, output_mode=mode)
    select, node = find_stream_join(tree, bindings.streams)
    keys, left_only, right_only, both = _split(node.args["on"], join.left.alias, join.right.alias)
    pushed = pushed_down(join.join_type, keys, left_only, right_only)
    through_keys = (_through_keys(right_only, keys, 1, 0), _through_keys(left_only, keys, 0, 1))
    pushed = tuple([*filters, *_inferred_not_null(both, side.alias), *inferred] if filtered else filters
                   for side, filters, filtered, inferred in zip((join.left, join.right), pushed,
                                                                _FILTERED[join.join_type], through_keys))
    for side, filters, kept in ((join.left, pushed[0], join.join_type in ("Inner", "LeftOuter", "LeftSemi")),
                                (join.right, pushed[1], join.join_type in ("Inner", "RightOuter"))):
        # a stream joined with itself has one watermark here (Spark: one per side, the min of both): its
        # sides' own filters are not pushed under it, so it follows all the stream's rows
        if side.input in event_times and join.left.input != join.right.input:
            event_times[side.input] = _pushed(event_times[side.input], select, side, kept, filters)
    return Plan(sql, bindings, mode, [s.alias_or_name for s in tree.selects], watermarks=watermarks,
                **{**inputs, "event_times": event_times}, join=join)


def _pushed(event_time: EventTime, select: exp.Select, side: JoinSide, kept: bool,
            filters: list[exp.Expression]) -> EventTime:
    """Spark pushes a side's own filters below its watermark (rows they drop never move it): the filters the
    join pushes down (``pushed_down``), the outer WHERE's conjuncts on that side when the join keeps its rows,
    and a side subquery's own WHERE (the others reach its stream through its projection, when they read
    columns it passes through as they are)."""
    node = next(n for n in (select.args["from_"].this, select.args["joins"][0].this) if n.alias_or_name == side.alias)
    duckdb_sql = lambda t: t.sql(dialect="duckdb")
    where = select.args.get("where")
    written = [] if where is None or not kept else \
        list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    conjuncts = [c.copy() for c in [*filters, *written]]
    if isinstance(node, exp.Subquery):
        inner = node.this.copy()
        passed = {item.alias_or_name: item.unalias() for item in inner.selects
                  if isinstance(item.unalias(), exp.Column)}
        for conjunct in conjuncts:
            used = list(conjunct.find_all(exp.Column))
            if used and not isinstance(conjunct, exp.Column) and \
                    all(c.table == side.alias and c.name in passed for c in used):
                for column in used:
                    column.replace(passed[column.name].copy())
                inner.where(conjunct, copy=False)
        return event_time.pushed_filters(inner, side.input, duckdb_sql, batch=batch_table(side.input))
    if not conjuncts:
        return event_time
    alone = exp.select("*").from_(exp.Table(this=exp.to_identifier(side.input),
                                            alias=exp.TableAlias(this=exp.to_identifier(side.alias))))
    return event_time.pushed_filters(alone.where(exp.and_(*conjuncts), copy=False), side.input, duckdb_sql,
                                     batch=batch_table(side.input))
