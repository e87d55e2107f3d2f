"""The compiled loops of ``hashslots_kernels`` (imports numba: load it through that module, never at startup).

Module-level functions, so that numba's disk cache finds them again in the next process (closures it
compiles anew each time)."""

from __future__ import annotations

import numba
import numpy as np

_EMPTY, _REMOVED = np.iinfo(np.int32).min, np.iinfo(np.int32).min + 1  # as hashslots stores them
_ABSENT = np.iinfo(np.int64).min

_jit = numba.njit(cache=True, nogil=True)


@_jit
def position(table_hashes, table_values, mask, h):
    """Where hash ``h`` is, -1 if not in the table."""
    p = np.int64(h & np.uint64(mask))
    while True:
        v = table_values[p]
        if v == _EMPTY:  # an empty entry ends a probe chain
            return -1
        if v > _REMOVED and table_hashes[p] == h:
            return p
        p = (p + 1) & mask


@_jit
def find(table_hashes, table_values, mask, hashes, positions):
    for i in range(hashes.shape[0]):
        positions[i] = position(table_hashes, table_values, mask, hashes[i])


@_jit
def get(table_hashes, table_values, mask, hashes, values):
    for i in range(hashes.shape[0]):
        p = position(table_hashes, table_values, mask, hashes[i])
        values[i] = table_values[p] if p >= 0 else _ABSENT


@_jit
def insert(table_hashes, table_values, mask, hashes, values):
    """Add hashes meant to be absent and distinct; returns how many empty entries they took, and whether one
    met its own hash on its way (it was not absent, or given twice)."""
    used, repeated = 0, False
    for i in range(hashes.shape[0]):
        h = hashes[i]
        p = np.int64(h & np.uint64(mask))
        while table_values[p] > _REMOVED:  # live: look further
            repeated |= table_hashes[p] == h
            p = (p + 1) & mask
        if table_values[p] == _EMPTY:
            used += 1
        table_hashes[p] = h
        table_values[p] = values[i]
    return used, repeated


@_jit
def pop(table_hashes, table_values, mask, hashes, values, positions):
    """Remove these hashes; returns how many entries that removed."""
    # every hash found first, then removed: a hash given twice gets its value both times
    for i in range(hashes.shape[0]):
        p = position(table_hashes, table_values, mask, hashes[i])
        positions[i] = p
        values[i] = table_values[p] if p >= 0 else _ABSENT
    gone = 0
    for i in range(hashes.shape[0]):
        p = positions[i]
        if p >= 0 and table_values[p] != _REMOVED:
            table_values[p] = _REMOVED
            gone += 1
    return gone


@_jit
def live_entries(table_hashes, table_values, hashes, values):
    """The live entries' hashes and values, in table order, into ``hashes`` and ``values``; returns how many."""
    k = 0
    for p in range(table_values.shape[0]):
        if table_values[p] > _REMOVED:
            hashes[k] = table_hashes[p]
            values[k] = table_values[p]
            k += 1
    return k


@_jit
def has_repeats(hashes):
    """Whether a hash occurs twice: a throwaway open-addressing set, at most half full."""
    size = 16
    while size < 2 * hashes.shape[0]:
        size *= 2
    mask = size - 1
    seen, used = np.empty(size, np.uint64), np.zeros(size, np.bool_)
    for i in range(hashes.shape[0]):
        h = hashes[i]
        p = np.int64(h & np.uint64(mask))
        while used[p]:
            if seen[p] == h:
                return True
            p = (p + 1) & mask
        used[p] = True
        seen[p] = h
    return False


# -- string key columns (``slot_strings``): bytes in a heap, by start and length ----------------------------

@_jit
def same_bytes(heap, starts, data, offsets, lengths, same):
    """Per row: whether ``heap[starts[i]:][:lengths[i]]`` equals ``data[offsets[i]:][:lengths[i]]``."""
    for i in range(lengths.shape[0]):
        a, b = starts[i], offsets[i]
        equal = True
        for j in range(lengths[i]):
            if heap[a + j] != data[b + j]:
                equal = False
                break
        same[i] = equal


@_jit
def gather(source, starts, lengths, out, offsets):
    """Each value's bytes one after the other into ``out``; ``offsets``: where each begins (and the end)."""
    at = 0
    for i in range(lengths.shape[0]):
        offsets[i] = at
        a = starts[i]
        for j in range(lengths[i]):
            out[at + j] = source[a + j]
        at += lengths[i]
    offsets[lengths.shape[0]] = at
