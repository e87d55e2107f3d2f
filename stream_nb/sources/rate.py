"""The rate source: Spark's load generator, row i has ``value`` i and a timestamp at a steady rate."""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from stream_nb.intervals import parse_interval
from stream_nb.sources._protocol import CHECKPOINT_METADATA, PUSH
from stream_nb.sources.errors import check_offsets
from stream_nb.types import TIMESTAMP

Clock = Callable[[], float]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


class Schedule:
    """When row i of a generated stream is due: a pure function of (start_time, i), so reads can be replayed.

    Row i is due ``i / rows_per_second`` seconds after ``start_time``. With a ramp-up the rate grows linearly
    from 0 to ``rows_per_second`` over ``ramp_up_time`` (so the ramp yields ``rows_per_second * ramp / 2``
    rows) and stays there. Spark raises its rate in whole-second steps; here it grows continuously, so a row's
    time depends on its offset alone. A row is available once its time has passed on ``clock``.
    """

    def __init__(self, rows_per_second: float, ramp_up_time, start_time, clock: Clock | None):
        if isinstance(rows_per_second, bool) or not isinstance(rows_per_second, (int, float)) \
                or not 0 < rows_per_second < math.inf:
            raise ValueError(f"rows_per_second must be a positive number, not {rows_per_second!r}")
        self.rows_per_second = rows_per_second
        self.ramp_up_time = parse_interval(ramp_up_time or datetime.timedelta(0))
        if self.ramp_up_time < datetime.timedelta(0):
            raise ValueError(f"ramp_up_time must not be negative, not {ramp_up_time!r}")
        self.clock = clock or time.time
        self.start_time = _utc_start_time(start_time, self.clock)
        self._start_us = (self.start_time - _EPOCH) // _MICROSECOND
        self._ramp_us = self.ramp_up_time // _MICROSECOND

    def rebase(self, start_time) -> None:
        """Start at ``start_time`` (restored from a checkpoint), so that offsets mean the same rows again."""
        self.start_time = _utc_start_time(start_time, self.clock)
        self._start_us = (self.start_time - _EPOCH) // _MICROSECOND

    def timestamps_us(self, index: np.ndarray) -> np.ndarray:
        """Microseconds since the epoch at which rows ``index`` (int64 array) are due."""
        i = index.astype(np.float64)
        rate, ramp_us = self.rows_per_second, self._ramp_us
        steady = i * 1e6 / rate + ramp_us / 2
        if ramp_us:
            # Inverse of rows(t) = rate * t^2 / (2 * ramp) during the ramp.
            steady = np.where(i < rate * ramp_us / 2e6, np.sqrt(2 * ramp_us * i * 1e6 / rate), steady)
        return self._start_us + np.floor(steady).astype(np.int64)

    def due(self) -> int:
        """How many rows are due by now (their time is before ``clock()``)."""
        now_us = math.floor(self.clock() * 1e6)
        elapsed = (now_us - self._start_us) / 1e6
        if elapsed <= 0:
            return 0
        rate, ramp = self.rows_per_second, self._ramp_us / 1e6
        rows = rate * elapsed**2 / (2 * ramp) if elapsed < ramp else rate * (elapsed - ramp / 2)
        n = max(math.ceil(rows), 0)
        # The float estimate may be one off: settle it with the very function read() uses.
        while n > 0 and self._at(n - 1) >= now_us:
            n -= 1
        while self._at(n) < now_us:
            n += 1
        return n

    def _at(self, i: int) -> int:
        return int(self.timestamps_us(np.array([i], dtype=np.int64))[0])


def _utc_start_time(value, clock: Clock) -> datetime.datetime:
    """``start_time`` as an aware UTC datetime; naive means UTC; None means now, to the ms (as in Spark)."""
    if value is None:
        return _EPOCH + datetime.timedelta(milliseconds=math.floor(clock() * 1000))
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"start_time {value!r} is not an ISO 8601 time like '2024-05-01 12:00:00'") \
                from None
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"start_time must be a datetime or an ISO 8601 string, not {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def timestamp_array(micros: np.ndarray) -> pa.Array:
    """Microseconds since the epoch as a ``timestamp[us, UTC]`` Arrow array."""
    return pa.array(micros, type=pa.int64()).view(TIMESTAMP)


class Scheduled:
    """What a checkpoint keeps of a generated source: its ``start_time``, which fixes what each offset means."""

    _schedule: Schedule
    capabilities = frozenset({CHECKPOINT_METADATA, PUSH})

    def wait_for_data(self, offset: int, timeout: float) -> tuple[int, float | None]:
        """Sleep until row ``offset`` is due (at most ``timeout`` s): the latest offset, and when that row
        became available, on ``time.perf_counter()``'s scale (None if it is not due yet)."""
        due_s = self._schedule._at(offset) / 1e6
        wait = due_s - self._schedule.clock()
        if wait > 0:
            time.sleep(min(wait, timeout))
        latest = self._schedule.due()
        if latest <= offset:
            return latest, None
        return latest, time.perf_counter() - max(0.0, self._schedule.clock() - due_s)

    def checkpoint_metadata(self) -> dict:
        return {"start_time": self._schedule.start_time.isoformat()}

    def restore_checkpoint_metadata(self, metadata: dict) -> None:
        self._schedule.rebase(metadata["start_time"])
        self.start_time = self._schedule.start_time


class RateSource(Scheduled):
    """Spark's rate source: columns ``timestamp`` and ``value``; offsets are row numbers."""

    def __init__(self, rows_per_second: float = 1, *, ramp_up_time=None, start_time=None,
                 clock: Clock | None = None):
        self.schema = pa.schema([pa.field("timestamp", TIMESTAMP), pa.field("value", pa.int64())])
        self._schedule = Schedule(rows_per_second, ramp_up_time, start_time, clock)
        self.rows_per_second = rows_per_second
        self.ramp_up_time = self._schedule.ramp_up_time
        self.start_time = self._schedule.start_time
        ramp = f", rampUpTimeSeconds={self.ramp_up_time.total_seconds():g}" if self.ramp_up_time else ""
        self.description = f"RateSource[rowsPerSecond={rows_per_second:g}{ramp}]"

    def latest_offset(self) -> int:
        """Rows due by now on the wall clock (or on ``clock``)."""
        return self._schedule.due()

    def read(self, start: int, end: int) -> pa.Table:
        """Rows ``start`` to ``end`` (exclusive): a pure function of ``start_time`` and the offsets."""
        check_offsets(start, end, None, self.description)
        index = np.arange(start, end, dtype=np.int64)
        columns = [timestamp_array(self._schedule.timestamps_us(index)), pa.array(index, type=pa.int64())]
        return pa.Table.from_arrays(columns, schema=self.schema)

    def __repr__(self) -> str:
        return f"{self.description} from {self.start_time.isoformat()}"


def rate(rows_per_second: float = 1, *, ramp_up_time=None, start_time=None,
         clock: Clock | None = None) -> RateSource:
    """Spark's rate source: row i has ``value`` i and ``timestamp`` start_time + i / rows_per_second seconds.

    Args:
        rows_per_second: the steady rate.
        ramp_up_time: a duration like ``"10 seconds"``: the rate grows linearly from 0 to ``rows_per_second``
            over it (continuously, where Spark steps once a second).
        start_time: when row 0 is due: a datetime or ISO 8601 string (naive means UTC); default: now.
        clock: seconds since the epoch, instead of ``time.time`` (for tests and replays).

    >>> src = rate(2, start_time="2024-05-01 12:00:00", clock=lambda: 1714564802.0)  # 2 s after start
    >>> src.latest_offset()
    4
    >>> src.read(2, 4).to_pandas()
                      timestamp  value
    0 2024-05-01 12:00:01.000+00:00      2
    1 2024-05-01 12:00:01.500+00:00      3
    """
    return RateSource(rows_per_second, ramp_up_time=ramp_up_time, start_time=start_time, clock=clock)
