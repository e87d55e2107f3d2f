"""Parsing: Spark SQL as sqlglot reads it, plus what streaming adds.

Two additions to sqlglot's Spark dialect:

* ``window(...)`` is a function here (Spark's event-time window), not the start of a ``WINDOW`` clause;
* the Databricks watermark clause ``FROM t WATERMARK ts DELAY OF INTERVAL 10 SECONDS`` is taken out of the
  token stream before parsing and returned beside the tree, so token positions (and error carets) stay true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.time import format_time
from sqlglot.tokens import Token, TokenType

from stream_nb.intervals import parse_interval
from stream_nb.sql.errors import StreamSQLError


class StreamSpark(Spark):
    """Spark SQL with ``window`` as an ordinary function name, and ``SSS`` (milliseconds) in date formats."""

    # sqlglot maps only SSSSSS (micros): date_format(ts, 'HH:mm:ss.SSS') printed a literal 'SSS'.
    # X, XX, XXX (an offset, or Z for UTC) as a marker of their own, so that spark_dates tells them from Z: both
    # parse an offset, and a UTC time formats as 'Z' and '+0000' (sql/spark_dates.py: zone_patterns)
    TIME_MAPPING: ClassVar = {**Spark.TIME_MAPPING, "SSS": "%g", "DDD": "%j", "XXX": "%:z", "XX": "%:z",
                              "X": "%:z"}

    # from_json(s, 'a INT, m MAP<STRING, INT>') typed by its schema (sqlglot leaves it unknown), so that the
    # typed rewrites see its fields: size(e.m) of a map, casts and dates of e.a
    # A number with a point (2.5, .5, 12.50) is a decimal of its digits in Spark, and a whole number too wide for an
    # int a bigint (or a decimal): sqlglot typed them DOUBLE and INT, so round(2.5) or ceil(1.25) came out doubles
    EXPRESSION_METADATA: ClassVar = {**Spark.EXPRESSION_METADATA,
                                     exp.FromJson: {"annotator": lambda self, e: self._set_type(e, _from_json_type(e))},
                                     exp.Literal: {"annotator": lambda self, e: _annotate_literal(self, e)},
                                     # Spark's year(), day(), weekofyear(), dayofweek() are ints (sqlglot:
                                     # TINYINT, so that -weekofyear(d) wrapped as a byte; BIGINT)
                                     **{kind: {"returns": exp.DType.INT}
                                        for kind in (exp.Year, exp.Day, exp.WeekOfYear, exp.DayOfWeek)}}

    @classmethod
    def format_time(cls, expression):
        """A Spark date pattern as a strftime format, its quoted text ('T' in yyyy-MM-dd'T'HH:mm) kept as
        text: sqlglot kept the quotes, so to_timestamp(s, "yyyy-MM-dd'T'HH:mm:ss") matched nothing."""
        text = expression[1:-1] if isinstance(expression, str) else (
            expression.this if isinstance(expression, exp.Literal) and expression.is_string else None)
        if text is None or "'" not in text:
            return super().format_time(expression)
        parts = []
        for i, part in enumerate(re.split(r"'([^']*)'", text)):
            if i % 2:  # quoted text, '' being a quote itself
                parts.append((part or "'").replace("%", "%%"))
            else:
                parts.append(format_time(part, cls.TIME_MAPPING, cls.TIME_TRIE) if part else "")
        return exp.Literal.string("".join(parts))

    class Parser(Spark.Parser):
        # Spark's cast functions sqlglot reads as plain calls (it knows int(x), double(x), ...): as casts, so
        # that every cast rule applies to them (bigint(2.7) is 2, as CAST(2.7 AS BIGINT), not DuckDB's 3)
        FUNCTIONS: ClassVar = {**Spark.Parser.FUNCTIONS, **{
            name.upper(): (lambda args, name=name: exp.Cast(this=args[0], to=exp.DataType.build(name))
                           if len(args) == 1 else exp.Anonymous(this=name, expressions=args))
            for name in ("bigint", "smallint", "tinyint", "binary")},
            # kept as calls, so that they survive sqlglot's Spark writer (the PySpark API writes its queries as
            # text): it drops to_char's format (a cast to string), writes unix_date as a bigint DATEDIFF and
            # array_size as size (-1 for NULL);
            # spark_functions.py gives them Spark's values
            **{name.upper(): (lambda args, name=name: exp.Anonymous(this=name, expressions=args))
               for name in ("to_char", "to_varchar", "unix_date", "array_size")}}

        def _parse_term(self, *args, **kwargs) -> exp.Expression | None:
            """``a >>> n`` is ``shiftrightunsigned(a, n)``, binding as Spark's shifts do: looser than ``+``, tighter
            than ``&`` (sqlglot knows ``<<`` and ``>>`` only). Three ``>`` written together, so that
            ``array<array<array<int>>>`` stays a type."""
            this = super()._parse_term(*args, **kwargs)
            while self._unsigned_shift_next():
                self._advance(3)
                this = exp.Anonymous(this="shiftrightunsigned", expressions=[this, super()._parse_term()])
            return this

        def _unsigned_shift_next(self) -> bool:
            tokens = self._tokens[self._index:self._index + 3]
            return len(tokens) == 3 and all(t.token_type == TokenType.GT for t in tokens) and \
                tokens[1].start == tokens[0].end + 1 and tokens[2].start == tokens[1].end + 1

    class Tokenizer(Spark.Tokenizer):
        KEYWORDS: ClassVar = {k: v for k, v in Spark.Tokenizer.KEYWORDS.items() if k != "WINDOW"}
        # Spark 4 reads a doubled quote inside a '...' string as one quote ('it''s' is it's); sqlglot read two
        # strings there and concatenated them ("its"). Literals apart ('a' 'b') are still concatenated.
        STRING_ESCAPES: ClassVar = [*Spark.Tokenizer.STRING_ESCAPES, "'"]


DIALECT = StreamSpark()


def literal_decimal(node: exp.Expression) -> tuple[int, int] | None:
    """(precision, scale) of a number written with a point and no exponent, a decimal in Spark (0.5 is
    decimal(1,1), 0.05 decimal(2,2), 12.50 decimal(4,2)); None for any other node, or past 38 digits.

    >>> literal_decimal(exp.Literal.number("12.50")), literal_decimal(exp.Literal.number("1e3"))
    ((4, 2), None)
    """
    if not isinstance(node, exp.Literal) or node.is_string or "." not in node.name:
        return None
    whole, _, fraction = node.name.partition(".")
    if not (whole.isdigit() or whole == "") or not (fraction.isdigit() or fraction == ""):
        return None
    digits = (whole + fraction).lstrip("0")
    precision = max(len(digits), len(fraction), 1)
    return (precision, len(fraction)) if precision <= 38 else None


def _annotate_literal(annotator, node: exp.Literal) -> exp.Literal:
    """A decimal literal is typed DECIMAL without its digits (``literal_decimal`` reads them): sqlglot's coercion
    lets a DECIMAL with digits win over anything, where Spark's ``d + 1.5`` of a double is a double."""
    negated = isinstance(node.parent, exp.Neg)  # -2147483648 is an int in Spark: the minus is the literal's
    if literal_decimal(node) is not None:
        node.type = exp.DataType.build("DECIMAL")
    elif not node.is_string and node.is_int and int(node.name) > 2**31 - 1 + negated:
        node.type = exp.DataType.build("BIGINT" if int(node.name) <= 2**63 - 1 + negated else "DECIMAL")
    else:
        return annotator._annotate_literal(node)
    node.meta["nonnull"] = True
    return node


def _from_json_type(node: exp.FromJson) -> exp.DataType | None:
    from stream_nb.sql.json_functions import from_json_schema  # (the sql package imports this module first)

    try:
        return from_json_schema(node.expression, "")
    except StreamSQLError:
        return None  # unknown: json_functions says what is wrong with the schema, in its place


@dataclass(frozen=True)
class Watermark:
    """``WATERMARK column DELAY OF interval`` on the table ``table`` (its name or alias as written)."""

    table: str
    column: str
    delay: timedelta
    start: int  # position of the clause in the SQL, for error messages


def parse(sql: str) -> tuple[exp.Query, list[Watermark]]:
    """The query's syntax tree and its watermark clauses.

    >>> tree, marks = parse("SELECT device FROM s WATERMARK ts DELAY OF INTERVAL 10 SECONDS")
    >>> tree.sql("spark"), marks[0].column, marks[0].delay.total_seconds()
    ('SELECT device FROM s', 'ts', 10.0)
    """
    if not sql or not sql.strip():
        raise StreamSQLError("the query is empty: write a SELECT over a stream, e.g. SELECT * FROM events")
    try:
        tokens = DIALECT.tokenize(sql)
    except sqlglot.errors.TokenError as err:
        raise StreamSQLError(f"cannot read the SQL: {err}", sql=sql) from None
    tokens, watermarks = _take_watermarks(tokens, sql)
    try:
        statements = DIALECT.parser().parse(tokens, sql)
    except sqlglot.errors.ParseError as err:
        raise _parse_error(err, sql) from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise StreamSQLError(f"a stream cell holds one query; this SQL has {len(statements)} statements",
                             sql=sql)
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise StreamSQLError(f"a stream query is a SELECT; got {tree.key.upper()}", sql=sql, start=0)
    return tree, watermarks


def _parse_error(err: sqlglot.errors.ParseError, sql: str) -> StreamSQLError:
    first = err.errors[0] if err.errors else {}
    line, col = first.get("line"), first.get("col")
    start = None
    if line is not None and col is not None:
        lines = sql.splitlines(keepends=True)
        highlight = first.get("highlight") or ""
        # sqlglot's column points at the end of the offending token: point at its start.
        start = sum(len(text) for text in lines[: line - 1]) + max(0, col - len(highlight))
    description = first.get("description") or str(err)
    return StreamSQLError(f"SQL syntax error: {description}", sql=sql, start=start)


def _take_watermarks(tokens: list[Token], sql: str) -> tuple[list[Token], list[Watermark]]:
    kept: list[Token] = []
    watermarks: list[Watermark] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.text.upper() != "WATERMARK" or not kept:
            kept.append(token)
            i += 1
            continue
        table = kept[-1].text
        i, column = _take_column(tokens, i + 1, sql, token)
        i = _expect_words(tokens, i, ("DELAY", "OF"), sql, token)
        i, delay = _take_interval(tokens, i, sql, token)
        watermarks.append(Watermark(table=table, column=column, delay=delay, start=token.start))
    return kept, watermarks


def _take_column(tokens: list[Token], i: int, sql: str, clause: Token) -> tuple[int, str]:
    parts = []
    while i < len(tokens) and _is_name(tokens[i]):
        parts.append(tokens[i].text)
        i += 1
        if i < len(tokens) and tokens[i].token_type == TokenType.DOT:
            i += 1
            continue
        break
    if not parts:
        raise StreamSQLError("WATERMARK needs the event-time column: WATERMARK ts DELAY OF INTERVAL 10 SECONDS",
                             sql=sql, start=clause.start)
    return i, parts[-1]


def _is_name(token: Token) -> bool:
    """A column name: also a word that is a keyword elsewhere (the rate source's ``timestamp``), but not the
    clause's own DELAY unquoted."""
    if token.token_type == TokenType.IDENTIFIER:
        return True  # quoted: `delay` is a column too
    return token.text.isidentifier() and token.text.upper() != "DELAY"


def _expect_words(tokens: list[Token], i: int, words: tuple[str, ...], sql: str, clause: Token) -> int:
    for word in words:
        if i >= len(tokens) or tokens[i].text.upper() != word:
            at = tokens[i].start if i < len(tokens) else len(sql)
            raise StreamSQLError(f"expected {word} in the WATERMARK clause "
                                 "(WATERMARK ts DELAY OF INTERVAL 10 SECONDS)", sql=sql, start=at)
        i += 1
    return i


def _take_interval(tokens: list[Token], i: int, sql: str, clause: Token) -> tuple[int, timedelta]:
    if i < len(tokens) and tokens[i].token_type == TokenType.INTERVAL:
        i += 1
    words = []
    while i < len(tokens) and tokens[i].token_type in (TokenType.NUMBER, TokenType.STRING, TokenType.VAR):
        if tokens[i].token_type == TokenType.VAR and (not words or not _is_number(words[-1])):
            break
        words.append(tokens[i].text)
        i += 1
    try:
        return i, parse_interval(" ".join(words))
    except ValueError as err:
        raise StreamSQLError(f"WATERMARK delay: {err}", sql=sql, start=clause.start) from None


def _is_number(word: str) -> bool:
    return word.replace(".", "", 1).isdigit()
