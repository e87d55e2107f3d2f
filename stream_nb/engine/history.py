"""What each recent batch did, kept small, for the teaching view: the unbounded-table picture of the Spark
guide (rows in, rows late, state held, rows out, where the watermark stood), batch by batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import pyarrow as pa

SAMPLE_ROWS = 50        # rows kept of each table
STATE_LIMIT = 1_000     # a state bigger than this is not snapshotted (the view is for teaching sizes)


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


    @cached_property
    def state(self) -> pa.Table | None:
        """The state after the batch, as result rows: computed when first looked at, which is rare."""
        return None if self.state_source is None else self.state_source()


def sample(table: pa.Table) -> pa.Table:
    """The first rows, copied when there are more: a slice would keep the whole batch's memory alive."""
    if table.num_rows <= SAMPLE_ROWS:
        return table
    return table.take(pa.array(range(SAMPLE_ROWS), pa.int64()))
