"""Refuse what the engine does not run (yet), naming the construct and where it is in the SQL.

Each refusal says what to do instead. Output-mode rules live in ``output_modes.py``.
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.joins import find_stream_join
from stream_nb.sql.limit import check_limit
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.tree import aggregates_in


def refuse_unsupported(tree: exp.Query, sql: str, streams: list[str] | str) -> None:
    """Raise a StreamSQLError for the first construct a streaming query cannot have. ``streams``: the streams
    it reads (a UNION ALL reads one per SELECT)."""
    streams = [streams] if isinstance(streams, str) else list(streams)
    branches = [tree]
    if isinstance(tree, exp.SetOperation):
        branches = _union_branches(tree, sql, streams)
    for branch in branches:
        stream = next((t.name for t in branch.find_all(exp.Table) if t.name in streams), streams[0])
        _refuse_in(branch, sql, stream, streams)
        _refuse_second_reference(branch, sql, stream)


def _union_branches(tree: exp.SetOperation, sql: str, streams: list[str]) -> list[exp.Expression]:
    """The SELECTs of a UNION ALL of streams, as Spark allows it: each reads a stream (Spark refuses a union
    of a stream with a static table), and INTERSECT and EXCEPT are refused (as Spark refuses them of two
    streams). A UNION without ALL as the query's last set operation is a deduplication of them all
    (``unions.py``); one inside a UNION ALL would deduplicate only some of its SELECTs, refused."""
    if isinstance(tree, exp.Union) and tree.args.get("distinct"):
        raise StreamSQLError("UNION (without ALL) of streams is not supported yet inside a UNION ALL: it would "
                             "deduplicate the rows of only some of the SELECTs", sql=sql,
                             start=keyword_start(sql, "UNION"),
                             hint="write UNION ALL throughout, or end with UNION (the distinct rows of them all)")
    if not isinstance(tree, exp.Union):
        kind = type(tree).__name__.upper()
        raise StreamSQLError(f"{kind} of streams is not supported yet: it would compare rows across batches",
                             sql=sql, start=keyword_start(sql, kind), hint="run one query per stream")
    if isinstance(tree.left, exp.SetOperation):
        left = _union_branches(tree.left, sql, streams)
    else:
        left = [tree.left]
    branches = [*left, tree.right]
    for branch in branches:
        if isinstance(branch, exp.SetOperation):  # a union inside parentheses: refused with set operations
            continue
        tables = list(branch.find_all(exp.Table))
        if not any(t.name in streams for t in tables):
            raise StreamSQLError("a UNION ALL of a stream and a static table is not supported (as in Spark): "
                                 "every SELECT of the union reads a stream", sql=sql,
                                 start=start_of(tables[0] if tables else branch, sql),
                                 hint="join the static table to the stream instead, or union in pandas")
    return branches


def _refuse_in(tree: exp.Expression, sql: str, stream: str, streams: list[str] = ()) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Window):
            raise StreamSQLError(
                "OVER (...) windows are not supported on streams (as in Spark): use GROUP BY with "
                "window(ts, '10 seconds') for event-time windows",
                sql=sql, start=keyword_start(sql, "OVER", after=start_of(node) or 0) or start_of(node))
        if isinstance(node, exp.With):
            raise StreamSQLError("WITH (common table expressions) is not supported yet; "
                                 "write the CTE as a subquery in FROM", sql=sql, start=keyword_start(sql, "WITH"))
        if isinstance(node, exp.SetOperation):
            kind = type(node).__name__.upper()
            raise StreamSQLError(f"{kind} is not supported yet in a streaming query",
                                 sql=sql, start=keyword_start(sql, kind))
        if isinstance(node, exp.Select):
            for join in node.args.get("joins") or []:
                if not _stream_stream(node, join, streams):  # a join of two streams: sql/joins.py checks it
                    _check_join(node, join, sql, stream)


def _refuse_second_reference(tree: exp.Query, sql: str, stream: str) -> None:
    """The stream is read once: a subquery expression or a self-join over it would see only this batch's rows,
    not the stream so far (issue 12 case 5)."""
    references = [t for t in tree.find_all(exp.Table) if t.name == stream]
    for table in references:
        if in_subquery_expression(table, tree):
            raise StreamSQLError(
                f"the stream {stream!r} cannot be read in a subquery expression (as in Spark: "
                "\"Streaming query is not allowed in subquery expressions\"): per batch it would see only that "
                "batch's rows",
                sql=sql, start=start_of(table),
                hint="read a static table (a pandas DataFrame) in the subquery, or aggregate the stream in "
                     "one query and compare in pandas over q.result")
    if len(references) > 1 and not (len(references) == 2 and find_stream_join(tree, [stream])):  # joins.py's
        raise StreamSQLError(
            f"the stream {stream!r} is read twice (a self-join) where it is not one side each of one "
            "stream-stream join (a third read of it, or a read besides the join), which is not supported yet",
            sql=sql, start=start_of(references[1]),
            hint="give the rows as two streams (two names in sources=, each fed the same rows) and join those, "
                 "or join the stream with a static pandas DataFrame")


def in_subquery_expression(table: exp.Table, root: exp.Expression) -> bool:
    """True when ``table`` is read by a subquery inside an expression (WHERE x IN (...), a scalar subquery,
    EXISTS), not by the FROM/JOIN chain of the query and its derived tables."""
    node = table.parent
    while node is not None and node is not root:
        if not isinstance(node, (exp.From, exp.Join, exp.Subquery, exp.Select, exp.Table, exp.CTE, exp.With,
                                 exp.SetOperation)):  # a SELECT of a union read in FROM is read as a table
            return True
        node = node.parent
    return False


def _check_join(select: exp.Select, join: exp.Join, sql: str, stream: str) -> None:
    """Stream-static joins as Spark allows them: inner either side, outer only with the stream preserved."""
    side, kind = (join.side or "").upper(), (join.kind or "").upper()
    where = keyword_start(sql, "JOIN", after=max(0, (start_of(join) or 0) - 40)) or start_of(join)
    stream_on_right = _reads(join.this, stream)
    stream_on_left = _reads(select.args.get("from_") or select.args.get("from"), stream)
    if stream_on_left and stream_on_right:
        return  # a self-join: refused as a second reference to the stream
    if kind in ("SEMI", "ANTI"):
        # Per batch, the stream's rows with (or without) a match in the static table: stateless, as in Spark,
        # which refuses only the static table on the left (it would have to know the whole stream).
        if stream_on_right:
            raise StreamSQLError(f"Left{kind.title()} join with a streaming DataFrame/Dataset on the right and a "
                                 "static DataFrame/Dataset on the left is not supported (as in Spark): put the "
                                 "stream on the left", sql=sql, start=where)
        return
    if side == "FULL" and (stream_on_left or stream_on_right):
        raise StreamSQLError("FULL OUTER JOIN with a stream is not supported (as in Spark): "
                             "use LEFT OUTER JOIN with the stream on the left", sql=sql, start=where)
    if (side == "LEFT" and stream_on_right) or (side == "RIGHT" and stream_on_left):
        raise StreamSQLError(f"{side} OUTER JOIN must keep the stream's rows: put the stream on the "
                             f"{'left' if side == 'LEFT' else 'right'} side (as Spark requires)",
                             sql=sql, start=where)


def _stream_stream(select: exp.Select, join: exp.Join, streams: list[str]) -> bool:
    left, right = select.args.get("from_") or select.args.get("from"), join.this
    return any(_reads(left, s) for s in streams) and any(_reads(right, s) for s in streams) and \
        {s for s in streams if _reads(left, s)} != {s for s in streams if _reads(right, s)}


def _reads(node: exp.Expression | None, stream: str) -> bool:
    return node is not None and any(t.name == stream for t in node.find_all(exp.Table))


def refuse_multiple_aggregations(aggregating: list[exp.Select], sql: str) -> None:
    """One aggregation per query: an aggregate over an aggregate is refused, as in Spark (before 3.4)."""
    if len(aggregating) > 1:
        raise StreamSQLError("multiple streaming aggregations (an aggregate over an aggregate) are not "
                             "supported, as in Spark; aggregate once, then compute over the result in pandas",
                             sql=sql, start=start_of((aggregates_in(aggregating[0]) or [aggregating[0]])[0], sql))


def refuse_ordering(tree: exp.Query, sql: str, mode: str, aggregate: exp.Select | None) -> None:
    """ORDER BY only over an aggregation in complete mode, as in Spark; LIMIT as Spark allows it (``limit.py``)."""
    for node in tree.find_all(exp.Order):
        owner = node.parent
        over_aggregate = aggregate is not None and any(s is aggregate for s in owner.find_all(exp.Select))
        if mode != "complete" or not over_aggregate:
            raise StreamSQLError(
                "ORDER BY is not supported on a stream, except over an aggregation in complete output mode (as in "
                "Spark): a stream has no last row to sort up to",
                sql=sql, start=keyword_start(sql, "ORDER BY"),
                hint="aggregate with GROUP BY and use output_mode='complete', or sort and cut q.result in pandas")
    check_limit(tree, sql, mode, aggregate)
