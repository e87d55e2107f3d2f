"""``df.describe()`` and ``df.summary()`` as PySpark gives them: a ``summary`` column naming each statistic, then
one string column per column described, each value as Spark writes it.

Spark's statistics: ``count`` of the non-NULL values, ``mean`` and ``stddev`` (sample) of the values (a decimal's
mean a decimal, 0.083333), a string column's read as doubles (its numeric strings count), ``min`` and ``max`` in the column's own order (a string's
alphabetical), ``count_distinct``, ``approx_count_distinct``, and percentiles such as ``25%`` (one of the values,
Spark's percentile_approx). Without columns named, the numeric and string columns are described.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql.types import NumericType, StringType

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame

DESCRIBE = ("count", "mean", "stddev", "min", "max")
SUMMARY = ("count", "mean", "stddev", "min", "25%", "50%", "75%", "max")


def summarize(df: DataFrame, columns: list[str], statistics: list[str]) -> DataFrame:
    """The statistics of ``columns`` (of ``df``; none: its numeric and string ones), one row a statistic."""
    from stream_nb.pyspark.sql import functions as F

    fields = {f.name: f for f in df.schema.fields}
    named = columns or [f.name for f in df.schema.fields if isinstance(f.dataType, (NumericType, StringType))]
    for name in named:
        if name not in fields:
            raise AnalysisException(f"A column or function parameter with name `{name}` cannot be resolved. "
                                    f"Did you mean one of the following? {list(fields)}.",
                                    "UNRESOLVED_COLUMN.WITH_SUGGESTION")
    items = [F.expr(_statistic(stat, f"`{name.replace('`', '``')}`", isinstance(fields[name].dataType,
                                                                               NumericType))).alias(f"s{i}_{j}")
             for i, stat in enumerate(statistics) for j, name in enumerate(named)]
    values = df.agg(*items).collect()[0] if items else ()
    rows = [(stat, *(values[i * len(named) + j] for j in range(len(named)))) for i, stat in enumerate(statistics)]
    schema = ", ".join(["summary string", *(f"`{n.replace('`', '``')}` string" for n in named)])
    return df.sparkSession.createDataFrame(rows, schema)


def _statistic(stat: str, column: str, numeric: bool) -> str:
    """The SQL of one statistic of one column, as a string."""
    number = column if numeric else f"CAST({column} AS DOUBLE)"
    texts = {"count": f"count({column})", "mean": f"avg({number})", "stddev": f"stddev({number})", "min": f"min({column})", "max": f"max({column})",
             "count_distinct": f"count(DISTINCT {column})",
             "approx_count_distinct": f"approx_count_distinct({column})"}
    text = texts.get(stat.lower())
    if text is None and stat.endswith("%"):
        try:
            share = float(stat[:-1]) / 100
        except ValueError:
            share = -1.0
        if 0 <= share <= 1:
            text = f"percentile_approx({number}, {share!r})"
    if text is None:
        raise ValueError(f"{stat} is not a recognised statistic.")
    return f"CAST({text} AS STRING)"
