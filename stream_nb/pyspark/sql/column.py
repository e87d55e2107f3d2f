"""``Column``: a Spark SQL expression (a sqlglot tree) with the name Spark would give it.

>>> from stream_nb.pyspark.sql import functions as F
>>> c = F.col("temp") * 9 + 32
>>> c._sql(), c._name
('(`temp` * 9) + 32', '((temp * 9) + 32)')
"""

from __future__ import annotations

import math
from typing import Any

from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql.types import DataType, _parse_datatype_string


class Column:
    def __init__(self, expr: exp.Expression, name: str | None = None):
        self._expr = expr
        self._name = name if name is not None else expr.sql("spark")

    def _sql(self) -> str:
        return self._expr.sql("spark")

    def _unaliased(self) -> exp.Expression:
        return self._expr.this if isinstance(self._expr, exp.Alias) else self._expr

    def _named(self) -> exp.Expression:
        """The expression as a SELECT item, named as Spark names it."""
        if isinstance(self._expr, (exp.Alias, exp.Aliases, exp.Star, exp.Posexplode)) or (
                isinstance(self._expr, exp.Column) and self._expr.name == self._name) or (
                isinstance(self._expr, exp.Anonymous) and self._expr.name.lower() in ("explode", "explode_outer")
                and self._name == "col") or (
                isinstance(self._expr, exp.Anonymous) and self._expr.name.lower() == "json_tuple"):
            return self._expr  # (posexplode names its two columns: pos and col; explode col, a map's key, value;
            #                    json_tuple c0, c1, ...)
        return exp.alias_(self._expr, self._name, quoted=True)

    # arithmetic and comparison: Spark names them "(a + 1)"
    def _binary(self, kind: type, other: Any, symbol: str, swap: bool = False) -> Column:
        right = _to_col(other)
        left, right = (right, self) if swap else (self, right)
        return Column(kind(this=exp.paren(left._unaliased(), copy=False)
                           if _needs_paren(left, kind) else left._unaliased(),
                           expression=exp.paren(right._unaliased(), copy=False)
                           if _needs_paren(right, kind) else right._unaliased()),
                      f"({left._name} {symbol} {right._name})")

    def __add__(self, o): return self._binary(exp.Add, o, "+")
    def __radd__(self, o): return self._binary(exp.Add, o, "+")  # 1 + c is c + 1 in PySpark (its name too)
    def __sub__(self, o): return self._binary(exp.Sub, o, "-")
    def __rsub__(self, o): return self._binary(exp.Sub, o, "-", True)
    def __mul__(self, o): return self._binary(exp.Mul, o, "*")
    def __rmul__(self, o): return self._binary(exp.Mul, o, "*")
    def __truediv__(self, o): return self._binary(exp.Div, o, "/")
    def __rtruediv__(self, o): return self._binary(exp.Div, o, "/", True)
    def __mod__(self, o): return self._binary(exp.Mod, o, "%")
    def __rmod__(self, o): return self._binary(exp.Mod, o, "%", True)
    def __eq__(self, o): return self._binary(exp.EQ, o, "=")  # type: ignore[override]
    def __ne__(self, o): return self.__eq__(o).__invert__()  # type: ignore[override]
    def __lt__(self, o): return self._binary(exp.LT, o, "<")
    def __le__(self, o): return self._binary(exp.LTE, o, "<=")
    def __gt__(self, o): return self._binary(exp.GT, o, ">")
    def __ge__(self, o): return self._binary(exp.GTE, o, ">=")
    def __and__(self, o): return self._binary(exp.And, o, "AND")
    def __rand__(self, o): return self._binary(exp.And, o, "AND")
    def __or__(self, o): return self._binary(exp.Or, o, "OR")
    def __ror__(self, o): return self._binary(exp.Or, o, "OR")

    def __invert__(self) -> Column:
        return Column(exp.Not(this=exp.paren(self._unaliased())), f"(NOT {self._name})")

    def __neg__(self) -> Column:
        return Column(exp.Neg(this=exp.paren(self._unaliased())), f"negative({self._name})")  # PySpark 4's name

    def eqNullSafe(self, other: Any) -> Column:
        return self._binary(exp.NullSafeEQ, other, "<=>")

    def __bool__(self) -> bool:
        raise ValueError("[CANNOT_CONVERT_COLUMN_INTO_BOOL] Cannot convert column into bool: please use '&' for "
                         "'and', '|' for 'or', '~' for 'not' when building DataFrame boolean expressions.")

    __hash__ = None  # type: ignore[assignment]

    def alias(self, *alias: str, **kwargs: Any) -> Column:
        if len(alias) > 1:  # a generator's columns: posexplode(xs).alias("p", "x")
            return Column(exp.Aliases(this=self._unaliased(), expressions=[exp.to_identifier(a, quoted=True)
                                                                           for a in alias]), alias[0])
        return Column(exp.alias_(self._unaliased(), alias[0], quoted=True), alias[0])

    name = alias

    def cast(self, dataType: DataType | str) -> Column:
        dtype = _parse_datatype_string(dataType) if isinstance(dataType, str) else dataType
        # named after what it casts if that is named (a column, a field, an alias), else Spark's CAST(... AS T)
        inner = self._expr
        while isinstance(inner, exp.Cast):  # a cast of a cast of a column is named after the column too
            inner = inner.this
        named = isinstance(inner, (exp.Column, exp.Dot, exp.Alias))
        return Column(exp.Cast(this=self._unaliased(), to=exp.DataType.build(dtype.simpleString(), dialect="spark")),
                      self._name if named else f"CAST({self._name} AS {dtype.simpleString().upper()})")

    astype = cast
    try_cast = cast  # Spark's cast with ANSI off (stream_nb's dialect) already gives NULL where it cannot cast

    def isNull(self) -> Column:
        return Column(exp.Is(this=self._unaliased(), expression=exp.Null()), f"({self._name} IS NULL)")

    def isNotNull(self) -> Column:
        return Column(exp.not_(exp.Is(this=self._unaliased(), expression=exp.Null())),
                      f"({self._name} IS NOT NULL)")

    def isin(self, *values: Any) -> Column:
        items = values[0] if len(values) == 1 and isinstance(values[0], (list, tuple, set)) else values
        cols = [_to_col(v) for v in items]
        return Column(exp.In(this=self._unaliased(), expressions=[c._unaliased() for c in cols]),
                      f"({self._name} IN ({', '.join(c._name for c in cols)}))")

    def between(self, lowerBound: Any, upperBound: Any) -> Column:
        lo, hi = _to_col(lowerBound), _to_col(upperBound)
        return Column(exp.Between(this=self._unaliased(), low=lo._unaliased(), high=hi._unaliased()),
                      f"(({self._name} >= {lo._name}) AND ({self._name} <= {hi._name}))")

    def like(self, other: str) -> Column:
        return Column(exp.Like(this=self._unaliased(), expression=exp.Literal.string(other)),
                      f"{self._name} LIKE {other}")

    def ilike(self, other: str) -> Column:
        return Column(exp.ILike(this=self._unaliased(), expression=exp.Literal.string(other)),
                      f"ilike({self._name}, {other})")

    def isNaN(self) -> Column:
        from stream_nb.pyspark.sql.functions import isnan

        return isnan(self)

    def rlike(self, other: str) -> Column:
        return Column(exp.RegexpLike(this=self._unaliased(), expression=exp.Literal.string(other)),
                      f"RLIKE({self._name}, {other})")

    def contains(self, other: Any) -> Column:
        return _call("contains", "contains", self, _to_col(other))

    def startswith(self, other: Any) -> Column:
        return _call("startswith", "startswith", self, _to_col(other))

    def endswith(self, other: Any) -> Column:
        return _call("endswith", "endswith", self, _to_col(other))

    def substr(self, startPos: Any, length: Any) -> Column:
        return _call("substring", "substr", self, _to_col(startPos), _to_col(length))

    def getField(self, name: str) -> Column:
        return Column(exp.Dot(this=self._unaliased(), expression=exp.to_identifier(name, quoted=True)),
                      f"{self._name}.{name}")

    def getItem(self, key: Any) -> Column:
        k = _to_col(key)
        return Column(exp.Bracket(this=self._unaliased(), expressions=[k._unaliased()]),
                      f"{self._name}[{k._name}]")

    def __getitem__(self, key: Any) -> Column:
        return self.getField(key) if isinstance(key, str) else self.getItem(key)

    def __getattr__(self, item: str) -> Column:
        if item.startswith("_"):
            raise AttributeError(item)
        return self.getField(item)

    def when(self, condition: Column, value: Any) -> Column:
        case = self._unaliased()
        if not isinstance(case, exp.Case) or case.args.get("default") is not None:
            raise TypeError("[INVALID_WHEN_USAGE] when() can only be applied on a Column previously generated "
                            "by when() function, and cannot be applied once otherwise() is applied.")
        v = _to_col(value)
        new = case.copy().when(condition._unaliased(), v._unaliased(), copy=False)
        return Column(new, self._name[:-4] + f" WHEN {condition._name} THEN {v._name} END")

    def otherwise(self, value: Any) -> Column:
        case = self._unaliased()
        if not isinstance(case, exp.Case) or case.args.get("default") is not None:
            raise TypeError("[INVALID_OTHERWISE_USAGE] otherwise() can only be applied on a Column previously "
                            "generated by when() function, and cannot be applied once otherwise() is applied.")
        v = _to_col(value)
        return Column(case.copy().else_(v._unaliased(), copy=False), self._name[:-4] + f" ELSE {v._name} END")

    def asc(self) -> Column:
        return self._ordered(desc=False, nulls_first=True)

    def desc(self) -> Column:
        return self._ordered(desc=True, nulls_first=False)

    def asc_nulls_first(self) -> Column:
        return self.asc()

    def asc_nulls_last(self) -> Column:
        return self._ordered(desc=False, nulls_first=False)

    def desc_nulls_first(self) -> Column:
        return self._ordered(desc=True, nulls_first=True)

    def desc_nulls_last(self) -> Column:
        return self.desc()

    def _ordered(self, desc: bool, nulls_first: bool) -> Column:
        """An ordering, named as Spark names it: ``x DESC NULLS LAST``."""
        return Column(exp.Ordered(this=self._unaliased(), desc=desc, nulls_first=nulls_first),
                      f"{self._name} {'DESC' if desc else 'ASC'} NULLS {'FIRST' if nulls_first else 'LAST'}")

    def _unordered_name(self) -> str:
        """The name of what an ordering orders (``x`` of ``x DESC NULLS LAST``); a column's own otherwise."""
        return self._name.rsplit(" ", 3)[0] if isinstance(self._unaliased(), exp.Ordered) else self._name

    def over(self, window: Any) -> Column:
        """This function over ``window`` (``pyspark.sql.window.Window``): for static DataFrames, as Spark
        (over a stream, Spark and stream_nb refuse it when the query starts)."""
        from stream_nb.pyspark.errors import PySparkTypeError
        from stream_nb.pyspark.sql.window import WindowSpec

        if not isinstance(window, WindowSpec):  # (Window itself is not one: Window.partitionBy(...) is)
            raise PySparkTypeError(f"Argument `window` should be WindowSpec, got {type(window).__name__}.",
                                   "NOT_EXPECTED_TYPE")
        return window._over(self)

    def __repr__(self) -> str:
        return f"Column<'{self._name}'>"

    def __iter__(self):
        raise TypeError("Column is not iterable")


_COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.Like, exp.Not)
# what binds tighter than AND / OR, so needs no parentheses under it: a condition stays a flat conjunction
# ((a = b) AND (c >= d) reads as a join key and a time range, as F.expr's text does)
_LOOSER = {exp.And: (exp.And, *_COMPARISONS), exp.Or: (exp.Or, exp.And, *_COMPARISONS)}


def _needs_paren(c: Column, parent: type | None = None) -> bool:
    node = c._unaliased()
    if isinstance(node, _LOOSER.get(parent, ())):
        return False
    return isinstance(node, (exp.Binary, exp.Not, exp.Neg)) and not isinstance(node, (exp.Dot, exp.Bracket))


def _literal(value: Any, double: bool = True) -> Column:
    """``value`` as a literal column, named as Spark names it. A float is a double (``double``), or left a number
    literal: a function's argument (``functions._v``), which the engine's checks of literal-only arguments
    read as they are written (so ``F.pmod(c, 2.5)`` is a decimal's answer where PySpark's is a double)."""
    import datetime
    import decimal

    if value is None:
        return Column(exp.Null(), "NULL")
    if isinstance(value, bool):
        return Column(exp.Boolean(this=value), str(value).lower())
    if isinstance(value, float):  # a double, as PySpark's lit (1.5 in SQL text is a decimal), named as Java writes it
        from stream_nb.pyspark.sql.show import java_float_text

        if not math.isfinite(value):
            return Column(_typed(java_float_text(value), "double"), java_float_text(value))
        node = exp.Neg(this=exp.Literal.number(repr(-value))) if value < 0 else exp.Literal.number(repr(value))
        return Column(exp.Cast(this=node, to=exp.DataType.build("double")) if double else node,
                      java_float_text(value))
    if isinstance(value, int):
        node = exp.Literal.number(value)
        return Column(exp.Neg(this=exp.Literal.number(-value)) if value < 0 else node, str(value))
    if isinstance(value, str):
        return Column(exp.Literal.string(value), value)
    if isinstance(value, decimal.Decimal) and value.is_finite():  # Spark's decimal of its digits: -2.50 (3,2)
        _, digits, exponent = value.as_tuple()
        scale = max(-exponent, 0)
        precision = min(max(len(digits) + max(exponent, 0), scale, 1), 38)
        return Column(_typed(str(value), f"decimal({precision},{scale})"), str(value))
    if isinstance(value, datetime.datetime):
        text = value.isoformat(sep=" ")
        return Column(_typed(text, "timestamp"), f"TIMESTAMP '{text}'")
    if isinstance(value, datetime.date):
        return Column(_typed(value.isoformat(), "date"), f"DATE '{value.isoformat()}'")
    raise TypeError(f"[UNSUPPORTED_LITERAL] lit(): unsupported literal {value!r} of type {type(value).__name__}")


def _typed(text: str, kind: str) -> exp.Cast:
    """A literal of a type SQL writes as text (``DATE '2024-01-01'``, a NaN double), marked as one: a literal is
    never NULL, where a cast of a string may be (``nullability.py``)."""
    cast = exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build(kind))
    cast.meta["literal"] = True
    return cast


def name_parts(name: str) -> list[str]:
    """A column name's parts as Spark reads them: split at dots, except inside backquotes (``a.`b.c``` is a
    column ``a``'s field ``b.c``; a doubled backquote inside is one).

    >>> name_parts("a.b"), name_parts("`a.b`"), name_parts("`x``y`.z")
    (['a', 'b'], ['a.b'], ['x`y', 'z'])
    """
    parts, part, quoted, i = [], "", False, 0
    while i < len(name):
        char = name[i]
        if char == "`" and quoted and name[i + 1:i + 2] == "`":
            part, i = part + "`", i + 2
            continue
        if char == "`":
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(part)
            part = ""
        else:
            part += char
        i += 1
    if quoted:
        raise AnalysisException(f"Syntax error in attribute name: {name}", "PARSE_SYNTAX_ERROR")
    return [*parts, part]


def _column_ref(name: str) -> Column:
    if name == "*":
        return Column(exp.Star(), "*")
    parts = name_parts(name)
    if len(parts) > 1 and parts[-1] == "*":
        return Column(exp.Column(this=exp.Star(), table=exp.to_identifier(parts[0], quoted=True)), name)
    node: exp.Expression = exp.column(parts[0], quoted=True)
    for part in parts[1:]:
        node = exp.Dot(this=node, expression=exp.to_identifier(part, quoted=True))
    return Column(node, parts[-1])


def _to_col(value: Any) -> Column:
    """A Column as is; anything else a literal (Spark's ``lit``)."""
    return value if isinstance(value, Column) else _literal(value)


def _as_col(value: Column | str) -> Column:
    """A Column as is; a string names a column (as functions' arguments do in PySpark)."""
    return value if isinstance(value, Column) else _column_ref(value)


def _call(sql_name: str, spark_name: str, *args: Column, name: str | None = None) -> Column:
    node = exp.Anonymous(this=sql_name, expressions=[a._unaliased() for a in args])
    return Column(node, name or f"{spark_name}({', '.join(a._name for a in args)})")
