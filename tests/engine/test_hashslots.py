"""The numpy hash table behind keyed state behaves as a dict, through growth, removals and crowded chains."""

import numpy as np
import pytest

from stream_nb.engine.hashslots import ABSENT, HashSlots

# It behaves as a dict on either path (numpy passes, compiled loops): test_hashslots_kernels.py.

def test_churn_keeps_the_table_small():
    """Keys come and go (windows opening and closing): tombstones are reclaimed, the table does not grow."""
    table = HashSlots()
    rng = np.random.default_rng(0)
    for _ in range(200):
        hashes = np.unique(rng.integers(0, 2**63, 5_000, dtype=np.uint64))
        table.put(hashes, np.arange(len(hashes)))
        assert (table.pop(hashes) >= 0).all()
    assert len(table) == 0 and table.nbytes <= 16 * 32_768


def test_many_hashes_at_once_are_added_found_and_removed_in_chunks():
    """More hashes than one pass takes at a time (``_CHUNK``): each is found with its value, and removed."""
    from stream_nb.engine import hashslots

    rng = np.random.default_rng(3)
    hashes = np.unique(rng.integers(0, 2**64 - 1, 3 * hashslots._CHUNK + 17, dtype=np.uint64))
    table = HashSlots()
    table.add(hashes, np.arange(len(hashes)))
    assert table.get(hashes).tolist() == list(range(len(hashes)))
    gone = hashes[::2]
    assert table.pop(gone).tolist() == list(range(0, len(hashes), 2))
    assert (table.get(gone) == ABSENT).all() and table.get(hashes[1::2]).tolist() == list(range(1, len(hashes), 2))


def test_load_fills_an_empty_table_with_the_last_of_each_hash_numbered_in_order():
    """Two parts (a snapshot, a delta), each hash once in each: the later part's row of a hash wins."""
    hashes = np.array([9, 4, 9, 7, 4, 1], np.uint64)
    table = HashSlots()
    kept = table.load(hashes, starts=[0, 2])
    assert kept.tolist() == [2, 3, 4, 5]  # the last 9, the 7, the last 4, the 1
    assert table.get(np.array([9, 7, 4, 1], np.uint64)).tolist() == [0, 1, 2, 3] and len(table) == 4
    with pytest.raises(ValueError, match="empty table"):
        table.load(hashes, starts=[0, 2])


def test_values_that_do_not_fit_the_table_are_refused():
    table = HashSlots()
    with pytest.raises(ValueError, match="int32"):
        table.put(np.array([1], np.uint64), np.array([2**40]))
    assert len(table) == 0
