"""Window assignment for aggregations, in Arrow: the event-time column becomes the window ``{start, end}``.

The same arithmetic as Spark (and as ``sql/windows.py`` writes in SQL for stateless queries): windows are
aligned to the epoch plus ``offset``; a sliding window repeats a row once per window that contains it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stream_nb.sql.windows import WindowSpec
from stream_nb.types import TIMESTAMP

WINDOW = pa.struct([pa.field("start", TIMESTAMP), pa.field("end", TIMESTAMP)])


def assign_windows(table: pa.Table, column: str, spec: WindowSpec) -> pa.Table:
    """Replace the event times in ``column`` by their windows (one row per window when sliding); rows with
    no event time are dropped, as Spark's ``window()`` drops them.

    >>> from stream_nb.sql.windows import WindowSpec
    >>> t = pa.table({"ts": pa.array([12_000_000], TIMESTAMP)})
    >>> spec = WindowSpec(column=None, size_us=10_000_000, slide_us=5_000_000, offset_us=0)
    >>> [(w["start"].second, w["end"].second) for w in assign_windows(t, "ts", spec).column("ts").to_pylist()]
    [(10, 20), (5, 15)]
    """
    times = table.column(column).combine_chunks()
    if times.null_count:  # as Spark's window(): a row without an event time is in no window
        table = table.filter(times.is_valid())
        times = table.column(column).combine_chunks()
    valid = times.is_valid().to_numpy(zero_copy_only=False)
    us = times.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    last_start = us - ((us - spec.offset_us) % spec.slide_us + spec.slide_us) % spec.slide_us
    if spec.sliding:
        rows = np.repeat(np.arange(len(us)), spec.copies)
        nth = np.tile(np.arange(spec.copies), len(us))
        starts = last_start[rows] - nth * spec.slide_us
        keep = starts + spec.size_us > us[rows]
        rows, starts = rows[keep], starts[keep]
        table, valid = table.take(pa.array(rows)), valid[rows]
    else:
        starts = last_start
    window = pa.StructArray.from_arrays(
        [pa.array(starts, TIMESTAMP), pa.array(starts + spec.size_us, TIMESTAMP)],
        fields=list(WINDOW), mask=pa.array(~valid))
    return table.set_column(table.schema.get_field_index(column), column, window)
