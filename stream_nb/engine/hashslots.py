"""A hash table from 64-bit key hashes to slots, in numpy: a batch of keys is looked up, inserted or removed
with a few vectorised passes instead of a Python dict operation per key, or, once numba has loaded (a batch of
10,000 keys starts loading it), one compiled pass (``hashslots_kernels``: the same table and results).

Open addressing with linear probing over two arrays (hashes, values); a removed entry leaves a tombstone so
that probe chains stay intact, and the table is rebuilt (dropping tombstones, growing when needed) once live
entries and tombstones fill half of it. Values are non-negative slots or any other int64 the caller chooses
(the state marks collided hashes with -1) that fits in an int32, but for the two reserved for empty and
removed entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from stream_nb.engine import hashslots_kernels

ABSENT = np.iinfo(np.int64).min  # what ``get`` and ``pop`` give for a hash not in the table
# Values are stored as int32 (a slot; memory per key of state is what this table costs most of): 12 bytes an
# entry, 16 with the numpy path's scratch array, not 24.
_VALUE = np.int32
_EMPTY = np.iinfo(_VALUE).min
_REMOVED = np.iinfo(_VALUE).min + 1
# Hashes are looked up and inserted this many at a time: the entries one chunk touches stay in the CPU's cache
# across the passes over them (5 M inserts at once: 1.0 s; in chunks of 65,536: 0.4 s).
_CHUNK = 1 << 16


class HashSlots:
    """uint64 hash -> int64 value.

    >>> table = HashSlots()
    >>> table.put(np.array([7, 9], np.uint64), np.array([0, 1]))
    >>> table.get(np.array([9, 8], np.uint64)).tolist() == [1, ABSENT]
    True
    >>> table.pop(np.array([7], np.uint64)).tolist(), len(table)
    ([0], 1)
    """

    def __init__(self, capacity: int = 1024):
        self._loading = False  # in ``load``: compiled kernels are used if loaded, not loaded for it
        self._allocate(max(16, 1 << (max(capacity, 1) - 1).bit_length()))

    def __len__(self) -> int:
        return self._live

    @property
    def nbytes(self) -> int:
        scratch = self._claims.nbytes if self._claims is not None else 0
        return self._hashes.nbytes + self._values.nbytes + scratch

    def get(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's value, ``ABSENT`` where it is not in the table."""
        kernels = hashslots_kernels.ready(len(hashes), not self._loading)
        if kernels is not None:
            values = np.empty(len(hashes), dtype=np.int64)
            kernels.get(self._hashes, self._values, int(self._mask), _plain(hashes), values)
            return values
        positions = self._find(hashes)
        found = positions >= 0
        values = np.full(len(hashes), ABSENT, dtype=np.int64)
        values[found] = self._values[positions[found]]
        return values

    def put(self, hashes: np.ndarray, values: np.ndarray) -> None:
        """Set each hash's value, adding the hashes not in the table (``hashes`` distinct)."""
        hashes, values = np.asarray(hashes, np.uint64), _stored(values)
        positions = self._find(hashes)
        found = positions >= 0
        self._values[positions[found]] = values[found]
        if not found.all():
            self.add(hashes[~found], values[~found])

    def add(self, hashes: np.ndarray, values: np.ndarray) -> None:
        """Add hashes known to be distinct and not in the table (no lookup first)."""
        if len(hashes):
            self._reserve(len(hashes))
            self._insert(np.asarray(hashes, np.uint64), _stored(values))

    def load(self, hashes: np.ndarray, starts: Sequence[int] = (0,)) -> np.ndarray:
        """Fill an empty table from ``hashes``, parts that each hold a hash at most once (beginning at
        ``starts``), where a later part may repeat an earlier one's: each distinct hash is added once, for its
        last occurrence, and valued by that occurrence's rank among the kept ones (0, 1, ...: the slots of a
        restored state). Returns the kept positions of ``hashes``, ascending; None, the table then unusable,
        if a part holds a hash twice (two keys of one table with one hash: they need telling apart by value).

        The parts go in last to first, each looked up only against those after it.

        >>> table = HashSlots()
        >>> table.load(np.array([9, 4, 9, 7, 4, 1], np.uint64), starts=[0, 2]).tolist()
        [2, 3, 4, 5]
        >>> table.get(np.array([9, 7, 4, 1], np.uint64)).tolist()
        [0, 1, 2, 3]
        """
        if self._live or self._used:
            raise ValueError("HashSlots.load fills an empty table")
        hashes = np.asarray(hashes, np.uint64)
        self._loading = True
        try:
            return self._load(hashes, starts)
        finally:
            self._loading = False

    def _load(self, hashes: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        self._reserve(len(hashes))  # one allocation, for every row (each key once: the size they need)
        kept = np.ones(len(hashes), dtype=bool)
        bounds = [*starts, len(hashes)]
        for start, end in reversed(list(pairwise(bounds))):
            new = np.arange(start, end)
            if self._live:  # a hash a later part has is an older version of that key
                seen = self._find(hashes[start:end]) >= 0
                kept[start:end] = ~seen
                new = new[~seen]
            if self._insert(hashes[new], _stored(new), check=True):  # valued by row for now
                return None
        rows = np.flatnonzero(kept)
        if len(rows) < len(hashes):  # rows to ranks among the kept
            rank = (np.cumsum(kept) - 1).astype(_VALUE)
            live = np.flatnonzero(self._values > _REMOVED)
            self._values[live] = rank[self._values[live]]
        return rows

    def pop(self, hashes: np.ndarray) -> np.ndarray:
        """Remove these hashes; their values, ``ABSENT`` for a hash that was not there. A hash given
        twice is removed once, and both get its value."""
        kernels = hashslots_kernels.ready(len(hashes), not self._loading)
        if kernels is not None:
            values, positions = np.empty(len(hashes), dtype=np.int64), np.empty(len(hashes), dtype=np.int64)
            self._live -= kernels.pop(self._hashes, self._values, int(self._mask), _plain(hashes), values, positions)
            return values
        positions = self._find(hashes)
        found = positions >= 0
        values = np.full(len(hashes), ABSENT, dtype=np.int64)
        values[found] = self._values[positions[found]]
        removed = positions[found]
        self._values[removed] = _REMOVED
        self._live -= self._distinct_count(removed)
        return values

    # -- internals -------------------------------------------------------------------------------------

    def _allocate(self, capacity: int) -> None:
        self._mask = np.uint64(capacity - 1)
        self._hashes = np.zeros(capacity, dtype=np.uint64)
        self._values = np.full(capacity, _EMPTY, dtype=_VALUE)
        # scratch of the numpy path: which insert takes a contested entry (made when first needed: a table
        # the compiled kernels serve never needs it, 4 bytes an entry)
        self._claims: np.ndarray | None = None
        self._live = 0
        self._used = 0  # live entries and tombstones

    def _scratch(self) -> np.ndarray:
        if self._claims is None:
            self._claims = np.zeros(len(self._hashes), dtype=np.int32)
        return self._claims

    def _distinct_count(self, positions: np.ndarray) -> int:
        """How many distinct positions there are, without sorting: each writes its index to the scratch
        array, and of several writing one entry, exactly one reads its own index back."""
        order = np.arange(len(positions), dtype=np.int32)
        claims = self._scratch()
        claims[positions] = order
        return int((claims[positions] == order).sum())

    def _find(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's position in the arrays, -1 where it is not in the table."""
        hashes = np.asarray(hashes, np.uint64)
        kernels = hashslots_kernels.ready(len(hashes), not self._loading)
        if kernels is not None:
            positions = np.empty(len(hashes), dtype=np.int64)
            kernels.find(self._hashes, self._values, int(self._mask), _plain(hashes), positions)
            return positions
        if len(hashes) > _CHUNK:
            return np.concatenate([self._find(hashes[i:i + _CHUNK]) for i in range(0, len(hashes), _CHUNK)])
        result = np.full(len(hashes), -1, dtype=np.int64)
        rows = np.arange(len(hashes))
        probe = (hashes & self._mask).astype(np.int64)
        mask = int(self._mask)
        while len(rows):  # each pass looks one entry further along the chains still open
            values = self._values[probe]
            hit = (values > _REMOVED) & (self._hashes[probe] == hashes)  # live: above the two reserved values
            result[rows[hit]] = probe[hit]
            going = ~hit & (values != _EMPTY)  # an empty entry ends a probe chain
            rows, hashes, probe = rows[going], hashes[going], (probe[going] + 1) & mask
        return result

    def _insert(self, hashes: np.ndarray, values: np.ndarray, check: bool = False) -> bool:
        """Add hashes meant to be absent and distinct: each takes the first free entry of its chain. With
        ``check`` (the compiled path always checks), returns whether one was not: it met its own hash."""
        kernels = hashslots_kernels.ready(len(hashes), not self._loading)
        if kernels is not None:
            used, repeated = kernels.insert(self._hashes, self._values, int(self._mask), _plain(hashes),
                                            np.ascontiguousarray(values, dtype=_VALUE))
            self._used += used
            self._live += len(hashes)
            return bool(repeated)
        if len(hashes) > _CHUNK:
            repeated = False
            for i in range(0, len(hashes), _CHUNK):  # every chunk, whatever an earlier one found
                repeated |= self._insert(hashes[i:i + _CHUNK], values[i:i + _CHUNK], check)
            return repeated
        count, repeated = len(hashes), False
        probe = (hashes & self._mask).astype(np.int64)
        mask = int(self._mask)
        while len(hashes):
            at = self._values[probe]
            free = np.flatnonzero(at <= _REMOVED)  # empty or removed
            if check:  # a live entry on the way holding this very hash
                busy = at > _REMOVED
                repeated |= bool((self._hashes[probe[busy]] == hashes[busy]).any())
            spots = probe[free]
            # several hashes may reach one free entry in this pass: each writes its claim, one claim stays
            claims = self._scratch()
            claims[spots] = free
            won = free[claims[spots] == free]
            taken = probe[won]
            self._used += int((self._values[taken] == _EMPTY).sum())
            self._hashes[taken], self._values[taken] = hashes[won], values[won]
            if check and len(won) < len(free):  # lost an entry to this very hash
                lost = free[claims[spots] != free]
                repeated |= bool((self._hashes[probe[lost]] == hashes[lost]).any())
            left = np.ones(len(hashes), dtype=bool)
            left[won] = False
            hashes, values, probe = hashes[left], values[left], (probe[left] + 1) & mask
        self._live += count
        return repeated

    def _reserve(self, more: int) -> None:
        """Rebuild when live entries, tombstones and ``more`` would fill over half the table."""
        capacity = len(self._hashes)
        if 2 * (self._used + more) <= capacity:
            return
        kernels = hashslots_kernels.ready(capacity, not self._loading)
        if kernels is not None:  # one pass, where a mask and two copies take three (131,072 entries: 0.7 ms)
            hashes, values = np.empty(self._live, dtype=np.uint64), np.empty(self._live, dtype=_VALUE)
            count = kernels.live_entries(self._hashes, self._values, hashes, values)
            hashes, values = hashes[:count], values[:count]
        else:
            live = self._values > _REMOVED
            hashes, values = self._hashes[live], self._values[live]
        while 8 * (len(hashes) + more) > 3 * capacity:  # at most 3/8 full: room to grow before the next rebuild
            capacity *= 2
        if capacity == len(self._hashes):  # only tombstones to clear: reuse the arrays (fresh ones fault in)
            self._values.fill(_EMPTY)
            self._live = self._used = 0
        else:
            self._allocate(capacity)
        self._insert(hashes, values)
        self._used = self._live


def _stored(values) -> np.ndarray:
    """Values as the table keeps them (int32), refusing what would not fit or would read as a reserved one."""
    values = np.asarray(values, np.int64)
    if len(values) and (values.min() <= _REMOVED or values.max() > np.iinfo(_VALUE).max):
        raise ValueError(f"HashSlots values must be int32 above {_REMOVED}: got {values.min()}..{values.max()}")
    return values.astype(_VALUE)


def _plain(hashes) -> np.ndarray:
    """Hashes as the kernels' one signature takes them: contiguous uint64."""
    return np.ascontiguousarray(hashes, dtype=np.uint64)
