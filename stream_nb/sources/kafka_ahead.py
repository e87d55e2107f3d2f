"""The Kafka source's next planned step, read and parsed on a thread of its own before a batch asks for it.

A batch's rows from Kafka cost more than a file's: the messages are taken from librdkafka and their JSON values
parsed, on the thread that asks. With one step a batch (``max_offsets_per_trigger``) the step after the one just
read is usually planned already (logged offsets: its messages are fixed), so reading it can start at once,
beside the engine's own look-ahead (which aggregates the batch it read) and the batch that merges. Nothing is
read twice: the next read of exactly that step takes the table; any other read (a replay, a stop) first stops
this one and reads as usual. A read ahead that fails is dropped and done again when asked, failing there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa


class StepAhead:
    """At most one step read ahead: ``start`` it, ``take`` it when that step is asked for, ``stop`` it."""

    def __init__(self):
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[tuple[int, int], threading.Event, Future] | None = None
        self._lock = threading.Lock()  # (a query's close may come from another thread than its reads)

    @property
    def steps(self) -> tuple[int, int] | None:
        """The steps being read ahead (or read already, waiting to be taken), if any."""
        pending = self._pending
        return None if pending is None else pending[0]

    def start(self, steps: tuple[int, int], read: Callable[[threading.Event], pa.Table]) -> None:
        """Read ``steps`` (``read(cancel)``: the table, ending early once ``cancel`` is set) on the thread."""
        self.stop()
        cancel = threading.Event()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream_nb-kafka-ahead")
            self._pending = (steps, cancel, self._pool.submit(read, cancel))

    def take(self, steps: tuple[int, int]) -> pa.Table | None:
        """The table of ``steps`` if they were read ahead (waiting for the read to end), else None; a read ahead
        of other steps is stopped first, so the caller has the client to itself."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return None
        ahead, cancel, future = pending
        if ahead != steps:
            cancel.set()
        try:
            table = future.result()
        except Exception:  # noqa: BLE001 - read again by the caller, which fails there with this error
            return None
        return table if ahead == steps else None

    def stop(self) -> None:
        """Stop a read ahead and wait for its thread to leave the client."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            pending[1].set()
            try:
                pending[2].result()
            except Exception:  # noqa: BLE001, S110 - dropped: nobody asked for it
                pass

    def close(self) -> None:
        self.stop()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
