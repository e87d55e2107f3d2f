"""``notify(...)``: each output row becomes a notification, JupyterLab's (its Notification API, through the
stream_nb extension) or, where no JupyterLab listens (plain python, classic notebook, no extension), a log line
on the logger ``stream_nb.notify`` (on stderr, at any level, where logging is not set up).

A message names the query and the row, short: ``alerts: device=d2, temperature=41.3``. At most
``max_per_minute`` rows a query notify in any 60 seconds (a sliding window); the rows past that are held back
and counted, and at the end of each batch that held some back one summary says how many: ``alerts: … and 37
more rows in this minute``. In JupyterLab the summary is one notification, updated in place while the rows keep
coming; in the log it is a line per such batch. The sink keeps the counts (``notified``, ``held_back``) and the
last messages (``messages``), so nothing leaves the user's view unsaid.

Delivery is at least once: a notification is a side effect, not a table. A batch handed again in the same
process notifies once (the sink remembers the last batch id), but a batch replayed after a restart on a
checkpoint notifies again.
"""

from __future__ import annotations

import datetime
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from stream_nb.notebook.formatting import format_time
from stream_nb.sinks._protocol import OPEN

log = logging.getLogger("stream_nb.notify")

WINDOW_SECONDS = 60.0
LEVELS = {"info": logging.INFO, "success": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
VALUE_CHARS = 40        # a value past this is cut (…): a notification is read at a glance
MESSAGE_CHARS = 200     # and so is the whole message
KEEP_MESSAGES = 100     # the last messages the sink keeps, for ``messages``


class RateLimit:
    """At most ``per_minute`` events in any 60 seconds: a sliding window over the times of those let through.

    >>> now = [0.0]
    >>> limit = RateLimit(2, clock=lambda: now[0])
    >>> [limit.take() for _ in range(3)]
    [True, True, False]
    >>> now[0] = 60.0; limit.take()
    True
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._sent: deque[float] = deque()

    def take(self) -> bool:
        """Whether one more event may go now (and count it if so)."""
        now = self._clock()
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()
        if len(self._sent) >= self.per_minute:
            return False
        self._sent.append(now)
        return True


def format_value(value: Any) -> str:
    """A value as a notification shows it: timestamps as people read them, floats to 4 digits, NULL as null.

    >>> format_value(41.2871), format_value(None), format_value(datetime.datetime(2026, 11, 24, 10, 0, 5))
    ('41.29', 'null', '2026-11-24 10:00:05')
    """
    if value is None:
        return "null"
    if isinstance(value, datetime.datetime):
        return format_time(value)
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, dict):  # a window: {start, end}
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return _cut(str(value), VALUE_CHARS)


def format_row(title: str, row: dict[str, Any]) -> str:
    """One row's message: the title (the query's name by default), then ``column=value`` pairs.

    >>> format_row("alerts", {"device": "d2", "temperature": 41.2871, "ts": None})
    'alerts: device=d2, temperature=41.29, ts=null'
    """
    return _cut(f"{title}: " + ", ".join(f"{k}={format_value(v)}" for k, v in row.items()), MESSAGE_CHARS)


def format_summary(title: str, held: int) -> str:
    """The summary of the rows held back.

    >>> format_summary("alerts", 37), format_summary("alerts", 1)
    ('alerts: … and 37 more rows in this minute', 'alerts: … and 1 more row in this minute')
    """
    return f"{title}: … and {held:,} more {'row' if held == 1 else 'rows'} in this minute"


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1] + "…"


class NotifySink:
    """Rows to notifications; see the module's docstring. ``clock`` is for tests (a manual clock)."""

    capabilities = frozenset({OPEN})

    def __init__(self, title: str | None = None, max_per_minute: int = 10, *, level: str = "warning",
                 clock: Callable[[], float] = time.monotonic):
        if title is not None and not isinstance(title, str):
            raise TypeError(f"sn.sinks.notify(title=...) is the notifications' title, a string; got {title!r}")
        if type(max_per_minute) is not int or max_per_minute < 1:
            raise ValueError(f"sn.sinks.notify(max_per_minute=...) is how many rows may notify in a minute: a "
                             f"positive whole number; got {max_per_minute!r}")
        if level not in LEVELS:
            raise ValueError(f"sn.sinks.notify(level=...) is one of {', '.join(map(repr, LEVELS))} (JupyterLab's "
                             f"notification types); got {level!r}")
        self.title, self.level, self.max_per_minute = title, level, max_per_minute
        self.description = f"NotifySink[{title or 'query name'}, {max_per_minute}/min]"
        self._limit = RateLimit(max_per_minute, clock)
        self._query_id: str | None = None
        self._query_name: str | None = None
        self._last_batch_id = -1
        self._storm = 0          # numbers the runs of held-back rows: one summary each
        self._held = 0           # rows held back in the current run
        self.notified = 0        # rows that became a notification (or a log line)
        self.held_back = 0       # rows the rate limit held back, in all
        self.messages: deque[str] = deque(maxlen=KEEP_MESSAGES)  # the last messages, summaries too

    def open(self, query_id: str) -> None:
        from stream_nb.engine import registry

        if query_id != self._query_id:  # a sink handed to a new query: its batches count from 0 again
            self._last_batch_id = -1
        self._query_id = query_id
        # the query registers before its sink opens: its name is the notifications' default title
        self._query_name = next((q.name for q in registry.queries() if q.id == query_id), self._query_name)

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        if batch_id <= self._last_batch_id:
            return  # handed again in this process: notified already
        title = self.title or self._query_name or "stream_nb"
        if self.title and self._query_name and self.title != self._query_name:
            title = f"{self.title} ({self._query_name})"  # the message names the query too
        held_now = 0
        for row in table.to_pylist():
            if self._limit.take():
                if self._held:   # a run of held-back rows has ended: the next one gets a summary of its own
                    self._storm, self._held = self._storm + 1, 0
                self._emit(format_row(title, row), key=None)
                self.notified += 1
            else:
                self._held += 1
                held_now += 1
        if held_now:
            self.held_back += held_now
            self._emit(format_summary(title, self._held), key=f"{self._query_id}:{self._storm}")
        self._last_batch_id = batch_id

    def _emit(self, message: str, key: str | None) -> None:
        from stream_nb.notebook import panel

        self.messages.append(message)
        link = panel.link()
        notice = {"query": self._query_name, "message": message, "type": self.level, "key": key}
        if link is None or not link.notify(notice):
            _log(LEVELS[self.level], message)


def _log(level: int, message: str) -> None:
    """A log line on ``stream_nb.notify``; where logging is not set up at all (a plain script), on stderr
    whatever the level, as Python's last-resort handler says warnings: an ``info`` alert must not vanish."""
    if log.hasHandlers():
        log.log(level, message)
    else:
        print(f"{logging.getLevelName(level)}: {message}", file=sys.stderr)


def notify(title: str | None = None, max_per_minute: int = 10, *, level: str = "warning") -> NotifySink:
    """A sink whose rows become notifications: JupyterLab's, or log lines (logger ``stream_nb.notify``).

    ``title`` heads each message (default: the query's name); at most ``max_per_minute`` rows notify in any
    minute, and a summary says how many more were held back; ``level`` is JupyterLab's notification type,
    ``info``, ``success``, ``warning`` or ``error`` (the log's level follows it). At least once: a batch
    replayed after a restart notifies again.

    >>> sink = notify("too hot", max_per_minute=1)
    >>> sink.add_batch(0, pa.table({"device": ["d1", "d2"], "temperature": [41.5, 42.0]}))
    >>> list(sink.messages), sink.notified, sink.held_back
    (['too hot: device=d1, temperature=41.5', 'too hot: … and 1 more row in this minute'], 1, 1)
    """
    return NotifySink(title, max_per_minute, level=level)
