"""The watermark, in one place: how it advances, which rows are late, which state is expired, and what a
checkpoint records of it. Every operator, the state, the state store and the query ask this module.

Spark's rules, with times as µs since the epoch (UTC):
* each input's watermark is the latest event time seen minus its delay, computed at the end of a batch and
  used from the next one, never going back; it starts at the epoch (0);
* several inputs give one watermark: the min of theirs (Spark's default ``multipleWatermarkPolicy``), or
  the max if asked; an input that has seen no event time yet counts as the epoch, and the query's watermark
  never goes back (Spark's ``WatermarkTracker``);
* a row is late when its event time (a window's end, for a row in a window) is at or behind the watermark;
* state is expired when its event time (a window's or session's end) is at or behind the watermark: append
  emits it, and it is evicted;
* a checkpoint records the watermark the next batch runs with (the commit log; with several inputs each
  input's too, ``inputWatermarksUs``, so a restart resumes them), and in each state delta the watermark
  through which that batch evicted keys, so a restore evicts the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EPOCH_US = 0  # the watermark before any event time is seen, as in Spark
POLICIES = ("min", "max")
EVICTED_THROUGH = "stream_nb.evicted_through_us"  # a state delta's metadata: keys expired at this were evicted

Times = TypeVar("Times", int, np.ndarray, pa.Array, pa.ChunkedArray)


def advance(current_us: int, latest_event_us: int | None, delay_us: int) -> int:
    """One input's watermark after a batch whose latest event time is ``latest_event_us`` (None: the batch
    had no event time), never going back.

    >>> advance(0, 12_000_000, 5_000_000)
    7000000
    >>> advance(7_000_000, 3_000_000, 5_000_000)   # an older batch does not move it back
    7000000
    >>> advance(7_000_000, None, 5_000_000)
    7000000
    """
    if latest_event_us is None:
        return current_us
    return max(current_us, latest_event_us - delay_us)


def combine(per_input_us: Mapping[str, int], policy: str = "min") -> int:
    """The query's watermark from its inputs' watermarks.

    >>> combine({"events": 7_000_000})
    7000000
    >>> combine({"clicks": 7_000_000, "views": 3_000_000})
    3000000
    >>> combine({"clicks": 7_000_000, "views": 3_000_000}, policy="max")
    7000000
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown watermark policy {policy!r}; use one of: {', '.join(POLICIES)}")
    if not per_input_us:
        return EPOCH_US
    return (min if policy == "min" else max)(per_input_us.values())


class Watermarks:
    """The watermarks of a query's inputs (input name → delay), advanced batch by batch, as Spark's
    ``WatermarkTracker``: an input that has seen no event time yet counts as the epoch (so with policy "min"
    the query's watermark waits until every input has data), and the query's watermark never goes back.

    >>> w = Watermarks({"clicks": 5_000_000, "views": 1_000_000})
    >>> w.advance({"clicks": 12_000_000, "views": None})   # views has no rows yet: held at the epoch
    0
    >>> w.advance({"clicks": 12_000_000, "views": 3_000_000})
    2000000
    >>> w.advance({"clicks": 10_000_000, "views": None}), w.per_input_us
    (2000000, {'clicks': 7000000, 'views': 2000000})
    """

    def __init__(self, delays_us: Mapping[str, int], policy: str = "min", current_us: int = EPOCH_US,
                 per_input_us: Mapping[str, int | None] | None = None):
        combine({}, policy)  # checks the policy
        self.delays_us = dict(delays_us)
        self.policy = policy
        self._current_us = current_us
        # None: no event time seen yet. A checkpoint written with one input kept only the query's watermark,
        # which is then that input's.
        known = dict(per_input_us) if per_input_us is not None else \
            {name: current_us for name in self.delays_us} if len(self.delays_us) == 1 and current_us else {}
        self.per_input_us: dict[str, int | None] = {name: known.get(name) for name in self.delays_us}

    @property
    def current_us(self) -> int:
        """The query's watermark: what the next batch runs with."""
        return self._current_us

    def advance(self, latest_event_us: Mapping[str, int | None]) -> int:
        """Each input's latest event time in the batch just run (None: none); returns the watermark for the
        next batch."""
        for name, latest in latest_event_us.items():
            if latest is None:
                continue
            previous, candidate = self.per_input_us[name], latest - self.delays_us[name]
            self.per_input_us[name] = candidate if previous is None else max(previous, candidate)
        chosen = combine({n: EPOCH_US if v is None else v for n, v in self.per_input_us.items()}, self.policy)
        self._current_us = max(self._current_us, chosen)
        return self._current_us


def on_time(event_times_us: Times, watermark_us: int) -> Times:
    """Whether each row is ahead of the watermark (not late): a row at or behind it is late.

    >>> on_time(np.array([6, 7, 8]), 7).tolist()
    [False, False, True]
    >>> on_time(pa.array([6, None, 8]), 7).to_pylist()
    [False, None, True]
    """
    if not isinstance(event_times_us, pa.Array | pa.ChunkedArray):  # numpy, or one time
        return event_times_us > watermark_us
    return pc.greater(event_times_us, watermark_us)


def late_before(watermark_us: int, window: tuple[int, int, int] | None = None) -> int:
    """The event time (µs) before which an input row is late: its own time, or with windows of ``size`` every
    ``slide`` from ``offset`` (``window``) the end of the last window holding it, is at or behind the
    watermark. For windows, last_end(t) <= wm exactly when t < ((wm - size - offset) // slide + 1) * slide +
    offset. (The teaching view places late rows by their own event time with it.)

    >>> late_before(100), late_before(100, (10, 10, 0)), late_before(100, (10, 5, 0))
    (101, 100, 95)
    """
    if window is None:
        return watermark_us + 1
    size, slide, offset = window
    return ((watermark_us - size - offset) // slide + 1) * slide + offset


def expired(ends_us: Times, watermark_us: int) -> Times:
    """Whether each window, session or key is expired: its end (event time) is at or behind the watermark.

    >>> expired(np.array([6, 7, 8]), 7).tolist()
    [True, True, False]
    >>> expired(pa.array([6, 7, 8]), 7).to_pylist()
    [True, True, False]
    >>> expired(7, 7)
    True
    """
    if not isinstance(ends_us, pa.Array | pa.ChunkedArray):  # numpy, or one time
        return ends_us <= watermark_us
    return pc.less_equal(ends_us, watermark_us)


def record_eviction(delta: pa.Table, watermark_us: int) -> pa.Table:
    """A state delta that says its batch evicted the keys expired at ``watermark_us``.

    >>> record_eviction(pa.table({"k": [1]}), 7_000_000).schema.metadata
    {b'stream_nb.evicted_through_us': b'7000000'}
    """
    return delta.replace_schema_metadata({EVICTED_THROUGH: str(watermark_us)})


def evicted_through(delta: pa.Table) -> int | None:
    """The watermark a state delta's batch evicted keys at, or None if it evicted none.

    >>> evicted_through(record_eviction(pa.table({"k": [1]}), 7_000_000))
    7000000
    >>> evicted_through(pa.table({"k": [1]})) is None
    True
    """
    value = (delta.schema.metadata or {}).get(EVICTED_THROUGH.encode())
    return None if value is None else int(value)
