"""The clock a query reads its batches' processing time from (Spark's ``batchTimestampMs``): wall time, or a
``ManualClock`` that a test or a teaching notebook moves by hand, so processing-time timeouts fire exactly
when it says, without waiting."""

from __future__ import annotations

import threading
import time


class WallClock:
    """The system's time, in ms since the epoch."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def __repr__(self) -> str:
        return "WallClock()"


class ManualClock:
    """A clock that moves only when told: ``sn.start(..., clock=clock)``, then ``clock.advance(ms)``.

    >>> clock = ManualClock(1_000)
    >>> clock.advance(500)
    1500
    >>> clock.now_ms()
    1500
    """

    def __init__(self, start_ms: int = 0):
        if start_ms < 0:
            raise ValueError(f"a clock starts at 0 ms or later (ms since the epoch), not {start_ms}")
        self._now = int(start_ms)
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms`` milliseconds; the new time."""
        if ms < 0:
            raise ValueError(f"a clock only moves forward: advance({ms}) would take it back")
        with self._lock:
            self._now += int(ms)
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now})"
