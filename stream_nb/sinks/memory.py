"""The memory sink: the result table, in memory, behind ``q.result``.

append: every row emitted so far; complete: the last batch's table; update: upserted by the group key.

In update mode a batch's rows are appended with their keys, and superseded rows are dropped in bulk (the
latest row of each key, found by Arrow's hash aggregation) when they make up half the table or when the
result is read: a batch costs the rows it emits, not the keys in the result. The engine says how many of a
batch's rows replace an earlier one (``replaced``: the keys that were in state already); without that, every
row is assumed to. An update-mode batch emits each key once, so one batch alone never needs compacting.
"""

from __future__ import annotations

import threading

import pandas as pd
import pyarrow as pa

from stream_nb.types import hashable_keys, to_pandas

_COMPACT_AFTER = 4096  # superseded rows kept before a compaction, at the least


class MemorySink:
    """Keeps the result table; ``result`` is a pandas DataFrame as of the last committed batch.

    >>> sink = MemorySink()
    >>> sink.bind(pa.schema([("k", pa.string()), ("n", pa.int64())]), "update")
    >>> sink.add_batch(0, pa.table({"k": ["a", "b"], "n": [1, 1]}), keys=pa.table({"__k0": ["a", "b"]}))
    >>> sink.add_batch(1, pa.table({"k": ["a"], "n": [2]}), keys=pa.table({"__k0": ["a"]}))
    >>> sink.result.to_dict("records")
    [{'k': 'a', 'n': 2}, {'k': 'b', 'n': 1}]
    """

    description = "MemorySink"

    def __init__(self):
        self._lock = threading.Lock()
        self._schema: pa.Schema | None = None
        self._mode = "append"
        self._chunks: list[pa.Table] = []        # append and update: the emitted rows; complete: the last table
        self._keys: list[pa.Table] = []          # update: the key columns of each chunk's rows
        self._rows = 0                           # rows in _chunks
        self._superseded = 0                     # update: rows of _chunks a later row replaces (at most)
        self._last_batch_id = -1
        self._cached: pd.DataFrame | None = None

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
            else:
                self._chunks.append(table)
                self._rows += table.num_rows
                if self._mode == "update" and keys is not None:
                    if not keys.num_columns:  # a global aggregate: one key for all rows
                        keys = pa.table({"__global": pa.repeat(pa.scalar(0, pa.int8()), table.num_rows)})
                    self._keys.append(keys)
                    self._superseded += table.num_rows if replaced is None else replaced
                    if len(self._chunks) == 1:
                        self._superseded = 0
                    if self._superseded > self._rows - self._superseded + _COMPACT_AFTER:
                        self._compact()
            self._last_batch_id = batch_id
            self._cached = None

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
        return pa.concat_tables(self._chunks) if self._chunks else (self._schema or pa.schema([])).empty_table()

    def table(self) -> pa.Table:
        """The result as of the last committed batch, as Arrow (what the live views read)."""
        with self._lock:
            return self._live()

    @property
    def result(self) -> pd.DataFrame:
        with self._lock:  # take the table under the lock; convert it outside, so batches need not wait
            cached, batch_id = self._cached, self._last_batch_id
            table = self._live() if cached is None else None
        if cached is None:
            cached = to_pandas(table)
            with self._lock:
                if self._last_batch_id == batch_id:
                    self._cached = cached
        return cached.copy()


def latest_rows(keys: pa.Table) -> pa.Array:
    """The position of each key's last row, keys in the order of their first row.

    >>> latest_rows(pa.table({"k": ["a", "b", "a"], "w": [{"s": 1}, {"s": 1}, {"s": 1}]})).to_pylist()
    [2, 1]
    """
    flat = keys
    while any(pa.types.is_struct(t) for t in flat.schema.types):
        flat = flat.flatten()  # Arrow groups by plain columns: a window by its start and end
    numbered = flat.rename_columns([f"k{i}" for i in range(flat.num_columns)]).append_column(
        "position", pa.array(range(flat.num_rows), pa.int64()))
    try:
        grouped = numbered.group_by(numbered.column_names[:-1], use_threads=False).aggregate([("position", "max")])
        return grouped.column("position_max")
    except pa.ArrowNotImplementedError:  # keys Arrow cannot group by (lists, maps): by their Python values
        latest = dict(zip(hashable_keys(keys, keys.column_names), range(keys.num_rows)))
        return pa.array(list(latest.values()), pa.int64())


def memory() -> MemorySink:
    """A memory sink (the default): the result table behind ``q.result``."""
    return MemorySink()
