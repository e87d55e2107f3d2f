"""The aggregate operator: grouped, global and windowed aggregation (Spark's stateStoreSave).

DuckDB runs the SQL and Arrow the hash aggregation, both vectorised and outside the GIL; Python only moves
Arrow tables between the steps and merges partial aggregates into state with numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import aggregate_queries, duck
from stream_nb.engine.aggregate_queries import event_times, finish
from stream_nb.engine.keyed import KeyedOperator
from stream_nb.engine.keyhash import key_hashes
from stream_nb.engine.output import Output
from stream_nb.engine.partials import decoded, distinct_pairs, encoded_keys, partial_aggregates
from stream_nb.engine.state import KeyedState
from stream_nb.engine.udf_calls import register_udfs
from stream_nb.engine.watermark import on_time
from stream_nb.engine.windowing import window_starts, windows
from stream_nb.sql.plan import Plan


class BatchPartials(NamedTuple):
    """What an aggregation computes from a batch alone, before it merges into state."""

    partial: pa.Table               # one row per key: the keys, then each partial aggregate
    distinct: dict[str, pa.Table]   # count(DISTINCT): the batch's distinct (key..., value) pairs
    late: pa.Table                  # rows the watermark drops
    hashes: np.ndarray | None       # the partial rows' key hashes (KeyedState.hash_keys), None: not needed
    late_groups: int = 0            # the groups (window and keys) of the late rows: Spark's dropped count


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
        # A global aggregation (no keys) in update mode emits its one row in every batch, and Spark runs a
        # no-data batch whenever the watermark moves (in append and update mode): that batch emits it too.
        self._emits_as_watermark_moves = not self.aggregate.keys and self._mode == "update" and bool(
            plan.event_time or plan.event_times or plan.watermarks)
        self._ran_at_us: int | None = None  # the watermark the last committed batch ran with
        self._whole: tuple[pa.Table, np.ndarray] | None = None  # the last batch's rows, if all the state's
        self._types_checked = False  # (``refuse_unsupported_values``, once: a stream's types do not change)

    def aggregate_batch(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int,
                        parallel: bool = True, encoded: dict[str, pa.ChunkedArray] | None = None) -> BatchPartials:
        """The batch's partial aggregates and late rows. Reads no state, so it may run ahead of the batch
        before it, on another thread (with its own DuckDB connection, and ``parallel`` False: the batch
        before it keeps the other core busy). ``encoded``: string columns of the batch as the source read
        them dictionary-encoded (``read_encoded``), for the keys to be grouped by their indices."""
        agg = self.aggregate
        pre = aggregate_queries.pre(con, agg, batch)
        if not self._types_checked:
            aggregate_queries.refuse_unsupported_values(agg, pre, self.plan.sql)
            self._types_checked = True
        if encoded:
            pre = encoded_keys(pre, agg.keys, agg.pre_projection, encoded)
        window = None
        if agg.window is not None:  # the window key holds each row's window start until rows are grouped
            index, spec = agg.window
            pre = window_starts(pre, agg.keys[index], spec)
            window = (agg.keys[index], spec.size_us, spec.slide_us)  # starts a slide apart (dense_groups)
        late = pre.schema.empty_table()
        if self._follows_watermark and pre.num_rows and not self._all_on_time(pre, window, watermark_us):
            # a row without an event time is never late (Spark's predicate time <= watermark is NULL)
            kept = pc.fill_null(on_time(self._event_times(pre, window), watermark_us), True)
            if pc.all(kept, skip_nulls=False).as_py() is not True:  # copy the rows only if some are late
                pre, late = pre.filter(kept), pre.filter(pc.invert(kept))
        # Spark drops late rows in stateStoreSave, after the partial aggregation: it counts a late group once
        late_groups = _groups(late, agg.keys)
        if window is not None:  # late rows are shown with their windows
            late = late.set_column(late.schema.get_field_index(window[0]), window[0],
                                   windows(late.column(window[0]), window[1]))
        if encoded:  # the late rows are shown as the batch's
            late = decoded(late)
        partial = partial_aggregates(pre, agg.keys, agg.partials, window, parallel=parallel, encoded=bool(encoded))
        distinct = {p.name: distinct_pairs(pre, agg.keys, p.argument, window)
                    for p in agg.partials if p.function == "distinct"}
        # the state's hash_keys, told that a partial holds each key once (one string key: no encoding first);
        # none where the state finds keys by value: it hashes the few new ones itself
        hashes = None if self.state.finds_by_value else key_hashes(partial, self.state.key_names, distinct_rows=True)
        if encoded:  # hashed by dictionary (each string once), then the strings the state keeps
            partial = decoded(partial)
        return BatchPartials(partial, distinct, late, hashes, late_groups)

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0,
                partials: BatchPartials | None = None) -> Output:
        """``partials``: what ``aggregate_batch`` gave for this batch and watermark, if it ran ahead."""
        agg = self.aggregate
        partial, distinct, late, hashes, late_groups = partials or self.aggregate_batch(con, batch, watermark_us)
        update = self.state.prepare(partial, distinct, hashes)
        expired = self.state.expired(watermark_us) if self._follows_watermark else None
        if self._mode == "append":
            emitted = self.state.rows(expired)  # a window is final once the watermark passes its end
        else:
            emitted = self.state.rows_after(update, everything=self._mode == "complete")
        result = finish(con, agg, emitted)
        keys = result.select(agg.keys) if self._mode == "update" else None
        return Output(result.drop_columns(agg.keys), late=late, keys=keys, pending=update,
                      state_rows_updated=len(update.slots), expired=expired, evicted_through=watermark_us,
                      replaced=int(update.existed.sum()) if keys is not None else None,
                      touched=emitted if self._mode == "update" else None, dropped=late_groups)

    def commit(self, output: Output) -> None:
        super().commit(output)
        self._ran_at_us = output.evicted_through
        # A batch that touched every key (a few keys, all busy) holds the state's rows already, as Arrow:
        # the teaching view's copy of the state is then those rows, kept as they are (see state_view).
        evicted = output.expired is not None and len(output.expired)
        whole = output.touched is not None and not evicted and output.touched.num_rows == self.state.num_rows
        self._whole = (output.touched, output.pending.slots) if whole else None

    def has_expired(self, watermark_us: int) -> bool:
        if self._emits_as_watermark_moves and self.state.num_rows and self._ran_at_us is not None \
                and watermark_us > self._ran_at_us:
            return True
        return super().has_expired(watermark_us)

    def _all_on_time(self, pre: pa.Table, window: tuple[str, int] | None, watermark_us: int) -> bool:
        """Whether no row is late, from the earliest event time alone: one pass over the rows and no mask,
        where a stream in event-time order (the usual case) would compute a row-by-row mask of all True."""
        key = self.aggregate.event_time_key
        if window is not None and self.aggregate.keys[key.index] == window[0]:
            times, end = pre.column(window[0]), window[1]  # a window's end is its start + size
        else:
            times, end = event_times(key, pre, self.aggregate.keys), 0
        if times.null_count:  # a row without an event time: the row-by-row rule decides
            return False
        earliest = pc.min(times.cast(pa.int64())).as_py()
        return earliest is not None and bool(on_time(earliest + end, watermark_us))

    def _event_times(self, pre: pa.Table, window: tuple[str, int] | None) -> pa.Array:
        """Each row's event time in µs, as the watermark sees it: a window's end, else the key itself."""
        key = self.aggregate.event_time_key
        if window is not None and self.aggregate.keys[key.index] == window[0]:
            return pc.add(pre.column(window[0]).cast(pa.int64()), window[1])  # start + size: the end
        return event_times(key, pre, self.aggregate.keys).cast(pa.int64())

    def state_view(self) -> Callable[[], pa.Table]:
        """A copy of the state now; the final projection makes it result rows only when asked for."""
        if self._whole is not None and self._whole[0].num_rows == self.state.num_rows:
            touched, slots = self._whole  # nothing evicted since: the last batch's rows are the whole state

            def rows() -> pa.Table:  # in slot order, as the state lists its rows
                ordered = touched.take(pa.array(np.argsort(slots, kind="stable")))
                return ordered.cast(self.state.rows(slots[:0]).schema)
        else:
            copy = self.state.rows(self.state.all_slots())

            def rows() -> pa.Table:
                return copy

        def view() -> pa.Table:  # not named finish: that is the final query it runs
            con = duck.connect()  # called from the view's thread: a connection of its own, with the functions
            try:
                register_udfs(con, self.plan.udfs.values())
                return finish(con, self.aggregate, rows()).drop_columns(self.aggregate.keys)
            finally:  # closed on its own thread: never left open for a daemon thread to drop at exit
                con.close()
        return view

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> Output | None:
        if not self.state.num_rows:  # no group yet (a restored state may not even have its columns)
            return None
        result = finish(con, self.aggregate, self.state.rows(self.state.all_slots()))
        return Output(result.drop_columns(self.aggregate.keys), late=pa.table({}),
                      keys=result.select(self.aggregate.keys))


def _groups(rows: pa.Table, keys: list[str]) -> int:
    """How many distinct keys (NULL one of them) the rows have."""
    if not rows.num_rows:
        return 0
    if not keys:
        return 1
    try:
        return rows.group_by(keys, use_threads=False).aggregate([]).num_rows
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):  # a key Arrow cannot group by (a list, a map)
        return len({repr(key) for key in zip(*(rows.column(k).to_pylist() for k in keys), strict=True)})
