"""StreamingQuery: a running query, its micro-batch loop, and the handle a notebook holds.

A batch is: read the rows between the last committed offset and the latest one, let the operator compute
the output (DuckDB, in a worker thread), hand it to the sink, then commit the operator's state. Anything
that fails before the commit leaves the query as it was after the previous batch: the query stops and keeps
the error in ``q.exception``.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import deque
from typing import Any

import anyio
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.checkpoint import Checkpoint, phases
from stream_nb.checkpoint.checkpoint import check_retention
from stream_nb.checkpoint.logs import OffsetEntry
from stream_nb.engine import duck, loop, registry
from stream_nb.engine.ahead import LookAhead
from stream_nb.engine.chained import ResultStream
from stream_nb.engine.history import STATE_LIMIT, BatchTrace, picture_spec, record
from stream_nb.engine.lifecycle import QueryState, state_of
from stream_nb.engine.operators import connect, make_operator
from stream_nb.engine.progress import batch_progress, event_time_stats, now_iso
from stream_nb.engine.triggers import Trigger
from stream_nb.engine.watermark import EPOCH_US, advance
from stream_nb.sinks._protocol import sink_traits
from stream_nb.sources._protocol import source_traits
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.plan import BATCH, Plan

_POLL_SECONDS = 0.01  # how often an idle query looks for new data
_names = itertools.count(1)


class StreamingQueryException(Exception):
    """A batch failed. The query has stopped; every batch before it stays committed."""


class StreamingQuery:
    """A running streaming query (Spark's StreamingQuery). Start one with ``sn.start(...)``."""

    def __init__(self, plan: Plan, *, sink: Any, trigger: Trigger, name: str | None = None,
                 checkpoint: str | None = None, checkpoint_retention: int = 100):
        check_retention(checkpoint_retention)
        self.plan = plan
        self.name = name or f"query{next(_names)}"
        self.run_id = str(uuid.uuid4())
        self.sink = sink
        self.trigger = trigger
        self.source = plan.stream.source
        self._sink_can = sink_traits(sink)  # what each declares it can do; a missing required method fails here
        self._source_can = source_traits(self.source, plan.stream.name)
        self._operator = make_operator(plan)
        self._con = connect(plan)
        self.schema = self._output_schema()
        if self._sink_can.bind:
            sink.bind(self.schema, plan.output_mode, plan.aggregate.key_columns if plan.aggregate else None)
        self._offset = 0          # end offset of the last committed batch
        self._latest = 0          # the source's latest offset when the last trigger looked
        self._next_batch_id = 0
        self._watermark_us = EPOCH_US  # as in Spark: the epoch until event time has been seen
        self._no_data_batch_due = False  # the watermark passed some state: a batch must emit or evict it
        self._progress: deque[dict] = deque(maxlen=100)
        self._history: deque[BatchTrace] = deque(maxlen=20)
        self._picture = picture_spec(plan)   # what the teaching view's picture reads of each batch
        self._lock = threading.RLock()       # one batch at a time (re-entered when a failing batch stops)
        self._busy = False
        self._batch_thread: int | None = None  # the thread running this query's batch, while one runs
        self._changed = threading.Condition()
        self._terminated = threading.Event()
        self._stopping = False
        self._paused = False
        self._exception: StreamingQueryException | None = None
        self._last_batch_start: float | None = None
        self._downstream: list = []
        self._redo = None         # an uncommitted batch from before a restart, to run again as it was
        self._ahead = LookAhead(plan, self.source, self._operator)  # the next batch, read and aggregated early
        self._checkpoint = None
        self.id = str(uuid.uuid4())
        registry.register(self)
        try:
            if checkpoint is not None:
                self._recover(Checkpoint(checkpoint, query_name=self.name, plan=plan,
                                         retention=checkpoint_retention))
            if self._sink_can.open:  # batches are committed as this query's (its checkpoint's id)
                sink.open(self.id)
            if self._source_can.attach:  # only a started query is fed (FROM up); one that cannot (a broker
                self.source.attach()     # out of reach) refuses the start, leaving nothing
        except BaseException:
            registry.unregister(self)
            if self._checkpoint is not None:
                self._checkpoint.close()
            raise
        self._task = loop.spawn(self._run)

    def _recover(self, checkpoint: Checkpoint) -> None:
        """Go on where the checkpoint says: state, offsets, watermark, and the batch to redo if any."""
        try:
            recovery = checkpoint.recover(self.source, self._operator.stateful)
            if self._operator.stateful:
                self._operator.restore(recovery.state)
        except BaseException:
            checkpoint.close()
            raise
        self._checkpoint = checkpoint
        if self._source_can.checkpoint_dir:  # e.g. the MQTT source's write-ahead log
            self.source.open_checkpoint(checkpoint.directory / "sources" / "0")
        self._operator.checkpointed = True
        self.id = checkpoint.id
        self._offset = recovery.offset
        self._next_batch_id = recovery.next_batch_id
        self._watermark_us = recovery.watermark_us
        self._redo = recovery.redo
        self._no_data_batch_due = self._operator.has_expired(self._watermark_us)
        if recovery.next_batch_id and self._sink_can.rebuilt_from_state and self.plan.output_mode != "append":
            # q.result in update and complete mode is the state's result table: rebuild it from the state.
            rows = self._operator.result_rows(self._con)
            if rows is not None:  # None: the state holds no result rows (deduplication, stateless)
                self.sink.add_batch(recovery.next_batch_id - 1, rows.table, rows.keys)

    # -- the public handle -----------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return not self._terminated.is_set()

    @property
    def exception(self) -> StreamingQueryException | None:
        return self._exception

    @property
    def status(self) -> dict:
        """Spark's status: what the query is doing now."""
        busy = self._busy
        state = self.state
        message = f"Failed: {self._exception.__cause__}" if state is QueryState.FAILED else state.message
        # what the last trigger saw, as in Spark: reading the status never lists the source
        return {"message": message, "isDataAvailable": self._latest > self._offset, "isTriggerActive": busy}

    @property
    def state(self) -> QueryState:
        """What the query is doing now, one of ``QueryState`` (the panel, the view and the magics read it)."""
        return state_of(failed=self._exception is not None, stopped=self._terminated.is_set(),
                        paused=self._paused, manual=self.trigger.kind == "manual", busy=self._busy)

    @property
    def is_paused(self) -> bool:
        return self._paused

    @property
    def last_progress(self) -> dict | None:
        return self._progress[-1] if self._progress else None

    @property
    def recent_progress(self) -> list[dict]:
        return list(self._progress)

    @property
    def history(self) -> list[BatchTrace]:
        """The last batches, oldest first: rows in, late rows, state held, rows out, watermark."""
        return list(self._history)

    @property
    def result(self) -> pd.DataFrame:
        """The result table as of the last committed batch (from a sink that keeps one: the memory sink)."""
        if not self._sink_can.result:
            raise AttributeError(f"q.result comes from a sink that keeps the result (the memory sink); "
                                 f"{self.name!r} writes to {self._sink_can.description}")
        return self.sink.result

    def step(self) -> dict | None:
        """Run one micro-batch now, over the data that has arrived; its progress, or None if there was none."""
        self._refuse_in_own_batch("step()")
        self._raise_if_failed()
        if not self.is_active:
            raise RuntimeError(f"query {self.name!r} is stopped")
        ran = loop.portal().call(anyio.to_thread.run_sync, self._try_batch, None, True)
        self._raise_if_failed()
        return self.last_progress if ran else None

    def process_all_available(self, timeout: float | None = None) -> None:
        """Block until every row available now has been processed and committed."""
        self._refuse_in_own_batch("process_all_available()")
        target = self.source.latest_offset()
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.trigger.kind == "manual" or self._paused:
            while self._behind(target) and self.is_active:
                if self.step() is None:
                    break
        with self._changed:
            done = self._changed.wait_for(lambda: not self._behind(target) or not self.is_active,
                                          None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._raise_if_failed()
        if not done:
            raise TimeoutError(f"query {self.name!r} has not caught up with offset {target} "
                               f"within {timeout} s (at {self._offset})")

    def pause(self) -> None:
        """Stop starting batches; returns once the batch in flight, if any, has committed. ``resume()`` goes on
        where it paused."""
        self._paused = True
        if not loop.in_loop_thread():
            with self._lock:  # the batch in flight ends first, so "paused at batch N" is what the user sees
                pass

    def resume(self) -> None:
        self._paused = False

    def stop(self) -> None:
        """Stop the query after the batch in flight, if any, has committed."""
        self._stopping = True
        if self._in_own_batch():
            return  # called by this query's own batch (foreach_batch): it stops once that batch commits
        if not loop.in_loop_thread():
            self._task.result()
        self._terminate()

    def await_termination(self, timeout: float | None = None) -> bool:
        """Wait for the query to stop; True if it has. Raises the batch's error if it failed."""
        self._refuse_in_own_batch("await_termination()")
        stopped = self._terminated.wait(timeout)
        self._raise_if_failed()
        return stopped

    def explain(self) -> None:
        """Print the incremental plan: the stateless part, the state and its partial aggregates, the output."""
        print(self.plan.explain())

    def show(self, chart=None, *, x=None, y=None, by=None, table=None, rows=10, explain=False) -> None:
        """Display a live view in the notebook: status, controls, a chart (line | bar | scatter | area of
        ``y`` over ``x``, one series per ``by``), a table of the latest rows, and with ``explain=True`` the
        teaching view. See ``stream_nb.notebook.show``."""
        from stream_nb.notebook import show

        show(self, chart, x=x, y=y, by=by, table=table, rows=rows, explain=explain)

    def as_source(self):
        """This query's output, as a stream another query can read (``FROM <this query's name>``)."""
        return ResultStream(self)

    def _hook(self, stream: ResultStream) -> None:
        self._downstream = [*self._downstream, stream]  # a new list: the batch thread iterates the old one

    def _unhook(self, stream: ResultStream) -> None:
        self._downstream = [s for s in self._downstream if s is not stream]

    def __repr__(self) -> str:
        state = "active" if self.is_active else ("failed" if self._exception else "stopped")
        return (f"<StreamingQuery {self.name!r} {state}, batch {self._next_batch_id - 1}, "
                f"{self.plan.output_mode} mode, trigger {self.trigger.describe()}>")

    # -- the loop --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            if self.trigger.kind == "available_now":
                target = await anyio.to_thread.run_sync(self.source.latest_offset)
                while self._behind(target) and not self._stopping and \
                        await anyio.to_thread.run_sync(self._try_batch, target):
                    pass
                return
            while not self._stopping:
                started = time.monotonic()
                ran = False
                if self.trigger.kind != "manual" and not self._paused:
                    ran = await anyio.to_thread.run_sync(self._try_batch)
                if self.trigger.kind == "interval":
                    await self._sleep_until(started + self.trigger.seconds)
                elif not ran:
                    await anyio.sleep(_POLL_SECONDS)
        finally:
            self._terminate()

    async def _sleep_until(self, deadline: float) -> None:
        while not self._stopping and time.monotonic() < deadline:
            await anyio.sleep(min(_POLL_SECONDS * 5, max(0.0, deadline - time.monotonic())))

    def _try_batch(self, limit: int | None = None, stepped: bool = False) -> bool:
        """Run one batch if new data is there (in a worker thread). True if a batch committed.
        A paused query runs batches only when stepped."""
        with self._lock:
            if self._exception is not None or self._terminated.is_set() or (self._paused and not stepped):
                return False
            started = time.perf_counter()
            self._batch_thread = threading.get_ident()
            try:
                latest = self._latest = self.source.latest_offset()
                if self._redo is not None:  # a batch planned before a restart runs again as it was
                    redo, self._redo = self._redo, None
                    self._busy = True
                    self._run_batch(redo.start, redo.end, latest, started, planned=True)
                    return True
                end = latest if limit is None else min(latest, limit)
                cap = self._source_can.max_per_trigger
                if cap:
                    end = min(end, self._offset + cap)
                if end <= self._offset and not self._no_data_batch_due:
                    return False
                self._busy = True
                self._run_batch(self._offset, max(end, self._offset), latest, started, limit=limit)
                return True
            except Exception as err:  # noqa: BLE001 - the batch failed: keep the error, stop, commit nothing
                self._fail(err)
                return False
            finally:
                self._busy = False
                self._batch_thread = None
                if self._stopping and not self._terminated.is_set():
                    self._terminate()  # stopped from inside the batch: stopped as soon as it has committed

    def _run_batch(self, start: int, end: int, latest: int, started: float, planned: bool = False,
                   limit: int | None = None) -> None:
        batch_id = self._next_batch_id
        timestamp = now_iso()
        watermark = self._watermark_us
        if self._checkpoint is not None and not planned:
            self._checkpoint.plan_batch(self.source, OffsetEntry(batch_id, start, end, watermark))
        phases.reached(phases.OFFSETS_WRITTEN, batch_id)
        logged = time.perf_counter()
        ahead = self._ahead.take(start, end, watermark)
        if ahead is None:
            batch = self.source.read(start, end) if end > start else self.source.schema.empty_table()
        else:
            batch = ahead[0]
        got = time.perf_counter()
        next_watermark = self._next_watermark(batch)
        if not self._stopping:  # the next batch's rows and partial aggregates, while this one merges
            self._ahead.start(end, latest if limit is None else min(latest, limit), next_watermark)
        if ahead is None:
            output = self._operator.process(self._con, batch, watermark)
        else:
            output = self._operator.process(self._con, batch, watermark, ahead[1])
        if self._sink_can.replaced:  # q.result: told which rows replace others, it compacts less
            self.sink.add_batch(batch_id, output.table, output.keys, replaced=output.replaced)
        else:
            self.sink.add_batch(batch_id, output.table, output.keys)
        phases.reached(phases.SINK_COMMITTED, batch_id)
        for source in self._downstream:
            source.add_data(output.table)
        self._operator.commit(output)
        committed = time.perf_counter()
        if self._checkpoint is not None:
            self._checkpoint.commit_batch(batch_id, self._operator, output, next_watermark)
        if self._source_can.commit:  # read and committed: the source may let those rows go (FROM up's buffer)
            self.source.commit(end)
        done = time.perf_counter()
        durations = {"latestOffset": _ms(logged - started), "getBatch": _ms(got - logged),
                     "addBatch": _ms(committed - got), "walCommit": _ms(done - committed),
                     "triggerExecution": _ms(done - started)}
        since_last = None if self._last_batch_start is None else started - self._last_batch_start
        self._last_batch_start = started
        progress = batch_progress(
            query=self, batch_id=batch_id, start=start, end=end, latest=latest, num_rows=batch.num_rows,
            durations_ms=durations, operator=self._operator, output_rows=output.table.num_rows,
            rows_updated=output.state_rows_updated, since_last_s=since_last, timestamp=timestamp,
            event_time=event_time_stats(batch, self.plan.event_time, watermark), late_rows=output.late.num_rows,
            rows_removed=0 if output.expired is None else len(output.expired))
        state_rows = self._operator.state_rows
        trace = record(self._picture, batch_id, batch, output, watermark,
                       _datetime(watermark) if self.plan.event_time else None,
                       self._operator.state_view() if state_rows <= STATE_LIMIT else None, state_rows)
        with self._changed:
            self._offset = end
            self._next_batch_id += 1
            self._watermark_us = next_watermark
            self._no_data_batch_due = self._operator.has_expired(next_watermark)
            self._progress.append(progress)
            self._history.append(trace)
            self._changed.notify_all()

    def _next_watermark(self, batch: pa.Table) -> int:
        """Max event time seen minus the delay, never going back; computed now, used from the next batch."""
        event_time = self.plan.event_time
        if event_time is None or batch.num_rows == 0:
            return self._watermark_us
        if event_time.max_sql is not None:  # only the rows the pushed-down filters keep count
            duck.register(self._con, BATCH, batch)
            latest = duck.query(self._con, event_time.max_sql).column(0).cast(pa.int64())[0].as_py()
        else:
            latest = pc.max(batch.column(event_time.column)).cast(pa.int64()).as_py()
        return advance(self._watermark_us, latest, event_time.delay_us)

    def _behind(self, target: int) -> bool:
        return self._offset < target or self._no_data_batch_due

    @property
    def watermark(self):
        """The current event-time watermark (a UTC timestamp), or None without a declared watermark."""
        return _datetime(self._watermark_us) if self.plan.event_time else None

    def _fail(self, err: Exception) -> None:
        error = StreamingQueryException(f"query {self.name!r} failed in batch {self._next_batch_id}: {err}")
        error.__cause__ = err
        self._exception = error
        self._stopping = True
        self._terminate()

    def _terminate(self) -> None:
        registry.unregister(self)
        if self._source_can.attach:
            self.source.detach()
        with self._lock:  # after the batch in flight, if any
            if self._terminated.is_set():  # stop() after the loop's task ended it, or a stop inside a batch
                return
            if self._sink_can.close:
                self.sink.close()
            if self._checkpoint is not None:
                self._checkpoint.close()
            self._ahead.close()
            if self._source_can.close:  # its threads end
                self.source.close()
            with self._changed:  # under the batch lock (as a batch takes them): one caller closes
                self._terminated.set()
                self._changed.notify_all()

    def _in_own_batch(self) -> bool:
        return self._batch_thread == threading.get_ident()

    def _refuse_in_own_batch(self, call: str) -> None:
        if self._in_own_batch():
            raise RuntimeError(
                f"{call} was called inside a batch of query {self.name!r} (from its foreach_batch function): it "
                "waits for batches, and this batch cannot finish before the call returns. Call it from outside "
                "the batch; inside, q.stop() is allowed (the query stops once this batch commits)")

    def _raise_if_failed(self) -> None:
        if self._exception is not None:
            raise self._exception

    def _output_schema(self) -> pa.Schema:
        """Run the plan once over no rows: the output's schema, and DuckDB's verdict on the SQL, up front."""
        empty = self.source.schema.empty_table()
        probe = make_operator(self.plan)
        try:
            return probe.process(self._con, empty).table.schema
        except duckdb.Error as err:
            raise StreamSQLError(f"the query cannot run: {str(err).splitlines()[0]}", sql=self.plan.sql) from None


def _datetime(micros: int) -> pd.Timestamp:
    return pd.Timestamp(micros, unit="us", tz="UTC")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
