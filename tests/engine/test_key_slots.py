"""Where keys live: a key found again keeps its slot, a new key is only placed once claimed, a released slot
goes to the next new key, and keys whose hashes collide are still told apart by their values."""

import numpy as np
import pyarrow as pa

from stream_nb.engine.key_slots import KeySlots
from stream_nb.engine.keyhash import key_hashes


def keys(*values):
    return pa.table({"k": pa.array(list(values), pa.string())})


def place(slots, table, hashes=None):
    """Find the table's keys and claim the new ones, writing their key values as the state does."""
    found = slots.find(table, key_hashes(table, ["k"]) if hashes is None else hashes)
    new = table.take(pa.array(found.new_positions, type=pa.int64()))
    slots.claim(found)
    slots.columns[0].set(found.new_slots, new.column("k"))
    return found


def fresh():
    slots = KeySlots(["k"], capacity=8)
    slots.make_columns(keys().schema, 8)
    return slots


def test_a_key_found_again_keeps_its_slot_and_new_keys_take_fresh_ones():
    slots = fresh()
    first = place(slots, keys("a", "b"))
    again = place(slots, keys("b", "c", "a"))
    assert first.slots.tolist() == [0, 1] and not first.existed.any()
    assert again.slots.tolist() == [1, 2, 0]
    assert again.existed.tolist() == [True, False, True]
    assert slots.count == 3 and slots.rows(np.array([0, 1, 2])).column("k").to_pylist() == ["a", "b", "c"]


def test_a_key_found_but_not_claimed_is_not_in_state():
    slots = fresh()
    place(slots, keys("a"))
    slots.find(keys("b"), key_hashes(keys("b"), ["k"]))   # a batch that failed before its commit
    assert slots.count == 1 and np.flatnonzero(slots.live).tolist() == [0]
    assert place(slots, keys("b")).slots.tolist() == [1]


def test_a_released_slot_goes_to_the_next_new_key_and_its_key_is_forgotten():
    slots = fresh()
    place(slots, keys("a", "b", "c"))
    slots.release(np.array([1]))
    assert slots.count == 2 and not slots.columns[0].valid[1]
    again = place(slots, keys("d", "b"))
    assert again.slots.tolist() == [1, 3] and not again.existed.any()


def test_keys_whose_hashes_collide_are_told_apart_by_value():
    slots = fresh()
    one_hash = np.zeros(3, dtype=np.uint64)
    first = place(slots, keys("a", "b", "c"), one_hash)
    again = place(slots, keys("c", "a", "d"), np.zeros(3, dtype=np.uint64))
    assert first.slots.tolist() == [0, 1, 2]
    assert again.slots.tolist() == [2, 0, 3] and again.existed.tolist() == [True, True, False]
    slots.release(np.array([0]))
    assert place(slots, keys("a", "b"), np.zeros(2, dtype=np.uint64)).existed.tolist() == [False, True]


def test_a_table_whose_every_key_hash_is_in_state_is_still_checked_key_by_key(kernel_path):
    """All rows match a stored hash (a steady batch): a row whose value differs from the stored key under its
    hash is a new key, whatever the other columns of the table hold."""
    slots = fresh()
    hashes = np.array([11, 22, 33], dtype=np.uint64)
    place(slots, keys("d0001", "d0002", "d0003"), hashes)
    batch = keys("d0001", "d0009", "d0003").append_column("n", pa.array([1, 2, 3]))
    found = slots.find(batch, hashes)
    assert found.slots.tolist() == [0, 3, 2] and found.existed.tolist() == [True, False, True]


def test_new_keys_sharing_a_hash_are_noticed_in_crowded_chains_and_spread_ones(kernel_path):
    """Two new keys of one table with one hash must be told apart by value: the check finds such a pair
    wherever it is, and finds none where there is none."""
    from stream_nb.engine.key_slots import _repeats

    rng = np.random.default_rng(8)
    for round_ in range(30):
        crowd = np.arange(300, dtype=np.uint64) * np.uint64(1 << 20) + np.uint64(round_)  # one chain
        hashes = np.concatenate([crowd, rng.integers(0, 2**63, 300, dtype=np.uint64)])
        if round_ % 3 == 0:
            hashes[450] = hashes[int(rng.integers(0, 450))]
        assert _repeats(hashes) == (round_ % 3 == 0)
