"""A UNION ALL of streams read as a table: the input of a stateful operator (or of any query over it), as
Spark runs ``a.union(b).groupBy("k").count()``:

    SELECT k, count(*) AS n FROM (SELECT k, ts FROM a UNION ALL SELECT k, ts FROM b) u GROUP BY k

is planned in two parts, cut in the SQL text as ``sql/chain.py`` cuts chained operators (so an error in either
part points at the query as written): the union itself, planned as the top-level UNION ALL it is
(``plan.plan_union``: each SELECT over its own stream's batch table, the stream's own WHERE pushed below its
watermark), and the rest of the query over the union's rows read as one stream (``__union0``). Per batch the
engine runs the union's SQL over the inputs' batches and hands its rows to the operator as a single input's
batch (``engine/inputs.py``); a query joining the union with another stream gets both, by name, as the two
inputs of a stream-stream join.

Watermarks are the streams' own (each input's max event time minus its delay, combined by the query's
``watermark_policy``), as Spark's EventTimeWatermark sits in each branch. Which column of the union carries
event time, for the operator to drop late rows and evict state by, is Spark's answer too: the union's output
columns are its first SELECT's, with their metadata, so the column the first SELECT reads its stream's
watermarked column into. A watermark on the union itself (``FROM (...) u WATERMARK ts ...``) is one node over
all its rows, as Spark's withWatermark above a union: each stream's column read into ``ts`` gets the delay,
and the query runs on the largest of their watermarks (``_one_watermark``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from stream_nb.intervals import parse_interval
from stream_nb.sql.chain import StageOutput, _output_schema, _planned
from stream_nb.sql.chain_text import Text, cte_definition, kept_ctes, paren_span
from stream_nb.sql.dialect import DIALECT, parse
from stream_nb.sql.errors import OutputModeError, StreamSQLError
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.resolve import Bindings, Stream, _is_query, _is_source, union_selects
from stream_nb.sql.rewrites import inline_ctes

if TYPE_CHECKING:
    from stream_nb.sql.plan import Plan

UNION = "__union{}"  # the stream the rest of the query reads the union's rows as


@dataclass(frozen=True)
class UnionInput:
    """The union a query reads its rows from: ``sql`` computes them per batch from the inputs' batch tables
    (``tables``); ``name`` is the stream the rest of the query reads them as; ``event_time`` the union's column
    carrying event time (None: its first SELECT reads no watermarked column). A query joining the union with
    another stream (``beside``) gets both, by name, as a join's inputs."""

    sql: str
    name: str
    event_time: str | None = None
    tables: Mapping[str, str] = field(default_factory=dict)  # each input of the union: the table ``sql`` reads it as
    beside: tuple[str, ...] = ()  # the streams the query joins the union with, read as they are
    stream: Stream | None = None  # the union as the stream the rest of the query reads (its schema; q.explain())


def plan_union_input(sql: str, *, namespaces: list[Mapping[str, Any]], output_mode: str | None, watermark: Any,
                     watermark_policy: str, plan: Callable[..., Plan]) -> Plan | None:
    """The plan of a query reading a set operation of streams as a table (None: it reads none).
    ``plan`` plans one part's SQL (``plan_query``).

    >>> import stream_nb as sn
    >>> from stream_nb.sql.plan import plan_query
    >>> a, b = sn.sources.memory("k string, ts timestamp"), sn.sources.memory("k string, ts timestamp")
    >>> p = plan_query("SELECT k, count(*) AS n FROM (SELECT k, ts FROM a UNION ALL SELECT k, ts FROM b) GROUP BY k",
    ...                namespaces=[{"a": a, "b": b}])
    >>> p.inputs, p.union.sql, p.aggregate is not None
    (['a', 'b'], 'SELECT a.k AS k, a.ts AS ts FROM __batch_a AS a UNION ALL SELECT b.k AS k, b.ts AS ts FROM __batch_b AS b', True)
    """
    tree, clauses = parse(sql)
    if isinstance(tree, exp.Union) and tree.args.get("distinct") and _reads_stream(tree, namespaces):
        return _distinct_union(sql, namespaces=namespaces, output_mode=output_mode, watermark=watermark,
                               watermark_policy=watermark_policy, plan=plan)
    if not isinstance(tree, exp.Select):
        return None  # a UNION ALL at the top is planned as it is (plan.plan_union)
    whole = inline_ctes(tree)
    found = _union_read(whole, namespaces)
    if found is None:
        return None
    operation = found.this
    while isinstance(operation, exp.Subquery):
        operation = operation.this
    if isinstance(operation, exp.Union) and operation.args.get("distinct"):
        raise StreamSQLError("UNION (without ALL) of streams in a subquery is not supported yet: it deduplicates "
                             "the union's rows, a stateful operator the query over it would follow",
                             sql=sql, start=keyword_start(sql, "UNION", after=start_of(operation, sql) or 0),
                             hint="write UNION ALL there and SELECT DISTINCT (or GROUP BY) in the query over it")
    names = {found.alias_or_name, found.alias} - {""}
    on_union = [(c.column, c.delay, c.start) for c in clauses if c.table in names]
    if isinstance(watermark, Mapping):
        on_union += [(column, parse_interval(delay), None) for key, (column, delay) in watermark.items()
                     if key in names]
    ordered = next(found.find_all(exp.Order, exp.Limit), None)
    if ordered is not None:  # per batch it would cut each batch's rows, not the stream's
        word = "ORDER BY" if isinstance(ordered, exp.Order) else "LIMIT"
        raise StreamSQLError(f"{word} inside a set operation of streams read as a table is not supported",
                             sql=sql, start=keyword_start(sql, word, after=start_of(found, sql) or 0),
                             hint=f"put the {word} on the query over it (an aggregation in complete mode)")
    opened, closed = paren_span(found.this, sql)
    lower = Text.of(sql, kept_ctes(sql, opened) + [(opened + 1, closed)])
    name = next(UNION.format(i) for i in range(100) if not any(UNION.format(i) in n for n in namespaces))
    edits = [(opened, closed + 1, name)]
    cte = cte_definition(sql, opened, closed)  # WITH u AS (... UNION ALL ...) SELECT ... FROM u: u is the union
    if cte is not None:
        name, edits = cte[0], [cte[1]]
    read = {n for t in found.find_all(exp.Table) for n in (t.name, t.alias_or_name)}
    first = _planned(plan, lower, namespaces=namespaces, output_mode="append", watermark_policy=watermark_policy,
                     watermark={k: v for k, v in watermark.items() if k in read}
                     if isinstance(watermark, Mapping) else watermark)
    if on_union:
        first = _one_watermark(first, on_union[0], lower, sql, plan, namespaces)
    if first.stateless_sql is None:
        raise StreamSQLError("cannot plan this set operation of streams", sql=sql, start=opened + 1)
    schema, timed = _output_schema(first, lower, sql, namespaces)
    branch = union_selects(inline_ctes(parse(lower.text)[0]))[0]
    event_time = next((column for column in first.columns if _event_time_of(branch, column, first.event_times)),
                      next((column for column, kind in timed.values() if kind == "timestamp"), None))
    rest = Text.edited(sql, edits)
    source = StageOutput(schema, description=f"the UNION ALL of {', '.join(first.inputs)}")
    inside = {id(t) for t in found.find_all(exp.Table)}
    outside = [t for t in whole.find_all(exp.Table) if id(t) not in inside and _reads_stream(t, namespaces)]
    if isinstance(watermark, Mapping):  # the streams beside the union keep theirs
        marks = {k: v for k, v in watermark.items() if k not in read}
    else:
        marks = {t.name: watermark for t in outside} if watermark is not None else {}
    if event_time and not on_union:  # (a watermark on the union itself says it)
        marks[name] = (event_time, "0 seconds")  # only says which column: the streams' own watermarks are the query's
    try:
        upper = _planned(plan, rest, namespaces=[{name: source}, *namespaces], output_mode=output_mode,
                         watermark=marks or None, watermark_policy="min")
    except OutputModeError as err:
        if event_time is not None or not first.event_times or "watermark" not in err.message:
            raise
        first_stream = first.inputs[0]
        raise OutputModeError(
            f"{err.message.rstrip('.')}; over a UNION ALL the event time is its first SELECT's column (as in "
            f"Spark, a union's columns are its first SELECT's), and the first SELECT reads no watermarked column",
            sql=sql, start=err.start,
            hint=f"declare the watermark on {first_stream!r} too (the stream the first SELECT reads) and select its "
                 "event-time column there") from None
    beside = [i for i in upper.inputs if i != name]
    if on_union and beside:
        raise StreamSQLError("a watermark on a UNION ALL of streams joined with another stream is not supported "
                             "yet", sql=sql, start=on_union[0][2], hint="declare it on each stream inside the union")
    twice = next((t for t in outside if t.name in first.inputs), None)
    if beside and (upper.join is None or twice is not None):
        table = twice or next(t for t in outside if t.name == beside[0])
        raise StreamSQLError(f"the stream {table.name!r} read both in a UNION ALL of streams and beside it is not "
                             "supported yet", sql=sql, start=start_of(table),
                             hint="give the rows as two streams (two names in sources=, each fed the same rows)")
    bindings = Bindings({**first.bindings.streams, **{i: upper.bindings.streams[i] for i in beside}},
                        {**first.bindings.statics, **upper.bindings.statics})
    single = first.event_time if len(first.inputs) == 1 and not beside else None
    union = UnionInput(first.stateless_sql, name, event_time, {i: first.batch_table(i) for i in first.inputs},
                       tuple(beside), upper.bindings.streams[name])
    return replace(upper, sql=sql, bindings=bindings, inputs=[*first.inputs, *beside],
                   event_times={**first.event_times, **{i: e for i, e in upper.event_times.items() if i in beside}},
                   watermark_policy=first.watermark_policy, watermarks=first.watermarks + upper.watermarks,
                   event_time=single, union=union, rules=list(dict.fromkeys(first.rules + upper.rules)))


def _distinct_union(sql: str, *, namespaces: list[Mapping[str, Any]], output_mode: str | None, watermark: Any,
                    watermark_policy: str, plan: Callable[..., Plan]) -> Plan | None:
    """``a UNION b`` (without ALL) of streams, as Spark plans it: the distinct rows of the UNION ALL, an
    aggregation over all its columns (``SELECT DISTINCT * FROM (a UNION ALL b)``), so update and complete mode
    run it, and append mode once a watermarked column is among them. None when it is not a plain chain of
    SELECTs at the top (a WITH first, a UNION inside parentheses): refused as before."""
    tokens = DIALECT.tokenize(sql)
    if not tokens or tokens[0].token_type != TokenType.SELECT:
        return None
    edits, depth, end = [], 0, tokens[-1].end + 1
    for token, after in zip(tokens, [*tokens[1:], None]):
        depth += (token.token_type == TokenType.L_PAREN) - (token.token_type == TokenType.R_PAREN)
        if not depth and token.token_type in (TokenType.ORDER_BY, TokenType.LIMIT):
            end = token.start  # ORDER BY and LIMIT after the last SELECT are the whole union's
            break
        if depth or token.token_type != TokenType.UNION:
            continue
        if after is not None and after.token_type == TokenType.DISTINCT:
            edits.append((after.start, after.end + 1, "ALL"))
        elif after is None or after.token_type != TokenType.ALL:
            edits.append((token.end + 1, token.end + 1, " ALL"))
    text = Text.edited(sql, [(0, 0, "SELECT DISTINCT * FROM ("), *edits, (end, end, ") ")])
    return replace(_planned(plan, text, namespaces=namespaces, output_mode=output_mode, watermark=watermark,
                            watermark_policy=watermark_policy), sql=sql)


def _one_watermark(first: Plan, mark: tuple, lower: Text, sql: str, plan: Callable[..., Plan],
                   namespaces: list[Mapping[str, Any]]) -> Plan:
    """A watermark on the union itself (``FROM (... UNION ALL ...) u WATERMARK ts ...``, PySpark's
    ``a.union(b).withWatermark``): one watermark node over all its rows, as Spark's, whose watermark is the
    latest event time of every row minus the delay. So each stream gets the delay on the column it reads into
    the union's, with policy max (the largest of theirs); a stream's own WHERE still applies first."""
    column, delay, start = mark
    if first.event_times:
        raise StreamSQLError("a watermark on a UNION ALL of streams and on its streams too is not supported yet",
                             sql=sql, start=start, hint="declare it once: on the union, or on each stream")
    index = next((i for i, c in enumerate(first.columns) if c.lower() == column.lower()), None)
    if index is None:
        raise StreamSQLError(f"watermark column {column!r} is not a column of the union (columns: "
                             f"{', '.join(first.columns)})", sql=sql, start=start)
    tables = {first.batch_table(i): i for i in first.inputs}
    columns: dict[str, str] = {}
    for branch in union_selects(sqlglot.parse_one(first.stateless_sql, read="duckdb")):
        found = _read_from(branch, branch.selects[index].alias_or_name)
        stream = tables.get(found[0]) if found else None
        if stream is None or columns.setdefault(stream, found[1]) != found[1]:
            raise StreamSQLError(f"the watermark column {column!r} of the union is not a column each SELECT reads "
                                 "from its stream as it is", sql=sql, start=start,
                                 hint="declare the watermark on each stream inside the union")
    return _planned(plan, lower, namespaces=namespaces, output_mode="append", watermark_policy="max",
                    watermark={stream: (read, delay) for stream, read in columns.items()})


def _event_time_of(select: exp.Expression, column: str, event_times: Mapping[str, Any]) -> bool:
    """Whether output ``column`` of ``select`` is its stream's watermarked column as it is (``_read_from``)."""
    found = _read_from(select, column)
    return found is not None and found[0] in event_times and event_times[found[0]].column.lower() == found[1].lower()


def _read_from(select: exp.Expression, column: str) -> tuple[str, str] | None:
    """(table, its column) that output ``column`` of ``select`` reads as it is, followed through the subqueries
    it reads FROM (``SELECT * FROM (SELECT ad, at FROM s WHERE ...)``, as PySpark writes a filtered stream);
    None where it is computed."""
    if not isinstance(select, exp.Select):
        return None
    item = next((e for e in select.expressions if e.alias_or_name.lower() == column.lower()), None)
    if item is None and not any(isinstance(e, exp.Star) for e in select.expressions):
        return None
    value = exp.column(column) if item is None else item.unalias()
    if not isinstance(value, exp.Column) or isinstance(value.this, exp.Star):
        return None
    from_ = select.args.get("from_") or select.args.get("from")
    sides = [part.this for part in [from_, *(select.args.get("joins") or [])] if part is not None]
    side = next((s for s in sides if s.alias_or_name == value.table), None) if value.table else \
        (sides[0] if sides else None)
    if isinstance(side, exp.Table):
        return side.name, value.name
    return _read_from(side.this, value.name) if isinstance(side, exp.Subquery) else None


def _union_read(tree: exp.Select, namespaces: list[Mapping[str, Any]]) -> exp.Subquery | None:
    """The first set operation reading a stream that the query reads as a table: in the FROM (or a JOIN) of
    its SELECT, or of a SELECT it reads FROM, outermost first."""
    selects = [tree]
    while selects:
        select = selects.pop(0)
        tables = [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or [])]
        for part in tables:
            node = part.this if part is not None else None
            if not isinstance(node, exp.Subquery):
                continue
            inner = node.this
            while isinstance(inner, exp.Subquery):  # ((SELECT ...) UNION ALL ...)
                inner = inner.this
            if isinstance(inner, exp.SetOperation) and _reads_stream(inner, namespaces):
                return node
            if isinstance(inner, exp.Select):
                selects.append(inner)
    return None


def _reads_stream(node: exp.Expression, namespaces: list[Mapping[str, Any]]) -> bool:
    for table in node.find_all(exp.Table):
        value = next((ns[table.name] for ns in namespaces if table.name in ns), None)
        if value is not None and (_is_source(value) or _is_query(value)):
            return True
    return False
