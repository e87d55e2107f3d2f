"""What each recent batch did, kept small, for the teaching view: the unbounded-table picture of the Spark
guide (rows in, rows late, state held, rows out, where the watermark stood), batch by batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    state: pa.Table | None      # the state after the batch, as result rows (None: too big to keep)
    num_state_rows: int
    output: pa.Table            # what the batch emitted (first rows)
    num_output_rows: int
    watermark: datetime | None  # the watermark this batch ran with


def sample(table: pa.Table) -> pa.Table:
    return table.slice(0, SAMPLE_ROWS)
