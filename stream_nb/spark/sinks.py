"""A stream_nb sink behind Spark's ``foreachBatch``: each batch Spark commits goes to the sink as Arrow.

The function runs in the kernel (PySpark calls it back in the driver's Python process; over Spark Connect the
server's Python posts the rows to the kernel's feed, ``datasource.BatchPoster``), so the memory sink that backs
``q.result`` and the live view is the one the query holds. With a checkpoint, the memory sink's result in update
and complete mode is kept beside Spark's files after each batch, so ``q.result`` shows it again when the query
is started again, before its next batch (Spark's checkpoint holds the state, not the result). Spark may run a batch again after a
restart (its offset log has batch N, its commit log not): the duckdb and files sinks are idempotent on
(query id, batch id) themselves, and a batch id this writer has written already is not written again.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from stream_nb.checkpoint import files

# Beside Spark's offsets/ and commits/ in the checkpoint: the kept result after the last batch (update and
# complete mode), which Spark's checkpoint has no way to give back; Arrow IPC, written atomically.
RESULT_DIR = "stream_nb_result"
_KEPT_MODES = ("update", "complete")


def arrow_schema(spark_schema) -> pa.Schema:
    """The Arrow schema of a Spark output (timestamps in UTC, as stream_nb hands them out)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(spark_schema, timezone="UTC")


class BatchWriter:
    """``write(df, batch_id)`` is the query's foreachBatch function."""

    def __init__(self, sink: Any, can, schema: pa.Schema, output_mode: str, key_columns: list | None,
                 checkpoint: str | None = None):
        self.sink, self.can, self.schema, self.output_mode = sink, can, schema, output_mode
        # a result to give back after a restart: the memory sink's, in update or complete mode (append mode's
        # result is every row ever emitted, which Spark's memory sink does not give back either)
        keeps = checkpoint is not None and can.result and hasattr(sink, "table") and output_mode in _KEPT_MODES
        self.kept = Path(checkpoint) / RESULT_DIR if keeps else None
        # update mode upserts by the group keys: the output columns that show them (all, or none is known)
        self.keys = list(key_columns) if key_columns and None not in key_columns else None
        if can.bind:
            sink.bind(schema, output_mode, list(key_columns) if key_columns else None)
        self.error: BaseException | None = None
        self.history = None  # a SparkHistory, told each batch's rows (q.history)
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
        self.write_table(df.toArrow(), batch_id)

    def write_table(self, table: pa.Table, batch_id: int) -> None:
        """A batch's rows (over Spark Connect they come through the kernel's feed: ``datasource.BatchPoster``)."""
        self._opened.wait()
        try:
            table = table.cast(self.schema) if table.num_columns else self.schema.empty_table()
            with self._lock:
                if self._closed or (self._last_batch is not None and batch_id <= self._last_batch):
                    return
                keys = table.select(self.keys) if self.output_mode == "update" and self.keys else None
                self.sink.add_batch(batch_id, table, keys)
                self._last_batch = batch_id
                if self.kept is not None:
                    self._keep(batch_id)
            if self.history is not None:
                self.history.emitted(batch_id, table)
        except BaseException as err:
            self.error = err  # Spark fails the query with its own wrapping of it; q.exception shows this
            raise

    def restore(self) -> int | None:
        """Give the sink back the result kept after the last batch of an earlier run on this checkpoint (the
        batch id, or None). Spark runs again a batch it had not committed: the same rows, which a complete
        result replaces and an update upserts, so it may have been kept or not."""
        kept = files.numbered(self.kept, ".arrow") if self.kept is not None else []
        if not kept:
            return None
        path = self.kept / f"{kept[-1]}.arrow"
        table = files.read_table(path)
        try:
            table = table.cast(self.schema)
        except (ValueError, pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise files.CheckpointError(
                f"{path} keeps a result of columns {table.schema.names} ({err}), not this query's "
                f"{self.schema.names}: the checkpoint is another query's; use a new checkpoint directory") from None
        keys = table.select(self.keys) if self.output_mode == "update" and self.keys else None
        with self._lock:
            self.sink.add_batch(kept[-1], table, keys)
            self._last_batch = kept[-1]
        return kept[-1]

    def _keep(self, batch_id: int) -> None:
        self.kept.mkdir(parents=True, exist_ok=True)
        files.write_table(self.kept / f"{batch_id}.arrow", self.sink.table())
        for old in files.numbered(self.kept, ".arrow")[:-1]:
            (self.kept / f"{old}.arrow").unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.can.close and self._opened.is_set():
            self.sink.close()
