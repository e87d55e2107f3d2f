"""A map-like query compiled to Python once, so continuous processing runs a row in microseconds, not in the
0.2-0.5 ms a DuckDB query costs.

It compiles the planner's per-batch SQL (``plan.stateless_sql``, already rewritten to Spark's non-ANSI
semantics: ``x / NULLIF(y, 0)``) when it is ``SELECT <expressions> FROM __batch [WHERE <condition>]`` and every
expression is one of: columns, literals, NULL, + - * / %, comparisons, AND / OR / NOT (three-valued), IS [NOT]
NULL, IN (...), BETWEEN, CASE, COALESCE, NULLIF, UPPER, LOWER, LENGTH, ABS, ||, the integer and double casts
the planner writes (Spark's overflow), and Spark's binary and double to string (a Kafka value as text).
Anything else (other casts, dates, UDFs, other functions) is run by DuckDB over the rows at hand
(``compile_select`` gives None). A compiled expression that meets a value it was not written for (a timestamp in
arithmetic, a string compared with a number) raises ``Unsure``, and those rows go to DuckDB too: the answer is
DuckDB's wherever the two could differ.

>>> rows = compile_select("SELECT s.t * 9 / NULLIF(5, 0) + 32 AS f FROM __batch AS s WHERE s.t > 20", ["t"])
>>> rows.run([(25.0,), (10.0,), (None,)])
[(77.0,)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from stream_nb.engine.duck import java_double_text
from stream_nb.sql.plan import BATCH

Row = Sequence[Any]
Fn = Callable[[Row], Any]


class Unsure(Exception):
    """A value the compiled expression was not written for: DuckDB computes these rows instead."""


class NotCompiled(Exception):
    """An expression this module does not compile (the query runs on DuckDB)."""


@dataclass(frozen=True)
class Compiled:
    """The query's projections and filter as Python functions of a row (a tuple in the input's column order)."""

    projections: tuple[Fn, ...]
    where: Fn | None

    def run(self, rows: list[Row]) -> list[tuple]:
        """The output rows of ``rows``; raises ``Unsure`` if any row needs DuckDB."""
        where, projections = self.where, self.projections
        return [tuple(f(row) for f in projections) for row in rows if where is None or where(row) is True]


def compile_select(sql: str, columns: list[str]) -> Compiled | None:
    """``sql`` (DuckDB dialect, over ``__batch``) compiled to Python, or None if some part is not compilable."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, exp.Select) or any(
            value and key not in ("expressions", "from", "from_", "where") for key, value in tree.args.items()):
        return None
    source = tree.args.get("from") or tree.args.get("from_")
    if source is None or not isinstance(source.this, exp.Table) or source.this.name != BATCH:
        return None
    index = {name: i for i, name in enumerate(columns)}
    try:
        projections = tuple(_compile(e.this if isinstance(e, exp.Alias) else e, index) for e in tree.expressions)
        where = _compile(tree.args["where"].this, index) if tree.args.get("where") else None
    except NotCompiled:
        return None
    return Compiled(projections, where)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if not (_number(a) and _number(b)):
            raise Unsure
        return op(a, b)
    return apply


def _divide(a: Any, b: Any) -> Any:
    return None if b == 0 else a / b  # Spark non-ANSI: x / 0 is NULL (the planner wrote NULLIF already)


def _modulo(a: Any, b: Any) -> Any:
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):  # the remainder takes the dividend's sign, as in Spark
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    return math.fmod(a, b)


_ARITH = {exp.Add: _arith(lambda a, b: a + b), exp.Sub: _arith(lambda a, b: a - b),
          exp.Mul: _arith(lambda a, b: a * b), exp.Div: _arith(_divide), exp.Mod: _arith(_modulo)}


def _comparable(a: Any, b: Any) -> bool:
    return (_number(a) and _number(b)) or type(a) is type(b)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if not _comparable(a, b):
            raise Unsure
        return op(a, b)
    return apply


_COMPARE = {exp.EQ: _compare(lambda a, b: a == b), exp.NEQ: _compare(lambda a, b: a != b),
            exp.GT: _compare(lambda a, b: a > b), exp.GTE: _compare(lambda a, b: a >= b),
            exp.LT: _compare(lambda a, b: a < b), exp.LTE: _compare(lambda a, b: a <= b)}


def _and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _or(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _string_fn(op: Callable[[str], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise Unsure
        return op(value)
    return apply


def _abs(value: Any) -> Any:
    if value is None:
        return None
    if not _number(value):
        raise Unsure
    return abs(value)


def _concat(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if not (isinstance(a, str) and isinstance(b, str)):
        raise Unsure  # a number's text is DuckDB's cast
    return a + b


_UNARY = {exp.Upper: _string_fn(str.upper), exp.Lower: _string_fn(str.lower), exp.Length: _string_fn(len),
          exp.Abs: _abs}


def _compile(node: exp.Expression, index: dict[str, int]) -> Fn:
    if isinstance(node, exp.Paren):
        return _compile(node.this, index)
    if isinstance(node, exp.Column):
        if node.name not in index:
            raise NotCompiled
        i = index[node.name]
        return lambda row: row[i]
    if isinstance(node, exp.Null):
        return lambda row: None
    if isinstance(node, exp.Boolean):
        value = node.this
        return lambda row: value
    if isinstance(node, exp.Literal):
        value = node.this if node.is_string else _literal_number(node.this)
        return lambda row: value
    if isinstance(node, exp.Neg):
        inner = _compile(node.this, index)
        return lambda row: _arith(lambda a, b: a - b)(0, inner(row))
    for kinds, ops in ((exp.Binary, _ARITH), (exp.Binary, _COMPARE)):
        if isinstance(node, kinds) and type(node) in ops:
            op, left, right = ops[type(node)], _compile(node.left, index), _compile(node.right, index)
            return lambda row: op(left(row), right(row))
    if isinstance(node, exp.DPipe):
        left, right = _compile(node.left, index), _compile(node.right, index)
        return lambda row: _concat(left(row), right(row))
    if isinstance(node, (exp.And, exp.Or)):
        op = _and if isinstance(node, exp.And) else _or
        left, right = _compile(node.left, index), _compile(node.right, index)
        return lambda row: op(left(row), right(row))
    if isinstance(node, exp.Not):
        inner = _compile(node.this, index)
        return lambda row: None if (v := inner(row)) is None else not v
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        inner = _compile(node.this, index)
        return lambda row: inner(row) is None
    if isinstance(node, exp.In) and node.expressions and not node.args.get("query"):
        inner, options = _compile(node.this, index), [_compile(e, index) for e in node.expressions]
        return lambda row: _in(inner(row), [o(row) for o in options])
    if isinstance(node, exp.Between):
        inner, low, high = (_compile(node.args[k], index) for k in ("this", "low", "high"))
        ge, le = _COMPARE[exp.GTE], _COMPARE[exp.LTE]
        return lambda row: _and(ge(v := inner(row), low(row)), le(v, high(row)))
    if isinstance(node, exp.Case) and node.this is None:
        cases = [(_compile(c.this, index), _compile(c.args["true"], index)) for c in node.args["ifs"]]
        default = _compile(node.args["default"], index) if node.args.get("default") else (lambda row: None)
        return lambda row: _case(row, cases, default)
    if isinstance(node, exp.Coalesce):
        parts = [_compile(node.this, index), *(_compile(e, index) for e in node.expressions)]
        return lambda row: next((v for p in parts if (v := p(row)) is not None), None)
    if isinstance(node, exp.Nullif):
        left, right = _compile(node.this, index), _compile(node.expression, index)
        eq = _COMPARE[exp.EQ]
        return lambda row: None if eq(v := left(row), right(row)) is True else v
    if isinstance(node, exp.Cast):  # (TRY_CAST too)
        op, inner = _cast(node.to), _compile(node.this, index)
        return lambda row: op(inner(row))
    if isinstance(node, exp.Anonymous) and node.name.lower() in _TEXTS and len(node.expressions) == 1:
        op, inner = _TEXTS[node.name.lower()], _compile(node.expressions[0], index)
        return lambda row: op(inner(row))
    if isinstance(node, (exp.BitwiseAnd, exp.BitwiseOr)):
        op = _bits(lambda a, b: a & b) if isinstance(node, exp.BitwiseAnd) else _bits(lambda a, b: a | b)
        left, right = _compile(node.left, index), _compile(node.right, index)
        return lambda row: op(left(row), right(row))
    if type(node) in _UNARY:
        op, inner = _UNARY[type(node)], _compile(node.this, index)
        return lambda row: op(inner(row))
    raise NotCompiled(node.sql("duckdb"))


_INT_BITS = {exp.DataType.Type.TINYINT: 8, exp.DataType.Type.SMALLINT: 16, exp.DataType.Type.INT: 32,
             exp.DataType.Type.BIGINT: 64, exp.DataType.Type.INT128: 128}
_FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_TEXT = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR}


def _cast(to: exp.DataType) -> Callable[[Any], Any]:
    """The casts the planner writes around integer arithmetic (Spark's wrap-around), and number to double;
    any other cast is DuckDB's."""
    if to.this in _INT_BITS:
        low, high = -(2 ** (_INT_BITS[to.this] - 1)), 2 ** (_INT_BITS[to.this] - 1) - 1

        def to_int(value: Any) -> Any:
            if value is None:
                return None
            if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
                raise Unsure
            return value
        return to_int
    if to.this in _TEXT:
        def to_text(value: Any) -> Any:
            if value is not None and not isinstance(value, str):
                raise Unsure  # a number's or a date's text is the planner's rewrite's, run by DuckDB
            return value
        return to_text
    if to.this in _FLOATS:
        def to_float(value: Any) -> Any:
            if value is None:
                return None
            if not _number(value):
                raise Unsure
            return float(value)
        return to_float
    raise NotCompiled(to.sql("duckdb"))


def _binary_text(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise Unsure
    return value.decode("utf-8", "replace")  # as engine/duck.py's spark_binary_text: not UTF-8 is U+FFFD


def _double_text(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, float):
        raise Unsure
    return java_double_text(value)


# the planner's Spark-semantics functions (engine/duck.py registers them in DuckDB), done the same way here
_TEXTS = {"spark_binary_text": _binary_text, "spark_double_text": _double_text,
          # Spark's upper/lower (sql/spark_functions.py): Python's full case mappings are Java's (ß -> SS, İ -> i̇)
          "spark_upper": _string_fn(str.upper), "spark_lower": _string_fn(str.lower)}


def _bits(op: Callable[[int, int], int]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if not (type(a) is int and type(b) is int):
            raise Unsure
        return op(a, b)
    return apply


def _case(row: Row, cases: list[tuple[Fn, Fn]], default: Fn) -> Any:
    for when, then in cases:
        if when(row) is True:
            return then(row)
    return default(row)


def _in(value: Any, options: list[Any]) -> Any:
    if value is None:
        return None
    eq = _COMPARE[exp.EQ]
    if any(eq(value, o) is True for o in options if o is not None):
        return True
    return None if any(o is None for o in options) else False


def _literal_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)
