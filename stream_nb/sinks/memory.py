"""The memory sink: the result table, in memory, behind ``q.result``.

append: every row emitted so far; complete: the last batch's table; update: upserted by the group key.
"""

from __future__ import annotations

import threading

import pandas as pd
import pyarrow as pa

from stream_nb.types import hashable_keys, to_pandas


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
        self._rows = 0                           # rows in _chunks
        self._position: dict = {}                # update: key -> position of its latest row in _chunks
        self._last_batch_id = -1
        self._cached: pd.DataFrame | None = None

    def bind(self, schema: pa.Schema, output_mode: str, key_columns: list | None = None) -> None:
        self._schema, self._mode = schema, output_mode

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        with self._lock:
            if batch_id <= self._last_batch_id:
                return  # already written: a replayed batch changes nothing
            if self._schema is None:
                self._schema = table.schema
            if self._mode == "complete":
                self._chunks, self._rows = [table], table.num_rows
            else:
                if self._mode == "update" and keys is not None:
                    self._remember_positions(table, keys)
                self._chunks.append(table)
                self._rows += table.num_rows
                if self._mode == "update" and self._rows > 2 * len(self._position) + 4096:
                    self._compact()
            self._last_batch_id = batch_id
            self._cached = None

    def _remember_positions(self, table: pa.Table, keys: pa.Table) -> None:
        found = hashable_keys(keys, keys.column_names)
        self._position.update(zip(found, range(self._rows, self._rows + len(found))))

    def _compact(self) -> None:
        """Drop superseded rows, so memory follows the live keys, not all rows ever emitted."""
        live = self._live()
        self._position = dict(zip(self._position, range(live.num_rows)))
        self._chunks, self._rows = [live], live.num_rows

    def _live(self) -> pa.Table:
        rows = pa.concat_tables(self._chunks) if self._chunks else (self._schema or pa.schema([])).empty_table()
        if self._mode != "update" or not self._position:
            return rows
        return rows.take(pa.array(list(self._position.values()), pa.int64()))

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


def memory() -> MemorySink:
    """A memory sink (the default): the result table behind ``q.result``."""
    return MemorySink()
