"""The deduplication operator: ``SELECT DISTINCT ON (keys)``, Spark's dropDuplicates."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import duck
from stream_nb.engine.aggregate_queries import event_times
from stream_nb.engine.keyed import KeyedOperator
from stream_nb.engine.output import Output
from stream_nb.engine.partials import first_rows
from stream_nb.engine.state import KeyedState
from stream_nb.engine.watermark import on_time
from stream_nb.sql.plan import BATCH, Plan


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
            kept = on_time(event_times(self.dedup.event_time_key, rows, self.dedup.keys).cast(pa.int64()),
                           watermark_us)
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
