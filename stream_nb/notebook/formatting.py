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
    """One table cell as escaped HTML text: an array as Spark's ``show()`` writes it (``[x, NULL]``); a map (a dict
    in q.result) as ``{a: 1, b: NULL}``, the dict without its quotes (Spark writes ``{a -> 1, b -> NULL}``); a
    day-time interval (a Timedelta) as a duration, ``1 min 30 s`` (``format_duration``).

    >>> format_cell(0.123456789), format_cell(None), format_cell("<b>")
    ('0.1235', '', '&lt;b&gt;')
    >>> import numpy as np
    >>> format_cell(np.array([1.0, 2.5])), format_cell(np.array(["x", None], dtype=object)), format_cell([("k", 1)])
    ('[1, 2.5]', '[x, NULL]', '{k: 1}')
    >>> format_cell({"a": 1, "b": None}), format_cell({}), format_cell(pd.Timedelta(seconds=90))
    ('{a: 1, b: NULL}', '{}', '1 min 30 s')
    """
    return html.escape(cell_text(value))


def cell_text(value: Any, inner: bool = False) -> str:
    """A value as text (not escaped); ``inner``: an element of an array, map or struct, where a NULL is written
    ``NULL`` (a NaN is one too: pandas gives a NULL double as NaN).

    >>> cell_text({pd.Timestamp("2026-11-30 10:00:00", tz="UTC"): [pd.Timedelta(0)]})
    '{2026-11-30 10:00:00: [0 s]}'
    """
    if value is None or value is pd.NaT or (isinstance(value, float | np.floating) and math.isnan(value)) \
            or (isinstance(value, np.timedelta64 | np.datetime64) and np.isnat(value)):
        return "NULL" if inner else ""
    if isinstance(value, pd.Timestamp | datetime.datetime):
        return format_time(value)
    if isinstance(value, pd.Timedelta | datetime.timedelta | np.timedelta64 | pd.DateOffset):
        return format_duration(value)
    if isinstance(value, float | np.floating):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, dict):  # a map (a struct in an array too: structs of a row are flattened)
        return "{" + ", ".join(f"{cell_text(k, True)}: {cell_text(v, True)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray | list):
        items = list(value)
        if items and all(isinstance(item, tuple) and len(item) == 2 for item in items):  # a map's entries
            return "{" + ", ".join(f"{cell_text(k, True)}: {cell_text(v, True)}" for k, v in items) + "}"
        return "[" + ", ".join(cell_text(item, True) for item in items) + "]"
    return str(value)


_UNITS = ((86_400_000_000_000, "day"), (3_600_000_000_000, "h"), (60_000_000_000, "min"))


def format_duration(value: Any) -> str:
    """A day-time interval (``max(ts) - min(ts)``: a Timedelta in q.result) as a person reads a duration, its
    parts that are not zero: ``1 min 30 s``, ``1 h 2 min 0.5 s``, ``2 days 5 s``; a negative one in
    parentheses, ``-(1 min 30 s)`` (pandas writes ``-1 days +23:58:30``, Spark
    ``INTERVAL '-0 00:01:30' DAY TO SECOND``). An interval with months (a DateOffset) says them first.

    >>> format_duration(pd.Timedelta(seconds=90)), format_duration(pd.Timedelta(hours=1, minutes=2, seconds=0.5))
    ('1 min 30 s', '1 h 2 min 0.5 s')
    >>> format_duration(pd.Timedelta(days=2, seconds=5)), format_duration(pd.Timedelta(0))
    ('2 days 5 s', '0 s')
    >>> format_duration(pd.Timedelta(seconds=-90)), format_duration(pd.Timedelta(seconds=-3))
    ('-(1 min 30 s)', '-3 s')
    >>> format_duration(pd.Timedelta(microseconds=250)), format_duration(pd.DateOffset(months=14, days=1))
    ('0.00025 s', '1 year 2 months 1 day')
    """
    if isinstance(value, pd.DateOffset):
        kwds = value.kwds
        months = 12 * kwds.get("years", 0) + kwds.get("months", 0)
        rest = pd.Timedelta(days=kwds.get("days", 0), hours=kwds.get("hours", 0),
                            minutes=kwds.get("minutes", 0), seconds=kwds.get("seconds", 0),
                            microseconds=kwds.get("microseconds", 0), nanoseconds=kwds.get("nanoseconds", 0))
        sign, (years, months) = "-" if months < 0 else "", divmod(abs(months), 12)
        parts = [sign + plural(n, word) for n, word in ((years, "year"), (months, "month")) if n]
        return " ".join(parts + ([format_duration(rest)] if rest or not parts else []))
    nanoseconds = pd.Timedelta(value).value
    left = abs(nanoseconds)
    parts = []
    for size, unit in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(plural(count, unit) if unit == "day" else f"{count} {unit}")
    if left or not parts:
        whole, fraction = divmod(left, 1_000_000_000)
        parts.append(f"{whole}" + (f".{fraction:09d}".rstrip("0") if fraction else "") + " s")
    text = " ".join(parts)
    return text if nanoseconds >= 0 else f"-({text})" if len(parts) > 1 else f"-{text}"


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
