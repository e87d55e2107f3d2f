"""Cutting a query's SQL text into the SQL of each of its chained operators (``sql/chain.py``): where a
subquery or a CTE body is, what stays of the WITH clause, and the way back from a cut's positions to the
query's, so that an error in any operator points at the query as written."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.tokens import TokenType

from stream_nb.sql.dialect import DIALECT, parse
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of


def paren_span(select: exp.Select, sql: str) -> tuple[int, int]:
    """The positions of the parentheses around the subquery (or CTE body) ``select``: the innermost pair
    that opens a SELECT and holds every position recorded in it."""
    inside = [n.meta["start"] for n in select.walk() if n.meta and "start" in n.meta]
    tokens = DIALECT.tokenize(sql)
    best, opened = None, []
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            opened.append(i)
        elif token.token_type == TokenType.R_PAREN and opened:
            j = opened.pop()
            start, end = tokens[j].start, token.start
            if tokens[j + 1].token_type in (TokenType.SELECT, TokenType.WITH) and \
                    all(start < p < end for p in inside) and (best is None or start > best[0]):
                best = (start, end)
    if best is None:
        raise StreamSQLError("cannot find this subquery in the SQL text", sql=sql, start=start_of(select, sql))
    return best


def kept_ctes(sql: str, before: int) -> list[tuple[int, int] | str]:
    """The query's leading WITH clause up to the CTEs that end before ``before`` (what the lower operator
    may read), as text pieces; nothing without one."""
    tokens = DIALECT.tokenize(sql)
    if not tokens or tokens[0].token_type != TokenType.WITH:
        return []
    tree, _ = parse(sql)
    ends = []
    for cte in tree.find_all(exp.CTE):
        try:
            _, end = paren_span(cte.this, sql)
        except StreamSQLError:
            continue
        if end < before:
            ends.append(end)
    return [(tokens[0].start, max(ends) + 1), " "] if ends else []


def cte_definition(sql: str, opened: int, closed: int) -> tuple[str, tuple[int, int, str]] | None:
    """When the parentheses at ``opened``/``closed`` hold a CTE's body: its name, and the edit that takes its
    definition out of the WITH clause (with its comma, or the whole clause if it is the only one)."""
    tree, _ = parse(sql)
    with_ = tree.args.get("with_") or tree.args.get("with")
    ctes = list(with_.expressions) if with_ is not None else []
    spans = [paren_span(cte.this, sql) for cte in ctes]
    if (opened, closed) not in spans:
        return None
    index = spans.index((opened, closed))
    starts = [start_of(cte.args["alias"], sql) for cte in ctes]
    if len(ctes) == 1:
        edit = (DIALECT.tokenize(sql)[0].start, closed + 1, "")
    elif index == 0:
        edit = (starts[0], starts[1], "")
    else:
        edit = (spans[index - 1][1] + 1, closed + 1, "")
    return ctes[index].alias_or_name, edit


def span(node: exp.Expression, sql: str) -> tuple[int, int]:
    """Where a column or a function call is in the SQL text: [start, end)."""
    start = start_of(node, sql)
    if isinstance(node, exp.Column):
        return start, node.this.meta["end"] + 1
    depth = 0
    for token in DIALECT.tokenize(sql[start:]):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return start, start + token.end + 1
    return start, len(sql)


class Text:
    """One operator's SQL, cut from the query's: pieces of the original text (``(start, end)``) and new
    text (``str``), with the way back to the original's positions for errors."""

    def __init__(self, original: str, pieces: list[tuple[int, int] | str]):
        self.original = original
        self._pieces = pieces
        self.text = "".join(p if isinstance(p, str) else original[p[0]:p[1]] for p in pieces)

    @classmethod
    def of(cls, sql: str, pieces: list[tuple[int, int] | str]) -> Text:
        return cls(sql, pieces)

    @classmethod
    def edited(cls, sql: str, edits: list[tuple[int, int, str]]) -> Text:
        """``sql`` with [start, end) spans replaced (spans that do not overlap)."""
        pieces, at = [], 0
        for start, end, text in sorted(edits):
            pieces += [(at, start), text]
            at = end
        return cls(sql, [*pieces, (at, len(sql))])

    def position(self, at: int | None) -> int | None:
        """The original position of position ``at`` of this text; in new text, where the span it replaced
        began."""
        if at is None:
            return None
        offset, before = 0, 0
        for piece in self._pieces:
            length = len(piece) if isinstance(piece, str) else piece[1] - piece[0]
            if at < offset + length:
                return before if isinstance(piece, str) else piece[0] + at - offset
            offset += length
            before = before if isinstance(piece, str) else piece[1]
        return before

    def error(self, err: StreamSQLError, sql: str) -> StreamSQLError:
        """The error as the query's: the same message and hint, pointing at the query as written."""
        return type(err)(err.message, sql=sql, start=self.position(err.start), hint=err.hint)
