"""Where a node of the syntax tree starts in the SQL text, for error carets."""

from __future__ import annotations

from sqlglot import exp


def start_of(node: exp.Expression | None) -> int | None:
    """The smallest start offset recorded on the node or anything inside it (sqlglot keeps them in ``meta``)."""
    if node is None:
        return None
    starts = [n.meta["start"] for n in node.walk() if n.meta and "start" in n.meta]
    return min(starts) if starts else None


def keyword_start(sql: str, keyword: str, after: int = 0) -> int | None:
    """The position of a keyword (e.g. 'ORDER BY') in the SQL, outside strings and comments."""
    from stream_nb.sql.dialect import DIALECT

    words = keyword.upper().split()
    tokens = DIALECT.tokenize(sql)
    for i, token in enumerate(tokens):
        if token.start < after:
            continue
        texts = [t.text.upper() for t in tokens[i:i + len(words)]]
        if texts == words or (len(words) > 1 and token.text.upper() == keyword.upper()):
            return token.start
    return None
