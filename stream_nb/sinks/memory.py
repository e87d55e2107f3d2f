"""The memory sink: the result table, in memory, behind ``q.result``.

append: every row emitted so far; complete: the last batch's table; update: upserted by the group key.
"""

from __future__ import annotations

import threading

import pandas as pd
import pyarrow as pa

from stream_nb.types import to_pandas


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
        self._chunks: list[pa.Table] = []        # append
        self._rows: dict = {}                    # update: key -> row (a dict), in first-seen order
        self._table: pa.Table | None = None      # complete
        self._last_batch_id = -1
        self._cached: pd.DataFrame | None = None

    def bind(self, schema: pa.Schema, output_mode: str) -> None:
        self._schema, self._mode = schema, output_mode

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        with self._lock:
            if batch_id <= self._last_batch_id:
                return  # already written: a replayed batch changes nothing
            if self._schema is None:
                self._schema = table.schema
            if self._mode == "complete":
                self._table = table
            elif self._mode == "update" and keys is not None:
                key_rows = zip(*(keys.column(i).to_pylist() for i in range(keys.num_columns))) \
                    if keys.num_columns else iter([()] * table.num_rows)
                for key, row in zip(key_rows, table.to_pylist()):
                    self._rows[key] = row
            else:
                self._chunks.append(table)
            self._last_batch_id = batch_id
            self._cached = None

    @property
    def result(self) -> pd.DataFrame:
        with self._lock:
            if self._cached is None:
                self._cached = to_pandas(self._table_now())
            return self._cached.copy()

    def _table_now(self) -> pa.Table:
        schema = self._schema or pa.schema([])
        if self._mode == "complete":
            return self._table if self._table is not None else schema.empty_table()
        if self._mode == "update" and self._rows:
            return pa.Table.from_pylist(list(self._rows.values()), schema=schema)
        return pa.concat_tables(self._chunks) if self._chunks else schema.empty_table()


def memory() -> MemorySink:
    """A memory sink (the default): the result table behind ``q.result``."""
    return MemorySink()
