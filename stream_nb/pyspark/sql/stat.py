"""``df.stat`` and its shortcuts ``df.corr``, ``df.cov``, ``df.approxQuantile``: numbers of a static DataFrame,
computed as Spark's ``StatFunctions`` computes them.

* ``corr`` (Pearson) and ``cov`` (sample) read each value as a double, a NULL as 0.0 (Spark's counter takes
  ``row.getDouble``, which is 0.0 for a NULL), over every row; a side that does not vary gives a ``corr`` of
  NaN (0 / 0), not the NULL of SQL's ``corr``; the ``cov`` of one row or none is 0.0.
* ``approxQuantile`` leaves NULL and NaN out and summarizes the values, in their order, as Spark's
  Greenwald-Khanna ``QuantileSummaries`` does (``quantile_summaries.py``): the value Spark answers within
  ``relativeError`` of the rank ceil(p * n), the exact one for 0. A column with no value gives an empty list.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from stream_nb.pyspark.errors import (
    IllegalArgumentException,
    PySparkTypeError,
    PySparkValueError,
)
from stream_nb.pyspark.sql import types as T
from stream_nb.pyspark.sql.quantile_summaries import approx_quantiles

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame


class DataFrameStatFunctions:
    """``df.stat``: ``corr``, ``cov``, ``approxQuantile``, ``crosstab``."""

    def __init__(self, df: DataFrame):
        self._df = df

    def corr(self, col1: str, col2: str, method: str | None = None) -> float:
        return corr(self._df, col1, col2, method)

    def cov(self, col1: str, col2: str) -> float:
        return cov(self._df, col1, col2)

    def crosstab(self, col1: str, col2: str) -> DataFrame:
        from stream_nb.pyspark.sql.pivot import crosstab

        return crosstab(self._df, col1, col2)

    def approxQuantile(self, col: str | list[str] | tuple[str, ...], probabilities: list[float] | tuple[float, ...],
                       relativeError: float) -> list[float] | list[list[float]]:
        return approx_quantile(self._df, col, probabilities, relativeError)


def corr(df: DataFrame, col1: str, col2: str, method: str | None = None) -> float:
    if method not in (None, "pearson"):
        raise PySparkValueError(f"Currently only the calculation of the Pearson Correlation coefficient is "
                                f"supported, got {method!r}.", "VALUE_NOT_PEARSON")
    _, comoment, spread1, spread2 = _moments(df, "correlation", col1, col2)
    return _ratio(comoment, math.sqrt(spread1 * spread2))


def cov(df: DataFrame, col1: str, col2: str) -> float:
    n, comoment, _, _ = _moments(df, "covariance", col1, col2)
    return comoment / (n - 1) if n > 1 else 0.0


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)


def _moments(df: DataFrame, what: str, col1: str, col2: str) -> tuple[int, float, float, float]:
    """(rows, the co-moment, each side's second moment) over every row, a NULL read as 0.0."""
    from stream_nb.pyspark.sql import functions as F

    for name in (col1, col2):
        if not isinstance(name, str):
            raise PySparkTypeError(f"Argument `col1`/`col2` should be a str, got {type(name).__name__}.",
                                   "NOT_STR")
        if not isinstance(_type(df, name), T.NumericType):
            raise IllegalArgumentException(f"requirement failed: Currently {what} calculation for columns with "
                                           f"dataType {_type(df, name).simpleString()} not supported.")
    x, y = (F.coalesce(F.col(c).cast("double"), F.lit(0.0)) for c in (col1, col2))
    row = df.select(F.count(F.lit(1)), F.covar_pop(x, y), F.var_pop(x), F.var_pop(y)).collect()[0]
    n = row[0]
    return n, *(value * n if value is not None else 0.0 for value in row[1:])  # (no row: Spark's zeros)


def approx_quantile(df: DataFrame, col: str | list[str] | tuple[str, ...], probabilities: Any,
                    relativeError: float) -> list[float] | list[list[float]]:
    from stream_nb.pyspark.sql import functions as F

    names = [col] if isinstance(col, str) else list(col) if isinstance(col, (list, tuple)) else None
    if names is None or not all(isinstance(n, str) for n in names):
        raise PySparkTypeError(f"Argument `col` should be a list, str or tuple, got {type(col).__name__}.",
                               "NOT_LIST_OR_STR_OR_TUPLE")
    if not isinstance(probabilities, (list, tuple)) or not all(isinstance(p, (int, float)) for p in probabilities):
        raise PySparkTypeError(f"Argument `probabilities` should be list[float, int], got "
                               f"{type(probabilities).__name__}.", "NOT_EXPECTED_TYPE")
    if not all(0 <= p <= 1 for p in probabilities):
        raise PySparkValueError(f"All values of `probabilities` should be between 0 and 1, got {probabilities}.",
                                "INVALID_VALUE")
    if not isinstance(relativeError, (int, float)) or relativeError < 0:
        raise PySparkValueError(f"Value for `relativeError` must be greater than or equal to 0, got "
                                f"'{float(relativeError)}'.", "NEGATIVE_VALUE")
    answers = []
    for name in names:
        if not isinstance(_type(df, name), T.NumericType):
            raise IllegalArgumentException(f"requirement failed: Quantile calculation for column {name} with data "
                                           f"type {type(_type(df, name)).__name__} is not supported.")
        value = F.col(name).cast("double")
        kept = df.select(value.alias("x")).where(F.col("x").isNotNull() & ~F.isnan(F.col("x")))
        answers.append(approx_quantiles([row[0] for row in kept.collect()], probabilities, relativeError))
    return answers[0] if isinstance(col, str) else answers


def _type(df: DataFrame, name: str) -> T.DataType:
    from stream_nb.pyspark.sql.na import resolve

    return df.schema[resolve(df, name)].dataType
