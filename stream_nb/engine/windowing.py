"""Window assignment for aggregations, in Arrow and numpy: each row's event time becomes the start of its
window; the ``{start, end}`` struct is built once per group, after the batch is aggregated, not per row.

The same arithmetic as Spark (and as ``sql/windows.py`` writes in SQL for stateless queries): windows are
aligned to the epoch plus ``offset``; a sliding window repeats a row once per window that contains it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.sql.windows import WindowSpec
from stream_nb.types import TIMESTAMP

WINDOW = pa.struct([pa.field("start", TIMESTAMP), pa.field("end", TIMESTAMP)])


def window_starts(table: pa.Table, column: str, spec: WindowSpec) -> pa.Table:
    """Replace the event times in ``column`` by the starts of their windows (one row per window when
    sliding); rows with no event time are dropped, as Spark's ``window()`` drops them.

    >>> from stream_nb.sql.windows import WindowSpec
    >>> t = pa.table({"ts": pa.array([12_000_000, -1], TIMESTAMP)})
    >>> spec = WindowSpec(column=None, size_us=10_000_000, slide_us=5_000_000, offset_us=0)
    >>> [s.second for s in window_starts(t, "ts", spec).column("ts").to_pylist()]
    [10, 5, 55, 50]
    """
    times = table.column(column).combine_chunks()
    if times.null_count:  # as Spark's window(): a row without an event time is in no window
        table = table.filter(times.is_valid())
        times = table.column(column).combine_chunks()
    us = times.cast(pa.int64()).to_numpy(zero_copy_only=False)
    # numpy's // floors, so times before the epoch (or the offset) fall in the window that holds them
    if spec.offset_us:
        last_start = (us - spec.offset_us) // spec.slide_us * spec.slide_us + spec.offset_us
    else:  # two passes over the rows less (numpy's % is slower than //, so not us - us % slide)
        last_start = us // spec.slide_us
        last_start *= spec.slide_us  # in place: no second array
    if spec.sliding:
        rows = np.repeat(np.arange(len(us)), spec.copies)
        starts = last_start[rows] - np.tile(np.arange(spec.copies), len(us)) * spec.slide_us
        keep = starts + spec.size_us > us[rows]
        rows, starts = rows[keep], starts[keep]
        table = table.take(pa.array(rows))
    else:
        starts = last_start
    return table.set_column(table.schema.get_field_index(column), column, pa.array(starts, TIMESTAMP))


def windows(starts: pa.Array | pa.ChunkedArray, size_us: int) -> pa.Array:
    """The ``{start, end}`` windows that start at ``starts`` (nulls stay null).

    >>> windows(pa.array([10_000_000], TIMESTAMP), 10_000_000).to_pylist()[0]["end"].second
    20
    """
    starts = starts.combine_chunks() if isinstance(starts, pa.ChunkedArray) else starts
    ends = pc.add(starts.cast(pa.int64()), size_us).cast(TIMESTAMP)
    mask = starts.is_null() if starts.null_count else None
    return pa.StructArray.from_arrays([starts.cast(TIMESTAMP), ends], fields=list(WINDOW), mask=mask)
