"""A stream_nb sink behind Spark's ``foreachBatch``: each batch Spark commits goes to the sink as Arrow.

The function runs in the kernel (PySpark calls it back in the driver's Python process), so the memory sink
that backs ``q.result`` and the live view is the one the query holds. Spark may run a batch again after a
restart (its offset log has batch N, its commit log not): the duckdb and files sinks are idempotent on
(query id, batch id) themselves, and a batch id this writer has written already is not written again.
"""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa


def arrow_schema(spark_schema) -> pa.Schema:
    """The Arrow schema of a Spark output (timestamps in UTC, as stream_nb hands them out)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(spark_schema, timezone="UTC")


class BatchWriter:
    """``write(df, batch_id)`` is the query's foreachBatch function."""

    def __init__(self, sink: Any, can, schema: pa.Schema, output_mode: str, key_columns: list | None):
        self.sink, self.can, self.schema, self.output_mode = sink, can, schema, output_mode
        # update mode upserts by the group keys: the output columns that show them (all, or none is known)
        self.keys = list(key_columns) if key_columns and None not in key_columns else None
        if can.bind:
            sink.bind(schema, output_mode, list(key_columns) if key_columns else None)
        self.error: BaseException | None = None
        self._opened = threading.Event()
        self._closed = False
        self._last_batch: int | None = None
        self._lock = threading.Lock()

    def open(self, query_id: str) -> None:
        """Once Spark has given the query its id (kept in Spark's checkpoint): the first batch waits for it."""
        if self.can.open:
            self.sink.open(query_id)
        self._opened.set()

    def write(self, df, batch_id: int) -> None:
        self._opened.wait()
        try:
            table = df.toArrow()
            table = table.cast(self.schema) if table.num_columns else self.schema.empty_table()
            with self._lock:
                if self._closed or (self._last_batch is not None and batch_id <= self._last_batch):
                    return
                keys = table.select(self.keys) if self.output_mode == "update" and self.keys else None
                self.sink.add_batch(batch_id, table, keys)
                self._last_batch = batch_id
        except BaseException as err:
            self.error = err  # Spark fails the query with its own wrapping of it; q.exception shows this
            raise

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.can.close and self._opened.is_set():
            self.sink.close()
