"""Where each key of keyed state lives: its *slot*, and the key's values there (``KeySlots``).

Keys find their slots through a 64-bit hash of the key row (``keyhash``), computed a column at a time, and a
hash table from hash to slot (``hashslots``: numpy passes, or compiled loops once loaded); a match is confirmed
by comparing the key values stored at the slot, vectorised too (a string key column keeps its bytes:
``slot_strings``). No Python object is made per key on this path.
Keys whose hashes collide (about n² / 2⁶⁵ for n keys: practically never, but never wrong) are kept by their
exact Python value in a second dict, and their hash is marked ``COLLIDED``.

A key of one string column in a state of at most ``VALUE_INDEX_KEYS`` keys (``GROUP BY device``: the common
notebook query) is also found by its value, in a dict from the Python string to its slot: a batch's 1,000 keys
then cost one conversion to Python strings and a dict lookup each, where hashing them, probing the hash table
and comparing the stored bytes took a dozen numpy passes (in a batch, after the grouping has moved the caches
on: 1,000 keys 0.8 -> 0.2 ms of thread CPU). Only keys missing from it (new ones) take the hash path, which
stays the one index of every key (eviction, restore, big states): the dict is a cache beside it, dropped when
the state outgrows it and rebuilt from the key columns when it has shrunk to half of that again.

Finding is apart from claiming, so that a failing batch changes nothing: ``find`` picks the slots of new keys
(one an evicted key left behind, or a fresh one) without taking them; ``claim`` takes them once the batch is
committed; ``release`` gives evicted keys' slots back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
import pandas as pd
import pyarrow as pa

from stream_nb.engine import hashslots_kernels
from stream_nb.engine.hashslots import ABSENT, HashSlots
from stream_nb.engine.slot_columns import SlotColumn
from stream_nb.engine.slot_strings import StringSlotColumn, is_string
from stream_nb.types import hashable_keys

COLLIDED = -1  # in the hash -> slot dict: keys with this hash are kept by their exact value
# A state of one string key column finds its keys by value up to this many keys (a dict entry, a str and an int
# each: ~150 bytes a key, ~10 MB at most; the state's own arrays keep ~30 bytes a key of a short string)
VALUE_INDEX_KEYS = 1 << 16
_NONE = np.empty(0, dtype=np.int64)


@dataclass
class Found:
    """Where a table's key rows (each key once) live in the state, or will live once claimed."""

    slots: np.ndarray          # per row: its key's slot; new keys get a free or fresh one
    existed: np.ndarray        # per row: whether its key was in state
    hashes: np.ndarray         # per row: the key's hash (0 for a row found by value, unless given)
    new_positions: np.ndarray  # the rows whose keys are new...
    new_slots: np.ndarray      # ...and the slots they get
    exact: dict[int, Hashable] = field(default_factory=dict)  # row -> exact key, for rows kept by value
    collided: list[int] = field(default_factory=list)         # hashes to mark COLLIDED when claimed
    values: list | None = None  # per row: the key as Python value, when found through the value index


class KeySlots:
    """The key columns of keyed state, and the index from a key to its slot."""

    def __init__(self, key_names: Sequence[str], capacity: int):
        self.key_names = list(key_names)
        self.columns: list[SlotColumn | StringSlotColumn] = []  # one per key column, made at the first table
        self.live = np.zeros(capacity, dtype=bool)           # slot -> whether a key holds it
        self.count = 0
        self._slot_of_hash = HashSlots(capacity)             # key hash -> slot, or COLLIDED
        self._slot_of_key: dict[Hashable, int] = {}         # exact key -> slot, for keys whose hashes collide
        self._hash_at = np.zeros(capacity, dtype=np.uint64)  # slot -> key hash, to evict by slot
        self._free = np.empty(0, dtype=np.int64)  # slots evicted keys left behind, reused from the end
        self._end = 0  # slots in [0, _end) have been used
        self._by_value: dict | None = None  # key value -> slot, while the value index serves (see the docstring)
        self._by_value_fits = False  # whether the keys are one string column (known once the columns are made)

    @property
    def index_bytes(self) -> int:
        by_value = 150 * len(self._by_value) if self._by_value is not None else 0
        return self._slot_of_hash.nbytes + 100 * len(self._slot_of_key) + self._hash_at.nbytes + self.live.nbytes \
            + by_value

    @property
    def finds_by_value(self) -> bool:
        """Whether ``find`` looks keys up by value (then it hashes only the keys it does not find there)."""
        return self._by_value_fits and self.count <= VALUE_INDEX_KEYS and \
            (self._by_value is not None or self.count <= VALUE_INDEX_KEYS // 2)  # (else rebuilt only then)

    def make_columns(self, schema: pa.Schema, capacity: int) -> None:
        self.columns = [StringSlotColumn(t, capacity) if is_string(t) else SlotColumn(t, capacity)
                        for t in (schema.field(k).type for k in self.key_names)]
        self._by_value_fits = len(self.columns) == 1 and isinstance(self.columns[0], StringSlotColumn)

    def grow(self, capacity: int) -> None:
        for column in self.columns:
            column.grow(capacity)
        extra = capacity - len(self.live)
        self._hash_at = np.concatenate([self._hash_at, np.zeros(extra, dtype=np.uint64)])
        self.live = np.concatenate([self.live, np.zeros(extra, dtype=bool)])

    def rows(self, slots: np.ndarray) -> pa.Table:
        """The key columns at these slots."""
        return pa.Table.from_arrays([c.to_arrow(slots) for c in self.columns], names=self.key_names)

    def find(self, table: pa.Table, hashes: np.ndarray | Callable[[pa.Table], np.ndarray]) -> Found:
        """Each key row's slot: its own if in state, else a free or fresh one (taken later, by ``claim``).
        The table holds each key once (a batch's partial aggregates, a checkpoint's rows); the caller makes
        room for the new slots. ``hashes``: the rows' ``key_hashes``, or how to compute them for a table of
        some of its rows (called only for the rows that need them)."""
        index = self._value_index()
        if index is None:
            return self._find_hashed(table, hashes(table) if callable(hashes) else hashes)
        n = table.num_rows
        values = table.column(self.key_names[0]).to_pylist()
        slots = np.fromiter(map(index.get, values, repeat(ABSENT, n)), dtype=np.int64, count=n)
        if not n or slots.min() != ABSENT:  # every key in state (a steady batch): no hash needed
            return Found(slots, np.ones(n, dtype=bool), np.zeros(n, np.uint64) if callable(hashes) else hashes,
                         _NONE, _NONE, values=values)
        missing = np.flatnonzero(slots == ABSENT)  # new keys: the hash path places them (collisions and all)
        rows = table.select(self.key_names).take(pa.array(missing))
        found = self._find_hashed(rows, hashes(rows) if callable(hashes) else hashes[missing])
        slots[missing] = found.slots
        existed = np.ones(n, dtype=bool)
        existed[missing] = found.existed
        if callable(hashes):
            hashes = np.zeros(n, dtype=np.uint64)
            hashes[missing] = found.hashes
        exact = {int(missing[row]): key for row, key in found.exact.items()}
        return Found(slots, existed, hashes, missing[found.new_positions], found.new_slots, exact, found.collided,
                     values)

    def _value_index(self) -> dict | None:
        """The value index, rebuilt from the key columns if it was dropped and the state is small again."""
        if self._by_value is None and self._by_value_fits and self.count <= VALUE_INDEX_KEYS // 2:
            live = np.flatnonzero(self.live)
            self._by_value = dict(zip(self.columns[0].to_arrow(live).to_pylist(), live.tolist()))
        return self._by_value if self.count <= VALUE_INDEX_KEYS else None

    def _find_hashed(self, table: pa.Table, hashes: np.ndarray) -> Found:
        """``find`` through the keys' hashes alone."""
        n = table.num_rows
        if len(self._slot_of_hash):
            found = self._slot_of_hash.get(hashes)
        else:  # an empty state (a first batch, a restore): every key is new
            found = np.full(n, ABSENT, dtype=np.int64)
        by_value = found == COLLIDED
        collided: list[int] = []
        hits = np.flatnonzero(found >= 0)
        if len(hits):  # a hash match is a key match only if the stored key is equal
            other = hits[~self._same_keys(table, hits, found[hits])]
            by_value[other] = True
            collided += hashes[other].tolist()
        absent = np.flatnonzero(found == ABSENT)
        if _repeats(hashes[absent]):  # two new keys of this table with one hash
            distinct, inverse, counts = np.unique(hashes[absent], return_inverse=True, return_counts=True)
            by_value[absent[counts[inverse] > 1]] = True
            collided += distinct[counts > 1].tolist()
        exact: dict[int, Hashable] = {}
        if by_value.any():
            rows = np.flatnonzero(by_value)
            keys = hashable_keys(table.take(pa.array(rows)), self.key_names)
            for row, key in zip(rows.tolist(), keys):
                exact[row] = key
                found[row] = self._slot_of_key.get(key, ABSENT)
        new = np.flatnonzero(found < 0)
        reused = min(len(self._free), len(new))
        new_slots = np.concatenate([self._free[len(self._free) - reused:],
                                    np.arange(self._end, self._end + len(new) - reused, dtype=np.int64)])
        found[new] = new_slots
        existed = np.ones(n, dtype=bool)
        existed[new] = False
        return Found(found, existed, hashes, new, new_slots, exact, collided)

    def claim(self, found: Found) -> None:
        """Give new keys the slots ``find`` chose for them."""
        slots = found.new_slots
        if not len(slots):
            return
        reused = int((slots < self._end).sum())  # free slots come from the end of the free list
        self._free = self._free[:len(self._free) - reused]
        self._end = max(self._end, int(slots.max()) + 1)
        self.live[slots] = True
        self.count += len(slots)
        self._hash_at[slots] = found.hashes[found.new_positions]
        if found.collided:  # the keys already under these hashes are kept by their value from now on
            collided = np.unique(np.array(found.collided, dtype=np.uint64))
            current = self._slot_of_hash.get(collided)
            moved = current[current >= 0]
            self._slot_of_key.update(zip(hashable_keys(self.rows(moved), self.key_names), moved.tolist()))
            self._slot_of_hash.put(collided, np.full(len(collided), COLLIDED))
        by_hash = np.ones(len(slots), dtype=bool)
        if found.exact:
            for index, position in enumerate(found.new_positions.tolist()):
                if position in found.exact:
                    self._slot_of_key[found.exact[position]] = int(slots[index])
                    by_hash[index] = False
        self._slot_of_hash.add(found.hashes[found.new_positions][by_hash], slots[by_hash])
        if self._by_value is not None:
            if found.values is None or self.count > VALUE_INDEX_KEYS:  # (found without it: rebuilt when next asked)
                self._by_value = None
            else:
                self._by_value.update(zip(map(found.values.__getitem__, found.new_positions.tolist()),
                                          slots.tolist()))

    def load(self, hashes: np.ndarray, starts: Sequence[int] = (0,)) -> np.ndarray | None:
        """Index the keys of an empty state in bulk (``HashSlots.load``; ``starts``: where each table of
        distinct keys begins): the last row of each hash gets slot 0, 1, ... in row order. Returns those rows
        (None if one table has two keys of one hash: this index is then unusable); ``take_loaded`` then claims
        their slots once the state has made room. Rows dropped as earlier ones of a hash must be checked to
        hold its key (``same_keys``)."""
        self._by_value = None  # rebuilt from the key columns when next asked
        return self._slot_of_hash.load(hashes, starts)

    def take_loaded(self, hashes: np.ndarray) -> None:
        """Claim slots 0 .. len(hashes) - 1 for the keys ``load`` indexed (``hashes``: theirs, in slot order)."""
        count = len(hashes)
        self.live[:count] = True
        self._hash_at[:count] = hashes
        self.count = self._end = count

    def release(self, slots: np.ndarray) -> None:
        """Forget the keys at these slots: new keys reuse the slots."""
        if self._by_value is not None:
            for key in self.columns[0].to_arrow(slots).to_pylist():
                self._by_value.pop(key, None)
        hashes = self._hash_at[slots]
        popped = self._slot_of_hash.pop(hashes)
        direct = popped == slots
        if not direct.all():  # keys kept by their exact value: their hash stays COLLIDED
            collided = np.unique(hashes[popped == COLLIDED])
            self._slot_of_hash.put(collided, np.full(len(collided), COLLIDED))
            for key in hashable_keys(self.rows(slots[~direct]), self.key_names):
                del self._slot_of_key[key]
        self.live[slots] = False
        self.count -= len(slots)
        for column in self.columns:
            column.valid[slots] = False
        self._free = np.concatenate([self._free, slots])

    def slots_of(self, hashes: np.ndarray) -> np.ndarray:
        """The slot each hash's key holds (``ABSENT`` for a hash not in state; ``COLLIDED``: kept by value)."""
        return self._slot_of_hash.get(hashes)

    def same_keys(self, table: pa.Table, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Per row of ``rows``: whether its key equals the key stored at its slot."""
        return self._same_keys(table, rows, slots)

    def _same_keys(self, table: pa.Table, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        # every row in order (a batch whose keys are all in state): the key columns as they are, no copy
        everything = len(rows) == table.num_rows and np.array_equal(rows, np.arange(len(rows)))
        taken = table if everything else table.select(self.key_names).take(pa.array(rows))
        same = np.ones(len(rows), dtype=bool)
        for column, name in zip(self.columns, self.key_names):
            same &= column.equals_at(slots, taken.column(name))
        return same


def _repeats(hashes: np.ndarray) -> bool:
    """Whether a hash occurs twice (a compiled set once loaded: 20,000 hashes 0.05 ms; pandas' 0.2 ms)."""
    kernels = hashslots_kernels.ready(len(hashes))
    if kernels is not None:
        return bool(kernels.has_repeats(np.ascontiguousarray(hashes, dtype=np.uint64)))
    return len(pd.unique(hashes)) < len(hashes)
