"""The memory sink: the result table, in memory, behind ``q.result`` and the live views.

append: the rows emitted so far, the newest ``max_rows`` of them (older rows are dropped and counted: an
unbounded stream must not fill the kernel's memory); complete: the last batch's table; update: upserted by
the group key.

In update mode a batch's rows are appended with their keys, and superseded rows are dropped in bulk (the
latest row of each key, found by Arrow's hash aggregation) when they make up half the table or when
``q.result`` is read: a batch costs the rows it emits, not the keys in the result. The engine says how many of
a batch's rows replace an earlier one (``replaced``: the keys that were in state already); without that, every
row is assumed to. An update-mode batch emits each key once, so one batch alone never needs compacting.

The views read ``changes_since(batch_id)``: the rows each batch emitted after the one they last showed (and
their keys), so a view update costs what the batches changed, not the size of the result. The sink keeps the
changes of the last ``LOG_BATCHES`` batches in update mode (append mode keeps every kept row anyway); a view
further behind gets the whole result instead, marked ``replace``. The result is kept once, as Arrow:
``q.result`` converts it to pandas on each read and keeps no copy.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from stream_nb.sinks._protocol import BIND, CHANGES, REBUILT_FROM_STATE, REPLACED, RESULT, ROW_LIMIT
from stream_nb.types import hashable_keys, to_pandas

DEFAULT_MAX_ROWS = 1_000_000  # append mode: rows kept for q.result (about 100 MB of a few plain columns)
LOG_BATCHES = 64              # update mode: batches whose changes a view can catch up from
_LOG_ROWS = 1_000_000         # ... and at most this many of their rows
_COMPACT_AFTER = 4096         # superseded rows kept before a compaction, at the least
MERGE_CHUNKS = 256            # append: the newest batches kept apart; older ones are merged into one table


@dataclass(frozen=True)
class Changes:
    """What the result gained after the batch a reader last saw, up to ``batch_id`` (the last committed one).

    ``rows``: the rows the batches emitted, oldest first (update mode: each key once, its latest row, in the
    order keys first came), or, with ``replace``, the whole result. ``keys``: in update mode, each row's group key.
    ``total_rows``: rows in the result now (update mode: an upper bound until compacted); ``dropped_rows``:
    rows the append-mode limit has dropped so far, oldest first.
    """

    batch_id: int
    rows: pa.Table
    keys: pa.Table | None
    replace: bool
    total_rows: int
    dropped_rows: int = 0


class MemorySink:
    """Keeps the result table; ``result`` is a pandas DataFrame as of the last committed batch.

    >>> sink = MemorySink()
    >>> sink.bind(pa.schema([("k", pa.string()), ("n", pa.int64())]), "update")
    >>> sink.add_batch(0, pa.table({"k": ["a", "b"], "n": [1, 1]}), keys=pa.table({"__k0": ["a", "b"]}))
    >>> sink.add_batch(1, pa.table({"k": ["a"], "n": [2]}), keys=pa.table({"__k0": ["a"]}))
    >>> sink.result.to_dict("records")
    [{'k': 'a', 'n': 2}, {'k': 'b', 'n': 1}]
    >>> sink.changes_since(0).rows.to_pylist()
    [{'k': 'a', 'n': 2}]
    """

    description = "MemorySink"
    capabilities = frozenset({BIND, RESULT, CHANGES, ROW_LIMIT, REPLACED, REBUILT_FROM_STATE})

    def __init__(self, max_rows: int | None = DEFAULT_MAX_ROWS):
        if max_rows is not None and (type(max_rows) is not int or max_rows < 1):  # (True is an int too)
            raise ValueError(f"sn.sinks.memory(max_rows=...) is how many rows append mode keeps: a positive "
                             f"whole number, or None to keep every row; got {max_rows!r}")
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._schema: pa.Schema | None = None
        self._mode = "append"
        self._chunks: list[pa.Table] = []        # append and update: the emitted rows; complete: the last table
        self._batch_ids: list[int] = []          # append: the batch of each chunk
        self._merged = 0                         # append: _chunks[:_merged] hold several batches each
        self._merged_through = -1                # append: the newest batch merged with others
        self._keys: list[pa.Table] = []          # update: the key columns of each chunk's rows
        self._rows = 0                           # rows in _chunks
        self._superseded = 0                     # update: rows of _chunks a later row replaces (at most)
        self._log: deque[tuple[int, pa.Table, pa.Table]] = deque()  # update: (batch id, rows, keys), recent
        self._logged_rows = 0
        self._last_batch_id = -1
        self.dropped_rows = 0                    # append: rows dropped to keep max_rows, oldest first
        self._dropped_batch = -1                 # append: the newest batch some of whose rows were dropped

    def bind(self, schema: pa.Schema, output_mode: str, key_columns: list | None = None) -> None:
        self._schema, self._mode = schema, output_mode

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None, *,
                  replaced: int | None = None) -> None:
        with self._lock:
            if batch_id <= self._last_batch_id:
                return  # already written: a replayed batch changes nothing
            if self._schema is None:
                self._schema = table.schema
            if self._mode == "complete":
                self._chunks, self._rows = [table], table.num_rows
            elif self._mode == "update" and keys is not None:
                self._upsert(batch_id, table, keys, replaced)
            else:
                self._append(batch_id, table)
            self._last_batch_id = batch_id

    def _append(self, batch_id: int, table: pa.Table) -> None:
        self._chunks.append(table)
        self._batch_ids.append(batch_id)
        self._rows += table.num_rows
        if len(self._chunks) - self._merged > 2 * MERGE_CHUNKS:
            self._merge()
        if self.max_rows is None or self._rows <= self.max_rows:
            return
        while self._rows - self._chunks[0].num_rows >= self.max_rows:  # whole batches first
            self._drop(self._chunks[0].num_rows)
            self._chunks.pop(0)
            self._batch_ids.pop(0)
            self._merged = max(0, self._merged - 1)
        over = self._rows - self.max_rows
        if over:  # then the oldest rows of the oldest batch kept
            self._drop(over)
            self._chunks[0] = self._chunks[0].slice(over)

    def _merge(self) -> None:
        """The batches before the newest MERGE_CHUNKS, since the last merge, as one table: a continuous query hands
        on a row at a time, and a table per row would make memory, q.result and a view's read follow how many
        batches came, not the rows. A view that has not seen them all gets the whole result."""
        start, end = self._merged, len(self._chunks) - MERGE_CHUNKS
        self._chunks[start:end] = [pa.concat_tables(self._chunks[start:end]).combine_chunks()]
        self._merged_through = self._batch_ids[end - 1]
        self._batch_ids[start:end] = [self._merged_through]
        self._merged = start + 1

    def _drop(self, rows: int) -> None:
        self._rows -= rows
        self.dropped_rows += rows
        self._dropped_batch = self._batch_ids[0]

    def _upsert(self, batch_id: int, table: pa.Table, keys: pa.Table, replaced: int | None) -> None:
        if not keys.num_columns:  # a global aggregate: one key for all rows
            keys = pa.table({"__global": pa.repeat(pa.scalar(0, pa.int8()), table.num_rows)})
        self._chunks.append(table)
        self._keys.append(keys)
        self._rows += table.num_rows
        self._superseded += table.num_rows if replaced is None else replaced
        if len(self._chunks) == 1:
            self._superseded = 0
        if self._superseded > self._rows - self._superseded + _COMPACT_AFTER:
            self._compact()
        self._log.append((batch_id, table, keys))
        self._logged_rows += table.num_rows
        while len(self._log) > LOG_BATCHES or (len(self._log) > 1 and self._logged_rows > _LOG_ROWS):
            self._logged_rows -= self._log.popleft()[1].num_rows

    def _compact(self) -> None:
        """Keep each key's latest row only, in the order keys first appeared, so memory follows the live keys,
        not all rows ever emitted."""
        if len(self._chunks) > 1:
            rows, keys = pa.concat_tables(self._chunks), pa.concat_tables(self._keys)
            latest = latest_rows(keys)
            live = rows.take(latest)
            self._chunks, self._keys = [live], [keys.take(latest)]
            self._rows, self._superseded = live.num_rows, 0

    def _live(self) -> pa.Table:
        if self._mode == "update" and self._keys:
            self._compact()
        return pa.concat_tables(self._chunks) if self._chunks else self._empty()

    def _empty(self) -> pa.Table:
        return (self._schema or pa.schema([])).empty_table()

    def table(self) -> pa.Table:
        """The whole result as of the last committed batch, as Arrow (compacted first in update mode)."""
        with self._lock:
            return self._live()

    def changes_since(self, batch_id: int) -> Changes:
        """What the result gained after batch ``batch_id`` (-1: from the start) up to the last committed one:
        the rows those batches emitted, or the whole result (``replace``) when they are no longer all here."""
        with self._lock:
            last = self._last_batch_id
            if self._mode == "complete":
                return Changes(last, self._live(), None, True, self._rows)
            if self._mode == "update" and self._keys:
                if batch_id >= last:
                    no_keys = self._log[-1][2].schema.empty_table()
                    return Changes(last, self._empty(), no_keys, False, self._rows)
                if self._log and self._log[0][0] <= batch_id + 1:
                    since = [entry for entry in self._log if entry[0] > batch_id]
                    rows = pa.concat_tables([rows for _, rows, _ in since])
                    keys = pa.concat_tables([keys for _, _, keys in since])
                    if len(since) > 1:  # a key several batches emitted: its last row is its value now
                        latest = latest_rows(keys)
                        rows, keys = rows.take(latest), keys.take(latest)
                    return Changes(last, rows, keys, False, self._rows)
                whole = self._live()
                return Changes(last, whole, pa.concat_tables(self._keys), True, self._rows)
            # rows it has not seen are gone, or merged with rows it has: here is what is kept
            if self._dropped_batch > batch_id or self._merged_through > batch_id:
                return Changes(last, self._live(), None, True, self._rows, self.dropped_rows)
            since = [chunk for chunk, b in zip(self._chunks, self._batch_ids) if b > batch_id]
            rows = pa.concat_tables(since) if since else self._empty()
            return Changes(last, rows, None, False, self._rows, self.dropped_rows)

    @property
    def result(self) -> pd.DataFrame:
        with self._lock:  # take the table under the lock; convert it outside, so batches need not wait
            table = self._live()
        return to_pandas(table)


def latest_rows(keys: pa.Table) -> pa.Array:
    """The position of each key's last row, keys in the order of their first row.

    >>> latest_rows(pa.table({"k": ["a", "b", "a"], "w": [{"s": 1}, {"s": 1}, {"s": 1}]})).to_pylist()
    [2, 1]
    """
    flat = keys
    while any(pa.types.is_struct(t) for t in flat.schema.types):
        flat = flat.flatten()  # Arrow groups by plain columns: a window by its start and end
    numbered = flat.rename_columns([f"k{i}" for i in range(flat.num_columns)]).append_column(
        "position", pa.array(np.arange(flat.num_rows, dtype=np.int64)))  # (from a range: 0.5 ms for 7,000 rows)
    try:
        grouped = numbered.group_by(numbered.column_names[:-1], use_threads=False).aggregate([("position", "max")])
        return grouped.column("position_max")
    except pa.ArrowNotImplementedError:  # keys Arrow cannot group by (lists, maps): by their Python values
        latest = dict(zip(hashable_keys(keys, keys.column_names), range(keys.num_rows)))
        return pa.array(list(latest.values()), pa.int64())


def memory(max_rows: int | None = DEFAULT_MAX_ROWS) -> MemorySink:
    """A memory sink (the default): the result table behind ``q.result`` and the live views.

    In append mode it keeps the newest ``max_rows`` rows (default 1,000,000) and drops older ones, counted in
    ``dropped_rows`` and said in the live view's status; ``max_rows=None`` keeps every row. Update and
    complete mode keep one row per key, whatever ``max_rows`` says.
    """
    return MemorySink(max_rows)
