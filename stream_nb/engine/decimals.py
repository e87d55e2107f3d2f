"""Spark's decimal rules for aggregates (non-ANSI): exact values, widened types, NULL on overflow.

* ``sum`` of decimal(p, s) is decimal(p + 10, s); so is the sum ``avg`` keeps;
* ``avg`` of decimal(p, s) is decimal(p + 4, s + 4), the sum over the count rounded half up;
* precisions are capped at 38, and a value that does not fit its type is NULL (Spark's ``CheckOverflow``).

Arithmetic is Python's ``decimal`` with a context wide enough never to round, so partial sums merge exactly.
A sum that overflows its type is NULL; a later batch then starts it again from its own values (state keeps
no mark that it overflowed, and Spark may keep it NULL: an edge this far out is left as is).
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_PRECISION = 38
_EXACT = decimal.Context(prec=2 * MAX_PRECISION + 2)  # sums and quotients of 38-digit values, unrounded


def bounded(precision: int, scale: int) -> pa.Decimal128Type:
    """Spark's ``DecimalType.bounded``: both capped at 38."""
    return pa.decimal128(min(precision, MAX_PRECISION), min(scale, MAX_PRECISION))


def sum_type(argument: pa.Decimal128Type) -> pa.Decimal128Type:
    """The type of ``sum`` over a decimal column (and of the sum ``avg`` keeps).

    >>> sum_type(pa.decimal128(10, 2))
    Decimal128Type(decimal128(20, 2))
    """
    return bounded(argument.precision + 10, argument.scale)


def mean_type(total: pa.Decimal128Type) -> pa.Decimal128Type:
    """The type of ``avg``, from the type of the sum it keeps: decimal(p + 4, s + 4) for an argument of
    decimal(p, s). A sum capped at 38 digits no longer tells p (28 to 38): avg then takes 38, never fewer
    digits than Spark's.

    >>> mean_type(sum_type(pa.decimal128(10, 2)))
    Decimal128Type(decimal128(14, 6))
    """
    if total.precision == MAX_PRECISION:
        return bounded(MAX_PRECISION, total.scale + 4)
    return bounded(total.precision - 6, total.scale + 4)


def fit(values: pa.Array | pa.ChunkedArray, target: pa.Decimal128Type) -> pa.Array:
    """Decimal values as ``target``; those with more integer digits than it holds become NULL.

    >>> fit(pa.array([Decimal("999.5"), Decimal("1000.0")], pa.decimal128(38, 1)), pa.decimal128(4, 1))
    <pyarrow.lib.Decimal128Array object at ...>
    [
      999.5,
      null
    ]
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.type.precision - values.type.scale > target.precision - target.scale:
        limit = Decimal(10) ** (target.precision - target.scale)
        wide = pa.decimal128(MAX_PRECISION, values.type.scale)
        inside = pc.less(pc.abs(values.cast(wide)), pa.scalar(limit, pa.decimal128(MAX_PRECISION, 0)).cast(wide))
        values = pc.if_else(inside, values, pa.scalar(None, values.type))
    return values.cast(target)


def add(old: np.ndarray, old_ok: np.ndarray, new: np.ndarray, new_ok: np.ndarray,
        target: pa.Decimal128Type) -> tuple[np.ndarray, np.ndarray]:
    """Null-aware sums of two object arrays of Decimals; a sum that overflows ``target`` is NULL."""
    limit = Decimal(10) ** (target.precision - target.scale)
    values = np.full(len(old), None, dtype=object)
    valid = old_ok | new_ok
    for i in np.flatnonzero(valid).tolist():
        total = _EXACT.add(old[i] if old_ok[i] else Decimal(0), new[i] if new_ok[i] else Decimal(0))
        if abs(total) < limit:
            values[i] = total
        else:
            valid[i] = False
    return values, valid


def mean(total: pa.Array | pa.ChunkedArray, count: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``avg`` of decimals from its sum and count: the quotient rounded half up to the avg's scale (NULL for
    no values, or when it does not fit).

    >>> mean(pa.array([Decimal("5.00")], pa.decimal128(20, 2)), pa.array([3])).to_pylist()
    [Decimal('1.666667')]
    """
    target = mean_type(total.type)
    quantum = Decimal(1).scaleb(-target.scale)
    limit = Decimal(10) ** (target.precision - target.scale)
    out = []
    for value, n in zip(total.to_pylist(), count.to_pylist()):
        if value is None or not n:
            out.append(None)
            continue
        quotient = _EXACT.divide(value, Decimal(n)).quantize(quantum, rounding=ROUND_HALF_UP, context=_EXACT)
        out.append(quotient if abs(quotient) < limit else None)
    return pa.array(out, target)
