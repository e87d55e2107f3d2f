"""Key hashes: equal keys hash alike, as Spark groups them; different keys almost never do."""

import numpy as np
import pyarrow as pa

from stream_nb.engine.keyhash import key_hashes


def hashes(*columns):
    table = pa.table({f"c{i}": column for i, column in enumerate(columns)})
    return key_hashes(table, table.column_names).tolist()


def test_nulls_equal_each_other_and_differ_from_values():
    h = hashes(pa.array([None, None, "0", ""], pa.string()))
    assert h[0] == h[1] and len({h[1], h[2], h[3]}) == 3


def test_minus_zero_equals_zero_and_nan_equals_nan():
    h = hashes(pa.array([0.0, -0.0, float("nan"), -float("nan"), 1.0]))
    assert h[0] == h[1] and h[2] == h[3] and len({h[0], h[2], h[4]}) == 3


def test_a_null_window_differs_from_a_window_of_nulls():
    window = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
    h = hashes(pa.array([None, {"start": None, "end": None}, {"start": 0, "end": 10}, {"start": 0, "end": 10}],
                        window))
    assert h[2] == h[3] and len({h[0], h[1], h[2]}) == 3


def test_the_same_values_hash_alike_however_they_are_stored():
    plain = pa.array(["x", "y", None, "x"])
    assert hashes(plain) == hashes(plain.dictionary_encode()) == hashes(pa.chunked_array([plain[:1], plain[1:]]))
    assert hashes(pa.array([1, 2], pa.int32())) == hashes(pa.array([1, 2], pa.int64()))


def test_columns_are_ordered_and_dates_lists_and_decimals_hash():
    a, b = pa.array(["p", "q"]), pa.array(["q", "p"])
    h = hashes(a, b)
    assert h[0] != h[1]
    import datetime
    import decimal
    dates = pa.array([datetime.date(2024, 1, 1), datetime.date(2024, 1, 1)])
    lists = pa.array([[1, 2], [1, 2]])
    decimals = pa.array([decimal.Decimal("1.5"), decimal.Decimal("1.5")])
    intervals = pa.array([pa.MonthDayNano([1, 2, 3]), pa.MonthDayNano([1, 2, 3])])
    for column in (dates, lists, decimals, intervals):
        first, second = hashes(column)
        assert first == second


def test_a_million_distinct_keys_have_distinct_hashes():
    h = key_hashes(pa.table({"k": pa.array(np.arange(1_000_000))}), ["k"])
    assert len(np.unique(h)) == 1_000_000


def test_a_long_column_hashes_each_value_as_a_short_one_whether_its_values_repeat_or_not():
    # a partial aggregate's keys: each device once per window (first rows all distinct, the column not);
    # and a column of distinct values: two ways of hashing, one hash per value
    repeating = pa.array([f"d{i % 1000:04d}" for i in range(20_000)])
    in_turn = pa.array([f"d{i % 5000:04d}" for i in range(20_000)])  # every sample spread evenly differs
    distinct = pa.array([f"key {i}" for i in range(20_000)])
    for column in (repeating, in_turn, distinct):
        whole = hashes(column)
        pieces = [h for start in range(0, 20_000, 1_000) for h in hashes(column.slice(start, 1_000))]
        assert whole == pieces


def test_rows_said_to_be_distinct_hash_as_any_other_rows():
    # a grouping's output (each key once) skips encoding its one string column: the same hashes
    one = pa.table({"k": pa.array([f"d{i:04d}" for i in range(1_000)] + [None])})
    window = pa.struct([("start", pa.int64()), ("end", pa.int64())])
    two = pa.table({"w": pa.array([{"start": i % 3, "end": i % 3 + 1} for i in range(300)], window),
                    "k": pa.array([f"d{i // 3}" for i in range(300)])})
    for table in (one, two, one.slice(500), pa.table({"k": one.column("k").dictionary_encode()})):
        assert key_hashes(table, table.column_names, distinct_rows=True).tolist() == \
            key_hashes(table, table.column_names).tolist()
