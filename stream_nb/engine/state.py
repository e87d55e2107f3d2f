"""Keyed state for streaming aggregation: one row per group key, holding the partial aggregates so far.

A key's row lives in a *slot*: a position in columnar numpy arrays (``slot_columns``: one per key column
and partial aggregate, each with a validity mask). A batch's partial aggregates, already grouped by key, are
merged with vectorised numpy operations over the slots they touch (``merges``), so a batch costs what it
changes, never the total state.

Keys find their slots through their 64-bit hashes (``key_slots``), with no Python object made per key.

Merging is two steps so a failing batch changes nothing: ``prepare`` computes the new values of the touched
slots without writing anything; ``apply`` writes them once the sink has committed the batch's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from stream_nb.engine import decimals
from stream_nb.engine.aggregate_queries import event_time_micros
from stream_nb.engine.comoments import merge_comoments
from stream_nb.engine.key_slots import Found, KeySlots
from stream_nb.engine.keyhash import key_hashes
from stream_nb.engine.merges import merge, merge_by, merge_moments, merge_moments4, one_nan
from stream_nb.engine.slot_columns import SlotColumn, to_numpy
from stream_nb.engine.watermark import expired
from stream_nb.sql.aggregates import Partial
from stream_nb.sql.event_time import EventTimeKey
from stream_nb.types import hashable_keys


@dataclass
class Update:
    """What one batch does to the state, computed but not yet written."""

    found: Found                            # the slot of each partial row, and the keys new to the state
    keys: pa.Table                          # the key columns of each partial row
    new_key_values: list[pa.ChunkedArray]   # per key column, the values of the new keys
    values: dict[str, tuple[np.ndarray, np.ndarray]]  # partial name -> (values, valid) for `slots`
    seen_distinct: dict[str, set] = field(default_factory=dict)  # count(DISTINCT): (slot, value) pairs new

    @property
    def slots(self) -> np.ndarray:
        return self.found.slots

    @property
    def existed(self) -> np.ndarray:
        return self.found.existed


_PAIRED = ("moments", "moments4", "comoments", "max_by", "min_by")  # rules over several partial columns at once,
# merged apart


class KeyedState:
    """The state of one aggregation operator.

    >>> from stream_nb.sql.aggregates import Partial
    >>> state = KeyedState(["__k0"], [Partial("n", "count_all", None, "add")])
    >>> update = state.prepare(pa.table({"__k0": ["a", "b"], "n": [2, 1]}))
    >>> state.apply(update)
    >>> state.apply(state.prepare(pa.table({"__k0": ["a"], "n": [5]})))
    >>> state.rows(state.all_slots()).to_pylist()
    [{'__k0': 'a', 'n': 7}, {'__k0': 'b', 'n': 1}]
    """

    def __init__(self, key_names: Sequence[str], partials: Sequence[Partial], capacity: int = 1024,
                 event_time: EventTimeKey | None = None):
        self.key_names = list(key_names)
        self.partials = list(partials)
        self.event_time = event_time
        self._initial_capacity = capacity
        self._capacity = capacity
        self._keys = KeySlots(key_names, capacity)  # where each key lives, and its key columns
        # per slot: when the watermark passes it (only a state with an event time has one)
        self._event_time_us = np.zeros(capacity if event_time is not None else 0, dtype=np.int64)
        self._columns: dict[str, SlotColumn] = {}
        self._loaded: pa.Table | None = None  # what ``load_all`` restored, as Arrow, until the state changes
        self._expired_at: tuple[int, np.ndarray] | None = None  # the last ``expired``, until the state changes
        # count(DISTINCT x): per partial, per slot, the values seen so far
        self._distinct: dict[str, dict[int, set]] = {p.name: {} for p in partials if p.merge == "distinct"}

    @property
    def num_rows(self) -> int:
        return self._keys.count

    @property
    def memory_bytes(self) -> int:
        arrays = sum(c.nbytes for c in [*self._keys.columns, *self._columns.values()])
        pairs = sum(len(values) for seen in self._distinct.values() for values in seen.values())
        # collect_list / collect_set / the percentiles: each kept value a Python object in a list (~40 bytes)
        kept = sum(len(values) for p in self.partials if p.merge in ("concat", "union") and p.name in self._columns
                   for values in self._columns[p.name].values[self._columns[p.name].valid & self._keys.live])
        return arrays + self._keys.index_bytes + self._event_time_us.nbytes + 100 * pairs + 40 * kept

    def all_slots(self) -> np.ndarray:
        return np.flatnonzero(self._keys.live)

    def expired(self, watermark_us: int) -> np.ndarray:
        """The slots of keys whose event time the watermark has reached (Spark: ``end <= watermark``)."""
        if self.event_time is None:
            return np.empty(0, dtype=np.int64)
        if self._expired_at is None or self._expired_at[0] != watermark_us:
            # asked twice a batch for one watermark and state (has the next batch something to do; its
            # process): one scan of the state
            slots = np.flatnonzero(self._keys.live & expired(self._event_time_us, watermark_us))
            slots.setflags(write=False)
            self._expired_at = (watermark_us, slots)
        return self._expired_at[1]

    def evict(self, slots: np.ndarray) -> None:
        """Forget these keys: their slots are reused by new keys."""
        if not len(slots):
            return
        self._loaded = self._expired_at = None
        self._keys.release(slots)
        for column in self._columns.values():
            column.valid[slots] = False
        for seen in self._distinct.values():
            for slot in slots.tolist():
                seen.pop(slot, None)

    def hash_keys(self, table: pa.Table) -> np.ndarray:
        """Each key row's hash, as ``prepare`` looks keys up by (it reads no state: any thread may ask)."""
        return key_hashes(table, self.key_names)

    @property
    def finds_by_value(self) -> bool:
        """Whether ``prepare`` finds keys by their value (``KeySlots``' value index): then hashes given to it go
        unused but for new keys, and hashing a batch's keys beforehand is work for nothing."""
        return self._keys.finds_by_value

    def prepare(self, partial: pa.Table, distinct: dict[str, pa.Table] | None = None,
                hashes: np.ndarray | None = None) -> Update:
        """Merge a batch's partial aggregates (one row per key) with the state, without writing.
        ``hashes``: the rows' ``hash_keys``, if computed already."""
        self._ensure_columns(partial)
        found = self._slots_for(partial, hashes)
        slots, existed = found.slots, found.existed
        if len(found.new_positions) == partial.num_rows:  # every key new (a window's first batch): no copy
            new_key_values = [partial.column(k) for k in self.key_names]
        elif not len(found.new_positions):  # none new (a steady batch)
            new_key_values = [partial.column(k).slice(0, 0) for k in self.key_names]
        else:
            taken = pa.array(found.new_positions, type=pa.int64())
            new_key_values = [partial.column(k).take(taken) for k in self.key_names]
        seen_distinct = {name: set() for name in self._distinct}
        values = {}
        for partial_spec in self.partials:
            if partial_spec.merge in _PAIRED:
                continue
            column = self._columns[partial_spec.name]
            old = (column.values[slots], column.valid[slots] & existed)
            if partial_spec.merge == "distinct":
                new = self._distinct_counts(partial_spec.name, partial, slots, distinct or {}, seen_distinct)
            else:
                new = to_numpy(partial.column(partial_spec.name), column.storage)
            if partial_spec.merge == "add" and pa.types.is_decimal(column.type):  # exact, NULL on overflow
                values[partial_spec.name] = decimals.add(*old, *new, column.type)
                continue
            values[partial_spec.name] = merge(partial_spec.merge, old, new, existed)
        values.update(self._merge_moments(partial, slots, existed))
        values.update(self._merge_by(partial, slots, existed))
        return Update(found, partial.select(self.key_names), new_key_values, values, seen_distinct)

    def apply(self, update: Update) -> None:
        """Write a prepared update: the batch is committed."""
        self._loaded = self._expired_at = None
        new_slots = update.found.new_slots
        if len(new_slots):
            self._keys.claim(update.found)
            for column, values in zip(self._keys.columns, update.new_key_values):
                column.set(new_slots, values)
            if self.event_time is not None:
                self._event_time_us[new_slots] = event_time_micros(self.event_time, update.new_key_values)
        for name, (values, valid) in update.values.items():
            column = self._columns[name]
            column.values[update.slots] = values
            column.valid[update.slots] = valid
        for name, pairs in update.seen_distinct.items():
            seen = self._distinct[name]
            for slot, value in pairs:
                seen.setdefault(slot, set()).add(value)

    def key_rows(self, slots: np.ndarray) -> pa.Table:
        """The key columns of the state rows at these slots."""
        return self._keys.rows(slots)

    def rows(self, slots: np.ndarray, keys: pa.Table | None = None) -> pa.Table:
        """The state rows at these slots: key columns, then partial columns (``keys``: see ``export``)."""
        if not self._keys.columns and not self._columns:
            return pa.table({})
        if keys is None and self._loaded is not None and len(slots) == self._loaded.num_rows \
                and np.array_equal(slots, np.arange(len(slots))):  # every row as restored: no conversion back
            return self._loaded
        if keys is None:
            arrays = [c.to_arrow(slots) for c in self._keys.columns]
        else:
            arrays = [keys.column(name).cast(c.type) for name, c in zip(self.key_names, self._keys.columns)]
        arrays += [self._columns[p.name].to_arrow(slots) for p in self.partials]
        return pa.Table.from_arrays(arrays, names=self.key_names + [p.name for p in self.partials])

    def rows_after(self, update: Update, *, everything: bool = False) -> pa.Table:
        """The rows an update touches (or all rows, with ``everything``) as they will be once applied."""
        arrays = list(update.keys.columns) + [
            self._columns[p.name].arrow_from(*update.values[p.name]) for p in self.partials]
        names = self.key_names + [p.name for p in self.partials]
        if not names:
            return pa.table({})
        touched = pa.Table.from_arrays(arrays, names=names)
        if not everything or not self._keys.count:
            return touched
        untouched = np.setdiff1d(self.all_slots(), update.slots, assume_unique=True)
        return pa.concat_tables([self.rows(untouched), touched.cast(self.rows(untouched[:0]).schema)])

    # -- checkpoints: rows out, rows back in ---------------------------------------------------------------

    def export(self, slots: np.ndarray, keys: pa.Table | None = None) -> pa.Table:
        """The rows at these slots as they are, with each count(DISTINCT) key's values as a list column.
        ``keys``: the key columns of these slots, if the caller has them as Arrow already (a batch's
        update does), which spares converting stored keys back."""
        table = self.rows(slots, keys)
        for name, seen in self._distinct.items():
            table = table.append_column(f"__distinct.{name}", pa.array(
                [sorted(seen.get(slot, ()), key=repr) for slot in slots.tolist()]))
        return table

    def load(self, table: pa.Table, removed: np.ndarray | None = None) -> None:
        """Put rows back as they were exported (not merged); rows flagged ``removed`` delete their key."""
        if not table.num_rows:
            return
        self._loaded = self._expired_at = None
        removed = np.zeros(table.num_rows, dtype=bool) if removed is None else removed
        if removed.any() and self._keys.count:
            gone = self._slots_for(table.filter(pa.array(removed)))
            self.evict(gone.slots[gone.existed])
        kept = table.filter(pa.array(~removed))
        if not kept.num_rows:
            return
        self._ensure_columns(kept)
        found = self._slots_for(kept)
        slots = found.slots
        self._keys.claim(found)
        for column, name in zip(self._keys.columns, self.key_names):
            column.set(slots, kept.column(name))
        if self.event_time is not None:
            columns = [kept.column(k) for k in self.key_names]
            self._event_time_us[slots] = event_time_micros(self.event_time, columns)
        self._load_values(kept, slots)

    def load_all(self, tables: Sequence[pa.Table], evicted_through: Sequence[int | None]) -> bool:
        """Rebuild an empty state from a checkpoint's tables (a snapshot, then deltas) in one pass, as ``load``
        of each in turn, evicting the keys expired at its ``evicted_through`` watermark after it, would: every
        row hashed once, each key's last row kept, inserted in bulk. A restart then costs one pass over the rows
        instead of a lookup and an insert per table. Returns False, the state left empty, if that cannot be
        done exactly (two keys share a hash, or the tables' schemas differ): the caller loads them one by one."""
        tables = list(tables)
        if self._keys.count or not any(t.num_rows for t in tables):
            return not self._keys.count and not any(t.num_rows for t in tables)
        self._expired_at = None
        filled = [t.replace_schema_metadata(None) for t in tables if t.num_rows]
        try:
            everything = pa.concat_tables(filled)
        except pa.ArrowInvalid:
            return False
        hashes = self.hash_keys(everything)
        # a key in several tables: its last row is its state (a later version); a table has each key once
        kept = self._keys.load(hashes, np.cumsum([0] + [t.num_rows for t in filled[:-1]]).tolist())
        if kept is None:  # two keys of one table share a hash
            self.__init__(self.key_names, self.partials, self._initial_capacity, self.event_time)
            return False
        rows = everything if len(kept) == everything.num_rows else everything.take(pa.array(kept))
        self._reserve(len(kept), exact=True)  # sized to what is restored: the next new keys double it
        self._ensure_columns(rows)
        self._keys.take_loaded(hashes[kept])
        slots = np.arange(len(kept), dtype=np.int64)
        for column, name in zip(self._keys.columns, self.key_names):
            column.set(slots, rows.column(name))
        if len(kept) < everything.num_rows:  # an earlier row of a kept key: it must be that key, not a collision
            dropped = np.ones(everything.num_rows, dtype=bool)
            dropped[kept] = False
            earlier = np.flatnonzero(dropped)
            if not self._keys.same_keys(everything, earlier, self._keys.slots_of(hashes[earlier])).all():
                self.__init__(self.key_names, self.partials, self._initial_capacity, self.event_time)
                return False
        if self.event_time is not None:
            self._event_time_us[slots] = event_time_micros(self.event_time, [rows.column(k) for k in self.key_names])
        self._load_values(rows, slots)
        self._loaded = rows.select(self.key_names + [p.name for p in self.partials])
        self._evict_as_loaded(tables, evicted_through, kept, slots)
        return True

    def _evict_as_loaded(self, tables: Sequence[pa.Table], evicted_through: Sequence[int | None],
                         kept: np.ndarray, slots: np.ndarray) -> None:
        """Evict what loading the tables one by one would have: a key whose last row is in table i is gone if
        a table at or after i evicted through a watermark that has passed its event time."""
        if self.event_time is None or all(w is None for w in evicted_through):
            return
        none = np.iinfo(np.int64).min
        through = np.array([none if w is None else w for w in evicted_through], dtype=np.int64)
        through = np.maximum.accumulate(through[::-1])[::-1]  # per table: the latest watermark at or after it
        table_of = np.repeat(np.arange(len(tables)), [t.num_rows for t in tables])[kept]
        watermark = through[table_of]
        self.evict(slots[(watermark != none) & expired(self._event_time_us[slots], watermark)])

    def _load_values(self, kept: pa.Table, slots: np.ndarray) -> None:
        for partial in self.partials:
            column = self._columns[partial.name]
            column.set(slots, kept.column(partial.name))
        for name, seen in self._distinct.items():
            for slot, values in zip(slots.tolist(), kept.column(f"__distinct.{name}").to_pylist()):
                seen[slot] = set(one_nan(values))

    # -- internals -------------------------------------------------------------------------------------

    def _slots_for(self, table: pa.Table, hashes: np.ndarray | None = None) -> Found:
        """Each key row's slot (``KeySlots.find``), with room made for the new ones."""
        found = self._keys.find(table, self.hash_keys if hashes is None else hashes)  # (hashed only if need be)
        if len(found.new_slots):
            self._reserve(int(found.new_slots.max()) + 1)
        return found

    def _ensure_columns(self, partial: pa.Table) -> None:
        if self._keys.columns or self._columns:
            return
        self._keys.make_columns(partial.schema, self._capacity)
        for p in self.partials:
            arrow_type = pa.int64() if p.merge == "distinct" else partial.schema.field(p.name).type
            self._columns[p.name] = SlotColumn(arrow_type, self._capacity)

    def _reserve(self, end: int, exact: bool = False) -> None:
        if end <= self._capacity:
            return
        while self._capacity < end and not exact:
            self._capacity *= 2
        self._capacity = max(self._capacity, end)
        self._keys.grow(self._capacity)
        for column in self._columns.values():
            column.grow(self._capacity)
        if self.event_time is not None:
            extra = self._capacity - len(self._event_time_us)
            self._event_time_us = np.concatenate([self._event_time_us, np.zeros(extra, dtype=np.int64)])

    def _distinct_counts(self, name: str, partial: pa.Table, slots: np.ndarray, distinct: dict[str, pa.Table],
                         seen: dict[str, set]) -> tuple[np.ndarray, np.ndarray]:
        """How many values each key sees for the first time in this batch (count(DISTINCT x))."""
        slot_of = dict(zip(hashable_keys(partial, self.key_names), slots.tolist()))
        pairs_table = distinct[name]
        pair_slots = [slot_of[key] for key in hashable_keys(pairs_table, self.key_names)]
        values = one_nan(pairs_table.column(pairs_table.num_columns - 1).to_pylist())
        known, fresh = self._distinct[name], seen[name]
        increments: dict = {}
        for slot, value in zip(pair_slots, values):
            pair = (slot, value)
            if value not in known.get(slot, ()) and pair not in fresh:
                fresh.add(pair)
                increments[slot] = increments.get(slot, 0) + 1
        counts = np.array([increments.get(slot, 0) for slot in slots.tolist()], dtype=np.int64)
        return counts, np.ones(len(slots), dtype=bool)

    def _merge_by(self, partial: pa.Table, slots: np.ndarray, existed: np.ndarray) -> dict:
        """max_by/min_by: each (ord, value) pair of the state and of the batch, merged (``merges.merge_by``)."""
        merged = {}
        pairs = [p for p in self.partials if p.merge in ("max_by", "min_by")]
        for ord_spec, value_spec in zip(pairs[0::2], pairs[1::2]):
            olds, news = [], []
            for spec in (ord_spec, value_spec):
                column = self._columns[spec.name]
                olds.append((column.values[slots], column.valid[slots] & existed))
                news.append(to_numpy(partial.column(spec.name), column.storage))
            ords, values = merge_by(ord_spec.merge, olds[0], olds[1], news[0], news[1])
            merged[ord_spec.name], merged[value_spec.name] = ords, values
        return merged

    def _merge_moments(self, partial: pa.Table, slots: np.ndarray, existed: np.ndarray) -> dict:
        """The state's and the batch's (count, mean, M2) triples, merged (``merges.merge_moments``)."""
        merged = {}
        triples = [p for p in self.partials if p.merge == "moments"]
        for n_spec, m_spec, q_spec in zip(triples[0::3], triples[1::3], triples[2::3]):
            n_a = np.where(existed, self._columns[n_spec.name].values[slots], 0).astype(np.float64)
            m_a = np.where(existed, self._columns[m_spec.name].values[slots], 0.0)
            q_a = np.where(existed, self._columns[q_spec.name].values[slots], 0.0)
            n_b = to_numpy(partial.column(n_spec.name), pa.float64())[0]
            m_b = to_numpy(partial.column(m_spec.name), pa.float64())[0]
            q_b = to_numpy(partial.column(q_spec.name), pa.float64())[0]
            n, mean, m2 = merge_moments((n_a, m_a, q_a), (n_b, m_b, q_b))
            ok = np.ones(len(slots), dtype=bool)
            merged[n_spec.name] = (n.astype(self._columns[n_spec.name].values.dtype), ok)
            merged[m_spec.name] = (mean, n > 0)
            merged[q_spec.name] = (m2, ok)
        merged.update(self._merge_moments4(partial, slots, existed))
        merged.update(self._merge_comoments(partial, slots, existed))
        return merged

    def _merge_moments4(self, partial: pa.Table, slots: np.ndarray, existed: np.ndarray) -> dict:
        """skewness's and kurtosis's (count, mean, M2, M3, M4), merged (``merges.merge_moments4``): five
        columns of their own, so a stddev's three (and its old checkpoints) stay as they were."""
        return self._merge_runs("moments4", 5, merge_moments4, partial, slots, existed, mean_needs_count=True)

    def _merge_comoments(self, partial: pa.Table, slots: np.ndarray, existed: np.ndarray) -> dict:
        """covar's, corr's and regr's (n, mean_a, mean_b, ck, m2a, m2b), merged (``comoments.merge_comoments``)."""
        return self._merge_runs("comoments", 6, merge_comoments, partial, slots, existed, mean_needs_count=False)

    def _merge_runs(self, rule: str, width: int, merger, partial: pa.Table, slots: np.ndarray, existed: np.ndarray,
                    *, mean_needs_count: bool) -> dict:
        """Each run of ``width`` consecutive partials merged by ``rule``, count first: the state's and the batch's
        values as doubles, merged by ``merger``; the count back in its own type. ``mean_needs_count``: the
        second value (a mean) is NULL where the count is 0."""
        merged = {}
        specs_of_rule = [p for p in self.partials if p.merge == rule]
        for specs in zip(*(specs_of_rule[i::width] for i in range(width))):
            olds = tuple(np.where(existed, self._columns[s.name].values[slots], 0).astype(np.float64) for s in specs)
            news = tuple(to_numpy(partial.column(s.name), pa.float64())[0] for s in specs)
            n, *rest = merger(olds, news)
            ok = np.ones(len(slots), dtype=bool)
            merged[specs[0].name] = (n.astype(self._columns[specs[0].name].values.dtype), ok)
            merged.update({spec.name: (value, ok) for spec, value in zip(specs[1:], rest)})
            if mean_needs_count:
                merged[specs[1].name] = (rest[0], n > 0)
        return merged
