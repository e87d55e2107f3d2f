"""Continuous processing (``trigger="continuous"``): each row handed to the sink as soon as the source has it,
with epochs checkpointed every interval beside it (Spark's ``ContinuousExecution``).

Two threads per query. The row thread waits on the source (``wait_for_data``, the ``push`` capability), runs
the rows that arrived through the query compiled to Python (``continuous_eval``; DuckDB for what it does not
compile) and hands the output on. The epoch task, every ``trigger.seconds``, writes ``offsets/N`` (what the
rows delivered so far read), hands an epoch sink its rows, and writes ``commits/N``: the row thread never
waits for a disk.

Where the rows go and what a restart gives (the guarantee is Spark's, at least once, except where a sink can
do better):

* sinks that outlive the query and key batches on (query id, batch id), the ones declaring ``open`` (files,
  DuckDB): rows are written once per epoch, as batch ``N`` = epoch ``N``. A restart redoes an epoch with the
  offsets it logged, and the sink skips an epoch it holds: exactly once, latency one epoch;
* every other sink (memory, Kafka, foreach_batch, notify) gets each group of rows as it arrives, numbered in
  order. A restart goes on from the last committed epoch, so the rows after it are delivered again: at least
  once, duplicates only after a restart.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import anyio
import numpy as np
import pyarrow as pa

from stream_nb.engine import loop
from stream_nb.engine.continuous_eval import Unsure, compile_select
from stream_nb.engine.continuous_rules import check_continuous
from stream_nb.engine.progress import batch_progress, now_iso, source_progress
from stream_nb.engine.query import StreamingQuery
from stream_nb.engine.triggers import Trigger
from stream_nb.sinks._protocol import sink_traits
from stream_nb.sql.plan import Plan

_WAKE_S = 0.05  # the row thread looks at stop and pause at least this often


class ContinuousQuery(StreamingQuery):
    """A continuous query: same handle as a micro-batch query (``q.result``, ``stop``, ``last_progress`` per
    epoch, with ``latencyMs``: arrival-to-sink p50 / p99 / max of the epoch's rows)."""

    def __init__(self, plan: Plan, *, sink: Any, trigger: Trigger, name: str | None = None,
                 checkpoint: str | None = None, checkpoint_retention: int = 100):
        check_continuous(plan)
        # A woken row thread waits for the GIL up to the switch interval while another thread runs Python:
        # Python's 5 ms made the p99 latency 2 ms at 1,000 rows/s; the kernel's 0.5 ms (loop.py) gives 0.6 ms.
        if sys.getswitchinterval() > loop.KERNEL_SWITCH_INTERVAL:
            sys.setswitchinterval(loop.KERNEL_SWITCH_INTERVAL)
        self._per_epoch = sink_traits(sink).open  # a sink kept across runs: exact per epoch, not per row
        self._compiled = compile_select(plan.stateless_sql, plan.stream.source.schema.names)
        self._epoch_rows: list[pa.Table] = []  # an epoch sink's rows since the last epoch
        self._latencies: list[tuple[int, float]] = []  # (rows, arrival-to-sink s) since the last epoch
        self._epoch_started = time.perf_counter()
        self._epoch_start = 0                    # the offset the current epoch starts at (a restart's: _recover)
        self._busy_s = 0.0
        self._output_rows = 0                    # rows the sink got (or will, per epoch) since the last epoch
        self._delivered = -1                     # the number of the last group of rows handed to the sink
        self.compiled_rows = 0                   # rows run as compiled Python
        self.duckdb_rows = 0                     # rows run by DuckDB (not compiled, or Unsure)
        super().__init__(plan, sink=sink, trigger=trigger, name=name, checkpoint=checkpoint,
                         checkpoint_retention=checkpoint_retention)

    def __repr__(self) -> str:
        state = "active" if self.is_active else ("failed" if self._exception else "stopped")
        return (f"<ContinuousQuery {self.name!r} {state}, epoch {self._next_batch_id}, "
                f"{'compiled' if self.compiled else 'DuckDB'}, trigger {self.trigger.describe()}>")

    @property
    def deliveries(self) -> int:
        """How many groups of rows the sink has been handed so far (the live view refreshes on each)."""
        return self._delivered + 1

    @property
    def compiled(self) -> bool:
        """Whether the query runs as compiled Python (else DuckDB runs each group of rows)."""
        return self._compiled is not None

    # -- the loop --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            if self._redo is not None and self._per_epoch:  # an epoch logged before a restart, redone as it was
                redo, self._redo = self._redo, None
                await anyio.to_thread.run_sync(self._take, *redo.ranges[0], None, True)
                await anyio.to_thread.run_sync(self._commit_epoch, redo.ranges[0][1])
            self._redo = None
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._epochs)
                await anyio.to_thread.run_sync(self._rows, limiter=anyio.CapacityLimiter(1))
                tasks.cancel_scope.cancel()
            if self._exception is None:
                await anyio.to_thread.run_sync(self._commit_epoch)  # the rows since the last epoch
        except Exception as err:  # noqa: BLE001 - the query failed: keep the error and stop
            self._fail(err)
        finally:
            self._terminate()

    async def _epochs(self) -> None:
        while True:
            await anyio.sleep(self.trigger.seconds)
            try:
                await anyio.to_thread.run_sync(self._commit_epoch)
            except Exception as err:  # noqa: BLE001
                self._fail(err)
                return

    def _recover(self, checkpoint) -> None:
        super()._recover(checkpoint)
        self._epoch_start = self._offset  # before the query's task runs: a step() may come first

    @property
    def _offset(self) -> int:
        return self._inputs.offsets[self._inputs.names[0]]

    def _rows(self) -> None:
        """The row thread: wait for rows, run them, hand them on, until the query stops."""
        source = self.source
        while not self._stopping and self._exception is None:
            latest, arrival = source.wait_for_data(self._offset, _WAKE_S)
            self._inputs.latest[self._inputs.names[0]] = latest  # what q.status's isDataAvailable reads
            if self._paused or latest <= self._offset:
                if self._paused:
                    with self._changed:  # rows wait: q.status says data is available
                        self._changed.notify_all()
                    time.sleep(_WAKE_S / 5)
                continue
            try:
                self._take(self._offset, latest, arrival)
            except Exception as err:  # noqa: BLE001
                self._fail(err)
                return

    def _take(self, start: int, end: int, arrival: float | None, stepped: bool = False) -> None:
        """Run rows ``start`` to ``end`` and hand the output on: to the sink now, or to the epoch's rows."""
        with self._lock:
            if start != self._offset or self._terminated.is_set() or (self._paused and not stepped):
                return  # a step() took them already, or pause() came after the row thread looked
            began = time.perf_counter()
            self._busy = True
            self._batch_thread = threading.get_ident()
            try:
                table = self.source.read(start, end)
                output = self._process(table)
                self._output_rows += output.num_rows
                if self._per_epoch:
                    self._epoch_rows.append(output)
                elif output.num_rows:
                    self._delivered += 1
                    self.sink.add_batch(self._delivered, output)
            finally:
                self._busy = False
                self._batch_thread = None
            done = time.perf_counter()
            self._busy_s += done - began
            if arrival is not None and not self._per_epoch:
                self._latencies.append((table.num_rows, done - arrival))
            with self._changed:
                self._inputs.offsets[self._inputs.names[0]] = end
                self._changed.notify_all()

    def _process(self, table: pa.Table) -> pa.Table:
        if self._compiled is not None and table.num_rows:
            try:
                rows = self._compiled.run(list(zip(*(c.to_pylist() for c in table.columns), strict=True)))
                out = pa.table([pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(self.schema)],
                               schema=self.schema)
                self.compiled_rows += table.num_rows
                return out
            except (Unsure, pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
                pass  # rows the compiled query was not written for: DuckDB's answer
        self.duckdb_rows += table.num_rows
        return self._operator.process(self._con, table).table.cast(self.schema)

    def _commit_epoch(self, end: int | None = None) -> None:
        """Epoch N ends: log its offsets, hand an epoch sink its rows, commit; report its progress."""
        with self._lock:
            if self._terminated.is_set():
                return
            epoch, start = self._next_batch_id, self._epoch_start
            end = self._offset if end is None else end
            rows, self._epoch_rows = self._epoch_rows, []
            latencies, self._latencies = self._latencies, []
            busy_s, self._busy_s = self._busy_s, 0.0
            output_rows, self._output_rows = self._output_rows, 0
            began, self._epoch_started = self._epoch_started, time.perf_counter()
        wrote = time.perf_counter()
        if self._checkpoint is not None:
            entry = self._inputs.entry(epoch, {self._inputs.names[0]: (start, end)}, 0)  # Kafka's in Spark's form too
            self._checkpoint.plan_batch(self._inputs.sources, entry)
        if self._per_epoch:
            output = pa.concat_tables(rows) if rows else self.schema.empty_table()
            self.sink.add_batch(epoch, output)
            delivered = time.perf_counter()
            first = self.source.wait_for_data(start, 0)[1] if end > start else None  # when its first row came
            if first is not None:
                latencies = [(end - start, delivered - first)]
        if self._checkpoint is not None:
            self._checkpoint.commit_batch(epoch, self._operator, None, 0)
        for i in self._inputs.items:
            if i.can.commit:  # delivered and committed: the source may let those rows go
                i.source.commit(end)
        self._report(epoch, (start, end), output_rows, began, busy_s + time.perf_counter() - wrote, latencies)

    def _report(self, epoch: int, offsets: tuple[int, int], output_rows: int, began: float, busy_s: float,
                latencies: list[tuple[int, float]]) -> None:
        start, end = offsets
        rows = end - start
        since_s = time.perf_counter() - began
        durations = {"triggerExecution": round(busy_s * 1000)}
        progress = batch_progress(
            query=self, batch_id=epoch, durations_ms=durations, operator=self._operator, output_rows=output_rows,
            rows_updated=0, since_last_s=since_s, timestamp=now_iso(), event_time={}, late_rows=0,
            rows_removed=0, sources=[source_progress(self.source, start=start, end=end, latest=end, num_rows=rows,
                                                     durations_ms=durations, since_last_s=since_s)])
        progress["latencyMs"] = latency_ms(latencies)
        with self._changed:
            self._epoch_start = end
            self._next_batch_id = epoch + 1
            self._progress.append(progress)
            self._changed.notify_all()

    # -- the handle ------------------------------------------------------------------------------------

    def step(self) -> dict | None:
        """A paused continuous query runs the rows there now (the progress of that epoch, or None without)."""
        self._refuse_in_own_batch("step()")
        self._raise_if_failed()
        if not self.is_active:
            raise RuntimeError(f"query {self.name!r} is stopped")
        latest = self.source.latest_offset()
        if latest <= self._offset:
            return None
        self._take(self._offset, latest, None, True)
        self._commit_epoch()
        self._raise_if_failed()
        return self.last_progress


def latency_ms(latencies: list[tuple[int, float]]) -> dict[str, float] | None:
    """Arrival-to-sink percentiles (ms) of an epoch's rows, None without rows. ``latencies``: (rows, seconds)
    per group of rows handed on together (each row of a group counts as its first row's latency, the longest).

    >>> latency_ms([(2, 0.001), (1, 0.003)])
    {'p50': 1.0, 'p99': 2.96, 'max': 3.0}
    """
    if not latencies:
        return None
    counts, values = zip(*latencies, strict=True)
    seconds = np.repeat(np.array(values) * 1000, counts)
    p50, p99 = np.percentile(seconds, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3), "max": round(float(seconds.max()), 3)}
