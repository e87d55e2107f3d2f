"""The columns of keyed state give back what was written, type and nulls included, and compare a batch's values
with the stored ones as a key match needs: null equals null, NaN equals NaN."""

import datetime as dt
import decimal

import numpy as np
import pyarrow as pa
import pytest

from stream_nb.engine.slot_columns import SlotColumn, to_numpy

WINDOW = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("arrow_type", "values"), [
    (pa.int64(), [3, None, -1]),
    (pa.float64(), [1.5, None, float("inf")]),
    (pa.bool_(), [True, None, False]),
    (pa.string(), ["a", None, ""]),
    (pa.date32(), [dt.date(2024, 1, 2), None, dt.date(1969, 12, 31)]),
    (pa.timestamp("us", tz="UTC"), [T0, None, T0 + dt.timedelta(microseconds=1)]),
    (pa.decimal128(10, 2), [decimal.Decimal("1.25"), None, decimal.Decimal("-3.00")]),
    (WINDOW, [{"start": T0, "end": T0 + dt.timedelta(seconds=10)}, None,
              {"start": T0, "end": None}]),
])
def test_what_is_written_at_slots_comes_back_with_its_type_and_nulls(arrow_type, values):
    column = SlotColumn(arrow_type, capacity=2)
    column.grow(8)  # values written after a grow land in the new room
    slots = np.array([5, 0, 7])
    column.set(slots, pa.array(values, arrow_type))
    back = column.to_arrow(slots)
    assert back.type == arrow_type and back.to_pylist() == values


def test_a_struct_keeps_its_fields_as_numbers_not_python_objects():
    column = SlotColumn(WINDOW, capacity=4)
    assert [child.values.dtype for child in column.children] == [np.int64, np.int64]


def test_equal_at_a_slot_means_same_value_null_with_null_and_nan_with_nan():
    column = SlotColumn(pa.float64(), capacity=4)
    column.set(np.array([0, 1, 2, 3]), pa.array([1.0, None, float("nan"), 2.0]))
    batch = pa.array([1.0, None, float("nan"), None])
    assert column.equals_at(np.array([0, 1, 2, 3]), batch).tolist() == [True, True, True, False]


def test_a_batch_column_as_numpy_fills_its_nulls_and_says_which_they_were():
    values, valid = to_numpy(pa.chunked_array([[1, None], [3]], pa.int32()), pa.int32())
    assert values.tolist() == [1, 0, 3] and valid.tolist() == [True, False, True]
