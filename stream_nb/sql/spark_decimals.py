"""Decimal division as Spark computes it: an exact decimal, rounded half up, at Spark's result scale.

``amount / 3`` for ``amount decimal(10,2)`` is ``decimal(14,6)`` in Spark: 1.25 / 3 = 0.416667, where DuckDB
divides decimals as doubles (0.4166666666666667). Spark's type (``DecimalPrecision``, with precision loss
allowed): ``scale = max(6, s1 + p2 + 1)``, ``precision = p1 - s1 + s2 + scale``, and above 38 digits the scale
gives way, down to 6. An integer takes part as ``decimal(10,0)`` (int), ``decimal(20,0)`` (bigint), a literal as
its digits. DuckDB computes it over the unscaled integers in HUGEINT. Only for columns, literals and casts,
whose values have the type the planner sees (sqlglot types ``sum(amount)`` as ``amount``'s decimal(10,2), Spark
as decimal(20,2)); a division of other operands, or one whose numerator would not fit, is left to DuckDB (a
double).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from stream_nb.sql.dialect import literal_decimal
from stream_nb.sql.tree import bottom_up, decimal_of

_T = exp.DataType.Type
_INTEGER_DIGITS = {_T.TINYINT: 3, _T.SMALLINT: 5, _T.INT: 10, _T.BIGINT: 20}
_MAX = 38
_HUGEINT_DIGITS = 37  # every integer of 37 digits fits a HUGEINT (2**127 is about 1.7e38)


def decimal_division(tree: exp.Expression) -> None:
    """Each ``/`` of decimals (or a decimal and an integer) as Spark's exact decimal.

    >>> import sqlglot
    >>> from sqlglot.optimizer.annotate_types import annotate_types
    >>> tree = annotate_types(sqlglot.parse_one("SELECT t.a / 3 FROM t", read="spark"),
    ...                       schema={"t": {"a": "DECIMAL(10, 2)"}})
    >>> decimal_division(tree); tree.selects[0].type.sql("spark")
    'DECIMAL(14, 6)'
    """
    decimal_multiplication(tree)
    for node in bottom_up(tree, exp.Div):
        if not (_typed_for_sure(node.this) and _typed_for_sure(node.expression)):
            continue  # sqlglot's type of sum(x) or x * y is not Spark's: a wider value could overflow HUGEINT
        left, right = _decimal(node.this), _decimal(node.expression)
        if left is None or right is None or not (_is_decimal(node.this) or _is_decimal(node.expression)):
            continue
        (p1, s1), (p2, s2) = left, right
        precision, scale = _result_type(p1, s1, p2, s2)
        shift = scale + s2 - s1  # the dividend's unscaled value times 10^shift, over the divisor's
        if shift < 0 or p1 + shift > _HUGEINT_DIGITS:
            continue
        a, b = (f"CAST({side.sql('duckdb')} * {10 ** s} AS HUGEINT)"
                for side, s in ((node.this, s1), (node.expression, s2)))
        numerator = f"({a} * CAST({10 ** shift} AS HUGEINT))"
        divisor = f"NULLIF({b}, 0)"
        # half up: |n| / |d| rounded away from zero at .5, then the sign back
        quotient = f"(sign({numerator}) * sign({divisor}) * ((2 * abs({numerator}) + abs({divisor})) " \
                   f"// (2 * abs({divisor}))))"
        unit = f" * 0.{'0' * (scale - 1)}1" if scale else ""  # the unscaled quotient back to its scale
        text = f"CAST(CAST({quotient} AS DECIMAL(38, 0)){unit} AS DECIMAL({precision}, {scale}))"
        exact = sqlglot.parse_one(text, read="duckdb")
        exact.type = exp.DataType.build(f"DECIMAL({precision}, {scale})")
        node.replace(exact)


def decimal_multiplication(tree: exp.Expression) -> None:
    """Each ``*`` of decimals (or a decimal and an integer) at Spark's result type, ``decimal(p1 + p2 + 1,
    s1 + s2)`` (above 38 digits the scale gives way, down to 6): DuckDB keeps the operands' width and failed on
    a product wider than it (``decimal(10,2) * decimal(10,2)`` of 1e7 each), where Spark's type holds it."""
    for node in bottom_up(tree, exp.Mul):
        if not (_typed_for_sure(node.this) and _typed_for_sure(node.expression)):
            continue
        left, right = _decimal(node.this), _decimal(node.expression)
        if left is None or right is None or not (_is_decimal(node.this) or _is_decimal(node.expression)):
            continue
        (p1, s1), (p2, s2) = left, right
        if s1 + s2 > _MAX:  # DuckDB cannot hold the exact product's scale: left to it
            continue
        precision, scale = _bounded(p1 + p2 + 1, s1 + s2)
        wide = exp.Mul(this=exp.Cast(this=node.this.copy(), to=exp.DataType.build(f"DECIMAL(38, {s1})")),
                       expression=exp.Cast(this=node.expression.copy(), to=exp.DataType.build(f"DECIMAL(38, {s2})")))
        product = exp.Cast(this=wide, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))
        product.type = exp.DataType.build(f"DECIMAL({precision}, {scale})")
        node.replace(product)


def _bounded(precision: int, scale: int) -> tuple[int, int]:
    """Spark's ``DecimalType.adjustPrecisionScale``: above 38 digits the scale gives way, down to 6."""
    if precision <= _MAX:
        return precision, scale
    whole = precision - scale
    return _MAX, max(_MAX - whole, min(scale, 6))


def _result_type(p1: int, s1: int, p2: int, s2: int) -> tuple[int, int]:
    """Spark's ``DecimalPrecision`` for ``/`` (``spark.sql.decimalOperations.allowPrecisionLoss`` true)."""
    scale = max(6, s1 + p2 + 1)
    precision = p1 - s1 + s2 + scale
    if precision <= _MAX:
        return precision, scale
    whole = precision - scale
    return _MAX, max(_MAX - whole, min(scale, 6))


def _typed_for_sure(node: exp.Expression) -> bool:
    """A column, a literal, or a cast: operands whose type here is the type of their values."""
    return isinstance(node, (exp.Column, exp.Literal)) or (
        isinstance(node, exp.Cast) and node.to.this in (_T.DECIMAL, *_INTEGER_DIGITS))


def _is_decimal(node: exp.Expression) -> bool:
    return node.type is not None and node.type.this == _T.DECIMAL or literal_decimal(node) is not None


def _decimal(node: exp.Expression) -> tuple[int, int] | None:
    """(precision, scale) a decimal or integer operand takes part with; None for anything else."""
    digits = decimal_of(node)
    if digits is not None or node.type is None:
        return digits
    if isinstance(node, exp.Literal) and not node.is_string and node.name.isdigit():
        return len(node.name.lstrip("0") or "0"), 0
    if node.type.this in _INTEGER_DIGITS:
        return _INTEGER_DIGITS[node.type.this], 0
    return None
