"""What a stream-stream join cannot be, said where it is written: join types Spark refuses, a third table,
stateful operators and ordering over what the join emits (``sql/joins.py`` checks the rest as it plans)."""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.windows import is_window_call


def join_type_refusal(join: exp.Join) -> str:
    side, kind = (join.side or "").upper(), (join.kind or "").upper()
    if kind == "ANTI":
        return "LeftAnti joins with a streaming DataFrame/Dataset on the right are not supported (as in Spark)"
    if kind == "CROSS":
        return "Stream-stream join without equality predicate is not supported (as in Spark): a CROSS JOIN has none"
    return f"{' '.join(w for w in (side, kind) if w)} JOIN between two streams is not supported"


def refuse_shape(tree: exp.Expression, select: exp.Select, join: exp.Join, sql: str, at: int | None) -> None:
    if len(select.args.get("joins") or []) > 1:
        raise StreamSQLError("a stream-stream join with a third table in the same FROM is not supported yet; "
                             "join a stream with a static table inside one side's subquery", sql=sql, start=at)
    if join.args.get("using") or not join.args.get("on"):
        raise StreamSQLError("a stream-stream join needs an ON condition with an equality between the sides "
                             "(as in Spark)", sql=sql, start=at, hint="JOIN b ON a.id = b.id")
    path = [select]  # the join's SELECT and those over it: projections and filters of what it emits
    while path[-1] is not tree and path[-1].parent is not None:
        path.append(path[-1].parent)
    for owner in [node for node in path if isinstance(node, exp.Select)]:
        for node in (owner.args.get("group"), owner.args.get("having"), owner.args.get("distinct")):
            if node is not None:
                raise StreamSQLError("aggregating or deduplicating what a stream-stream join emits (two stateful "
                                     "operators) is not supported yet", sql=sql, start=start_of(node, sql))
        if any(isinstance(n, exp.AggFunc) for item in owner.expressions for n in item.walk()) or any(
                is_window_call(n) for n in owner.find_all(exp.Anonymous) if n.find_ancestor(exp.Select) is owner):
            raise StreamSQLError("aggregates and window() over a stream-stream join are not supported yet; "
                                 "compute the window in each side's subquery and join on it", sql=sql, start=at)
        for node, word in ((owner.args.get("order"), "ORDER BY"), (owner.args.get("limit"), "LIMIT")):
            if node is not None:
                why = ("(as in Spark): a stream has no last row to sort up to" if word == "ORDER BY" else
                       "yet (Spark keeps the join's first rows in append mode; stream_nb keeps a stream's first "
                       "rows, not yet a join's)")
                raise StreamSQLError(f"{word} is not supported over a stream-stream join {why}", sql=sql,
                                     start=keyword_start(sql, word) or start_of(node, sql),
                                     hint="sort and cut q.result in pandas")
