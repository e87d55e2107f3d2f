"""``df.write``: a static DataFrame (a foreachBatch batch, most often) written once as files, in Spark's layout.

A directory of ``part-<n>-<uuid>-c000.<format>`` files and an empty ``_SUCCESS``, which ``spark.read`` (and
Spark) read back; ``mode`` is Spark's: ``errorifexists`` (the default), ``append``, ``overwrite``, ``ignore``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from stream_nb.pyspark.errors import AnalysisException, IllegalArgumentException, not_supported

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame

_MODES = {"append": "append", "overwrite": "overwrite", "ignore": "ignore", "error": "errorifexists",
          "errorifexists": "errorifexists", "default": "errorifexists"}
_FORMATS = ("parquet", "csv", "json")


class DataFrameWriter:
    def __init__(self, df: DataFrame):
        self._df = df
        self._format = "parquet"  # Spark's spark.sql.sources.default
        self._mode = "errorifexists"
        self._options: dict[str, str] = {}

    def format(self, source: str) -> DataFrameWriter:
        self._format = source.lower()
        return self

    def mode(self, saveMode: str | None) -> DataFrameWriter:
        if saveMode is None:
            return self
        if saveMode.lower() not in _MODES:
            raise IllegalArgumentException(f"Unknown save mode: {saveMode}. Accepted save modes are 'overwrite', "
                                           "'append', 'ignore', 'error', 'errorifexists', 'default'.",
                                           "_LEGACY_ERROR_TEMP_1237")
        self._mode = _MODES[saveMode.lower()]
        return self

    def option(self, key: str, value: Any) -> DataFrameWriter:
        self._options[key.lower()] = str(value).lower() if isinstance(value, bool) else str(value)
        return self

    def options(self, **options: Any) -> DataFrameWriter:
        for key, value in options.items():
            self.option(key, value)
        return self

    def partitionBy(self, *cols: Any) -> DataFrameWriter:
        raise not_supported("DataFrameWriter.partitionBy", " (writeStream.partitionBy writes Spark's folders)")

    def save(self, path: str | None = None, format: str | None = None, mode: str | None = None,
             partitionBy: Any = None, **options: Any) -> None:
        if format is not None:
            self.format(format)
        self.mode(mode).options(**options)
        if partitionBy:
            self.partitionBy(partitionBy)
        path = path if path is not None else self._options.get("path")
        if path is None:
            raise IllegalArgumentException("'path' is not specified", "_LEGACY_ERROR_TEMP_2203")
        if self._format not in _FORMATS:
            raise not_supported(f"DataFrameWriter.format('{self._format}')", " (formats: parquet, csv, json)")
        if os.path.exists(path):
            if self._mode == "errorifexists":
                raise AnalysisException(f"[PATH_ALREADY_EXISTS] Path {path} already exists. Set mode as "
                                        '"overwrite" to overwrite the existing path.', "PATH_ALREADY_EXISTS")
            if self._mode == "ignore":
                return
            if self._mode == "overwrite":
                shutil.rmtree(path)
        from stream_nb.pyspark.sql.execution import static_arrow

        write_files(static_arrow(self._df), path, self._format, self._options)

    def parquet(self, path: str, mode: str | None = None, **options: Any) -> None:
        self.save(path, "parquet", mode, **{k: v for k, v in options.items() if v is not None})

    def csv(self, path: str, mode: str | None = None, **options: Any) -> None:
        self.save(path, "csv", mode, **{k: v for k, v in options.items() if v is not None})

    def json(self, path: str, mode: str | None = None, **options: Any) -> None:
        self.save(path, "json", mode, **{k: v for k, v in options.items() if v is not None})

    def saveAsTable(self, name: str, *args: Any, **kwargs: Any) -> None:
        raise not_supported("DataFrameWriter.saveAsTable", "; writeStream.toTable(name) writes a table")

    insertInto = saveAsTable


def write_files(table: pa.Table, path: str, format: str, options: dict[str, str]) -> None:
    """One part file of ``table`` under ``path`` and Spark's ``_SUCCESS`` marker."""
    from stream_nb.sinks.files import _json_lines

    os.makedirs(path, exist_ok=True)
    part = os.path.join(path, f"part-00000-{uuid.uuid4()}-c000.{format}")
    if format == "parquet":
        pq.write_table(table, part)
    elif format == "csv":  # Spark writes no header line unless option("header", True)
        pacsv.write_csv(table, part, pacsv.WriteOptions(include_header=options.get("header") == "true"))
    else:
        with open(part, "wb") as out:
            out.write(_json_lines(table))
    open(os.path.join(path, "_SUCCESS"), "wb").close()
