"""The ``applyInPandasWithState`` operator (Spark's ``FlatMapGroupsInPandasWithStateExec``).

Per batch: the query's SQL runs over the batch's rows (stateless, DuckDB); under an event-time timeout, rows
at or behind the watermark are dropped as late (as Spark drops them, and only then); the function is called
for each group with new rows, then for each group whose timeout has passed (processing time: the batch's
time, from the query's clock; event time: the watermark), with one empty frame and ``hasTimedOut``. What the calls do to the state is kept aside until the batch commits.

State is one entry per group: the value (typed by ``stateStructType``) and its timeout. The checkpoint holds
it as Arrow: a ``key`` struct, a ``state`` struct (null: no value), ``timeout_ms``, and in a delta ``removed``
for a group the batch dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import duck
from stream_nb.engine.clock import WallClock
from stream_nb.engine.group_state_calls import (
    NO_TIMESTAMP,
    Call,
    Entry,
    GroupCaller,
    group_frames,
    spark_frame,
    state_value,
    store_key,
)
from stream_nb.engine.output import Output
from stream_nb.engine.watermark import on_time
from stream_nb.sql.plan import BATCH, Plan

_ROW_BYTES = 64  # a rough size of one value in a Python tuple, for ``memory_bytes``


class GroupStateOperator:
    name = "applyInPandasWithState"  # Spark's operator name in progress
    stateful = True
    checkpointed = False

    def __init__(self, plan: Plan):
        self.plan = plan
        self.spec = spec = plan.group_state
        self.clock = spec.clock if spec.clock is not None else WallClock()
        self.caller = GroupCaller(spec.func, spec.func_name, spec.output_schema, spec.state_schema)
        self.state: dict[tuple, Entry] = {}
        self._key_type: pa.StructType | None = None  # known from the first batch's rows, or a restore
        # Spark drops late rows here only under EventTimeTimeout (FlatMapGroupsWithStateExecBase)
        self._late_column = plan.event_time.column if plan.event_time is not None and \
            spec.timeout == "EventTimeTimeout" else None

    # -- a batch ---------------------------------------------------------------------------------------
    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0) -> Output:
        duck.register(con, BATCH, batch)
        rows = duck.query(con, self.plan.stateless_sql)
        self._key_type = self._key_type or pa.struct([rows.schema.field(k) for k in self.spec.keys])
        late = rows.schema.empty_table()
        if self._late_column in rows.column_names and rows.num_rows:
            # a row without an event time is not late: Spark's predicate (ts <= watermark) is null, not true, on it
            kept = pc.fill_null(on_time(rows.column(self._late_column).cast(pa.int64()), watermark_us), True)
            rows, late = rows.filter(kept), rows.filter(pc.invert(kept))
        call = Call(self.clock.now_ms(), watermark_us // 1000, self.plan.event_time is not None, self.spec.timeout)
        pending: dict[tuple, Entry | None] = {}
        output: list[tuple] = []  # (frame, whose) from each call
        frame, ints_with_nulls = spark_frame(rows)
        for key, stored, group in group_frames(frame, self.spec.keys, ints_with_nulls):
            self._apply(key, stored, [group], call, False, pending, output)
        threshold = self._threshold(call)
        if threshold is not None:
            empty = [frame.iloc[0:0]]
            for stored, entry in self._timing_out(pending, threshold):
                self._apply(stored, stored, empty, call, True, pending, output)
        table = self.caller.table(output)
        removed = sum(1 for k, e in pending.items() if e is None and k in self.state)
        return Output(table, late=late, pending=pending,
                      state_rows_updated=sum(1 for e in pending.values() if e is not None),
                      expired=np.zeros(removed, dtype=np.int64))

    def _apply(self, key, stored, frames, call, timed_out, pending, output) -> None:
        outcome = self.caller.call(key, frames, self._entry(stored, pending), call, timed_out)
        output.extend(outcome.output)
        if outcome.changed:
            pending[stored] = outcome.write

    def _entry(self, stored: tuple, pending: dict) -> Entry | None:
        return pending[stored] if stored in pending else self.state.get(stored)

    def _threshold(self, call: Call) -> int | None:
        """Timeouts below this have passed: the batch's processing time, or the watermark (Spark's rule)."""
        if self.spec.timeout == "ProcessingTimeTimeout":
            return call.batch_ms
        if self.spec.timeout == "EventTimeTimeout":
            return call.watermark_ms
        return None

    def _timing_out(self, pending: dict, threshold: int) -> list[tuple[tuple, Entry]]:
        merged = {**self.state, **pending}
        return [(k, e) for k, e in merged.items()
                if e is not None and e.timeout_ms != NO_TIMESTAMP and e.timeout_ms < threshold]

    def commit(self, output: Output) -> None:
        for key, entry in output.pending.items():
            if entry is None:
                self.state.pop(key, None)
            else:
                self.state[key] = entry

    def has_expired(self, watermark_us: int) -> _TimeoutDue | bool:
        """Whether a batch without data is due: a timeout has passed. For processing time the answer is read
        when asked (the query keeps it between batches, and the clock moves on without any batch)."""
        timeouts = [e.timeout_ms for e in self.state.values() if e.timeout_ms != NO_TIMESTAMP]
        if not timeouts:
            return False
        if self.spec.timeout == "ProcessingTimeTimeout":
            return _TimeoutDue(min(timeouts), self.clock)
        return self.spec.timeout == "EventTimeTimeout" and min(timeouts) < watermark_us // 1000

    # -- the checkpoint --------------------------------------------------------------------------------
    def changes(self, output: Output) -> pa.Table:
        return self._export(list(output.pending.items()))

    def dump(self) -> pa.Table:
        return self._export(list(self.state.items()))

    def restore(self, tables: list[pa.Table]) -> None:
        for table in tables:
            if "key" not in table.column_names:
                continue
            self._key_type = table.schema.field("key").type
            names = [f.name for f in self._key_type]
            fields = [f.name for f in self.caller.state_type]
            rows = zip(table.column("key").to_pylist(), table.column("state").to_pylist(),
                       table.column("timeout_ms").to_pylist(), table.column("removed").to_pylist())
            for key, value, timeout, removed in rows:
                stored = store_key(tuple(key[n] for n in names))
                if removed:
                    self.state.pop(stored, None)
                else:
                    self.state[stored] = Entry(None if value is None else state_value(value, fields), timeout)

    def _export(self, items: list[tuple[tuple, Entry | None]]) -> pa.Table:
        key_type = self._key_type or pa.struct([])
        names = [f.name for f in key_type]
        fields = [f.name for f in self.caller.state_type]
        return pa.table({
            "key": pa.array([dict(zip(names, k)) for k, _ in items], type=key_type),
            "state": pa.array([None if e is None or e.value is None else dict(zip(fields, e.value))
                               for _, e in items], type=self.caller.state_type),
            "timeout_ms": pa.array([NO_TIMESTAMP if e is None else e.timeout_ms for _, e in items], pa.int64()),
            "removed": pa.array([e is None for _, e in items], pa.bool_()),
        })

    # -- what the query and the views read -------------------------------------------------------------
    def result_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """None: the state holds the function's own values, not result rows; the sink holds what this run
        emits (as Spark's memory sink)."""

    def state_view(self) -> Callable[[], pa.Table]:
        items = list(self.state.items())
        return lambda: _flat(self._export(items))

    @property
    def state_rows(self) -> int:
        return len(self.state)

    @property
    def memory_bytes(self) -> int:
        width = len(self.spec.keys) + len(self.spec.state_schema) + 1
        return len(self.state) * width * _ROW_BYTES


class _TimeoutDue:
    """True once the clock has passed the earliest timeout (Spark's threshold: timeout < batch time)."""

    def __init__(self, earliest_ms: int, clock):
        self.earliest_ms, self.clock = earliest_ms, clock

    def __bool__(self) -> bool:
        return self.earliest_ms < self.clock.now_ms()


def _flat(table: pa.Table) -> pa.Table:
    """The state as the teaching view shows it: key columns, state fields, timeout."""
    columns = {f.name: table.column("key").combine_chunks().field(f.name) for f in table.schema.field("key").type}
    state = table.column("state").combine_chunks()
    columns |= {(f"state.{f.name}" if f.name in columns else f.name): state.field(f.name) for f in state.type}
    columns["timeout_ms"] = table.column("timeout_ms")
    return pa.table(columns)
