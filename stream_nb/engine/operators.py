"""Operators: what one batch does. ``process`` computes the batch's output without changing anything;
``commit`` makes its state changes permanent once the sink has taken the output.

DuckDB runs the SQL and Arrow the hash aggregation, both vectorised and outside the GIL; Python only moves
Arrow tables between the steps and merges partial aggregates into state with numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.checkpoint.state_store import REMOVED
from stream_nb.engine import duck
from stream_nb.engine.operator import Operator
from stream_nb.engine.partials import distinct_pairs, first_rows, partial_aggregates
from stream_nb.engine.state import KeyedState, Update
from stream_nb.engine.watermark import evicted_through, on_time, record_eviction
from stream_nb.engine.windowing import window_starts, windows
from stream_nb.sql.plan import BATCH, Plan


@dataclass
class Output:
    """A batch's output: the rows for the sink, the state keys they belong to (update mode), and what the
    operator must write when the batch commits."""

    table: pa.Table
    late: pa.Table
    keys: pa.Table | None = None
    pending: Update | None = None
    state_rows_updated: int = 0
    expired: np.ndarray | None = None    # state slots the watermark has passed: evicted at commit
    evicted_through: int | None = None   # the watermark (µs) that ``expired`` is the keys at or before
    replaced: int | None = None          # update mode: output rows whose key was emitted before


def connect(plan: Plan) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for one query, with its static tables registered."""
    con = duck.connect()
    for name, static in plan.bindings.statics.items():
        duck.register(con, name, static.table)
    return con


class BatchPartials(NamedTuple):
    """What an aggregation computes from a batch alone, before it merges into state."""

    partial: pa.Table               # one row per key: the keys, then each partial aggregate
    distinct: dict[str, pa.Table]   # count(DISTINCT): the batch's distinct (key..., value) pairs
    late: pa.Table                  # rows the watermark drops
    hashes: np.ndarray              # the partial rows' key hashes (KeyedState.hash_keys)


class StatelessOperator:
    """Filters, projections and stream-static joins: the whole query over the batch's rows."""

    name = "stateless"
    stateful = False
    checkpointed = False
    state_rows = 0
    memory_bytes = 0

    def __init__(self, plan: Plan):
        self.plan = plan

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0) -> Output:
        duck.register(con, BATCH, batch)
        return Output(duck.query(con, self.plan.stateless_sql), late=batch.schema.empty_table())

    def commit(self, output: Output) -> None:
        pass

    def has_expired(self, watermark_us: int) -> bool:
        return False

    def changes(self, output: Output) -> pa.Table:
        return pa.table({})

    def dump(self) -> pa.Table:
        return pa.table({})

    def restore(self, tables: list[pa.Table]) -> None:
        pass

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """None: no state, no result table; the sink holds what this run emits."""

    def state_view(self) -> None:
        return None


class KeyedOperator:
    """What aggregation and deduplication share: keyed state, committed, evicted and checkpointed alike."""

    stateful = True
    state: KeyedState
    _follows_watermark: bool
    checkpointed = False  # whether ``changes`` is asked for: only then are evicted keys kept for it

    @property
    def state_rows(self) -> int:
        return self.state.num_rows

    @property
    def memory_bytes(self) -> int:
        return self.state.memory_bytes

    def commit(self, output: Output) -> None:
        self.state.apply(output.pending)
        if output.expired is not None and len(output.expired):
            self.state.evict(output.expired)

    def has_expired(self, watermark_us: int) -> bool:
        """Whether a batch with no data would emit or evict something (Spark's no-data batch)."""
        return self._follows_watermark and len(self.state.expired(watermark_us)) > 0

    def changes(self, output: Output) -> pa.Table:
        """The committed batch's delta for the checkpoint: the rows it changed, and the watermark whose
        passing evicted keys (schema metadata): a restore evicts them the same way. That is exact, because
        the keys a batch evicts are all the keys whose event time the watermark has passed: a row for
        such a key is late and dropped, so no changed row is among them."""
        changed = self.state.export(output.pending.slots, output.pending.keys)
        if output.expired is None or not len(output.expired):
            return changed
        return record_eviction(changed, output.evicted_through)

    def dump(self) -> pa.Table:
        return self.state.export(self.state.all_slots())

    def restore(self, tables: list[pa.Table]) -> None:
        """Rebuild state from a checkpoint: a snapshot, then deltas, in order."""
        for table in tables:
            removed = None
            if REMOVED in table.column_names:  # checkpoints before 2026-11-24 listed the evicted keys
                removed = table.column(REMOVED).to_numpy(zero_copy_only=False)
                table = table.drop_columns([REMOVED])
            self.state.load(table, removed)
            through = evicted_through(table)
            if through is not None:
                self.state.evict(self.state.expired(through))


class AggregateOperator(KeyedOperator):
    """Grouped or global aggregation: partial aggregates per batch merged into keyed state."""

    name = "stateStoreSave"

    def __init__(self, plan: Plan):
        self.plan = plan
        self.aggregate = plan.aggregate
        self.state = KeyedState(self.aggregate.keys, self.aggregate.partials,
                                event_time=self.aggregate.event_time_key)
        self._mode = plan.output_mode
        # Complete mode keeps every group, so it neither drops late rows nor evicts (as in Spark).
        self._follows_watermark = self.aggregate.event_time_key is not None and self._mode != "complete"

    def aggregate_batch(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int,
                        parallel: bool = True) -> BatchPartials:
        """The batch's partial aggregates and late rows. Reads no state, so it may run ahead of the batch
        before it, on another thread (with its own DuckDB connection, and ``parallel`` False: the batch
        before it keeps the other core busy)."""
        agg = self.aggregate
        pre = agg.pre(con, batch)
        window = None
        if agg.window is not None:  # the window key holds each row's window start until rows are grouped
            index, spec = agg.window
            pre = window_starts(pre, agg.keys[index], spec)
            window = (agg.keys[index], spec.size_us)
        late = pre.schema.empty_table()
        if self._follows_watermark and pre.num_rows:
            kept = on_time(self._event_times(pre, window), watermark_us)
            if pc.all(kept, skip_nulls=False).as_py() is not True:  # copy the rows only if some are late
                pre, late = pre.filter(kept), pre.filter(pc.invert(kept))
        if window is not None:  # late rows are shown with their windows
            late = late.set_column(late.schema.get_field_index(window[0]), window[0],
                                   windows(late.column(window[0]), window[1]))
        partial = partial_aggregates(pre, agg.keys, agg.partials, window, parallel=parallel)
        distinct = {p.name: distinct_pairs(pre, agg.keys, p.argument, window)
                    for p in agg.partials if p.function == "distinct"}
        return BatchPartials(partial, distinct, late, self.state.hash_keys(partial))

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0,
                partials: BatchPartials | None = None) -> Output:
        """``partials``: what ``aggregate_batch`` gave for this batch and watermark, if it ran ahead."""
        agg = self.aggregate
        partial, distinct, late, hashes = partials or self.aggregate_batch(con, batch, watermark_us)
        update = self.state.prepare(partial, distinct, hashes)
        expired = self.state.expired(watermark_us) if self._follows_watermark else None
        if self._mode == "append":
            emitted = self.state.rows(expired)  # a window is final once the watermark passes its end
        else:
            emitted = self.state.rows_after(update, everything=self._mode == "complete")
        result = agg.finish(con, emitted)
        keys = result.select(agg.keys) if self._mode == "update" else None
        return Output(result.drop_columns(agg.keys), late=late, keys=keys, pending=update,
                      state_rows_updated=len(update.slots), expired=expired, evicted_through=watermark_us,
                      replaced=int(update.existed.sum()) if keys is not None else None)

    def _event_times(self, pre: pa.Table, window: tuple[str, int] | None) -> pa.Array:
        """Each row's event time in µs, as the watermark sees it: a window's end, else the key itself."""
        key = self.aggregate.event_time_key
        if window is not None and self.aggregate.keys[key.index] == window[0]:
            return pc.add(pre.column(window[0]).cast(pa.int64()), window[1])  # start + size: the end
        return key.of(pre, self.aggregate.keys).cast(pa.int64())

    def state_view(self) -> Callable[[], pa.Table]:
        """A copy of the state now; the final projection makes it result rows only when asked for."""
        rows = self.state.rows(self.state.all_slots())

        def finish() -> pa.Table:
            return self.aggregate.finish(duck.connect(), rows).drop_columns(self.aggregate.keys)
        return finish

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> Output | None:
        if not self.state.num_rows:  # no group yet (a restored state may not even have its columns)
            return None
        result = self.aggregate.finish(con, self.state.rows(self.state.all_slots()))
        return Output(result.drop_columns(self.aggregate.keys), late=pa.table({}),
                      keys=result.select(self.aggregate.keys))


class DedupOperator(KeyedOperator):
    """Deduplication (Spark's dropDuplicates): emit the first row of each key, never the key again.

    State is the set of keys seen; with the watermark's column among the keys, keys behind the watermark
    are evicted and rows behind it dropped as late, so state stays bounded.
    """

    name = "dedupe"

    def __init__(self, plan: Plan):
        self.plan = plan
        self.dedup = plan.dedup
        self.state = KeyedState(self.dedup.keys, [], event_time=self.dedup.event_time_key)
        self._follows_watermark = self.dedup.event_time_key is not None

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0) -> Output:
        duck.register(con, BATCH, batch)
        rows = duck.query(con, self.dedup.pre_sql)
        late = rows.schema.empty_table()
        if self._follows_watermark and rows.num_rows:
            kept = on_time(self.dedup.event_time_key.of(rows, self.dedup.keys).cast(pa.int64()), watermark_us)
            rows, late = rows.filter(kept), rows.filter(pc.invert(kept))
        firsts = first_rows(rows, self.dedup.keys)
        update = self.state.prepare(firsts.select(self.dedup.keys))
        fresh = firsts.filter(pa.array(~update.existed))
        expired = self.state.expired(watermark_us) if self._follows_watermark else None
        return Output(fresh.drop_columns(self.dedup.keys), late=late.drop_columns(self.dedup.keys),
                      pending=update, state_rows_updated=fresh.num_rows, expired=expired,
                      evicted_through=watermark_us)

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """None: the state keeps the keys seen, not the rows emitted, and the output has no keys to upsert
        by, so a memory sink appends in every mode (as Spark's): it holds what this run emits."""

    def state_view(self) -> Callable[[], pa.Table]:
        rows = self.state.rows(self.state.all_slots()).rename_columns(self.dedup.key_texts)
        return lambda: rows


def make_operator(plan: Plan) -> Operator:
    """The stateful (or stateless) operator a plan needs."""
    if plan.aggregate is not None and plan.aggregate.session is not None:
        from stream_nb.engine.sessions import SessionOperator  # sessions build on this module's Output

        return SessionOperator(plan)
    if plan.aggregate is not None:
        return AggregateOperator(plan)
    if plan.dedup is not None:
        return DedupOperator(plan)
    return StatelessOperator(plan)
