"""Intervals as Spark writes them: "10 seconds", "500 milliseconds", "1 minute 30 seconds".

One place reads them: window sizes, watermark delays, triggers, and the sources' ``disorder``.
"""

from __future__ import annotations

import datetime
import re

_UNITS: dict[str, datetime.timedelta] = {
    name: unit
    for names, unit in [
        (("us", "microsecond", "microseconds"), datetime.timedelta(microseconds=1)),
        (("ms", "milli", "millis", "millisecond", "milliseconds"), datetime.timedelta(milliseconds=1)),
        (("s", "sec", "secs", "second", "seconds"), datetime.timedelta(seconds=1)),
        (("m", "min", "mins", "minute", "minutes"), datetime.timedelta(minutes=1)),
        (("h", "hour", "hours"), datetime.timedelta(hours=1)),
        (("d", "day", "days"), datetime.timedelta(days=1)),
        (("w", "week", "weeks"), datetime.timedelta(weeks=1)),
    ]
    for name in names
}

_ACCEPTED = "us, ms, s, m (minutes), h, d, w, or spelled out (seconds, minutes, ...)"

# A number (the SQL form may quote it: INTERVAL '10' SECONDS) and a unit; several may follow each other.
_PART = re.compile(r"\s*'?(\d+(?:\.\d*)?|\.\d+)'?\s*([a-z]+)\s*")


def parse_interval(text: str | datetime.timedelta | float) -> datetime.timedelta:
    """A duration from text like ``"2 seconds"``, ``"500 ms"`` or ``"INTERVAL 1 minute 30 seconds"``;
    a number alone is seconds.

    Units: us, ms, s, m (minutes), h, d, w, also spelled out (``second``, ``seconds``, ``sec``,
    ``minute``...), in any case. A ``timedelta`` is returned as it is.

    >>> parse_interval("1 minute 30 seconds")
    datetime.timedelta(seconds=90)
    """
    if isinstance(text, datetime.timedelta):
        return text
    if isinstance(text, (int, float)) and not isinstance(text, bool) and text >= 0:
        return datetime.timedelta(seconds=text)
    if not isinstance(text, str):
        raise TypeError(f"a duration is text like '10 seconds' or a datetime.timedelta, not {text!r}")
    body = re.sub(r"^\s*interval\b", "", text.strip().strip("'\"").lower()).strip().strip("'\"")
    total, position = datetime.timedelta(0), 0
    while position < len(body):
        part = _PART.match(body, position)
        if part is None or part.group(2) not in _UNITS:
            raise ValueError(f"cannot read {text!r} as a duration: write a number and a unit, like "
                             f"'10 seconds' or '500 milliseconds'; units: {_ACCEPTED}")
        total += float(part.group(1)) * _UNITS[part.group(2)]
        position = part.end()
    if position == 0:
        raise ValueError(f"cannot read {text!r} as a duration: it is empty; write e.g. '0 seconds'")
    return total



def format_interval(delta: datetime.timedelta) -> str:
    """The inverse, for messages and explain().

    >>> format_interval(datetime.timedelta(seconds=90))
    '90 seconds'
    """
    seconds = delta.total_seconds()
    if seconds == int(seconds):
        return "1 second" if seconds == 1 else f"{int(seconds)} seconds"
    return f"{round(seconds * 1000)} milliseconds"
