"""What a batch gives back from its operator: the rows for the sink, the late rows, and what to commit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from stream_nb.engine.state import Update


@dataclass
class Output:
    """A batch's output: the rows for the sink, the state keys they belong to (update mode), and what the
    operator must write when the batch commits."""

    table: pa.Table
    late: pa.Table
    keys: pa.Table | None = None
    pending: Update | None = None
    state_rows_updated: int = 0
    expired: np.ndarray | None = None    # state slots the watermark has passed: evicted at commit
    evicted_through: int | None = None   # the watermark (µs) that ``expired`` is the keys at or before
    replaced: int | None = None          # update mode: output rows whose key was emitted before
    touched: pa.Table | None = None      # update mode: the state rows the batch changed, as committed
    dropped: int | None = None           # progress' numRowsDroppedByWatermark, when not ``late``'s row count

    @property
    def num_dropped(self) -> int:
        """Spark's numRowsDroppedByWatermark: what the stateful operator's late filter drops. An aggregation
        counts late groups, not rows (Spark filters after the partial aggregation: one row per key)."""
        return self.late.num_rows if self.dropped is None else self.dropped
