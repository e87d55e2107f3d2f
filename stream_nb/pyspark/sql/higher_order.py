"""PySpark's higher-order functions: a Python function of Columns becomes a Spark SQL lambda, which the engine
runs as Spark does (``sql/spark_arrays.py``: the index from 0, ``forall`` three-valued, NULL padding).

    F.transform("tags", lambda t, i: F.concat(t, i))   ->   transform(tags, (x_0, x_1) -> concat(x_0, x_1))

The lambda's variables are named ``x_0``, ``x_1``, ... in the SQL; the column is named as Spark names it
(``transform(tags, lambdafunction(concat(namedlambdavariable(), namedlambdavariable()), ...))``).
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from stream_nb.pyspark.errors import AnalysisException
from stream_nb.pyspark.sql.column import Column, _as_col, _to_col


def _lambda(f: Callable[..., Column], arities: tuple[int, ...]) -> Column:
    """``f`` as a Spark SQL lambda, with as many variables as ``f`` takes (one of ``arities``)."""
    try:
        count = len(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        count = arities[0]
    if count not in arities:
        raise AnalysisException(f"the function passed takes {count} argument(s); this one calls it with "
                                f"{' or '.join(map(str, arities))}", "INVALID_LAMBDA_FUNCTION_CALL")
    names = [f"x_{next(_counter)}" for _ in range(count)]
    body = _to_col(f(*[Column(exp.column(n), n) for n in names]))
    shown = re.sub("|".join(names), "namedlambdavariable()", body._name)
    return Column(exp.Lambda(this=body._unaliased(), expressions=[exp.to_identifier(n) for n in names]),
                  f"lambdafunction({shown}, {', '.join(['namedlambdavariable()'] * count)})")


_counter = itertools.count()  # unique variables: a lambda inside another's body does not shadow it


def _arg(value: Any) -> Column:
    """A Column, a column's name, or a literal (a number)."""
    return _as_col(value) if isinstance(value, (Column, str)) else _to_col(value)


def _hof(name: str, *args: Column) -> Column:
    node = exp.Anonymous(this=name, expressions=[a._unaliased() for a in args])
    return Column(node, f"{name}({', '.join(a._name for a in args)})")


def transform(col: Column | str, f: Callable[..., Column]) -> Column:
    return _hof("transform", _as_col(col), _lambda(f, (1, 2)))


def filter(col: Column | str, f: Callable[..., Column]) -> Column:
    return _hof("filter", _as_col(col), _lambda(f, (1, 2)))


def exists(col: Column | str, f: Callable[[Column], Column]) -> Column:
    return _hof("exists", _as_col(col), _lambda(f, (1,)))


def forall(col: Column | str, f: Callable[[Column], Column]) -> Column:
    return _hof("forall", _as_col(col), _lambda(f, (1,)))


def aggregate(col: Column | str, initialValue: Any, merge: Callable[[Column, Column], Column],
              finish: Callable[[Column], Column] | None = None) -> Column:
    args = [_as_col(col), _to_col(initialValue), _lambda(merge, (2,))]
    return _hof("aggregate", *args, *([_lambda(finish, (1,))] if finish is not None else []))


reduce = aggregate


def zip_with(left: Column | str, right: Column | str, f: Callable[[Column, Column], Column]) -> Column:
    return _hof("zip_with", _as_col(left), _as_col(right), _lambda(f, (2,)))


def transform_keys(col: Column | str, f: Callable[[Column, Column], Column]) -> Column:
    return _hof("transform_keys", _as_col(col), _lambda(f, (2,)))


def transform_values(col: Column | str, f: Callable[[Column, Column], Column]) -> Column:
    return _hof("transform_values", _as_col(col), _lambda(f, (2,)))


def map_filter(col: Column | str, f: Callable[[Column, Column], Column]) -> Column:
    return _hof("map_filter", _as_col(col), _lambda(f, (2,)))


def arrays_zip(*cols: Column | str) -> Column:
    return _hof("arrays_zip", *[_as_col(c) for c in cols])


def array_distinct(col: Column | str) -> Column: return _hof("array_distinct", _as_col(col))
def array_remove(col: Column | str, element: Any) -> Column: return _hof("array_remove", _as_col(col), _to_col(element))
def array_position(col: Column | str, value: Any) -> Column: return _hof("array_position", _as_col(col), _to_col(value))
def array_except(col1: Column | str, col2: Column | str) -> Column: return _hof("array_except", _as_col(col1), _as_col(col2))
def array_intersect(col1: Column | str, col2: Column | str) -> Column:
    return _hof("array_intersect", _as_col(col1), _as_col(col2))
def flatten(col: Column | str) -> Column: return _hof("flatten", _as_col(col))
def get(col: Column | str, index: Any) -> Column: return _hof("get", _as_col(col), _to_col(index))


def array_sort(col: Column | str) -> Column:
    return _hof("array_sort", _as_col(col))


def slice(x: Column | str, start: Any, length: Any) -> Column:
    return _hof("slice", _as_col(x), _arg(start), _arg(length))


def sequence(start: Any, stop: Any, step: Any = None) -> Column:
    return _hof("sequence", _arg(start), _arg(stop), *([_arg(step)] if step is not None else []))
