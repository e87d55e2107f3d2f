"""The teaching view's per-batch record (engine/history.py): the windows a batch emitted, counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from stream_nb.engine.history import PictureSpec, emitted_windows

WINDOW = pa.struct([("start", pa.timestamp("us", tz="UTC")), ("end", pa.timestamp("us", tz="UTC"))])
SPEC = PictureSpec("ts", (10_000_000, 10_000_000, 0), "w", "n")


def _at(second: int) -> datetime:
    return datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)


def _windows(rows: list, counts: list[int]) -> pa.Table:
    return pa.table({"w": pa.array(rows, WINDOW), "n": pa.array(counts, pa.int64())})


def test_a_batch_that_emitted_nothing_has_no_windows():
    # append mode emits nothing until the watermark passes a window's end: the batch's output is empty
    # (numpy's add.reduceat raised "index 0 out-of-bounds [0, 0)" on the empty runs)
    for empty in (_windows([], []), pa.table({"w": pa.chunked_array([], WINDOW),
                                              "n": pa.chunked_array([], pa.int64())})):
        windows = emitted_windows(empty, SPEC)
        assert windows is not None and windows.num_rows == 0


def test_rows_whose_window_is_null_are_left_out():
    windows = emitted_windows(_windows([None, None], [3, 4]), SPEC)
    assert windows.num_rows == 0
    windows = emitted_windows(_windows([None, {"start": _at(0), "end": _at(10)}], [3, 4]), SPEC)
    assert windows.to_pydict()["count"] == [4]


def test_a_window_counts_the_sum_of_its_groups_counts():
    w0, w1 = {"start": _at(0), "end": _at(10)}, {"start": _at(10), "end": _at(20)}
    windows = emitted_windows(_windows([w1, w0, w1], [2, 5, 3]), SPEC).to_pydict()
    assert windows["count"] == [5, 5]
    assert windows["start"] == [int(_at(0).timestamp() * 1e6), int(_at(10).timestamp() * 1e6)]
