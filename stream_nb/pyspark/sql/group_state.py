"""``GroupedData.applyInPandasWithState``: the grouped DataFrame's SQL runs per batch, the function on top.

The DataFrame it returns carries a ``GroupStatePlan`` (``sql/group_state.py``) that ``writeStream.start()``
hands to ``sn.start``; its schema is ``outputStructType``. stream_nb runs no transformation after it yet (Spark
allows stateless ones): do them in the function, or in a query reading this one's memory sink.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException, PySparkTypeError, not_supported
from stream_nb.pyspark.sql.dataframe import DataFrame
from stream_nb.pyspark.sql.streaming.state import KINDS
from stream_nb.pyspark.sql.types import StructType, _parse_datatype_string, from_arrow_schema, to_ddl
from stream_nb.sql.group_state import GroupStatePlan
from stream_nb.types import parse_schema

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.column import Column


def apply_in_pandas_with_state(df: DataFrame, keys: list[Column], func: Any, outputStructType: Any,
                               stateStructType: Any, outputMode: str, timeoutConf: str) -> DataFrame:
    if not callable(func):
        raise PySparkTypeError(f"Argument `func` should be a function, got {type(func).__name__}.",
                               "NOT_CALLABLE")
    if timeoutConf not in KINDS:
        raise PySparkTypeError(f"timeoutConf must be one of {', '.join(KINDS)} (GroupStateTimeout), "
                               f"got {timeoutConf!r}.", "NOT_EXPECTED_TYPE")
    mode = outputMode.lower() if isinstance(outputMode, str) else outputMode
    if mode not in ("append", "update"):
        raise AnalysisException(f"Unknown output mode {outputMode}. Accepted output modes for "
                                "applyInPandasWithState are 'append' and 'update'", "_LEGACY_ERROR_TEMP_2121")
    if not df.isStreaming:
        raise not_supported("applyInPandasWithState on a static DataFrame", " (as in Spark 4.3: streams only)")
    names = []
    for key in keys:
        expr = key._unaliased()
        if not isinstance(expr, exp.Column) or expr.name not in df.columns:
            raise AnalysisException(f"applyInPandasWithState groups by columns of the DataFrame "
                                    f"({', '.join(df.columns)}); {key._name!r} is not one: add it with "
                                    "withColumn first", "UNRESOLVED_COLUMN.WITH_SUGGESTION")
        names.append(expr.name)
    spec = GroupStatePlan(func, names, _schema(outputStructType, "outputStructType"),
                          _schema(stateStructType, "stateStructType"), mode, timeoutConf)
    return GroupStateDataFrame(df, spec)


def _schema(value: Any, what: str) -> pa.Schema:
    struct = _parse_datatype_string(value) if isinstance(value, str) else value
    if not isinstance(struct, StructType):
        raise PySparkTypeError(f"{what} must be a StructType or a DDL string of fields, got {value!r}.",
                               "NOT_EXPECTED_TYPE")
    return parse_schema(to_ddl(struct))


class GroupStateDataFrame(DataFrame):
    """The output of ``applyInPandasWithState``: the rows its function returns."""

    def __init__(self, grouped: DataFrame, spec: GroupStatePlan):
        super().__init__(grouped.sparkSession, grouped._query, dict(grouped._inputs), streaming=True,
                         watermark=grouped._watermark, alias=grouped._alias)
        self._group_state = spec

    @property
    def schema(self) -> StructType:
        return from_arrow_schema(self._group_state.output_schema)

    def explain(self, extended: bool | str | None = None, mode: str | None = None) -> None:
        spec = self._group_state
        print(f"== applyInPandasWithState ==\n{spec.func_name} per group of ({', '.join(spec.keys)}), "
              f"{spec.function_mode} mode, {spec.timeout}, state <{to_ddl(from_arrow_schema(spec.state_schema))}>")
        super().explain(extended, mode)

    def _derive(self, query: exp.Query, **changes: Any) -> DataFrame:
        raise _after()

    def _from(self) -> exp.Expression:
        raise _after()

    def groupBy(self, *cols: Any):
        raise _after()

    groupby = groupBy


def _after():
    return not_supported("a transformation after applyInPandasWithState",
                         " (do it in the function, or in a query over this one's memory sink)")
