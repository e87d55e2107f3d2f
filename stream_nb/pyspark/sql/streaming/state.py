"""``pyspark.sql.streaming.state``: ``GroupState`` and ``GroupStateTimeout``, as PySpark 4.3 has them.

A ``GroupState`` is what ``applyInPandasWithState``'s function gets for its group: the state value (a
tuple typed by ``stateStructType``), whether the call is a timeout, and the batch's processing time and
watermark. Its rules and errors are PySpark's (``pyspark/sql/streaming/state.py``): a timeout duration needs
``ProcessingTimeTimeout``, a timeout timestamp ``EventTimeTimeout`` and no earlier than the watermark, ``get``
of an absent state raises. The engine (``engine/group_state.py``) reads back what the function did.
"""

from __future__ import annotations

import datetime
from typing import Any

from stream_nb.intervals import parse_interval
from stream_nb.pyspark.errors import PySparkException, PySparkTypeError, PySparkValueError

__all__ = ["GroupState", "GroupStateTimeout"]


class PySparkRuntimeError(PySparkException, RuntimeError):
    pass


class GroupStateTimeout:
    """The kinds of timeout ``applyInPandasWithState`` takes (its ``timeoutConf``)."""

    NoTimeout: str = "NoTimeout"
    ProcessingTimeTimeout: str = "ProcessingTimeTimeout"
    EventTimeTimeout: str = "EventTimeTimeout"


KINDS = (GroupStateTimeout.NoTimeout, GroupStateTimeout.ProcessingTimeTimeout, GroupStateTimeout.EventTimeTimeout)


class GroupState:
    """One group's state, for one call of the function.

    >>> s = GroupState(None, batch_ms=5_000, watermark_ms=0, timeout=GroupStateTimeout.ProcessingTimeTimeout,
    ...                timed_out=False, watermark_present=False)
    >>> s.exists, s.getOption
    (False, None)
    >>> s.update((3, "a")); s.get
    (3, 'a')
    >>> s.setTimeoutDuration(1000); s.timeout_ms
    6000
    """

    NO_TIMESTAMP: int = -1

    def __init__(self, value: tuple | None, *, batch_ms: int, watermark_ms: int, timeout: str, timed_out: bool,
                 watermark_present: bool, timeout_ms: int = -1):
        self._value = value
        self._batch_processing_time_ms = batch_ms
        self._event_time_watermark_ms = watermark_ms
        self._timeout_conf = timeout
        self._has_timed_out = timed_out
        self._watermark_present = watermark_present
        self._defined = value is not None
        self._updated = False
        self._removed = False
        # Spark resets a group's timeout on every call: it holds only if this call sets it again
        self._timeout_timestamp = GroupState.NO_TIMESTAMP
        self._old_timeout_timestamp = timeout_ms

    # -- what the engine reads back --------------------------------------------------------------------
    @property
    def value(self) -> tuple | None:
        """The state after the call (None: no state)."""
        return tuple(self._value) if self._defined else None

    @property
    def updated(self) -> bool:
        return self._updated

    @property
    def removed(self) -> bool:
        return self._removed

    @property
    def timeout_ms(self) -> int:
        """The timeout the call set (``NO_TIMESTAMP``: none)."""
        return self._timeout_timestamp

    # -- PySpark's API ---------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        """Whether state exists."""
        return self._defined

    @property
    def get(self) -> tuple:
        """The state value; raises when there is none."""
        if self._defined:
            return tuple(self._value)
        raise PySparkValueError("State is either not defined or has already been removed.", "STATE_NOT_EXISTS")

    @property
    def getOption(self) -> tuple | None:
        """The state value, or None."""
        return tuple(self._value) if self._defined else None

    @property
    def hasTimedOut(self) -> bool:
        """Whether the function is called because the group timed out (then its rows are empty)."""
        return self._has_timed_out

    @property
    def oldTimeoutTimestamp(self) -> int:
        """PySpark's: the timeout the GroupState came with. Spark's JVM hands each call a fresh one (its
        ``createForStreaming`` takes no timeout), so in a query it is always ``NO_TIMESTAMP``, as here."""
        return self._old_timeout_timestamp

    def update(self, newValue: tuple) -> None:
        """Set the state (a tuple with the state schema's fields, in order); it cannot be None."""
        if newValue is None:
            raise PySparkTypeError("Argument `newValue` cannot be None.", "CANNOT_BE_NONE")
        self._value = tuple(_plain(v) for v in newValue)
        self._defined, self._updated, self._removed = True, True, False

    def remove(self) -> None:
        """Remove the state (a timeout set in the same call still holds, as in Spark)."""
        self._defined, self._updated, self._removed = False, False, True

    def setTimeoutDuration(self, durationMs: int | str) -> None:
        """Time the group out this long after the batch's processing time (ProcessingTimeTimeout only).
        PySpark takes milliseconds; an interval string (``"1 hour"``) is read as Spark's Scala API reads it."""
        if isinstance(durationMs, str):
            durationMs = parse_interval(durationMs) // datetime.timedelta(milliseconds=1)
        if not isinstance(durationMs, int) or isinstance(durationMs, bool):
            raise PySparkTypeError(f"Argument `durationMs` should be an int, got {type(durationMs).__name__}.",
                                   "NOT_EXPECTED_TYPE")
        if self._timeout_conf != GroupStateTimeout.ProcessingTimeTimeout:
            raise PySparkRuntimeError("Cannot set timeout duration without enabling processing time timeout in "
                                      "applyInPandasWithState.", "CANNOT_WITHOUT")
        if durationMs <= 0:
            raise PySparkValueError(f"Value for `durationMs` must be positive, got '{durationMs}'.",
                                    "VALUE_NOT_POSITIVE")
        self._timeout_timestamp = durationMs + self._batch_processing_time_ms

    def setTimeoutTimestamp(self, timestampMs: int | datetime.datetime) -> None:
        """Time the group out once the watermark passes this time (EventTimeTimeout only); not earlier than
        the current watermark."""
        if self._timeout_conf != GroupStateTimeout.EventTimeTimeout:
            raise PySparkRuntimeError("Cannot set timeout timestamp without enabling event time timeout in "
                                      "applyInPandasWithState.", "CANNOT_WITHOUT")
        if isinstance(timestampMs, datetime.datetime):
            timestampMs = _datetime_ms(timestampMs)
        if timestampMs <= 0:
            raise PySparkValueError(f"Value for `timestampMs` must be positive, got '{timestampMs}'.",
                                    "VALUE_NOT_POSITIVE")
        if self._event_time_watermark_ms != GroupState.NO_TIMESTAMP and timestampMs < self._event_time_watermark_ms:
            raise PySparkValueError(f"Timeout timestamp ({timestampMs}) cannot be earlier than the current "
                                    f"watermark ({self._event_time_watermark_ms}).", "INVALID_TIMEOUT_TIMESTAMP")
        self._timeout_timestamp = int(timestampMs)

    def getCurrentWatermarkMs(self) -> int:
        """The batch's event-time watermark in ms; only with a watermark (``withWatermark``) before it."""
        if not self._watermark_present:
            raise PySparkRuntimeError("Cannot get event time watermark timestamp without setting watermark before "
                                      "applyInPandasWithState.", "CANNOT_WITHOUT")
        return self._event_time_watermark_ms

    def getCurrentProcessingTimeMs(self) -> int:
        """The batch's processing time in ms: the same for every call of one batch."""
        return self._batch_processing_time_ms

    def __str__(self) -> str:
        return f"GroupState({self.get})" if self.exists else "GroupState(<undefined>)"


def _plain(value: Any) -> Any:
    """NumPy and pandas scalars as Python's (PySpark converts them the same way before storing them)."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "to_pytimedelta"):
        return value.to_pytimedelta()
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        return value.tolist()
    return value


def _datetime_ms(value: datetime.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)  # the session time zone is UTC
    return int(value.timestamp() * 1000)
