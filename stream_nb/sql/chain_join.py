"""An aggregation (or DISTINCT) in the same SELECT as a stream-stream join is two operators, as in Spark:

    SELECT window(i.ts, '10 seconds') AS w, count(*) AS clicks
    FROM impressions i JOIN clicks c ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE
    GROUP BY window(i.ts, '10 seconds')

is cut, in the SQL text, into the join (``SELECT i.ts AS __i_ts FROM impressions i JOIN ... ON ...``: every
column the aggregation reads, each side's under a name of its own) and the aggregation over its output
(``SELECT window(__i_ts, '10 seconds') AS w, count(*) AS clicks FROM __stage0 GROUP BY ...``), which
``sql/chain.py`` plans as any other pair of operators.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from stream_nb.sql.chain_text import span
from stream_nb.sql.dialect import DIALECT

_AFTER_FROM = {TokenType.GROUP_BY, TokenType.HAVING, TokenType.ORDER_BY, TokenType.LIMIT, TokenType.QUALIFY,
               TokenType.WINDOW}


def join_output_name(column: exp.Column) -> str:
    """The name a column the aggregation reads has in the join's output: ``i.ts`` is ``__i_ts``."""
    return f"__{column.table}_{column.name}" if column.table else column.name


def cut_join(select: exp.Select, sql: str, stream: str) -> tuple[list, list[tuple[int, int, str]]]:
    """The join's SQL (text pieces, ``chain_text.Text``) and the edits that make the query's text the
    aggregation over the join's output, read as ``stream``."""
    sources = [select.args["from_"].this, *(join.this for join in select.args.get("joins") or [])]
    aliases = {source.alias_or_name.lower() for source in sources}
    parts = ("distinct", "group", "having", "order")
    columns = [column for part in (*select.expressions, *(select.args.get(k) for k in parts))
               if part is not None for column in part.find_all(exp.Column)
               if column.find_ancestor(exp.Select) is select and column.table.lower() in aliases]
    picked = {}
    for column in columns:
        picked.setdefault(join_output_name(column), f"{column.table}.{column.name} AS {join_output_name(column)}")
    start, end = _from_clause(select, sql)
    lower = ["SELECT " + (", ".join(picked.values()) or "1 AS __one") + " ", (start, end)]
    edits = [(start, end, f"FROM {stream} ")]
    bare = {id(item): item for item in select.expressions if isinstance(item, exp.Column)}
    for column in columns:
        at = span(column, sql)
        shown = f" AS {column.name}" if id(column) in bare else ""  # a column shown as it is keeps its name
        edits.append((*at, join_output_name(column) + shown))
    return lower, edits


def _from_clause(select: exp.Select, sql: str) -> tuple[int, int]:
    """Where the SELECT's FROM ... JOIN ... WHERE is in the text: [start, end)."""
    first = min(n.meta["start"] for item in select.expressions for n in item.walk() if n.meta and "start" in n.meta)
    tokens = DIALECT.tokenize(sql)
    keyword = max(i for i, t in enumerate(tokens) if t.token_type == TokenType.SELECT and t.start <= first)
    depth, start = 0, None
    for token in tokens[keyword + 1:]:
        at = token.start
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return start, at
        elif depth == 0 and token.token_type == TokenType.FROM and start is None:
            start = at
        elif depth == 0 and start is not None and token.token_type in _AFTER_FROM:
            return start, at
    return start, len(sql)
