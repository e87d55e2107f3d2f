"""``df.show()``'s table (also the console sink's), from the Arrow rows, in Spark's layout: a struct as
``{v1, v2}``, a map as ``{k -> v}``, an array as ``[x, y]``, NULL and NaN apart, a double as Java writes it
(``1.23456785E7``, ``1.0E-4``, ``Infinity``), a decimal with its scale's digits, binary as ``[01 02 FF]``.

>>> import pyarrow as pa
>>> print(show_string(pa.table({"word": ["a"], "count": [2]})), end="")
+----+-----+
|word|count|
+----+-----+
|   a|    2|
+----+-----+
<BLANKLINE>
>>> print(show_string(pa.table({"word": ["a"], "count": [2]}), vertical=True), end="")
-RECORD 0----
 word  | a   
 count | 2   
<BLANKLINE>
>>> m = pa.array([[("a", 2)]], pa.map_(pa.string(), pa.int64()))
>>> print(show_string(pa.table({"m": m, "s": pa.array([{"x": 1.0, "y": None}]), "f": [float("nan")]})), end="")
+--------+-----------+---+
|       m|          s|  f|
+--------+-----------+---+
|{a -> 2}|{1.0, NULL}|NaN|
+--------+-----------+---+
<BLANKLINE>
>>> [_cell(x, pa.float64()) for x in (12345678.5, 1e7, 1e-4, 0.001, -0.0, float("inf"), 100.0)]
['1.23456785E7', '1.0E7', '1.0E-4', '0.001', '-0.0', 'Infinity', '100.0']
"""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

import numpy as np
import pyarrow as pa


def show_string(table: pa.Table, n: int = 20, truncate: bool | int = True, vertical: bool = False) -> str:
    width = 20 if truncate is True else int(truncate or 0)
    shown = table.slice(0, n)
    columns = [[_cut(_cell(v, column.type), width) for v in column.to_pylist()] for column in shown.columns]
    cells = list(zip(*columns)) if columns else [() for _ in range(shown.num_rows)]
    header = [str(c) for c in table.column_names]  # a header is never cut, only cells
    if vertical:
        return _vertical(header, cells, n, table.num_rows > n)
    sizes = [max([3, len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    rule = "+" + "+".join("-" * s for s in sizes) + "+"
    line = (lambda values: "|" + "|".join(v.rjust(s) if width else v.ljust(s) for v, s in zip(values, sizes)) + "|")
    out = [rule, line(header), rule, *[line(r) for r in cells], rule]
    if table.num_rows > n:  # then no empty line after it, as Spark prints it
        return "\n".join(out) + f"\nonly showing top {n} row{'s' if n != 1 else ''}\n"
    return "\n".join(out) + "\n\n"


def _vertical(header: list[str], cells: list[tuple[str, ...]], n: int, more: bool) -> str:
    """Spark's ``show(vertical=True)``: a ``-RECORD i---`` block of ``name | value`` lines a row."""
    if not cells:
        return "(0 rows)\n"
    names = max([3, *map(len, header)])
    values = max([3, *(len(v) for row in cells for v in row)])
    out = []
    for i, row in enumerate(cells):
        out.append(f"-RECORD {i}".ljust(names + values + 5, "-"))
        out.extend(f" {h.ljust(names)} | {v.ljust(values)} " for h, v in zip(header, row))
    return "\n".join(out) + (f"\nonly showing top {n} row{'s' if n != 1 else ''}\n" if more else "\n\n")


def _cut(text: str, width: int) -> str:
    return text if not width or len(text) <= width else (text[:width - 3] + "..." if width >= 4 else text[:width])


def _cell(value: Any, dtype: pa.DataType) -> str:
    if value is None:
        return "NULL"
    if pa.types.is_map(dtype):
        return "{" + ", ".join(f"{_cell(k, dtype.key_type)} -> {_cell(v, dtype.item_type)}" for k, v in value) + "}"
    if pa.types.is_struct(dtype):
        return "{" + ", ".join(_cell(value[f.name], f.type) for f in dtype) + "}"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return "[" + ", ".join(_cell(v, dtype.value_type) for v in value) + "]"
    if isinstance(value, datetime.datetime):
        ts = value.astimezone(datetime.UTC) if value.tzinfo else value
        return ts.strftime("%Y-%m-%d %H:%M:%S") + (f".{ts.microsecond:06d}".rstrip("0") if ts.microsecond else "")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return java_float_text(np.float32(value) if pa.types.is_float32(dtype) else value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # its scale's digits, never an exponent (0E-10 is 0.0000000000)
    if isinstance(value, bytes):
        return "[" + " ".join(f"{b:02X}" for b in value) + "]"
    return str(value)


def java_float_text(value: float | np.float32) -> str:
    """A double (or a float: ``np.float32``, its own shortest digits) as Java's ``toString`` writes it, which
    is how Spark shows one: plain from 0.001 up to 10^7, else ``1.0E7``; ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return np.format_float_positional(value, unique=True, trim="0")
    mantissa, exponent = np.format_float_scientific(value, unique=True, trim="0").split("e")
    return f"{mantissa}E{int(exponent)}"
