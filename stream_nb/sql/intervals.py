"""Spark interval strings ('10 seconds', '1 minute 30 seconds', '500 milliseconds') as timedeltas.

One place reads them: window sizes, watermark delays, triggers, and the sources' ``disorder``.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "microsecond": timedelta(microseconds=1),
    "millisecond": timedelta(milliseconds=1),
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_ABBREVIATIONS = {"us": "microsecond", "ms": "millisecond", "s": "second", "sec": "second",
                  "min": "minute", "h": "hour", "d": "day"}
_PART = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")


def parse_interval(text: str | timedelta | int | float) -> timedelta:
    """A duration from Spark's interval syntax; numbers alone are seconds.

    >>> parse_interval("10 seconds")
    datetime.timedelta(seconds=10)
    >>> parse_interval("'1 minute 30 seconds'").total_seconds()
    90.0
    >>> parse_interval("500 milliseconds").total_seconds()
    0.5
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, (int, float)):
        return timedelta(seconds=text)
    cleaned = text.strip().strip("'\"").strip()
    if cleaned.upper().startswith("INTERVAL"):
        cleaned = cleaned[len("INTERVAL"):].strip().strip("'\"")
    total = timedelta(0)
    position = 0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            break
        total += float(match.group(1)) * _unit(match.group(2), text)
        position = match.end()
    if position != len(cleaned) or position == 0:
        raise ValueError(f"cannot read {text!r} as an interval; write e.g. '10 seconds', '1 minute', "
                         f"'500 milliseconds' (units: {', '.join(_UNITS)})")
    return total


def _unit(word: str, text: str) -> timedelta:
    name = word.lower()
    name = _ABBREVIATIONS.get(name, name)
    name = name[:-1] if name.endswith("s") and name[:-1] in _UNITS else name
    if name not in _UNITS:
        raise ValueError(f"unknown interval unit {word!r} in {text!r}; use one of {', '.join(_UNITS)}")
    return _UNITS[name]


def format_interval(delta: timedelta) -> str:
    """The inverse, for messages and explain(): ``10 seconds``.

    >>> format_interval(timedelta(seconds=90))
    '90 seconds'
    """
    seconds = delta.total_seconds()
    if seconds == int(seconds):
        n = int(seconds)
        return f"{n} second" if n == 1 else f"{n} seconds"
    return f"{int(round(seconds * 1000))} milliseconds"
