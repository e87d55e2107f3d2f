"""Where keys live: a key found again keeps its slot, a new key is only placed once claimed, a released slot
goes to the next new key, and keys whose hashes collide are still told apart by their values; all of it alike
whether a string key is found through its hash or through the value index."""

import numpy as np
import pyarrow as pa
import pytest

from stream_nb.engine import key_slots
from stream_nb.engine.key_slots import KeySlots
from stream_nb.engine.keyhash import key_hashes


@pytest.fixture(params=["by value", "by hash"], autouse=True)
def index_path(request, monkeypatch):
    """Every test here runs with one string key column found through the value index, and without it."""
    if request.param == "by hash":
        monkeypatch.setattr(key_slots, "VALUE_INDEX_KEYS", -1)
    return request.param


def keys(*values):
    return pa.table({"k": pa.array(list(values), pa.string())})


def place(slots, table, hashes=None):
    """Find the table's keys and claim the new ones, writing their key values as the state does."""
    found = slots.find(table, key_hashes(table, ["k"]) if hashes is None else hashes)
    new = table.take(pa.array(found.new_positions, type=pa.int64()))
    slots.claim(found)
    slots.columns[0].set(found.new_slots, new.column("k"))
    return found


def fresh(capacity=8):
    slots = KeySlots(["k"], capacity=capacity)
    slots.make_columns(keys().schema, capacity)
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


def test_keys_found_by_value_hash_only_the_new_ones(index_path):
    """With the value index, a key in state needs no hash: only the rows it does not hold are hashed."""
    slots = fresh()
    place(slots, keys("a", "b", "c"))
    asked = []

    def hashes(table):
        asked.append(table.column("k").to_pylist())
        return key_hashes(table, ["k"])

    found = slots.find(keys("b", "d", "a", "e"), hashes)
    assert found.slots.tolist() == [1, 3, 0, 4] and found.existed.tolist() == [True, False, True, False]
    assert found.new_positions.tolist() == [1, 3] and found.new_slots.tolist() == [3, 4]
    assert asked == ([["d", "e"]] if index_path == "by value" else [["b", "d", "a", "e"]])
    asked.clear()
    assert slots.find(keys("c", "a"), hashes).slots.tolist() == [2, 0]
    assert asked == ([] if index_path == "by value" else [["c", "a"]])


def test_the_value_index_is_dropped_past_its_limit_and_rebuilt_when_the_state_is_half_as_big(monkeypatch):
    monkeypatch.setattr(key_slots, "VALUE_INDEX_KEYS", 4)
    slots = fresh()
    place(slots, keys("a", "b", "c"))
    assert slots.finds_by_value
    place(slots, keys("d", "e"))  # 5 keys: past the limit, found by hash from now on
    assert not slots.finds_by_value and slots.index_bytes < fresh().index_bytes + 150 * 5
    assert place(slots, keys("e", "a", "f")).slots.tolist() == [4, 0, 5]
    slots.release(np.array([0, 5]))  # a, f gone: 4 keys, within the limit but not rebuilt before half of it
    assert not slots.finds_by_value
    slots.release(np.array([1, 2]))  # b, c gone: 2 keys, half the limit
    assert slots.finds_by_value
    again = place(slots, keys("d", "a", "e", None))
    assert again.existed.tolist() == [True, False, True, False] and again.slots.tolist()[0::2] == [3, 4]
    assert slots.rows(np.flatnonzero(slots.live)).column("k").to_pylist().count("a") == 1


def test_both_paths_place_the_same_keys_in_the_same_slots(monkeypatch):
    """A run of finds, claims and releases over awkward strings (null, empty, unicode, a NUL, long ones), some
    of them under one hash: the value index changes no slot, no new key, and no new key's exact-key bookkeeping."""
    values = [None, "", "a", "é", "e\u0301", "日本", "x" * 500, "a\x00", "A"] + [f"k{i}" for i in range(40)]

    def run():
        rng = np.random.default_rng(5)
        slots, seen = fresh(64), []
        for _ in range(60):
            batch = keys(*rng.permutation(np.array(values, dtype=object))[:int(rng.integers(1, 20))].tolist())
            hashes = key_hashes(batch, ["k"]) % np.uint64(7)  # many collisions
            found = place(slots, batch, hashes)
            new = found.new_positions.tolist()  # (a key in state is found either way: how is not kept)
            seen.append((found.slots.tolist(), found.existed.tolist(), new, found.new_slots.tolist(),
                         sorted(set(found.exact) & set(new)), sorted(found.collided)))
            live = np.flatnonzero(slots.live)
            if len(live) > 10:
                slots.release(rng.choice(live, 5, replace=False))
        return seen

    by_value = run()
    monkeypatch.setattr(key_slots, "VALUE_INDEX_KEYS", -1)
    assert run() == by_value


def test_a_restored_state_finds_its_keys_as_the_state_it_was_exported_from():
    """A restore (in one pass, or table by table) leaves the value index to be rebuilt from the key columns:
    the next batch finds the same keys in the same slots as the state that was saved."""
    from stream_nb.engine.state import KeyedState
    from stream_nb.sql.aggregates import Partial

    partials = [Partial("n", "count_all", None, "add")]

    def batch(*values):
        return pa.table({"k": pa.array(list(values), pa.string()), "n": pa.array([1] * len(values))})

    state = KeyedState(["k"], partials, capacity=4)
    for values in (("a", "b", None), ("c", "a", ""), ("d", "e", "b")):
        state.apply(state.prepare(batch(*values)))
    saved = state.export(state.all_slots())
    in_one_pass, by_table = KeyedState(["k"], partials), KeyedState(["k"], partials)
    assert in_one_pass.load_all([saved], [None])
    by_table.load(saved)
    after = batch("e", "f", None, "a", "")
    expected = state.prepare(after)
    state.apply(expected)
    for restored in (in_one_pass, by_table):
        update = restored.prepare(after)
        assert update.slots.tolist() == expected.slots.tolist()
        assert update.existed.tolist() == expected.existed.tolist() == [True, False, True, True, True]
        restored.apply(update)
        assert restored.rows(restored.all_slots()).to_pylist() == state.rows(state.all_slots()).to_pylist()
