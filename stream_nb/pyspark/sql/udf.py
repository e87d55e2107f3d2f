"""``functions.udf``, ``functions.pandas_udf`` and ``spark.udf.register`` as PySpark has them, on ``sn.udf``.

A UDF object called on columns gives a Column calling the function by its SQL name; the function is registered
(``stream_nb.udfs``) under that name when the first such Column is made, so a query started afterwards calls
it. ``udf``'s functions run per row (NULL arrives as None), ``pandas_udf``'s per batch on pandas Series
(Spark's Series-to-Series form, and its Iterator-of-Series forms).

>>> from stream_nb.pyspark.sql import functions as F
>>> to_f = F.udf(lambda c: c * 9 / 5 + 32, "double")
>>> to_f("temp")._name, to_f.returnType
('<lambda>(temp)', DoubleType())
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from stream_nb.pyspark.sql.column import Column, _as_col, _call
from stream_nb.pyspark.sql.types import DataType, StringType, _parse_datatype_string
from stream_nb.udfs import _register

_ids = itertools.count(1)
_STRING = StringType()  # udf's default return type, as PySpark's
_SCALAR_PANDAS = 200  # PySpark's PandasUDFType.SCALAR: the one pandas_udf form stream_nb runs


class UserDefinedFunction:
    """A Python function callable on Columns (PySpark's ``UserDefinedFunction``)."""

    def __init__(self, func: Callable[..., Any], returnType: DataType | str, name: str | None = None, *,
                 vectorized: bool = False):
        self.func = func
        self.returnType = _parse_datatype_string(returnType) if isinstance(returnType, str) else returnType
        self.vectorized = vectorized
        self.deterministic = True
        self._name = name or getattr(func, "__name__", type(func).__name__)
        # spark.udf.register names it; F.udf's gets a name no one types, unique, from its own
        self._sql_name = name or f"udf_{re.sub(r'[^A-Za-z0-9_]', '', self._name) or 'fn'}_{next(_ids)}"
        self._registered = False

    def __call__(self, *cols: Column | str) -> Column:
        self._register()
        return _call(self._sql_name, self._name, *(_as_col(c) for c in cols))

    def asNondeterministic(self) -> UserDefinedFunction:
        self.deterministic = False
        self._registered = False  # registered again with the flag
        return self

    def _register(self) -> None:
        if not self._registered:
            fn = self.func if self.vectorized else _coerced(self.func, self.returnType)
            _register(self._sql_name, fn, self.returnType, self.vectorized, self.deterministic,
                      naive_timestamps=True)  # as PySpark's workers give datetimes: naive, session time zone
            self._registered = True


def _coerced(fn: Callable[..., Any], kind: DataType) -> Callable[..., Any]:
    """A row function's results as PySpark 4 converts them to its return type: for a string (the default, so
    ``udf(lambda s: len(s))`` is common) any value's text (``5`` -> ``'5'``, ``True`` -> ``'true'``); for an
    integer a float truncated or a numeric string read (``67.5`` -> 67, ``'12'`` -> 12); for a double an int or
    a numeric string. Anything else is the engine's to check (it names a result that does not fit)."""
    name = kind.typeName() if isinstance(kind, DataType) else ""
    if name == "string":
        def convert(v: Any) -> Any:
            return v if v is None or isinstance(v, str) else ("true" if v else "false") if isinstance(v, bool) \
                else str(v)
    elif name in ("byte", "short", "integer", "long"):
        def convert(v: Any) -> Any:
            if isinstance(v, float) and math.isfinite(v):
                return int(v)
            return int(v) if isinstance(v, str) and v.strip().lstrip("+-").isdigit() else v
    elif name in ("double", "float"):
        def convert(v: Any) -> Any:
            if isinstance(v, str):
                try:
                    return float(v)
                except ValueError:
                    return v
            return float(v) if isinstance(v, int) and not isinstance(v, bool) else v
    else:
        return fn

    @functools.wraps(fn)  # its signature too: the engine reads how many arguments it takes
    def call(*args: Any) -> Any:
        return convert(fn(*args))
    return call


class UDFRegistration:
    """``spark.udf``: ``register(name, f, returnType=None)`` makes ``f`` callable as ``name`` in ``spark.sql``
    and ``selectExpr``, and returns it as a UDF for DataFrames."""

    def __init__(self, sparkSession: Any = None):
        self.sparkSession = sparkSession

    def register(self, name: str, f: Callable[..., Any] | UserDefinedFunction,
                 returnType: DataType | str | None = None) -> UserDefinedFunction:
        if isinstance(f, UserDefinedFunction):
            if returnType is not None:
                raise TypeError("Invalid return type: data type can not be specified when f is a user-defined "
                                "function, but got " + repr(returnType))
            named = UserDefinedFunction(f.func, f.returnType, name, vectorized=f.vectorized)
            named.deterministic = f.deterministic
        else:
            named = UserDefinedFunction(f, returnType if returnType is not None else StringType(), name)
        named._register()
        return named


def udf(f: Callable[..., Any] | DataType | str | None = None, returnType: DataType | str = _STRING,
        *, useArrow: bool | None = None) -> Any:
    """``@udf``, ``@udf("double")``, ``@udf(returnType=...)`` or ``udf(f, "double")``; string by default."""
    if f is None or isinstance(f, (str, DataType)):
        chosen = returnType if f is None else f
        return lambda fn: UserDefinedFunction(fn, chosen)
    return UserDefinedFunction(f, returnType)


def pandas_udf(f: Callable[..., Any] | DataType | str | None = None, returnType: DataType | str | None = None,
               functionType: int | None = None) -> Any:
    """``@pandas_udf("double")`` over ``def f(s: pd.Series) -> pd.Series``, or ``pandas_udf(f, "double")``:
    called per batch with a Series per argument, returning a Series as long."""
    if functionType not in (None, _SCALAR_PANDAS):
        raise NotImplementedError("pandas_udf: stream_nb runs the Series-to-Series form only (functionType "
                                  f"{functionType} is not it)")
    if f is None or isinstance(f, (str, DataType)):
        chosen = returnType if f is None else f
        if chosen is None:
            raise ValueError("Invalid return type: returnType can not be None")  # as PySpark
        return lambda fn: _pandas(fn, chosen)
    if returnType is None:
        raise ValueError("Invalid return type: returnType can not be None")
    return _pandas(f, returnType)


def _pandas(fn: Callable[..., Any], returnType: DataType | str) -> UserDefinedFunction:
    hints = [str(p.annotation) for p in inspect.signature(fn).parameters.values()] if callable(fn) else []
    if any("DataFrame" in h for h in hints):
        raise NotImplementedError(f"pandas_udf {getattr(fn, '__name__', fn)}: stream_nb runs the Series forms "
                                  "only (Series to Series, Iterator of Series to Iterator of Series)")
    if len(hints) == 1 and "Iterator" in hints[0]:
        return UserDefinedFunction(_over_iterator(fn, "Tuple" in hints[0] or "tuple" in hints[0]), returnType,
                                   vectorized=True)
    return UserDefinedFunction(fn, returnType, vectorized=True)


def _over_iterator(fn: Callable[..., Any], tuples: bool) -> Callable[..., Any]:
    """PySpark's Iterator-of-Series form (``Iterator[pd.Series]``, or ``Iterator[Tuple[pd.Series, ...]]`` for
    several columns) as a Series function: the engine's batch is the iterator's one item (PySpark's are a
    partition's Arrow batches: the same rows out, its set-up done once per batch here)."""
    def call(*series: pd.Series) -> pd.Series:
        parts = [p if isinstance(p, pd.Series) else pd.Series(p) for p in fn(iter([series if tuples else series[0]]))]
        return pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)
    call.__name__ = getattr(fn, "__name__", "pandas_udf")
    return call


__all__ = ["UDFRegistration", "UserDefinedFunction", "pandas_udf", "udf"]
