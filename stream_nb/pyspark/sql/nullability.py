"""Which of a DataFrame's columns Spark's analyzer knows are never NULL, for ``printSchema()`` and ``df.schema``
(``nullable = false``): a count, a literal, a tumbling or session window, a ranking window function, the current
time; a column read through a subquery or a cast of one keeps what it was. Every other column is nullable, as
a source's columns are (the engine's Arrow columns all are). A streaming aggregation's columns are all nullable,
as Spark's streaming plans make them (its state store's rows may be absent)."""

from __future__ import annotations

from sqlglot import exp

_RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.PercentRank, exp.CumeDist)
RANKING_NAMES = (  # also window.py's: their default frame in a column's name
    "row_number", "rank", "dense_rank", "ntile", "percent_rank", "cume_dist")


def never_null(query: exp.Expression, streaming: bool = False) -> set[str]:
    """The names of ``query``'s output columns that are never NULL (of a streaming query's, ``streaming``).

    >>> import sqlglot
    >>> sorted(never_null(sqlglot.parse_one("SELECT * FROM (SELECT k, count(*) AS n, 1 AS one FROM t GROUP BY k)")))
    ['n', 'one']
    """
    if isinstance(query, exp.Subquery):
        return never_null(query.this, streaming)
    if not isinstance(query, exp.Select) or streaming and _aggregates(query):
        return set()
    source = query.args.get("from_") or query.args.get("from")
    inner = never_null(source.this, streaming) if source is not None and not query.args.get("joins") else set()
    found = set()
    for item in query.expressions:
        if isinstance(item, exp.Star):
            found |= inner
        elif _not_null(item.unalias(), inner):
            found.add(item.alias_or_name)
    return found


def _aggregates(select: exp.Select) -> bool:
    return select.args.get("group") is not None or any(
        isinstance(n, exp.AggFunc) and n.find_ancestor(exp.Select) is select and n.find_ancestor(exp.Window) is None
        for item in select.expressions for n in item.walk())


def _not_null(node: exp.Expression, inner: set[str]) -> bool:
    if isinstance(node, exp.Column):
        return isinstance(node.this, exp.Identifier) and node.name in inner
    if isinstance(node, (exp.Count, exp.ApproxDistinct, exp.CountIf, exp.CurrentDate, exp.CurrentTimestamp,
                         exp.Boolean, *_RANKING)):
        return True
    if isinstance(node, exp.Literal):
        return True
    if isinstance(node, exp.Window):
        return isinstance(node.this, _RANKING) or \
            isinstance(node.this, exp.Anonymous) and node.this.name.lower() in RANKING_NAMES
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), node.expressions
        if name in RANKING_NAMES:
            return True
        if name in ("coalesce", "nvl", "ifnull"):
            return any(_not_null(e, inner) for e in args)
        # a tumbling window (Spark makes a sliding one nullable: its rows are expanded, then filtered)
        return name == "session_window" or name == "window" and (len(args) == 2 or len(args) >= 3 and
                                                                   args[1].sql() == args[2].sql())
    if isinstance(node, (exp.Paren, exp.Cast)):  # a cast of a string may fail to NULL; of the above, not
        return not (isinstance(node.this, exp.Literal) and node.this.is_string) and _not_null(node.this, inner)
    if isinstance(node, exp.Coalesce):
        return any(_not_null(e, inner) for e in [node.this, *node.expressions])
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        return _not_null(node.this, inner) and _not_null(node.expression, inner)
    return False
