"""What each recent batch did, kept small, for the teaching view: the unbounded-table picture of the Spark
guide (rows in, rows late, state held, rows out, where the watermark stood), batch by batch.

The picture needs, per batch, only each row's event time and whether it was late, and the windows the batch
emitted: ``record`` keeps at most ``PICTURE_ROWS`` on-time and ``PICTURE_ROWS`` late event times (evenly
sampled when there are more, and said so) and the emitted windows' counts, so a fast source stays cheap: a
200k-row batch costs one Arrow comparison when some rows were late, a 200-row take when none were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine.watermark import late_before

SAMPLE_ROWS = 50        # rows kept of each table
STATE_LIMIT = 1_000     # a state bigger than this is not snapshotted (the view is for teaching sizes)
PICTURE_ROWS = 200      # event times kept per batch for the picture, on time and late each
WINDOW_LIMIT = 200      # windows kept per batch for the picture
EMITTED_LIMIT = 5_000   # a batch that emitted more rows than this has its emitted windows left out


@dataclass(frozen=True)
class PictureSpec:
    """Where a query's picture reads its numbers, worked out once from the plan.

    ``event_time``: the stream column the dots stand at (the watermark's, else the window's, else the first
    timestamp column); ``window``: (size, slide, offset) in µs when rows are late by their window's end (a
    session's: (gap, 1, 0)); ``window_column`` / ``count_column``: the output columns holding the window (or
    session) struct and ``count(*)``.
    """

    event_time: str | None
    window: tuple[int, int, int] | None = None
    window_column: str | None = None
    count_column: str | None = None


@dataclass(frozen=True)
class Picture:
    """One batch's rows as the picture draws them: event times in µs, in arrival order."""

    on_time: np.ndarray
    late: np.ndarray
    num_on_time: int            # before sampling
    num_late: int
    emitted: pa.Table | None = None  # the output's window (and count) columns, to find ``windows`` in
    spec: PictureSpec | None = None

    @cached_property
    def windows(self) -> pa.Table | None:
        """The windows the batch emitted: start, end (µs), count; None if not known (no window in the
        output, or more than EMITTED_LIMIT rows emitted). Found when first looked at: most batches'
        pictures are never drawn, and this costs a sort of the output's windows."""
        return None if self.emitted is None else emitted_windows(self.emitted, self.spec)

    @property
    def sampled(self) -> bool:
        return self.num_on_time > len(self.on_time) or self.num_late > len(self.late)


@dataclass(frozen=True)
class BatchTrace:
    batch_id: int
    input: pa.Table             # the first rows that came in
    num_input_rows: int
    late: pa.Table              # rows dropped as later than the watermark (first ones)
    num_late_rows: int
    state_source: Callable[[], pa.Table] | None  # gives the state after the batch (None: too big to keep)
    num_state_rows: int
    output: pa.Table            # what the batch emitted (first rows)
    num_output_rows: int
    watermark: datetime | None  # the watermark this batch ran with
    picture: Picture | None = None
    late_input: pa.Table | None = None  # the late rows as they came in (first ones), with all their columns
    num_evicted_rows: int = 0   # state rows the watermark evicted in this batch (groups emitted, join rows gone)

    @cached_property
    def state(self) -> pa.Table | None:
        """The state after the batch, as result rows: computed when first looked at, which is rare."""
        return None if self.state_source is None else self.state_source()


_FIRST_ROWS = pa.array(range(SAMPLE_ROWS), pa.int64())


def sample(table: pa.Table) -> pa.Table:
    """The first rows, copied when there are more: a slice would keep the whole batch's memory alive."""
    if table.num_rows <= SAMPLE_ROWS:
        return table
    return table.take(_FIRST_ROWS)


def picture_spec(plan) -> PictureSpec:
    """What the picture of ``plan``'s batches reads (see ``PictureSpec``)."""
    from stream_nb.sql.explain import shown_as

    if len(plan.inputs) > 1:  # the picture follows one input's event time; several inputs get none (yet)
        return PictureSpec(None)
    schema = plan.stream.source.schema
    timestamps = [f.name for f in schema if pa.types.is_timestamp(f.type)]
    agg = plan.aggregate
    window = agg.window if agg is not None else None
    column = plan.event_time.column if plan.event_time is not None else \
        window[1].column.name if window is not None else next(iter(timestamps), None)
    if column not in timestamps:
        column = None
    if agg is None or (window is None and agg.session is None):
        return PictureSpec(column)
    counts = [name for name, text in shown_as(plan).items() if text.lower() == "count(*)"]
    if agg.session is not None:  # a row is late when its own session [ts, ts + gap) has ended
        index, late = agg.session.index, (agg.session.gap_us, 1, 0) if not agg.session.dynamic else None
    else:
        index, w = window
        late = (w.size_us, w.slide_us, w.offset_us) if w.column.name == column else None
    if agg.event_time_key is None or agg.event_time_key.index != index:
        late = None
    shown = agg.key_columns[index] if index < len(agg.key_columns) else None
    return PictureSpec(column, late, shown, next(iter(counts), None))


def record(spec: PictureSpec, batch_id: int, batch: pa.Table, output, watermark_us: int,
           watermark: datetime | None, state_source, state_rows: int) -> BatchTrace:
    """The trace of a committed batch: samples of its tables and what its picture needs."""
    picture, late_input = None, None
    if spec.event_time is not None:
        column = batch.column(spec.event_time).cast(pa.int64())
        drawn = _evenly(batch.num_rows)  # the on-time rows drawn: an even sample, late ones left out
        on_time, late_times = column.take(drawn), column.slice(0, 0)
        if output.late.num_rows:  # which rows are late: one comparison in Arrow over the batch
            late = pc.fill_null(pc.less(column, late_before(watermark_us, spec.window)), False)
            late_input, late_times = sample(batch.filter(late)), column.filter(late)
            on_time = on_time.filter(pc.invert(late.take(drawn)))
        picture = Picture(_known(on_time), _spread(_known(late_times)) if len(late_times) else _NO_TIMES,
                          batch.num_rows - column.null_count - len(late_times), len(late_times),
                          _emitted(output.table, spec), spec)
    return BatchTrace(
        batch_id=batch_id, input=sample(batch), num_input_rows=batch.num_rows,
        late=sample(output.late), num_late_rows=output.late.num_rows,
        state_source=state_source, num_state_rows=state_rows, output=sample(output.table),
        num_output_rows=output.table.num_rows, watermark=watermark, picture=picture, late_input=late_input,
        num_evicted_rows=0 if output.expired is None else len(output.expired))


def emitted_windows(table: pa.Table, spec: PictureSpec) -> pa.Table | None:
    """The windows in ``table`` (a batch's output, or the state as result rows), one row each: ``start``,
    ``end`` (µs) and ``count`` (the sum of ``count(*)``, else the number of rows: groups). At most
    ``WINDOW_LIMIT`` of them, the latest."""
    if spec.window_column is None or spec.window_column not in table.column_names:
        return None
    column = table.column(spec.window_column)
    if not pa.types.is_struct(column.type) or {"start", "end"} - {f.name for f in column.type}:
        return None
    if column.null_count:
        keep = pc.is_valid(column)
        table, column = table.filter(keep), column.filter(keep)
    starts = pc.struct_field(column, "start").cast(pa.int64()).to_numpy(zero_copy_only=False)
    ends = pc.struct_field(column, "end").cast(pa.int64()).to_numpy(zero_copy_only=False)
    counted = spec.count_column is not None and spec.count_column in table.column_names
    weights = table.column(spec.count_column).cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) \
        if counted else np.ones(len(starts), np.int64)
    # sorted runs in numpy: Arrow's group_by costs a millisecond or more for a batch's few windows, and
    # np.unique(axis=0) ten times that
    order = np.lexsort((ends, starts))
    starts, ends, weights = starts[order], ends[order], weights[order]
    first = np.flatnonzero(np.r_[True, (starts[1:] != starts[:-1]) | (ends[1:] != ends[:-1])])
    counts = np.add.reduceat(weights, first) if len(starts) else weights
    first = first[:len(counts)]
    first, counts = first[-WINDOW_LIMIT:], counts[-WINDOW_LIMIT:]
    return pa.table({"start": starts[first], "end": ends[first], "count": counts.astype(np.int64)})


def _emitted(table: pa.Table, spec: PictureSpec) -> pa.Table | None:
    """The output's columns ``emitted_windows`` reads (the arrays themselves, not a copy: a batch's output
    is its own), or None when it is not to be drawn."""
    if table.num_rows > EMITTED_LIMIT or spec.window_column not in table.column_names:
        return None
    return table.select([c for c in (spec.window_column, spec.count_column) if c in table.column_names])


def _known(times) -> np.ndarray:
    """The event times that are not null, as µs (a copy: the batch may go)."""
    return np.array((times.drop_null() if times.null_count else times).to_numpy(zero_copy_only=False), dtype=np.int64)


_NO_TIMES = np.empty(0, dtype=np.int64)
_NO_TIMES.setflags(write=False)  # shared by every picture without late rows


@lru_cache(maxsize=16)  # batches mostly have a few sizes (max_per_trigger, a file's rows)
def _evenly(rows: int) -> pa.Array:
    """The positions of at most ``PICTURE_ROWS`` rows spread evenly over ``rows``."""
    if rows <= PICTURE_ROWS:
        return pa.array(np.arange(rows, dtype=np.int64))
    return pa.array(np.linspace(0, rows - 1, PICTURE_ROWS).astype(np.int64))


def _spread(times: np.ndarray) -> np.ndarray:
    """At most ``PICTURE_ROWS`` of them, evenly spaced, in arrival order (a copy: the batch may go)."""
    if len(times) <= PICTURE_ROWS:
        return np.array(times, dtype=np.int64)
    return np.array(times[np.linspace(0, len(times) - 1, PICTURE_ROWS).astype(np.int64)], dtype=np.int64)
