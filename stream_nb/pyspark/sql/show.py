"""``df.show()``'s table, as Spark prints it (also the console sink's).

>>> import pandas as pd
>>> print(show_string(pd.DataFrame({"word": ["a"], "count": [2]})), end="")
+----+-----+
|word|count|
+----+-----+
|   a|    2|
+----+-----+
<BLANKLINE>
"""

from __future__ import annotations

import datetime
from typing import Any

import pandas as pd


def show_string(frame: pd.DataFrame, n: int = 20, truncate: bool | int = True) -> str:
    width = 20 if truncate is True else int(truncate or 0)
    cells = [[_cut(_cell(v), width) for v in row] for row in frame.head(n).itertuples(index=False, name=None)]
    header = [_cut(str(c), width) for c in frame.columns]
    sizes = [max([3, len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    rule = "+" + "+".join("-" * s for s in sizes) + "+"
    line = (lambda values: "|" + "|".join(v.rjust(s) if width else v.ljust(s) for v, s in zip(values, sizes)) + "|")
    out = [rule, line(header), rule, *[line(r) for r in cells], rule]
    if len(frame) > n:
        out.append(f"only showing top {n} row{'s' if n != 1 else ''}")
    return "\n".join(out) + "\n\n"


def _cut(text: str, width: int) -> str:
    return text if not width or len(text) <= width else (text[:width - 3] + "..." if width >= 4 else text[:width])


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, (list, dict, tuple, str)) and pd.isna(value)):
        return "NULL"
    if isinstance(value, dict):
        return "{" + ", ".join(_cell(v) for v in value.values()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    if isinstance(value, (pd.Timestamp, datetime.datetime)):
        ts = pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value)
        text = ts.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{ts.microsecond:06d}".rstrip("0") if ts.microsecond else "")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e7:
        return f"{value:.1f}"
    return str(value)
