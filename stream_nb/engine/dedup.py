"""The deduplication operator: ``SELECT DISTINCT ON (keys)``, Spark's dropDuplicates, and with the
WITHIN_WATERMARK hint its dropDuplicatesWithinWatermark."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import duck
from stream_nb.engine.aggregate_queries import event_times
from stream_nb.engine.keyed import KeyedOperator
from stream_nb.engine.output import Output
from stream_nb.engine.partials import first_rows
from stream_nb.engine.state import KeyedState
from stream_nb.engine.watermark import expired, on_time
from stream_nb.sql.aggregates import Partial
from stream_nb.sql.dedup import EVENT_TIME
from stream_nb.sql.plan import BATCH, Plan

EXPIRES = "__expires_at_us"


class DedupOperator(KeyedOperator):
    """Deduplication (Spark's dropDuplicates): emit the first row of each key, never the key again.

    State is the set of keys seen; with the watermark's column among the keys, keys behind the watermark
    are evicted and rows behind it dropped as late, so state stays bounded.
    """

    name = "dedupe"

    def __init__(self, plan: Plan):
        self.plan = plan
        self.dedup = plan.dedup
        self._within = self.dedup.expires_after_us is not None
        if self._within:
            self.state = ExpiringKeys(self.dedup.keys, [Partial(EXPIRES, "first", EXPIRES, "keep")])
        else:
            self.state = KeyedState(self.dedup.keys, [], event_time=self.dedup.event_time_key)
        self._follows_watermark = self.dedup.event_time_key is not None or self._within
        self._drops_late = self._follows_watermark or self.dedup.drops_late
        self._extra = [*self.dedup.keys, EVENT_TIME] if self.dedup.drops_late else self.dedup.keys  # not output

    def process(self, con: duckdb.DuckDBPyConnection, batch: pa.Table, watermark_us: int = 0) -> Output:
        duck.register(con, BATCH, batch)
        rows = duck.query(con, self.dedup.pre_sql)
        late = rows.schema.empty_table()
        if self._drops_late and rows.num_rows:
            times = rows.column(EVENT_TIME) if self.dedup.drops_late else \
                event_times(self.dedup.event_time_key, rows, self.dedup.keys)
            # a row without an event time is never late (Spark's predicate time <= watermark is NULL)
            kept = pc.fill_null(on_time(times.cast(pa.int64()), watermark_us), True)
            rows, late = rows.filter(kept), rows.filter(pc.invert(kept))
        firsts = first_rows(rows, self.dedup.keys)
        keys = firsts.select(self.dedup.keys)
        if self._within:  # Spark's expiresAtMicros: the first row's event time plus the watermark's delay
            # (a NULL event time reads as 0 there, as Spark's row.getLong of a NULL: expires at the delay)
            expires = pc.add(pc.fill_null(firsts.column(EVENT_TIME).cast(pa.int64()), 0), self.dedup.expires_after_us)
            keys = keys.append_column(EXPIRES, expires)
        update = self.state.prepare(keys)
        fresh = firsts.filter(pa.array(~update.existed))
        expired = self.state.expired(watermark_us) if self._follows_watermark else None
        if self._within and fresh.num_rows:  # Spark evicts after the batch's rows: a new key that expires at
            # or before the watermark (a NULL event time's, at the delay) is gone when the batch commits
            gone = ~update.existed & expired_at(keys.column(EXPIRES), watermark_us)
            if gone.any():
                expired = np.concatenate([expired, update.slots[gone]])
        return Output(fresh.drop_columns(self._extra), late=late.drop_columns(self._extra),
                      pending=update, state_rows_updated=fresh.num_rows, expired=expired,
                      evicted_through=watermark_us)

    def result_rows(self, con: duckdb.DuckDBPyConnection) -> None:
        """None: the state keeps the keys seen, not the rows emitted, and the output has no keys to upsert
        by, so a memory sink appends in every mode (as Spark's): it holds what this run emits."""

    def state_view(self) -> Callable[[], pa.Table]:
        names = [*self.dedup.key_texts, "expiresAtMicros"] if self._within else self.dedup.key_texts
        rows = self.state.rows(self.state.all_slots()).rename_columns(names)
        return lambda: rows


class ExpiringKeys(KeyedState):
    """dropDuplicatesWithinWatermark's state: each key with the time it expires at (column EXPIRES, set by its
    first row, kept by its duplicates), evicted once the watermark reaches it (Spark: ``watermark >=
    expiresAt``), as Spark's StreamingDeduplicateWithinWatermarkExec."""

    def expired(self, watermark_us: int) -> np.ndarray:
        slots = self.all_slots()
        column = self._columns.get(EXPIRES)
        if column is None or not len(slots):
            return np.empty(0, dtype=np.int64)
        return slots[column.valid[slots] & expired(column.values[slots], watermark_us)]


def expired_at(times: pa.ChunkedArray, watermark_us: int) -> np.ndarray:
    """Which of the times (µs, none NULL) the watermark has reached, as numpy booleans."""
    return expired(times.to_numpy(), watermark_us)
