"""``SparkSession`` on stream_nb: no JVM, the engine runs in this process."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pandas as pd
import sqlglot
from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException, IllegalArgumentException
from stream_nb.pyspark.sql.dataframe import DataFrame
from stream_nb.pyspark.sql.execution import Live
from stream_nb.pyspark.sql.types import StructType, _parse_datatype_string
from stream_nb.sql.dialect import StreamSpark

_names = itertools.count(1)


class _Builder:
    _lock = threading.Lock()

    def __init__(self):
        self._options: dict[str, Any] = {}

    def appName(self, name: str) -> _Builder:
        return self.config("spark.app.name", name)

    def master(self, master: str) -> _Builder:
        return self.config("spark.master", master)

    def config(self, key: str | None = None, value: Any = None, conf: Any = None, *,
               map: dict | None = None) -> _Builder:
        if key is not None:
            self._options[key] = value
        self._options.update(map or {})
        return self

    def enableHiveSupport(self) -> _Builder:
        return self

    def getOrCreate(self) -> SparkSession:
        with self._lock:
            if SparkSession._active is None:
                SparkSession._active = SparkSession()
            SparkSession._active.conf._values.update({k: str(v) for k, v in self._options.items()})
            return SparkSession._active

    create = getOrCreate


class RuntimeConfig:
    def __init__(self):
        self._values = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "200"}

    def set(self, key: str, value: Any) -> None:
        self._values[key] = str(value)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def unset(self, key: str) -> None:
        self._values.pop(key, None)


class SparkContext:
    """``spark.sparkContext``, for what scripts call on it first (``setLogLevel``): there is no cluster, so no
    RDDs; the rest says so by name."""

    _LEVELS = ("ALL", "DEBUG", "ERROR", "FATAL", "INFO", "OFF", "TRACE", "WARN")

    def __init__(self, session: SparkSession):
        self._session = session
        self.defaultParallelism = 1  # one process runs every partition

    @property
    def appName(self) -> str:
        return self._session.conf.get("spark.app.name", "stream_nb")

    @property
    def master(self) -> str:
        return self._session.conf.get("spark.master", "local[*]")

    @property
    def version(self) -> str:
        return self._session.version

    def setLogLevel(self, logLevel: str) -> None:
        if str(logLevel).upper() not in self._LEVELS:
            raise IllegalArgumentException(f"Supplied level {logLevel} did not match one of: "
                                           f"{','.join(self._LEVELS)}", "_LEGACY_ERROR_TEMP_3000")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"SparkContext.{name} is not supported by stream_nb.pyspark (no cluster, no RDDs): "
                             "use the DataFrame API")


class _ClassProperty:
    def __get__(self, obj: Any, owner: type) -> _Builder:
        return _Builder()


class SparkSession:
    builder = _ClassProperty()
    _active: SparkSession | None = None

    def __init__(self):
        from stream_nb.pyspark.sql.streaming.query import StreamingQueryManager

        self.conf = RuntimeConfig()
        self._views: dict[str, DataFrame] = {}
        self.streams = StreamingQueryManager(self)
        self.version = "4.0.0 (stream_nb)"
        self.sparkContext = SparkContext(self)

    @classmethod
    def getActiveSession(cls) -> SparkSession | None:
        return cls._active

    active = getActiveSession

    def newSession(self) -> SparkSession:
        return SparkSession()

    def stop(self) -> None:
        for q in self.streams.active:
            q.stop()
        if SparkSession._active is self:
            SparkSession._active = None

    def __enter__(self) -> SparkSession:  # noqa: PYI034 (PySpark's signature)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def readStream(self):
        from stream_nb.pyspark.sql.streaming.readwriter import DataStreamReader

        return DataStreamReader(self)

    @property
    def read(self):
        from stream_nb.pyspark.sql.streaming.readwriter import DataFrameReader

        return DataFrameReader(self)

    def _input(self, prefix: str, value: Any, streaming: bool) -> DataFrame:
        name = f"{prefix}_{next(_names)}"
        return DataFrame(self, exp.select(exp.Star()).from_(name), {name: value}, streaming=streaming)

    def createDataFrame(self, data: Any, schema: StructType | str | list[str] | None = None,
                        samplingRatio: float | None = None, verifySchema: bool = True) -> DataFrame:
        from stream_nb.pyspark.sql.rows import frame_of

        return self._input("static", frame_of(data, schema), streaming=False)

    def range(self, start: int, end: int | None = None, step: int = 1, numPartitions: int | None = None):
        start, end = (0, start) if end is None else (start, end)
        return self._input("range", pd.DataFrame({"id": pd.array(range(start, end, step), dtype="int64")}),
                           streaming=False)

    def table(self, tableName: str) -> DataFrame:
        return self.sql(f"SELECT * FROM {tableName}")

    def _drop(self, tree: exp.Drop) -> DataFrame:
        """``DROP VIEW [IF EXISTS] v`` (and ``DROP TABLE``) of a temp view: as Spark, an empty result; a name
        that is not there is an error unless IF EXISTS."""
        tables = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
        for table in tables:
            name = table.name
            if name in self._views:
                del self._views[name]
            elif not tree.args.get("exists"):
                raise AnalysisException(f"The table or view `{name}` cannot be found. Verify the spelling and "
                                        "correctness of the schema and catalog.", "TABLE_OR_VIEW_NOT_FOUND")
        return self.createDataFrame([], "x int").limit(0)  # (Spark's has no column; nothing reads it)

    def sql(self, sqlQuery: str, args: Any = None, **kwargs: Any) -> DataFrame:
        """A query over temp views and the memory sinks of running queries (named by ``queryName``)."""
        try:
            tree = sqlglot.parse_one(sqlQuery, read=StreamSpark)  # the engine's Spark: window(...) is a call
        except sqlglot.errors.ParseError as err:
            raise AnalysisException(str(err), "PARSE_SYNTAX_ERROR") from None
        if isinstance(tree, exp.Drop) and str(tree.args.get("kind", "")).upper() in ("TABLE", "VIEW"):
            return self._drop(tree)
        inputs: dict[str, Any] = {}
        streaming, watermark = False, {}
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            name = table.name
            if name in ctes:
                continue
            if name in self._views:
                view = self._views[name]
                inputs.update(view._inputs)
                streaming, watermark = streaming or view._streaming, {**watermark, **view._watermark}
                if not _is_bare(view, name):
                    table.replace(exp.alias_(view._query.subquery(), table.alias or name, table=True))
                elif table.name != next(iter(view._inputs)):
                    table.replace(exp.alias_(exp.to_table(next(iter(view._inputs))), table.alias or name,
                                             table=True))
                continue
            query = self.streams._by_name(name)
            if query is not None:
                inputs[name] = Live(query)
                continue
            raise AnalysisException(f"The table or view `{name}` cannot be found. Verify the spelling and "
                                    "correctness of the schema and catalog.", "TABLE_OR_VIEW_NOT_FOUND")
        return DataFrame(self, tree, inputs, streaming=streaming, watermark=watermark)

    @property
    def catalog(self):
        from stream_nb.pyspark.errors import not_supported

        raise not_supported("SparkSession.catalog")

    @property
    def udf(self):
        from stream_nb.pyspark.sql.udf import UDFRegistration

        return UDFRegistration(self)


def _is_bare(view: DataFrame, name: str) -> bool:
    from stream_nb.pyspark.sql.dataframe import _bare_table

    return _bare_table(view._query) is not None and view._alias is None


__all__ = ["SparkSession", "_parse_datatype_string"]
