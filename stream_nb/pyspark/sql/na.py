"""Missing values: ``df.fillna`` / ``df.dropna`` / ``df.replace`` and ``df.na.fill`` / ``df.na.drop`` /
``df.na.replace``, with Spark's rules.

A value fills the columns of its kind only (a number the numeric columns, cast to each one's type; a string the
string columns; a bool the boolean ones), NaN counts as missing in floating-point columns, and a column of
another kind named in ``subset`` is left as it is, silently, as in Spark; a dict's values fill the columns it
names whatever their type, cast to it. A name no column has is Spark's error. ``replace`` works the same way: its
values (all numbers, all strings or all booleans, None among them) replace in the columns of that kind, a
replacement cast to each column's type.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from stream_nb.pyspark.errors import (
    AnalysisException,
    IllegalArgumentException,
    PySparkTypeError,
    PySparkValueError,
)
from stream_nb.pyspark.sql import types as T

if TYPE_CHECKING:
    from stream_nb.pyspark.sql.column import Column
    from stream_nb.pyspark.sql.dataframe import DataFrame

_FLOATING = (T.FloatType, T.DoubleType)


def fill(df: DataFrame, value: Any, subset: Any = None) -> DataFrame:
    """Spark's ``na.fill``: each null (and NaN, in a float or double column) of the columns ``value`` fits (a
    number, read as a double as PySpark hands it over, the numeric ones), or of each column a dict names (any
    type: the value is cast to it, the last of two names of one column winning), as
    ``coalesce(nanvl(c, NULL), CAST(value AS <c's type>))``, which Spark's analyzer knows is never NULL where that
    cast never gives NULL (``nullability.py``)."""
    types = {f.name: f.dataType for f in df.schema.fields}
    if isinstance(value, dict):
        wanted = {}
        for name, v in value.items():
            if v is None or not isinstance(v, (bool, int, float, str)):
                kind = "null" if v is None else type(v).__name__
                raise IllegalArgumentException(f"Unsupported value type {kind} ({v}).")
            wanted[resolve(df, name)] = v
    elif isinstance(value, (bool, int, float, str)):
        value = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
        names = [resolve(df, n) for n in _names(subset)] or df.columns
        wanted = {name: value for name in names if _fits(value, types[name])}
    else:
        raise PySparkTypeError(f"Argument `value` should be a bool, dict, float, int or str, got "
                               f"{type(value).__name__}.", "NOT_BOOL_OR_DICT_OR_FLOAT_OR_INT_OR_STR")
    filled = {name: _filled(name, types[name], v) for name, v in wanted.items()}
    return df.withColumns(filled) if filled else df


def resolve(df: DataFrame, name: str) -> str:
    """The column ``name`` names, in any case, as Spark's analyzer resolves it; none is Spark's error."""
    columns = df.columns
    found = [c for c in columns if c.lower() == name.lower()]
    if not found:
        listed = ", ".join(f"`{c}`" for c in columns)
        raise AnalysisException(f"A column, variable, or function parameter with name `{name}` cannot be "
                                f"resolved. Did you mean one of the following? [{listed}].",
                                "UNRESOLVED_COLUMN.WITH_SUGGESTION")
    return name if name in found else found[0]


def drop(df: DataFrame, how: str = "any", thresh: int | None = None, subset: Any = None) -> DataFrame:
    """Spark's ``na.drop``: rows with fewer than ``thresh`` present values (neither null nor NaN) among
    ``subset``; ``how="any"`` is all of them, ``how="all"`` one."""
    from stream_nb.pyspark.sql import functions as F

    if how not in ("any", "all"):
        raise PySparkValueError("Value for `how` has to be amongst the following values: ['any', 'all'].",
                                "VALUE_NOT_ALLOWED")
    names = [resolve(df, n) for n in _names(subset)] or df.columns
    if thresh is None:
        thresh = len(names) if how == "any" else 1
    types = {f.name: f.dataType for f in df.schema.fields}
    present = [F.when(_missing(column(n), types.get(n)), 0).otherwise(1) for n in names]
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
        return isinstance(dtype, T.NumericType)
    return isinstance(value, str) and isinstance(dtype, T.StringType)


def _missing(column: Column, dtype: T.DataType | None) -> Column:
    from stream_nb.pyspark.sql import functions as F

    return column.isNull() | F.isnan(column) if isinstance(dtype, _FLOATING) else column.isNull()


def _filled(name: str, dtype: T.DataType, value: Any) -> Column:
    from stream_nb.pyspark.sql import functions as F

    present = F.nanvl(column(name), F.lit(None)) if isinstance(dtype, _FLOATING) else column(name)
    return F.coalesce(present, F.lit(value).cast(dtype))


def column(name: str) -> Column:
    """The column of that name as it is (``a.b`` a name with a dot, not a struct's field)."""
    from stream_nb.pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


NO_VALUE = object()  # replace(to_replace) without a value: only a dict says what replaces what


def replace(df: DataFrame, to_replace: Any, value: Any = NO_VALUE, subset: Any = None) -> DataFrame:
    """Spark's ``na.replace``: each value of ``to_replace`` (a value, a list, or a dict of old: new) by ``value``
    (one for all, or a list as long), in the columns of their kind among ``subset`` (all: every column)."""
    from stream_nb.pyspark.sql import functions as F

    if isinstance(to_replace, dict):
        pairs = list(to_replace.items())
    elif value is NO_VALUE:
        raise PySparkTypeError("Argument `value` is required when `to_replace` is dict.",  # (PySpark's words)
                               "ARGUMENT_REQUIRED")
    else:
        olds = list(to_replace) if isinstance(to_replace, (list, tuple)) else [to_replace]
        news = list(value) if isinstance(value, (list, tuple)) else [value] * len(olds)
        if len(news) != len(olds):
            raise PySparkValueError(f"to_replace and value lists should be of the same length. Got {len(olds)} "
                                    f"and {len(news)}", "LENGTH_SHOULD_BE_THE_SAME")
        pairs = list(zip(olds, news, strict=True))
    for old, new in pairs:
        scalars = (bool, int, float, str)
        if not isinstance(old, scalars) or not (new is None or isinstance(new, scalars)):
            raise PySparkTypeError("Argument `to_replace` and `value` should be bool, float, int, str (or None for "
                                   f"value), got {type(old).__name__} and {type(new).__name__}.",
                                   "NOT_BOOL_OR_DICT_OR_FLOAT_OR_INT_OR_LIST_OR_STR_OR_TUPLE")
    kinds = {_kind(v) for pair in pairs for v in pair if v is not None}
    if len(kinds) > 1:
        raise PySparkValueError("Mixed type replacements are not supported.", "MIXED_TYPE_REPLACEMENT")
    types = {f.name: f.dataType for f in df.schema.fields}
    names = _names(subset) or df.columns
    replaced = {}
    for name in names:
        dtype = types.get(name)
        if dtype is None or not pairs or not _fits(pairs[0][0], dtype):
            continue
        current, case = column(name), None
        for old, new in pairs:
            test = F.isnan(current) if isinstance(old, float) and math.isnan(old) else current == F.lit(old)
            case = (F.when if case is None else case.when)(test, F.lit(new).cast(dtype))
        replaced[name] = case.otherwise(current)
    return df.withColumns(replaced) if replaced else df


def _kind(value: Any) -> str:
    return "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "string"


class DataFrameNaFunctions:
    """``df.na``: ``fill``, ``drop``, ``replace``."""

    def __init__(self, df: DataFrame):
        self._df = df

    def fill(self, value: Any, subset: Any = None) -> DataFrame:
        return fill(self._df, value, subset)

    def drop(self, how: str = "any", thresh: int | None = None, subset: Any = None) -> DataFrame:
        return drop(self._df, how, thresh, subset)

    def replace(self, to_replace: Any, value: Any = NO_VALUE, subset: Any = None) -> DataFrame:
        return replace(self._df, to_replace, value, subset)

