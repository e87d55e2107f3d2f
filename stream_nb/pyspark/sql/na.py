"""Missing values: ``df.fillna`` / ``df.dropna`` and ``df.na.fill`` / ``df.na.drop``, with Spark's rules.

A value fills the columns of its kind only (a number the numeric columns, cast to each one's type; a string the
string columns; a bool the boolean ones), NaN counts as missing in floating-point columns, and a column of
another kind named in ``subset`` is left as it is, silently, as in Spark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stream_nb.pyspark.errors import PySparkTypeError, PySparkValueError, not_supported
from stream_nb.pyspark.sql import types as T

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.column import Column
    from stream_nb.pyspark.sql.dataframe import DataFrame

_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
_FLOATING = (T.FloatType, T.DoubleType)


def fill(df: DataFrame, value: Any, subset: Any = None) -> DataFrame:
    """Spark's ``na.fill``: each null (and NaN, in a float or double column) of the columns ``value`` fits."""
    if isinstance(value, dict):
        wanted = dict(value)
    elif isinstance(value, (bool, int, float, str)):
        names = _names(subset) or df.columns
        wanted = {name: value for name in names}
    else:
        raise PySparkTypeError(f"Argument `value` should be a bool, dict, float, int or str, got "
                               f"{type(value).__name__}.", "NOT_BOOL_OR_DICT_OR_FLOAT_OR_INT_OR_STR")
    types = {f.name: f.dataType for f in df.schema.fields}
    filled = {name: _filled(name, types[name], v) for name, v in wanted.items()
              if name in types and _fits(v, types[name])}
    return df.withColumns(filled) if filled else df


def drop(df: DataFrame, how: str = "any", thresh: int | None = None, subset: Any = None) -> DataFrame:
    """Spark's ``na.drop``: rows with fewer than ``thresh`` present values (neither null nor NaN) among
    ``subset``; ``how="any"`` is all of them, ``how="all"`` one."""
    from stream_nb.pyspark.sql import functions as F

    if how not in ("any", "all"):
        raise PySparkValueError(f"Argument `how` should be 'any' or 'all', got {how!r}.", "VALUE_NOT_ANY_OR_ALL")
    names = _names(subset) or df.columns
    if thresh is None:
        thresh = len(names) if how == "any" else 1
    types = {f.name: f.dataType for f in df.schema.fields}
    present = [F.when(_missing(F.col(n), types.get(n)), 0).otherwise(1) for n in names]
    total = present[0]
    for p in present[1:]:
        total = total + p
    return df.filter(total >= thresh)


def _names(subset: Any) -> list[str]:
    return [subset] if isinstance(subset, str) else list(subset or [])


def _fits(value: Any, dtype: T.DataType) -> bool:
    if isinstance(value, bool):
        return isinstance(dtype, T.BooleanType)
    if isinstance(value, (int, float)):
        return isinstance(dtype, _NUMERIC)
    return isinstance(value, str) and isinstance(dtype, T.StringType)


def _missing(column: Column, dtype: T.DataType | None) -> Column:
    from stream_nb.pyspark.sql import functions as F

    return column.isNull() | F.isnan(column) if isinstance(dtype, _FLOATING) else column.isNull()


def _filled(name: str, dtype: T.DataType, value: Any) -> Column:
    from stream_nb.pyspark.sql import functions as F

    column = F.col(name)
    return F.when(_missing(column, dtype), F.lit(value).cast(dtype)).otherwise(column)


class DataFrameNaFunctions:
    """``df.na``: ``fill``, ``drop`` (``replace`` is not there yet)."""

    def __init__(self, df: DataFrame):
        self._df = df

    def fill(self, value: Any, subset: Any = None) -> DataFrame:
        return fill(self._df, value, subset)

    def drop(self, how: str = "any", thresh: int | None = None, subset: Any = None) -> DataFrame:
        return drop(self._df, how, thresh, subset)

    def replace(self, *args: Any, **kwargs: Any) -> DataFrame:
        raise not_supported("DataFrame.na.replace", "; F.when(...).otherwise(...) in withColumn does it")

