"""``spark.readStream`` / ``spark.read`` and ``df.writeStream``: Spark's options mapped onto stream_nb's
sources, sinks and ``sn.start``."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import stream_nb as sn
from stream_nb.pyspark.errors import AnalysisException, IllegalArgumentException, not_supported
from stream_nb.pyspark.sql import execution
from stream_nb.pyspark.sql.types import StructType, to_ddl

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame
    from stream_nb.pyspark.sql.session import SparkSession
    from stream_nb.pyspark.sql.streaming.query import StreamingQuery

_FILE_FORMATS = ("csv", "json", "parquet", "text")


class _Options:
    def __init__(self):
        self._format: str | None = None
        self._options: dict[str, str] = {}

    def format(self, source: str):
        self._format = source.lower()
        return self

    def option(self, key: str, value: Any):
        self._options[key.lower()] = value if not isinstance(value, bool) else str(value).lower()
        return self

    def options(self, **options: Any):
        for k, v in options.items():
            self.option(k, v)
        return self

    def _get(self, key: str, default: Any = None) -> Any:
        return self._options.get(key.lower(), default)


# Spark's file options that change which rows are read, or how, and that stream_nb does not take yet: each is
# refused (rather than ignored) unless it has Spark's default value (or one that reads the same here; a quote
# inside a quoted field is escaped by doubling it, '"', not Spark's backslash)
_FILE_OPTION_DEFAULTS = {
    "nullvalue": {""}, "emptyvalue": {""}, "timestampformat": set(), "timestampntzformat": set(),
    "dateformat": set(), "mode": {"permissive", "failfast"}, "multiline": {"false"}, "latestfirst": {"false"},
    "recursivefilelookup": {"false"}, "encoding": {"utf-8", "utf8"}, "charset": {"utf-8", "utf8"},
    "quote": {'"'}, "escape": {'"'}, "comment": {""}, "linesep": {"\n"}, "pathglobfilter": set(),
    "columnnameofcorruptrecord": set(), "allowsinglequotes": {"true"}, "allowcomments": {"false"},
    "samplingratio": {"1", "1.0"}, "cleansource": {"off"}, "modifiedbefore": set(), "modifiedafter": set(),
    "maxfileage": set(), "locale": {"en-us"}, "nanvalue": {"nan"}, "positiveinf": {"inf"}, "negativeinf": {"-inf"},
}


def _refuse_file_options(kind: str, options: dict[str, Any]) -> None:
    """A files option stream_nb would otherwise ignore (reading the rows as if it were not given) is refused,
    naming it: silently other rows than Spark's would be a wrong answer."""
    for name, value in options.items():
        allowed = _FILE_OPTION_DEFAULTS.get(name)
        if allowed is not None and str(value).lower() not in allowed:
            raise not_supported(f"DataStreamReader.option({name!r}, {value!r}) for {kind} files",
                                " (stream_nb reads files with Spark's defaults for it; malformed rows stop the "
                                "query, naming the file and line)")


class DataStreamReader(_Options):
    def __init__(self, session: SparkSession):
        super().__init__()
        self._session = session
        self._schema: StructType | str | None = None

    def schema(self, schema: StructType | str) -> DataStreamReader:
        self._schema = schema
        return self

    def load(self, path: Any = None, format: str | None = None, schema: StructType | str | None = None,
             **options: Any) -> DataFrame:
        if format:
            self.format(format)
        if schema is not None:
            self.schema(schema)
        self.options(**options)
        if isinstance(path, sn.sources.Source):  # stream_nb's own sources (memory...) as PySpark input
            return self._session._input(self._format or "stream", path, streaming=True)
        kind = self._format or "parquet"
        reader = copy.copy(self)  # the options as they are now: a later option() does not change this stream
        reader._options = dict(self._options)

        def make() -> Any:
            return reader._source(kind, path)

        df = self._session._input("files" if kind in _FILE_FORMATS else kind, make(), streaming=True)
        return execution.with_reader(df, make)  # each query (and each side of a self-join) reads on its own

    def _source(self, kind: str, path: Any) -> Any:
        if kind in _FILE_FORMATS:
            return self._files(kind, path if path is not None else self._get("path"))
        if kind == "rate":
            return sn.sources.rate(float(self._get("rowsPerSecond", 1)),
                                   ramp_up_time=_seconds(self._get("rampUpTime")))
        if kind == "socket":
            return sn.sources.socket(self._get("host"), int(self._get("port")),
                                     include_timestamp=str(self._get("includeTimestamp", "false")) == "true")
        if kind == "kafka":
            return self._kafka()
        if kind == "sensors":
            return sn.sources.sensors(int(self._get("devices", 5)), float(self._get("rowsPerSecond", 20)),
                                      disorder=self._get("disorder", "0 seconds"),
                                      late_fraction=float(self._get("lateFraction", 0.0)),
                                      seed=None if self._get("seed") is None else int(self._get("seed")))
        raise not_supported(f"DataStreamReader.format('{kind}')",
                            " (formats: csv, json, parquet, text, rate, socket, kafka, sensors)")

    def _files(self, kind: str, path: Any) -> Any:
        _refuse_file_options(kind, self._options)
        if path is None:
            raise IllegalArgumentException("'path' is not specified", "_LEGACY_ERROR_TEMP_2203")
        if self._schema is None and kind not in ("parquet", "text"):  # text: Spark's one value column
            raise IllegalArgumentException(
                "Schema must be specified when creating a streaming source DataFrame. If some files already "
                "exist in the directory, then depending on the file format you may be able to create a static "
                "DataFrame on that directory with 'spark.read.load(directory)' and infer schema from it.",
                "_LEGACY_ERROR_TEMP_3253")
        per_trigger = self._get("maxFilesPerTrigger")
        return sn.sources.files(str(path), format=kind,
                                schema=None if self._schema is None else to_ddl(self._schema),
                                max_files_per_trigger=None if per_trigger is None else int(per_trigger),
                                header=self._header(), sep=self._sep())

    def _sep(self) -> str:
        """Spark's CSV ``sep`` option (or ``delimiter``), ``,`` by default."""
        return str(self._get("sep", self._get("delimiter", ",")))

    def _header(self) -> bool | str:
        """Spark's CSV default: no header line (columns by position) unless ``option("header", True)``, and
        then, with the schema given (always, for a stream), the header line is skipped and the columns are still
        read by position (Spark's ``enforceSchema``, on by default), whatever the header names."""
        return "skip" if str(self._get("header", "false")).strip().lower() == "true" else False

    def _kafka(self):
        topic, pattern = self._get("subscribe"), self._get("subscribePattern")
        if topic is None and pattern is None:
            raise not_supported("DataStreamReader.format('kafka') without option('subscribe', topics) or "
                                "option('subscribePattern', regex)")
        per_trigger = self._get("maxOffsetsPerTrigger")
        return sn.sources.kafka(self._get("kafka.bootstrap.servers"), topic, pattern=pattern,
                                starting_offsets=self._get("startingOffsets", "latest"),
                                max_offsets_per_trigger=None if per_trigger is None else int(per_trigger),
                                fail_on_data_loss=str(self._get("failOnDataLoss", "true")).lower() != "false",
                                include_headers=str(self._get("includeHeaders", "false")).lower() == "true")

    def csv(self, path: str, schema: StructType | str | None = None, **options: Any) -> DataFrame:
        return self.load(path, "csv", schema, **{k: v for k, v in options.items() if v is not None})

    def json(self, path: str, schema: StructType | str | None = None, **options: Any) -> DataFrame:
        return self.load(path, "json", schema, **{k: v for k, v in options.items() if v is not None})

    def parquet(self, path: str, **options: Any) -> DataFrame:
        return self.load(path, "parquet", **{k: v for k, v in options.items() if v is not None})

    def text(self, path: str, **options: Any) -> DataFrame:
        return self.load(path, "text", **{k: v for k, v in options.items() if v is not None})

    def table(self, tableName: str) -> DataFrame:
        view = self._session._views.get(tableName)
        if view is None or not view.isStreaming:
            raise AnalysisException(f"The table or view `{tableName}` cannot be found.", "TABLE_OR_VIEW_NOT_FOUND")
        return view


class DataFrameReader(DataStreamReader):
    """``spark.read``: a directory's files once, as a static table."""

    def table(self, tableName: str) -> DataFrame:
        return self._session.table(tableName)

    def load(self, path: Any = None, format: str | None = None, schema: StructType | str | None = None,
             **options: Any) -> DataFrame:
        from stream_nb.sources.formats import file_schema, read_file
        from stream_nb.types import parse_schema

        self.options(**options)  # csv(path, header=True, sep=";") as option("header", True)...
        kind = (format or self._format or "parquet").lower()
        _refuse_file_options(kind, self._options)
        schema = schema if schema is not None else self._schema
        if kind not in _FILE_FORMATS:
            raise not_supported(f"DataFrameReader.format('{kind}')", " (formats: csv, json, parquet, text)")
        path = str(path if path is not None else self._get("path"))
        names = sorted(os.path.join(path, n) for n in os.listdir(path) if not n.startswith((".", "_"))) \
            if os.path.isdir(path) else [path]
        if not names and schema is None:
            raise AnalysisException(f"Unable to infer schema for {kind.upper()}. It must be specified manually.",
                                    "UNABLE_TO_INFER_SCHEMA")
        arrow = parse_schema(to_ddl(schema)) if schema is not None else \
            file_schema(names[0], kind, header=self._header(), sep=self._sep())
        if schema is None and kind == "csv" and str(self._get("inferSchema", "false")).lower() != "true":
            arrow = pa.schema([pa.field(f.name, pa.string()) for f in arrow])  # Spark: strings unless inferSchema
        elif schema is None and kind == "json":
            arrow = _spark_json_schema(arrow)
        tables = [read_file(n, kind, arrow, header=self._header(), sep=self._sep()) for n in names] or \
            [arrow.empty_table()]
        table = pa.concat_tables(tables)
        if schema is None and kind == "csv":
            table = _narrowed_ints(table)
        # as Arrow: through pandas a NULL double would be NaN (and a map's dicts read back as a struct)
        return self._session._input("static", table, streaming=False)


def _spark_json_schema(schema: pa.Schema) -> pa.Schema:
    """The schema Spark infers from JSON: fields in name order at every level, and a string that looks like a
    time kept a string (Spark's ``inferTimestamp`` is off by default)."""
    def spark(kind: pa.DataType) -> pa.DataType:
        if pa.types.is_struct(kind):
            return pa.struct(sorted((pa.field(f.name, spark(f.type)) for f in kind), key=lambda f: f.name))
        if pa.types.is_list(kind):
            return pa.list_(spark(kind.value_type))
        return pa.string() if pa.types.is_timestamp(kind) or pa.types.is_date(kind) else kind
    return pa.schema(list(spark(pa.struct(list(schema)))))


def _narrowed_ints(table: pa.Table) -> pa.Table:
    """CSV's inferred integers as Spark infers them over every row: an int where every value fits one."""
    int32 = pa.int32()
    for index, field in enumerate(table.schema):
        if pa.types.is_int64(field.type):
            bounds = pc.min_max(table.column(index))
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if low is not None and -2**31 <= low and high < 2**31:
                table = table.set_column(index, pa.field(field.name, int32), table.column(index).cast(int32))
    return table


class DataStreamWriter(_Options):
    def __init__(self, df: DataFrame):
        super().__init__()
        self._df = df
        self._mode = "append"  # Spark's default output mode
        self._trigger: str | None = None
        self._name: str | None = None
        self._partition: list[str] = []
        self._batch_fn: Callable | None = None
        self._table: str | None = None  # toTable's name

    def outputMode(self, outputMode: str) -> DataStreamWriter:
        mode = outputMode.lower() if isinstance(outputMode, str) else outputMode
        if mode not in ("append", "update", "complete"):
            raise IllegalArgumentException(f"Unknown output mode {outputMode}. Accepted output modes are "
                                           "'append', 'complete', 'update'", "_LEGACY_ERROR_TEMP_2121")
        self._mode = mode
        return self

    def queryName(self, queryName: str) -> DataStreamWriter:
        if not isinstance(queryName, str) or not queryName.strip():
            raise ValueError(f"[VALUE_NOT_NON_EMPTY_STR] Value for `queryName` must be a non-empty string, "
                             f"got '{queryName}'.")
        self._name = queryName
        return self

    def trigger(self, *, processingTime: str | None = None, once: bool | None = None,
                continuous: str | None = None, availableNow: bool | None = None) -> DataStreamWriter:
        given = [k for k, v in (("processingTime", processingTime), ("once", once), ("continuous", continuous),
                                ("availableNow", availableNow)) if v is not None]
        if len(given) != 1:
            raise ValueError("[ONLY_ALLOW_SINGLE_TRIGGER] Only a single trigger is allowed.")
        if continuous is not None:  # Spark's Trigger.Continuous: the interval is the checkpoint interval
            self._trigger = ("continuous", continuous)
        else:
            self._trigger = processingTime if processingTime is not None else "once" if once else "available_now"
        return self

    def partitionBy(self, *cols: str) -> DataStreamWriter:
        self._partition = list(cols[0]) if len(cols) == 1 and isinstance(cols[0], (list, tuple)) else list(cols)
        return self

    def foreachBatch(self, func: Callable) -> DataStreamWriter:
        self._format, self._batch_fn = "foreachbatch", func
        return self

    def foreach(self, f: Any) -> DataStreamWriter:
        self._format, self._batch_fn = "foreach", f
        return self

    def toTable(self, tableName: str, format: str | None = None, outputMode: str | None = None,
                partitionBy: Any = None, queryName: str | None = None, **options: Any) -> StreamingQuery:
        """Spark writes a catalog table; here a DuckDB table of that name in the session's warehouse
        (``spark.sql.warehouse.dir``, ./spark-warehouse by default: its file stream_nb.duckdb), each batch in
        one transaction, exactly once; ``spark.table(name)`` and ``spark.sql`` read it, while the query runs
        and after it stops."""
        if partitionBy is not None or self._partition:
            raise not_supported("DataStreamWriter.toTable with partitionBy", " (a DuckDB table has no partitions)")
        self._format, self._table = "table", tableName
        query = self.start(outputMode=outputMode, queryName=queryName, **options)
        session = self._df.sparkSession
        session._views[tableName] = execution.stored_table(session, self._get("path"), tableName)
        return query

    def start(self, path: str | None = None, format: str | None = None, outputMode: str | None = None,
              partitionBy: Any = None, queryName: str | None = None, **options: Any) -> StreamingQuery:
        from stream_nb.pyspark.sql.streaming.query import StreamingQuery
        from stream_nb.pyspark.sql.streaming.sinks import make_sink

        for value, setter in ((format, self.format), (outputMode, self.outputMode),
                              (queryName, self.queryName)):
            if value is not None:
                setter(value)
        if partitionBy is not None:
            self.partitionBy(partitionBy)
        self.options(**options)
        if path is not None:
            self.option("path", path)
        session = self._df.sparkSession
        checkpoint = self._get("checkpointLocation") or _default_checkpoint(session, self._name)
        sink = make_sink(self, checkpoint)
        try:
            query = sn.start(self._df._sql(), name=self._name, sources=execution.namespace(self._df, fresh=True),
                             output_mode=self._mode, trigger=self._trigger, watermark=self._df._watermark or None,
                             watermark_policy=execution.watermark_policy(self._df, session.conf.get(
                                 "spark.sql.streaming.multipleWatermarkPolicy", "min").lower()),
                             checkpoint=checkpoint, sink=sink, group_state=self._df._group_state,
                             clock=self._get("stream_nb.clock"))  # a ManualClock, for processing-time timeouts
        except sn.OutputModeError as err:
            raise AnalysisException(str(err), "STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION") from None
        except sn.StreamSQLError as err:
            raise AnalysisException(str(err), "STREAM_NB_PLAN") from None
        if (self._format or "").lower() == "memory" and self._name:
            # Spark's memory sink is a temp view of the query's name, made with createOrReplaceTempView: it
            # replaces a view of that name (a toTable table's included) for spark.sql and spark.table
            session._views.pop(self._name, None)
        handle = StreamingQuery(query, session.streams, named=self._name is not None)
        session.streams._add(handle)
        return handle


def _default_checkpoint(session: SparkSession, name: str | None) -> str | None:
    root = session.conf.get("spark.sql.streaming.checkpointLocation")
    return None if root is None or name is None else os.path.join(root, name)


def _seconds(value: Any) -> Any:
    return None if value is None else (f"{value} seconds" if str(value).isdigit() else value)


_ = pd  # pandas frames are what foreachBatch and the console sink receive
