"""``writeStream.format(...)``: Spark's sinks as stream_nb's (memory, files, kafka, foreach_batch)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

import stream_nb as sn
from stream_nb.pyspark.errors import AnalysisException, IllegalArgumentException, not_supported
from stream_nb.sinks.foreach_batch import ForeachBatchSink
from stream_nb.sinks.memory import MemorySink

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.streaming.readwriter import DataStreamWriter

RULE = "-" * 43


class SparkMemorySink(MemorySink):
    """Spark's memory sink: in update mode it appends each batch's updated rows (stream_nb's upserts by key,
    which a notebook wants, but a PySpark program reading ``SELECT * FROM name`` expects Spark's table)."""

    def bind(self, schema: pa.Schema, output_mode: str, key_columns: list | None = None) -> None:
        super().bind(schema, "append" if output_mode == "update" else output_mode, key_columns)


class SparkForeachBatchSink(ForeachBatchSink):
    """Spark's foreachBatch: the batch as a DataFrame over its Arrow table, so a NULL double stays NULL (through
    pandas it would come back NaN, which ``temp > 20`` counts and ``isNull()`` does not)."""

    def __init__(self, fn: Any, session: Any):
        super().__init__(fn)
        self._session = session

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        self.fn(self._session._input("static", table, streaming=False), batch_id)


def make_sink(writer: DataStreamWriter, checkpoint: str | None) -> Any:
    kind = writer._format or "parquet"  # Spark's default source, spark.sql.sources.default
    session = writer._df.sparkSession
    if writer._partition and kind not in ("parquet", "csv", "json"):
        raise not_supported(f"DataStreamWriter.partitionBy with format('{kind}')")
    if kind == "memory":
        if writer._name is None:
            raise AnalysisException("queryName must be specified for memory sink", "_LEGACY_ERROR_TEMP_1256")
        return SparkMemorySink()
    if kind == "console":
        rows, truncate = int(writer._get("numRows", 20)), str(writer._get("truncate", "true")) != "false"
        return ConsoleSink(rows, truncate)
    if kind == "noop":
        return sn.sinks.foreach_batch(lambda frame, batch_id: None)
    if kind in ("parquet", "csv", "json"):
        path = writer._get("path")
        if path is None:
            raise IllegalArgumentException("'path' is not specified", "_LEGACY_ERROR_TEMP_2203")
        if checkpoint is None:
            raise AnalysisException('checkpointLocation must be specified either through option'
                                    '("checkpointLocation", ...) or SparkSession.conf.set("spark.sql.streaming.'
                                    'checkpointLocation", ...)', "_LEGACY_ERROR_TEMP_1164")
        return sn.sinks.files(path, format=kind, partition_by=writer._partition)
    if kind == "table":
        if checkpoint is None:
            raise AnalysisException('checkpointLocation must be specified either through option'
                                    '("checkpointLocation", ...) or SparkSession.conf.set("spark.sql.streaming.'
                                    'checkpointLocation", ...)', "_LEGACY_ERROR_TEMP_1164")
        warehouse = session.conf.get("spark.sql.warehouse.dir", "spark-warehouse")
        os.makedirs(warehouse, exist_ok=True)
        writer.option("path", os.path.join(warehouse, "stream_nb.duckdb"))  # where spark.table reads it
        return sn.sinks.duckdb(writer._get("path"), writer._table)
    if kind == "kafka":
        topic = writer._get("topic")
        if topic is None:
            raise not_supported("DataStreamWriter.format('kafka') without option('topic', ...)")
        return sn.sinks.kafka(writer._get("kafka.bootstrap.servers"), topic)
    if kind == "foreachbatch":
        return SparkForeachBatchSink(writer._batch_fn, session)
    if kind == "foreach":
        return sn.sinks.foreach_batch(_foreach(writer._batch_fn))
    raise not_supported(f"DataStreamWriter.format('{kind}')",
                        " (formats: memory, console, parquet, csv, json, kafka, noop, foreach, foreachBatch)")


class ConsoleSink(ForeachBatchSink):
    """Spark's console sink: each batch printed as ``show()`` prints a DataFrame, from its Arrow rows."""

    def __init__(self, rows: int, truncate: bool):
        super().__init__(self._print)
        self.rows, self.truncate = rows, truncate
        self.description = "ConsoleSink"

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        self._print(table, batch_id)

    def _print(self, table: pa.Table, batch_id: int) -> None:
        from stream_nb.pyspark.sql.show import show_string

        print(f"{RULE}\nBatch: {batch_id}\n{RULE}\n{show_string(table, self.rows, self.truncate)}", end="",
              flush=True)


def _foreach(writer: Any):
    from stream_nb.pyspark.sql.dataframe import _plain
    from stream_nb.pyspark.sql.types import Row

    def each_batch(frame: pd.DataFrame, batch_id: int) -> None:
        rows = [Row(**{k: _plain(v) for k, v in zip(frame.columns, r)})
                for r in frame.itertuples(index=False, name=None)]
        if callable(writer) and not hasattr(writer, "process"):
            for row in rows:
                writer(row)
            return
        if getattr(writer, "open", None) and writer.open(0, batch_id) is False:
            return
        error = None
        try:
            for row in rows:
                writer.process(row)
        except Exception as err:
            error = err
            raise
        finally:
            if getattr(writer, "close", None):
                writer.close(error)

    return each_batch
