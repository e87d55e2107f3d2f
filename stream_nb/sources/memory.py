"""The memory source: rows a notebook adds by hand, the smallest Source (Spark's MemoryStream)."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from stream_nb.sources._protocol import PUSH
from stream_nb.sources.errors import check_offsets
from stream_nb.types import describe_schema, parse_schema, to_arrow


class MemorySource:
    """Rows added with ``add_data``; offset N is the N-th row ever added.

    Replayable within the process only: the rows live in memory, so a restarted kernel starts empty.
    ``add_data`` (notebook thread) and ``read`` (engine thread) may run at the same time. It pushes: a
    continuous query waiting in ``wait_for_data`` wakes as soon as ``add_data`` has added rows.
    """

    capabilities = frozenset({PUSH})

    def __init__(self, schema: str | Mapping[str, str] | pa.Schema):
        self.schema = parse_schema(schema)
        self.description = f"MemorySource[{', '.join(self.schema.names)}]"
        self._lock = threading.Lock()
        self._added = threading.Condition(self._lock)
        self._arrivals: list[float] = []  # time.perf_counter() when each chunk was added
        # Each add_data call is one immutable chunk; _starts[k] is the offset of chunk k's first row.
        self._chunks: list[pa.Table] = []
        self._starts: list[int] = []
        self._rows = 0

    def add_data(self, rows: pd.DataFrame | Iterable[Mapping[str, Any]] | pa.Table) -> int:
        """Append rows (a pandas DataFrame or a list of dicts); returns the new end offset."""
        table = to_arrow(rows, self.schema)
        with self._lock:
            if table.num_rows:
                self._chunks.append(table)
                self._starts.append(self._rows)
                self._arrivals.append(time.perf_counter())
                self._rows += table.num_rows
                self._added.notify_all()
            return self._rows

    def wait_for_data(self, offset: int, timeout: float) -> tuple[int, float | None]:
        """Block until rows after ``offset`` are there or ``timeout`` s pass: the latest offset, and when the
        row at ``offset`` was added (None if there is none yet)."""
        with self._added:
            if self._rows <= offset:
                self._added.wait(timeout)
            if self._rows <= offset:
                return self._rows, None
            return self._rows, self._arrivals[max(bisect.bisect_right(self._starts, offset) - 1, 0)]

    def latest_offset(self) -> int:
        """The number of rows added so far."""
        with self._lock:
            return self._rows

    def read(self, start: int, end: int) -> pa.Table:
        """Rows ``start`` to ``end`` (exclusive); costs O(rows read), whatever was added before."""
        with self._lock:
            check_offsets(start, end, self._rows, self.description)
            pieces = []
            k = max(bisect.bisect_right(self._starts, start) - 1, 0)
            while k < len(self._chunks) and self._starts[k] < end:
                chunk, first = self._chunks[k], self._starts[k]
                low, high = max(start - first, 0), min(end - first, chunk.num_rows)
                pieces.append(chunk.slice(low, high - low))
                k += 1
        if len(pieces) == 1:  # a continuous query reads the one chunk just added: no copy
            return pieces[0]
        return pa.concat_tables(pieces) if pieces else self.schema.empty_table()

    def __repr__(self) -> str:
        return f"MemorySource({describe_schema(self.schema)!r}, rows={self.latest_offset()})"


def memory(schema: str | Mapping[str, str] | pa.Schema) -> MemorySource:
    """A stream whose rows you add by hand with ``add_data``: for tests, teaching and small experiments.

    Args:
        schema: a Spark DDL string like ``"ts timestamp, device string, temp double"``, or
            ``{"col": "type"}``.

    >>> src = memory("device string, temp double")
    >>> src.add_data([{"device": "a", "temp": 20.5}, {"device": "b", "temp": 21.0}])
    2
    >>> src.read(1, 2).to_pylist()
    [{'device': 'b', 'temp': 21.0}]
    """
    return MemorySource(schema)
