"""SparkQuery: a stream_nb query running on Spark Structured Streaming, behind StreamingQuery's handle.

The SQL goes to Spark as written (less the WATERMARK clauses, which become ``withWatermark``), over temp views
of the inputs (``sources.input_frames``) and of the static tables. Each batch reaches the stream_nb sink
through ``foreachBatch`` (``sinks.py``), so ``q.result``, the live view and the Streams panel read the query
as they read one of the in-kernel engine; over Spark Connect (``spark="sc://..."``) the server runs foreachBatch,
and its Python posts each batch's rows back to the kernel's feed (``connect.py``). Checkpoints are Spark's own
(with the memory sink's update or complete result kept beside them, ``sinks.py``); the teaching history comes
from Spark's progress (``history.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from typing import Any

import pandas as pd
import pyarrow as pa

from stream_nb.engine import registry
from stream_nb.engine.lifecycle import QueryState, state_of
from stream_nb.engine.query import StreamingQueryException
from stream_nb.engine.triggers import Trigger
from stream_nb.sinks._protocol import result_of, sink_traits
from stream_nb.spark.connect import is_connect
from stream_nb.spark.datasource import BatchPoster
from stream_nb.spark.history import SparkHistory
from stream_nb.spark.session import session
from stream_nb.spark.sinks import BatchWriter, arrow_schema
from stream_nb.spark.sources import feed, input_frames, register_data_source, without_watermark_clauses
from stream_nb.spark.udfs import register_on_spark
from stream_nb.sql.plan import Plan

_names = itertools.count(1)
_views = threading.Lock()  # temp views are per session: one query's views are made and read at a time
_SLOW_WORKER = "Python worker failed to connect back"
_RESTARTS = 5  # each costs the 10 s Spark waits for the worker


class SparkQuery:
    """A streaming query running on Spark (``sn.start(..., engine="spark")``); the handle of StreamingQuery."""

    engine = "spark"

    def __init__(self, plan: Plan, *, spark: Any, sink: Any, trigger: Trigger, name: str | None = None,
                 checkpoint: str | None = None):
        if trigger.kind == "manual":
            raise ValueError("trigger='manual' cannot run on Spark: Spark starts its batches itself and has no "
                             "step(); use trigger=None, an interval or 'available_now'")
        self.plan = plan
        self.name = name or f"spark_query{next(_names)}"
        self.sink = sink
        self.trigger = trigger
        self.checkpoint = checkpoint
        self._sink_can = sink_traits(sink)
        self.spark = session(spark)
        self.connect = is_connect(self.spark)  # foreachBatch runs in the server: the rows come back by the feed
        self.where = (spark if isinstance(spark, str) else "Spark Connect") if self.connect \
            else self.spark.sparkContext.master
        register_data_source(self.spark)
        self._tokens: list[str] = []
        self._fed: dict[str, str] = {}  # input name -> its feed token
        self._restarts = 0
        self._stopping = False
        try:
            with _views:
                for view, frame in input_frames(self.spark, plan, self._tokens, self._fed).items():
                    frame.createOrReplaceTempView(view)
                for view, static in plan.bindings.statics.items():
                    self.spark.createDataFrame(static.table).createOrReplaceTempView(view)
                register_on_spark(self.spark, plan.udfs.values())  # the sn.udf functions the SQL may call
                self.frame = self.spark.sql(self.spark_sql)  # Spark's own refusal, if it has one, from here
        except BaseException:
            for token in self._tokens:
                feed().remove(token)
            raise
        self.schema: pa.Schema = arrow_schema(self.frame.schema)
        keys = plan.aggregate.key_columns if plan.aggregate is not None else None
        self._writer = BatchWriter(sink, self._sink_can, self.schema, plan.output_mode, keys, checkpoint)
        try:
            self._writer.restore()  # q.result as the last run left it, before Spark's next batch
        except BaseException:
            for token in self._tokens:
                feed().remove(token)
            raise
        self._writer.history = self._history = SparkHistory(plan, self._rows_read)
        self._sink_token = feed().add_sink(self._writer) if self.connect else None
        if registry.active_query(self.name) is not None:
            registry.register(self)  # raises: the name is taken, said as for any query
        self._query = None
        try:
            self._query = self._start()
            self.id = str(self._query.id)      # Spark's, kept in its checkpoint
            self.run_id = str(self._query.runId)
            registry.register(self)            # with its id: the Streams panel keys queries on it
        except BaseException:
            if self._query is not None:
                self._query.stop()
            self._release()
            raise
        self._writer.open(self.id)
        self._ended = threading.Event()
        threading.Thread(target=self._watch, name=f"stream_nb-spark-{self.name}", daemon=True).start()

    @property
    def spark_sql(self) -> str:
        """The SQL Spark runs: the query as written, less stream_nb's WATERMARK clauses."""
        return without_watermark_clauses(self.plan.sql)

    def _start(self):
        writer = (self.frame.writeStream.outputMode(self.plan.output_mode).queryName(self.name)
                  .foreachBatch(BatchPoster(f"{feed().url}/{self._sink_token}") if self.connect
                                else self._writer.write))
        if self.checkpoint is not None:
            writer = writer.option("checkpointLocation", str(self.checkpoint))
        if self.trigger.kind == "interval":
            writer = writer.trigger(processingTime=f"{self.trigger.seconds} seconds")
        elif self.trigger.kind == "available_now":
            writer = writer.trigger(availableNow=True)
        elif self.trigger.kind == "once":
            writer = writer.trigger(once=True)
        # read when the query starts (and kept in its checkpoint): set for this start only
        policy = "spark.sql.streaming.multipleWatermarkPolicy"
        saved = self.spark.conf.get(policy, None)
        self.spark.conf.set(policy, self.plan.watermark_policy)
        try:
            return writer.start()
        finally:
            self.spark.conf.unset(policy) if saved is None else self.spark.conf.set(policy, saved)

    # -- the handle ------------------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self._query.isActive

    @property
    def exception(self) -> StreamingQueryException | None:
        if self._restartable(self._query):
            return None  # being started again
        cause = self._writer.error or self._query.exception()
        if cause is None:
            return None
        error = StreamingQueryException(f"query {self.name!r} failed on Spark: {str(cause).splitlines()[0]}")
        error.__cause__ = cause
        return error

    @property
    def status(self) -> dict:
        return dict(self._query.status)

    @property
    def state(self) -> QueryState:
        active = self._query.isActive
        busy = active and bool(self._query.status.get("isTriggerActive"))
        return state_of(failed=self.exception is not None, stopped=not active, paused=False, manual=False,
                        busy=busy)

    @property
    def last_progress(self) -> dict | None:
        """Spark's progress of the last batch, as plain dicts (Spark's field names, as stream_nb's)."""
        progress = self._query.lastProgress
        return None if progress is None else json.loads(progress.json)

    @property
    def recent_progress(self) -> list[dict]:
        return [json.loads(p.json) for p in self._query.recentProgress]

    @property
    def watermark(self) -> pd.Timestamp | None:
        """The event-time watermark of the last batch, as Spark reports it (None without one)."""
        event_time = (self.last_progress or {}).get("eventTime") or {}
        mark = event_time.get("watermark")
        return pd.Timestamp(mark) if mark and self.plan.event_times else None

    @property
    def late_rows_dropped(self) -> int:
        """What Spark's progress says its stateful operators dropped behind the watermark, over the batches it
        keeps (``numRowsDroppedByWatermark``: an aggregation's late groups; Spark does not count the rows)."""
        return sum(int(op.get("numRowsDroppedByWatermark") or 0)
                   for p in self.recent_progress for op in p.get("stateOperators") or [])

    @property
    def history(self) -> list:
        """The teaching view's batch traces, from Spark's progress and the rows the batches emitted (what Spark
        does not hand out: ``spark/history.py``)."""
        return self._history.traces(self.recent_progress)

    def _rows_read(self, name: str, start: int | None, end: int | None):
        token = self._fed.get(name)
        return None if token is None or start is None or end is None else feed().rows_read(token, start, end)

    @property
    def result(self) -> pd.DataFrame:
        return result_of(self.sink, self._sink_can, self.name)

    def process_all_available(self, timeout: float | None = None) -> None:
        """Block until Spark has processed every row available now (and the batches without data the watermark
        makes due). A batch Spark planned before the rows arrived can end idle and release Spark's own
        ``processAllAvailable`` early, so it is called until the in-kernel sources' rows have been read."""
        deadline = None if timeout is None else time.monotonic() + timeout
        target = {token: feed().latest(token) for token in self._tokens}
        while True:
            self._caught_up(deadline)
            if all(feed().planned(token) >= end for token, end in target.items()):
                break
        self._caught_up(deadline)  # begins once that batch commits: returns when a trigger finds no work

    def _caught_up(self, deadline: float | None) -> None:
        """Spark's ``processAllAvailable`` (within the deadline), across a restart after a slow start."""
        while True:
            query = self._query
            done, errors = threading.Event(), []

            def run(query=query, done=done, errors=errors):
                try:
                    query.processAllAvailable()
                except Exception as err:  # noqa: BLE001 - raised below, in the caller's thread
                    errors.append(err)
                finally:
                    done.set()

            threading.Thread(target=run, daemon=True).start()
            if not done.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"query {self.name!r} on Spark has not processed the available rows in time")
            if errors and self._restartable(query):
                self._swapped(query, deadline)  # _watch starts it again: wait for the new one
                continue
            self._raise_if_failed()
            if errors:
                raise errors[0]
            return

    def _swapped(self, query, deadline: float | None) -> None:
        while self._query is query and not self._ended.is_set():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"query {self.name!r} on Spark did not start again in time")
            time.sleep(0.05)

    def pause(self) -> None:
        raise NotImplementedError(f"query {self.name!r} runs on Spark, which cannot pause a streaming query: "
                                  "stop it (q.stop()) and start it again on its checkpoint to go on")

    def resume(self) -> None:
        self.pause()

    def step(self) -> None:
        raise NotImplementedError(f"query {self.name!r} runs on Spark, which runs its batches itself and has no "
                                  "step(); run the query on stream_nb's engine (engine='stream_nb') to step")

    def stop(self) -> None:
        self._stopping = True  # and not started again (_watch)
        self._query.stop()
        self._ended.wait(60)
        self._release()

    def await_termination(self, timeout: float | None = None) -> bool:
        try:
            stopped = self._query.awaitTermination(timeout)
        except Exception:  # noqa: BLE001 - Spark's error for a failed query; ours is raised below
            stopped = True
        self._raise_if_failed()
        return True if stopped is None else bool(stopped)

    def explain(self, extended: bool = False) -> None:
        """Spark's plan of the last batch (Spark prints that none ran yet when so)."""
        self._query.explain(extended)

    def show(self, chart=None, *, x=None, y=None, by=None, table=None, rows=10, explain=False) -> None:
        """The live view, as for an in-kernel query (``StreamingQuery.show``)."""
        from stream_nb.notebook import show

        show(self, chart, x=x, y=y, by=by, table=table, rows=rows, explain=explain)

    def to_pyspark(self) -> None:
        """Print a runnable PySpark program (readStream ... writeStream) equivalent to this query."""
        from stream_nb.spark.program import pyspark_program

        print(pyspark_program(self.plan, self.spark_sql, trigger=self.trigger, checkpoint=self.checkpoint,
                              name=self.name))

    def __repr__(self) -> str:
        state = "active" if self.is_active else ("failed" if self.exception else "stopped")
        return f"<SparkQuery {self.name!r} {state} on {self.where}, {self.plan.output_mode} mode>"

    # -- the end ---------------------------------------------------------------------------------------

    def _watch(self) -> None:
        """When the query ends (stopped, failed, or an available_now query done): let go of what it holds.
        A query whose Python data source reader did not start in time is started again (see _restartable)."""
        while True:
            query = self._query
            with contextlib.suppress(Exception):  # a failed query: q.exception holds its error
                query.awaitTermination()
            if not self._restartable(query):
                break
            self._restarts += 1
            try:
                self._query = self._start()
            except Exception:  # noqa: BLE001 - it stays failed, with its first error
                self._restarts = _RESTARTS
                break
        self._release()
        self._ended.set()

    def _restartable(self, query) -> bool:
        """Spark gives the Python process of a data source reader a fixed 10 s to connect back; on a loaded
        machine it can miss them before the first batch ("Python worker failed to connect back"). Nothing has
        run then, so the query is started again, at most ``_RESTARTS`` times."""
        error = query.exception()
        return (not self._stopping and error is not None and _SLOW_WORKER in str(error)
                and query.lastProgress is None and self._restarts < _RESTARTS)

    def _release(self) -> None:
        registry.unregister(self)
        for token in self._tokens:
            feed().remove(token)
        if self._sink_token is not None:
            feed().remove(self._sink_token)
        self._writer.close()

    def _raise_if_failed(self) -> None:
        error = self.exception
        if error is not None:
            raise error
