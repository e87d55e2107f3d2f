"""The next batch's stateless half, run ahead: while one batch merges into state, a worker thread reads the
next batch's rows and computes their partial aggregates (which need no state), so the two halves of
consecutive batches overlap on two cores. Arrow reads and aggregates outside the GIL.

Only when the next batch is certain: the source caps a batch (``max_per_trigger``), may be read on another
thread while it is asked for its latest offset (``concurrent_reads``), and already has a whole batch more
waiting, so the next trigger reads exactly those offsets whatever arrives meanwhile. The watermark
that batch will run with is known too: it follows from the rows read so far. The work is used only if the
batch that runs has the same offsets and watermark, and is dropped otherwise. Nothing is committed ahead:
the batch is planned in the checkpoint, merged, written and committed like any other.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from stream_nb.engine.operators import connect
from stream_nb.sources._protocol import source_traits
from stream_nb.sql.plan import Plan


class LookAhead:
    """Reads and aggregates the batch after the current one, when its offsets are certain."""

    def __init__(self, plan: Plan, source: Any, operator: Any):
        """``source``: the query's only input's (None for a query with several inputs: nothing runs ahead)."""
        self._plan = plan
        self._source = source
        self._aggregate = getattr(operator, "aggregate_batch", None)  # operators that can split a batch
        can = source_traits(source) if source is not None else None
        self._cap = can.max_per_trigger if can is not None and can.concurrent_reads else None
        self._encoded = can is not None and can.encoded_reads  # string keys grouped by their dictionary
        self._pool: ThreadPoolExecutor | None = None
        self._con = None
        self._pending: tuple[tuple[int, int], int, Future] | None = None

    def start(self, end: int, latest: int, watermark_us: int) -> None:
        """Begin on the batch after offset ``end``, if a whole capped batch is waiting before ``latest`` (the
        source's latest offset, or the offset a trigger stops at)."""
        if self._aggregate is None or not self._cap or latest < end + self._cap:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream_nb-ahead")
            if self._plan.aggregate.pre_projection is None:  # else the batch's columns are only picked
                self._con = connect(self._plan)  # DuckDB connections are not shared between threads
        offsets = (end, end + self._cap)
        self._pending = (offsets, watermark_us, self._pool.submit(self._run, offsets, watermark_us))

    def take(self, start: int, end: int, watermark_us: int) -> tuple[pa.Table, Any] | None:
        """The batch ``[start, end)`` and its partial aggregates under this watermark, if they ran ahead."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        offsets, watermark, future = pending
        try:
            done = future.result()  # waited for even when unused: the source is never read twice at once
        except Exception:  # noqa: BLE001 - the batch runs as usual, and fails there with this error
            return None
        return done if offsets == (start, end) and watermark == watermark_us else None

    def close(self) -> None:
        self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            if self._con is not None:
                self._con.close()

    def _run(self, offsets: tuple[int, int], watermark_us: int) -> tuple[pa.Table, Any]:
        if not self._encoded:
            batch = self._source.read(*offsets)
            return batch, self._aggregate(self._con, batch, watermark_us, parallel=False)
        batch, encoded = self._source.read_encoded(*offsets)
        return batch, self._aggregate(self._con, batch, watermark_us, parallel=False, encoded=encoded)
