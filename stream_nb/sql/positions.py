"""Where a node of the syntax tree starts in the SQL text, for error carets."""

from __future__ import annotations

from sqlglot import exp


def start_of(node: exp.Expression | None, sql: str | None = None) -> int | None:
    """Where a node starts: its own recorded offset (sqlglot keeps them in ``meta``), else the smallest one
    inside it; for a function call without one, the function's name before its first argument."""
    if node is None:
        return None
    if node.meta and "start" in node.meta:
        return node.meta["start"]
    starts = [n.meta["start"] for n in node.walk() if n.meta and "start" in n.meta]
    first = min(starts) if starts else None
    if first is not None and sql is not None and isinstance(node, exp.Func):
        paren = sql.rfind("(", 0, first)
        name_end = len(sql[:paren].rstrip())
        name_start = name_end
        while name_start > 0 and (sql[name_start - 1].isalnum() or sql[name_start - 1] == "_"):
            name_start -= 1
        if name_start < name_end:
            return name_start
    return first


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
