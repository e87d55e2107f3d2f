"""``df.groupBy(keys).pivot(col, values).agg(...)`` of a static DataFrame, as Spark pivots.

Spark aggregates by the keys and the pivot column, then spreads each aggregate over one column per pivot
value: a key without rows for a value has NULL there (a count too). Without ``values``, the values are every
one the column holds, sorted (NULL first, its column named ``null``); more than 10,000 are refused, as Spark
refuses them. One aggregate names each column by its value (``x``); several by value and aggregate
(``x_sum(i)``, ``x_mx`` for an alias). Written as two GROUP BYs: the keys and the pivot value, then the keys
alone, each value's aggregate taken from the row of that value. ``crosstab`` is a pivot of counts.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql import functions as F
from stream_nb.pyspark.sql.column import Column

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.dataframe import DataFrame

MAX_VALUES = 10_000  # spark.sql.pivotMaxValues
_PIVOT = "__pivot"


def check_pivot(df: DataFrame, sets: Any, pivot: Any) -> None:
    if df._streaming:
        raise AnalysisException("pivot of a streaming DataFrame is not supported by stream_nb.pyspark yet: "
                                "the values it spreads into columns are those of the whole input",
                                "NOT_IMPLEMENTED")
    if sets is not None or pivot is not None:
        raise AnalysisException("pivot follows groupBy (once); after rollup, cube or groupingSets it is not "
                                "supported by stream_nb.pyspark yet", "NOT_IMPLEMENTED")


def pivoted(df: DataFrame, keys: list[Column], column: Column, values: list[Any] | None,
            aggs: list[Column]) -> DataFrame:
    for agg in aggs:
        # the DataFrame API's * (F.count("*"), agg({"*": "count"})) is refused in a pivot, as Spark's analyzer
        # refuses it; count(*) written in SQL (F.expr) is count(1) already in Spark's parser (sqlglot keeps where
        # it read a node in its meta: the API's star has none)
        if any("start" not in star.meta for star in agg._unaliased().find_all(exp.Star)):
            raise AnalysisException("Invalid usage of '*' in Pivot.", "INVALID_USAGE_OF_STAR_OR_REGEX")
    if values is None:
        found = df.select(column.alias(_PIVOT)).distinct().orderBy(F.col(_PIVOT).asc_nulls_first()) \
            .limit(MAX_VALUES + 1).collect()
        if len(found) > MAX_VALUES:
            raise AnalysisException(f"The pivot column {column._name} has more than {MAX_VALUES} distinct values, "
                                    "this could indicate an error. If this was intended, give the values as "
                                    "pivot's second argument", "PIVOT_VALUE_LIMIT_EXCEEDED")
        values = [row[0] for row in found]
    groups = [k._unaliased() for k in keys]
    inner = exp.select(*[k._named() for k in keys], exp.alias_(column._unaliased(), _PIVOT),
                       *[exp.alias_(a._unaliased(), f"__agg{i}") for i, a in enumerate(aggs)]) \
        .from_(df._from()).group_by(*groups, column._unaliased())
    items = [exp.column(k._name, quoted=True) for k in keys]
    for value in values:
        for i, agg in enumerate(aggs):
            chosen = exp.If(this=exp.NullSafeEQ(this=exp.column(_PIVOT), expression=F.lit(value)._unaliased()),
                            true=exp.column(f"__agg{i}"))
            name = value_name(value) if len(aggs) == 1 else f"{value_name(value)}_{agg._name}"
            items.append(exp.alias_(exp.Anonymous(this="any_value", expressions=[chosen]), name, quoted=True))
    query = exp.select(*items).from_(inner.subquery("__pivoted"))
    if keys:
        query = query.group_by(*[exp.column(k._name, quoted=True) for k in keys])
    return df._derive(query)


def value_name(value: Any) -> str:
    """A pivot value as Spark names its column: ``null``, ``true``, ``1.5``, ``2024-01-01``, text as it is."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):  # as Java writes a double: NaN, 1.0E7
        from stream_nb.pyspark.sql.show import java_float_text

        return java_float_text(value)
    return str(value)


def crosstab(df: DataFrame, col1: str, col2: str) -> DataFrame:
    """Spark's ``df.crosstab(col1, col2)``: a row per value of ``col1`` (as text, ``null`` for NULL) in column
    ``col1_col2``, a column per value of ``col2`` as text (``null`` for NULL, backquotes dropped; sorted as text),
    each cell the count of rows with both (0 for none)."""
    first = f"{col1}_{col2}"

    def text(name: str) -> Column:
        return F.when(F.col(name).isNull(), F.lit("null")).otherwise(F.col(name).cast("string"))

    keyed = df.select(text(col1).alias(first), F.regexp_replace(text(col2), "`", "").alias(col2))
    table = keyed.groupBy(first).pivot(col2).count()
    return table.fillna({c: 0 for c in table.columns if c != first})  # Spark's fill(0L): never NULL
