"""StreamingQuery: a running query, its micro-batch loop, and the handle a notebook holds.

A batch (``batch.py``) reads each input's rows between its last committed offset and its latest one
(``inputs.py``), lets the operator compute the output (DuckDB, in a worker thread), hands it to the sink,
then commits the operator's state. Anything that fails before the commit leaves the query as it was after
the previous batch: the query stops and keeps the error in ``q.exception``.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pandas as pd

from stream_nb.checkpoint import Checkpoint
from stream_nb.checkpoint.checkpoint import check_retention
from stream_nb.engine import loop, registry
from stream_nb.engine.ahead import LookAhead
from stream_nb.engine.batch import Done, datetime, output_schema, run_batch
from stream_nb.engine.chained import ResultStream
from stream_nb.engine.history import BatchTrace, picture_spec
from stream_nb.engine.inputs import Inputs
from stream_nb.engine.lifecycle import QueryState, state_of
from stream_nb.engine.operators import connect, make_operator
from stream_nb.engine.triggers import Trigger
from stream_nb.engine.udf_calls import failure_of
from stream_nb.engine.watermark import EPOCH_US
from stream_nb.sinks._protocol import result_of, sink_traits
from stream_nb.sql.plan import Plan

_POLL_SECONDS = 0.01  # how often an idle query looks for new data
_names = itertools.count(1)


class StreamingQueryException(Exception):
    """A batch failed. The query has stopped; every batch before it stays committed."""


class StreamingQuery:
    """A running streaming query (Spark's StreamingQuery). Start one with ``sn.start(...)``."""

    engine = "stream_nb"  # where its batches run (stream_nb.spark.SparkQuery: "spark"), as the panel shows it

    def __init__(self, plan: Plan, *, sink: Any, trigger: Trigger, name: str | None = None,
                 checkpoint: str | None = None, checkpoint_retention: int = 100):
        check_retention(checkpoint_retention)
        self.plan = plan
        self.name = name or f"query{next(_names)}"
        self.run_id = str(uuid.uuid4())
        self.sink = sink
        self.trigger = trigger
        self._sink_can = sink_traits(sink)  # what each declares it can do; a missing required method fails here
        self._inputs = Inputs(plan)          # each input's source, capabilities and offsets
        for _, i in self._inputs.distinct:  # e.g. a Kafka source connects and fetches beside DuckDB's start below
            if i.can.prepare:
                i.source.prepare()
        try:
            self._operator = make_operator(plan)
            self._con = connect(plan)
            self._inputs.con = self._con  # a UNION ALL of the inputs runs on it (inputs.py)
            self.schema = output_schema(plan, self._con, self._inputs.empty())
            if self._sink_can.bind:
                last = plan.chain.stages[-1] if plan.chain is not None else plan  # a chain's result is its last's
                sink.bind(self.schema, plan.output_mode, last.aggregate.key_columns if last.aggregate else None)
        except BaseException:  # e.g. SQL DuckDB refuses: a prepared source stops what it began
            self._close_sources()
            raise
        self._next_batch_id = 0
        self._watermark_us = EPOCH_US  # as in Spark: the epoch until event time has been seen
        self._watermarks = self._inputs.watermarks(plan.watermark_policy)  # each input's, and the query's
        self._no_data_batch_due = False  # the watermark passed some state: a batch must emit or evict it
        self._progress: deque[dict] = deque(maxlen=100)
        self._history: deque[BatchTrace] = deque(maxlen=20)
        self._late_rows = 0  # input rows the watermark dropped, all batches
        self._picture = picture_spec(plan)   # what the teaching view's picture reads of each batch
        self._lock = threading.RLock()       # one batch at a time (re-entered when a failing batch stops)
        self._busy = False
        self._batch_thread: int | None = None  # the thread running this query's batch, while one runs
        self._changed = threading.Condition()
        self._terminated = threading.Event()
        self._stopping = False
        self._paused = False
        self._in_flight = False   # a batch that started before a pause (not a step) runs: not paused yet
        self._pausing = threading.Lock()   # pausing and starting a batch see each other whole
        self._exception: StreamingQueryException | None = None
        self._last_batch_start: float | None = None
        self._downstream: list = []
        self._redo = None         # an uncommitted batch from before a restart, to run again as it was
        self._stepper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream_nb-step")  # step()'s batches
        self._idle = None         # a manual query's loop task waits on it (an anyio.Event) until the query stops
        # the next batch, read and aggregated early (one input's)
        self._ahead = LookAhead(plan, None if self._inputs.several else self.source, self._operator)
        self._checkpoint = None
        self.id = str(uuid.uuid4())
        registry.register(self)
        try:
            if checkpoint is not None:
                self._recover(Checkpoint(checkpoint, query_name=self.name, plan=plan,
                                         retention=checkpoint_retention))
            if self._sink_can.open:  # batches are committed as this query's (its checkpoint's id)
                sink.open(self.id)
            for _, i in self._inputs.distinct:
                if i.can.attach:  # only a started query is fed (FROM up); one that cannot (a broker out of
                    i.source.attach()  # reach) refuses the start, leaving nothing
        except BaseException:
            registry.unregister(self)
            if self._checkpoint is not None:
                self._checkpoint.close()
            self._close_sources()
            raise
        self._task = loop.spawn(self._run)

    def _recover(self, checkpoint: Checkpoint) -> None:
        """Go on where the checkpoint says: state, offsets, watermark, and the batch to redo if any."""
        try:
            recovery = checkpoint.recover(self._inputs.sources, self._operator.stateful)
            if self._operator.stateful:
                self._operator.restore(recovery.state)
        except BaseException:
            checkpoint.close()
            raise
        self._checkpoint = checkpoint
        for index, i in self._inputs.distinct:
            if i.can.checkpoint_dir:  # e.g. the MQTT source's write-ahead log
                i.source.open_checkpoint(checkpoint.directory / "sources" / str(index))
        self._operator.checkpointed = True
        self.id = checkpoint.id
        self._inputs.offsets = dict(zip(self._inputs.names, recovery.offsets, strict=True))
        self._next_batch_id = recovery.next_batch_id
        self._watermark_us = recovery.watermark_us
        self._watermarks = self._inputs.watermarks(self._watermarks.policy, recovery.watermark_us,
                                                   recovery.input_watermarks_us)
        self._redo = recovery.redo
        self._no_data_batch_due = self._operator.has_expired(self._watermark_us)
        if recovery.next_batch_id and self._sink_can.rebuilt_from_state and self.plan.output_mode != "append":
            # q.result in update and complete mode is the state's result table: rebuild it from the state.
            rows = self._operator.result_rows(self._con)
            if rows is not None:  # None: the state holds no result rows (deduplication, stateless)
                self.sink.add_batch(recovery.next_batch_id - 1, rows.table, rows.keys)

    # -- the public handle -----------------------------------------------------------------------------

    @property
    def source(self):
        """The source of a query's only input (``sources`` has every input's)."""
        if self._inputs.several:
            raise ValueError(f"query {self.name!r} reads {len(self._inputs.names)} inputs "
                             f"({', '.join(self._inputs.names)}): ask q.sources[name]")
        return self._inputs.items[0].source

    @property
    def sources(self) -> dict:
        """Each input's source, by its name in the SQL, in the plan's order."""
        return {i.name: i.source for i in self._inputs.items}

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
        return {"message": message, "isDataAvailable": self._inputs.data_available, "isTriggerActive": busy}

    @property
    def state(self) -> QueryState:
        """What the query is doing now, one of ``QueryState`` (the panel, the view and the magics read it)."""
        with self._pausing:  # paused once the batch that was running when pause() came has committed
            paused = self._paused and not self._in_flight
        return state_of(failed=self._exception is not None, stopped=self._terminated.is_set(),
                        paused=paused, manual=self.trigger.kind == "manual", busy=self._busy)

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
    def late_rows_dropped(self) -> int:
        """Input rows the watermark has dropped since the query started (the status bar's count). Spark's
        ``numRowsDroppedByWatermark`` of an aggregation counts late groups instead: rows after its partial
        aggregation."""
        return self._late_rows

    @property
    def result(self) -> pd.DataFrame:
        """The result table as of the last committed batch (from a sink that keeps one: the memory sink)."""
        return result_of(self.sink, self._sink_can, self.name)

    def step(self) -> dict | None:
        """Run one micro-batch now, over the data that has arrived; its progress, or None if there was none."""
        self._refuse_in_own_batch("step()")
        self._raise_if_failed()
        if not self.is_active:
            raise RuntimeError(f"query {self.name!r} is stopped")
        try:  # on the query's own thread: two thread switches a step, where the loop's worker took four
            ran = self._stepper.submit(self._try_batch, None, True).result()
        except RuntimeError:  # stopped meanwhile: the thread takes no more batches
            if self.is_active:
                raise
            raise RuntimeError(f"query {self.name!r} is stopped") from None
        self._raise_if_failed()
        return self.last_progress if ran else None

    def process_all_available(self, timeout: float | None = None) -> None:
        """Block until every input's rows available now are committed, and the batch due then (outer rows)."""
        self._refuse_in_own_batch("process_all_available()")
        target = self._inputs.latest_offsets()
        deadline = None if timeout is None else time.monotonic() + timeout
        caught_up = self._inputs.catch_up(target, lambda: (self._next_batch_id, self._no_data_batch_due))
        if self.trigger.kind == "manual" or self._paused:
            while not caught_up() and self.is_active:
                if self.step() is None:
                    break
        with self._changed:
            done = self._changed.wait_for(lambda: caught_up() or not self.is_active,
                                          None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._raise_if_failed()
        if not done:
            raise TimeoutError(f"query {self.name!r} has not caught up with offset {self._inputs.shown(target)} "
                               f"within {timeout} s (at {self._inputs.shown(self._inputs.offsets)})")

    def pause(self) -> None:
        """Stop starting batches; returns once the batch in flight, if any, has committed. ``resume()`` goes on
        where it paused."""
        with self._pausing:
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
        self._wake_loop_task()
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

    def to_pyspark(self) -> None:
        """Print the PySpark program (readStream ... writeStream) that runs this query on a Spark cluster."""
        from stream_nb.spark.program import pyspark_program
        from stream_nb.spark.sources import without_watermark_clauses

        print(pyspark_program(self.plan, without_watermark_clauses(self.plan.sql), trigger=self.trigger,
                              checkpoint=self._checkpoint and str(self._checkpoint.directory), name=self.name))

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
            if self.trigger.kind == "manual":  # batches run on q.step(): the task only waits for the stop (a
                self._idle = anyio.Event()     # poll every 10 ms cost an idle query 1.7 % of a core)
                if not self._stopping:
                    await self._idle.wait()
                return
            if self.trigger.kind == "available_now":
                target = dict(await anyio.to_thread.run_sync(self._inputs.look))
                while self._behind(target) and not self._stopping and \
                        await anyio.to_thread.run_sync(self._try_batch, target):
                    pass
                return
            if self.trigger.kind == "once":  # one batch of all there is, read limits ignored (Spark's Trigger.Once)
                target = dict(await anyio.to_thread.run_sync(self._inputs.look))
                if not self._stopping:
                    await anyio.to_thread.run_sync(self._try_batch, target, False, False)
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

    def _try_batch(self, limit: dict[str, int] | None = None, stepped: bool = False, capped: bool = True) -> bool:
        """Run one batch if new data is there (in a worker thread). True if a batch committed.
        A paused query runs batches only when stepped; ``capped``: the sources' read limits hold."""
        with self._lock:
            with self._pausing:
                if self._exception is not None or self._terminated.is_set() or (self._paused and not stepped):
                    return False
                self._in_flight = not stepped
            started = time.perf_counter()
            self._batch_thread = threading.get_ident()
            try:
                latest = self._inputs.look(limit)  # (available_now: asked once, at its start)
                if self._redo is not None:  # a batch planned before a restart runs again as it was
                    redo, self._redo = self._redo, None
                    self._busy = True
                    self._commit(run_batch(self, self._next_batch_id, self._inputs.ranges_of(redo), latest,
                                           started, planned=True, ahead_limit=latest))
                    return True
                ranges = self._inputs.next_ranges(latest, limit, capped=capped)
                if not self._inputs.has_rows(ranges) and not self._no_data_batch_due:
                    return False
                self._busy = True
                ahead_limit = latest if limit is None else {n: min(latest[n], limit[n]) for n in latest}
                self._commit(run_batch(self, self._next_batch_id, ranges, latest, started, planned=False,
                                       ahead_limit=ahead_limit))
                return True
            except Exception as err:  # noqa: BLE001 - the batch failed: keep the error, stop, commit nothing
                self._fail(err)
                return False
            finally:
                self._busy = False
                with self._pausing:
                    self._in_flight = False
                self._batch_thread = None
                if self._stopping and not self._terminated.is_set():
                    self._terminate()  # stopped from inside the batch: stopped as soon as it has committed

    def _commit(self, done: Done) -> None:
        """A batch committed: the query goes on from its offsets and watermark."""
        with self._changed:
            self._inputs.offsets = {name: end for name, (_, end) in done.ranges.items()}
            self._next_batch_id += 1
            self._watermark_us = done.next_watermark_us
            self._no_data_batch_due = self._operator.has_expired(done.next_watermark_us)
            self._progress.append(done.progress)
            self._history.append(done.trace)
            self._late_rows += done.trace.num_late_rows
            self._changed.notify_all()

    def _behind(self, target: dict[str, int]) -> bool:
        return self._inputs.behind(target) or self._no_data_batch_due

    @property
    def watermark(self):
        """The current event-time watermark (a UTC timestamp), or None without a declared watermark."""
        return datetime(self._watermark_us) if self._watermarks.delays_us else None

    @property
    def input_watermarks(self) -> dict:
        """Each input's own watermark (a UTC timestamp; None until it has seen event time), by input name,
        for the inputs that declare one; ``watermark`` combines them (``watermark_policy``)."""
        return {name: None if us is None else datetime(us) for name, us in self._watermarks.per_input_us.items()}

    def _fail(self, err: Exception) -> None:
        err = failure_of(err)  # a Python function's failure: its own message and traceback, not DuckDB's text
        error = StreamingQueryException(f"query {self.name!r} failed in batch {self._next_batch_id}: {err}")
        error.__cause__ = err
        self._exception = error
        self._stopping = True
        self._terminate()

    def _terminate(self) -> None:
        self._stopping = True  # stopping until it has ended (the Streams panel keeps listing it meanwhile)
        self._wake_loop_task()
        registry.unregister(self)
        for _, i in self._inputs.distinct:
            if i.can.attach:
                i.source.detach()
        with self._lock:  # after the batch in flight, if any
            if self._terminated.is_set():  # stop() after the loop's task ended it, or a stop inside a batch
                return
            if self._sink_can.close:
                self.sink.close()
            if self._checkpoint is not None:
                self._checkpoint.close()
            self._ahead.close()
            self._stepper.shutdown(wait=False)  # not waited for: a step's own batch may be what stops the query
            self._close_sources()
            # closed here, after the batch in flight and the look-ahead's thread: the last reference to an open
            # connection may otherwise fall on the engine's daemon thread as the interpreter exits, and DuckDB's
            # destructor, losing the GIL there, aborts the process ("terminate called ... not rethrown")
            self._con.close()
            with self._changed:  # under the batch lock (as a batch takes them): one caller closes
                self._terminated.set()
                self._changed.notify_all()

    def _close_sources(self) -> None:
        for _, i in self._inputs.distinct:
            if i.can.close:  # its threads end (a Kafka source's clients: fetching since prepare)
                i.source.close()
        self._inputs.release_views()

    def _wake_loop_task(self) -> None:
        """A manual query's loop task ends once it is woken (after ``_stopping`` is set: it checks that after
        making its event, so a stop before then is seen too)."""
        idle = self._idle
        if idle is None or idle.is_set():
            return
        if loop.in_loop_thread():
            idle.set()
        else:
            loop.portal().call(idle.set)

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
