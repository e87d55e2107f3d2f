"""What aggregation and deduplication share: keyed state (``engine/state.py``), committed, evicted at the
watermark and checkpointed alike."""

from __future__ import annotations

import pyarrow as pa

from stream_nb.checkpoint.state_store import REMOVED
from stream_nb.engine.output import Output
from stream_nb.engine.state import KeyedState
from stream_nb.engine.watermark import evicted_through, record_eviction


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
        """Rebuild state from a checkpoint: a snapshot, then deltas, in order (in one pass when they can be)."""
        if not any(REMOVED in table.column_names for table in tables) and \
                self.state.load_all(tables, [evicted_through(table) for table in tables]):
            return
        for table in tables:
            removed = None
            if REMOVED in table.column_names:  # checkpoints before 2026-11-24 listed the evicted keys
                removed = table.column(REMOVED).to_numpy(zero_copy_only=False)
                table = table.drop_columns([REMOVED])
            self.state.load(table, removed)
            through = evicted_through(table)
            if through is not None:
                self.state.evict(self.state.expired(through))
