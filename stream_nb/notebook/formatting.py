"""How values look in the notebook: one place formats timestamps, rates and table cells for the views."""

from __future__ import annotations

import datetime
import html
import math
from typing import Any

import numpy as np
import pandas as pd

_EPOCH = pd.Timestamp(0, tz="UTC")


def as_timestamp(value: Any) -> pd.Timestamp | None:
    """A UTC timestamp from a Timestamp, a datetime or an ISO string (Spark's progress format); else None.

    >>> as_timestamp("2026-11-24T10:00:05.250Z")
    Timestamp('2026-11-24 10:00:05.250000+0000', tz='UTC')
    >>> as_timestamp(None) is None
    True
    """
    if value is None or value is pd.NaT:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def format_time(value: Any) -> str:
    """A timestamp as a person reads it: ``2026-11-24 10:00:05`` (milliseconds only when there are some).

    >>> format_time("2026-11-24T10:00:05.000Z"), format_time("2026-11-24T10:00:05.250Z")
    ('2026-11-24 10:00:05', '2026-11-24 10:00:05.250')
    """
    stamp = as_timestamp(value)
    if stamp is None:
        return "—"
    text = stamp.strftime("%Y-%m-%d %H:%M:%S")
    return text + f".{stamp.microsecond // 1000:03d}" if stamp.microsecond >= 1000 else text


def watermark_time(progress: dict | None) -> pd.Timestamp | None:
    """The watermark a progress report gives, if event time has landed (Spark reports the epoch before)."""
    stamp = as_timestamp(((progress or {}).get("eventTime") or {}).get("watermark"))
    return None if stamp is None or stamp == _EPOCH else stamp


def format_rate(rows_per_second: float | None) -> str:
    """Rows a second, short: ``1.2 k``.

    >>> format_rate(1234.5), format_rate(12.34), format_rate(None)
    ('1.2 k', '12.3', '—')
    """
    if rows_per_second is None or (isinstance(rows_per_second, float) and math.isnan(rows_per_second)):
        return "—"
    for scale, suffix in ((1e6, " M"), (1e3, " k")):
        if rows_per_second >= scale:
            return f"{rows_per_second / scale:.1f}{suffix}"
    return f"{rows_per_second:.1f}"


def format_cell(value: Any) -> str:
    """One table cell as escaped HTML text; arrays and maps as Spark's ``show()`` writes them.

    >>> format_cell(0.123456789), format_cell(None), format_cell("<b>")
    ('0.1235', '', '&lt;b&gt;')
    >>> import numpy as np
    >>> format_cell(np.array([1.0, 2.5])), format_cell(np.array(["x", None], dtype=object)), format_cell([("k", 1)])
    ('[1, 2.5]', '[x, NULL]', '{k -&gt; 1}')
    """
    return html.escape(_cell_text(value))


def _cell_text(value: Any, inner: bool = False) -> str:
    """A value as text; ``inner``: an element of an array, map or struct, where a NULL is written ``NULL`` (a
    NaN is one too: pandas gives a NULL double as NaN)."""
    if value is None or value is pd.NaT or (isinstance(value, float | np.floating) and math.isnan(value)):
        return "NULL" if inner else ""
    if isinstance(value, pd.Timestamp | datetime.datetime):
        return format_time(value)
    if isinstance(value, float | np.floating):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_cell_text(v, True)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray | list):
        items = list(value)
        if items and all(isinstance(item, tuple) and len(item) == 2 for item in items):  # a map's entries
            return "{" + ", ".join(f"{_cell_text(k, True)} -> {_cell_text(v, True)}" for k, v in items) + "}"
        return "[" + ", ".join(_cell_text(item, True) for item in items) + "]"
    return str(value)


def epoch_ms(values: pd.Series) -> pd.Series:
    """Timestamps as float milliseconds since the epoch (UTC): what a bokeh datetime axis plots."""
    stamps = pd.to_datetime(values, utc=True)
    return (stamps - _EPOCH) / pd.Timedelta(milliseconds=1)


def plural(count: int, word: str, words: str | None = None) -> str:
    """A count with its noun, singular or plural as the count says.

    >>> plural(1, "row"), plural(0, "row"), plural(12345, "row"), plural(2, "batch", "batches")
    ('1 row', '0 rows', '12,345 rows', '2 batches')
    """
    return f"{count:,} {word if count == 1 else words or word + 's'}"


def format_clock(value: Any) -> str:
    """A timestamp's time of day, for a view that says the day once: ``10:00:05`` (``.250`` when there are
    milliseconds).

    >>> format_clock("2026-11-24T10:00:05Z"), format_clock("2026-11-24T10:00:05.250Z"), format_clock(None)
    ('10:00:05', '10:00:05.250', '—')
    """
    text = format_time(value)
    return text.split(" ", 1)[1] if " " in text else text
