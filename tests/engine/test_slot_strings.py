"""String key columns kept as bytes: values come back as they went in (nulls, empty, unicode, long, binary),
an equal value is told from a different one, and evicted values' bytes are dropped when the heap fills, on
the numpy path and the compiled one alike."""

import numpy as np
import pyarrow as pa
import pytest

from stream_nb.engine import slot_strings
from stream_nb.engine.slot_strings import StringSlotColumn, is_string

VALUES = ["", None, "a", "é", "日本語のキー", "x" * 5_000, "tab\there", "\x00nul", "🙂" * 300, "a "]


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()])
def test_values_come_back_as_written_whatever_their_bytes(kernel_path, arrow_type):
    column = StringSlotColumn(arrow_type, 16)
    slots = np.array([15, 3, 0, 7, 1, 2, 9, 4, 5, 12])
    column.set(slots, pa.array(VALUES, arrow_type))
    back = column.to_arrow(slots)
    assert back.type == arrow_type and back.to_pylist() == VALUES
    assert column.to_arrow(slots[::-1]).to_pylist() == VALUES[::-1]


def test_binary_values_come_back_as_bytes(kernel_path):
    column = StringSlotColumn(pa.binary(), 4)
    column.set(np.array([1, 0, 3]), pa.array([b"\xff\x00", None, b""], pa.binary()))
    assert column.to_arrow(np.array([0, 1, 3])).to_pylist() == [None, b"\xff\x00", b""]


def test_equal_values_match_and_others_do_not_nulls_equal_to_nulls(kernel_path):
    column = StringSlotColumn(pa.string(), 16)
    slots = np.arange(len(VALUES))
    column.set(slots, pa.array(VALUES))
    assert column.equals_at(slots, pa.array(VALUES)).all()
    others = ["a", "", "b", "e", "日本語のキイ", "x" * 4_999 + "y", "tab\there ", "\x00nuL", "🙂" * 299, "a"]
    assert not column.equals_at(slots, pa.array(others)).any()
    # the same values read from a slice of a longer chunked array (offsets not starting at 0)
    chunked = pa.chunked_array([pa.array(["pad", "pad2"] + VALUES[:4]), pa.array(VALUES[4:])])
    assert column.equals_at(slots, chunked.slice(2)).all()


def test_rewritten_and_evicted_slots_do_not_fill_the_heap(kernel_path):
    """Keys come and go (windows opening and closing): the heap keeps about what is live, and every live
    value stays intact through the copies that drop the dead ones."""
    column = StringSlotColumn(pa.string(), 1_000)
    rng = np.random.default_rng(4)
    kept = {}
    for round_ in range(300):
        slots = rng.choice(1_000, 50, replace=False)
        values = [f"key-{round_}-{i}-" + "z" * int(rng.integers(0, 40)) for i in range(50)]
        column.set(slots, pa.array(values))
        kept.update(zip(slots.tolist(), values))
        gone = rng.choice(1_000, 30, replace=False)
        column.valid[gone] = False  # as KeySlots.release evicts
        for slot in gone.tolist():
            kept.pop(slot, None)
    slots = np.array(sorted(kept))
    assert column.to_arrow(slots).to_pylist() == [kept[s] for s in slots.tolist()]
    assert column.equals_at(slots, pa.array([kept[s] for s in slots.tolist()])).all()
    live_bytes = sum(len(v) for v in kept.values())
    assert column._heap.nbytes <= 4 * live_bytes + 1024


def test_gathers_larger_than_one_pass_are_whole(kernel_path, monkeypatch):
    monkeypatch.setattr(slot_strings, "_GATHER_BYTES", 7)  # many passes, some values longer than one
    column = StringSlotColumn(pa.string(), 16)
    slots = np.arange(len(VALUES))
    column.set(slots, pa.array(VALUES))
    assert column.to_arrow(slots).to_pylist() == VALUES and column.equals_at(slots, pa.array(VALUES)).all()


def test_only_string_and_binary_types_are_kept_as_bytes():
    assert all(is_string(t) for t in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary()))
    assert not any(is_string(t) for t in (pa.int64(), pa.dictionary(pa.int32(), pa.string()), pa.string_view()))


def test_a_whole_array_compared_row_by_row_tells_equal_lengths_apart(kernel_path):
    """Every row holds bytes (no null, no empty value): the array's bytes are compared where they lie, also
    from a slice whose first value does not start the data buffer."""
    stored = ["d0001", "d0002", "日本", "🙂x", "long" * 40]
    column = StringSlotColumn(pa.string(), 8)
    slots = np.array([4, 0, 7, 2, 5])
    column.set(slots, pa.array(stored))
    asked = pa.array(["pad", "d0001", "d0003", "日本", "🙂y", "long" * 39 + "lonG"]).slice(1)
    assert column.equals_at(slots, asked).tolist() == [True, False, True, False, False]
    assert column.equals_at(slots[::-1], pa.array(stored[::-1])).all()
