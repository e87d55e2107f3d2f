"""Python functions callable from SQL: ``sn.udf(name, fn, return_type)`` (Spark's ``spark.udf.register``).

The registry is process-wide, like Spark's session catalog of temporary functions. A query sees the functions
registered when it is planned (``sn.start``, a ``%%stream`` cell): the plan keeps that snapshot, so
registering a name again replaces it for the queries started afterwards and leaves running ones as they were.

This module only records what a function is; ``engine/udf_calls.py`` runs it in DuckDB. Nothing here imports DuckDB,
so the planner (``sql/``) can read the registry.

>>> f = udf("fahrenheit_doc", lambda c: c * 9 / 5 + 32, "double")
>>> f.name, f.return_type, f.vectorized
('fahrenheit_doc', 'DOUBLE', False)
>>> registered()["fahrenheit_doc"] is f
True
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from stream_nb.types import SchemaError, arrow_type

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Spark functions sqlglot does not know that the planner rewrites itself (sql/rewrites.py, non_ansi.py, ...)
_PLANNER_FUNCTIONS = frozenset({"window", "session_window", "window_time", "json_tuple", "get_json_object", "bround",
                                "pmod", "positive", "negative", "weekday", "make_date", "trunc"})
_lock = threading.Lock()
_registry: dict[str, Udf] = {}


@dataclass(frozen=True, eq=False)
class Udf:
    """A registered function: called per row with Python values (``vectorized=False``), or per batch with one
    pandas Series per argument, returning a Series of the same length (``vectorized=True``)."""

    name: str                 # as registered, lowercased: SQL function names are case-insensitive (as in Spark)
    fn: Callable[..., Any]
    return_type: str          # Spark's DDL, as sqlglot writes it ("DOUBLE", "ARRAY<INT>")
    arrow_type: pa.DataType   # what the function's results become (timestamps in UTC)
    vectorized: bool = False
    deterministic: bool = True
    naive_timestamps: bool = False  # PySpark's UDFs get naive datetimes in the session time zone (UTC)

    def __call__(self, *args: Any) -> Any:  # the plain function stays callable from Python
        return self.fn(*args)


class UdfError(RuntimeError):
    """A Python function called from SQL failed, or returned what its return type cannot hold. The message
    names the function and the arguments of the row; ``__cause__`` is the function's own exception."""


def udf(name: str, fn: Callable[..., Any], return_type: Any, *, vectorized: bool = False,
        deterministic: bool = True) -> Udf:
    """Register ``fn`` as the SQL function ``name`` returning ``return_type`` (a Spark DDL type string such as
    ``"double"``, ``"array<int>"``, ``"struct<a:int,b:string>"``, or a ``stream_nb.pyspark.sql.types`` type).

    Scalar (the default): ``fn`` is called with each row's Python values; a NULL argument arrives as
    ``None`` (as in Spark), timestamps as timezone-aware UTC datetimes. As Spark may, a deterministic function
    is called once for rows of a batch that repeat the same (non-float) arguments; ``deterministic=False``
    calls it for every row. ``vectorized=True``: ``fn`` is called
    once per batch with a pandas Series per argument and returns a Series (or array) of the same length
    (Spark's Series-to-Series ``pandas_udf``). Registering a name again replaces it for queries started later.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"sn.udf: {name!r} is not a function name SQL can call (letters, digits and _, "
                         "not starting with a digit)")
    if not callable(fn):
        raise TypeError(f"sn.udf({name!r}, ...): the function must be callable, not {type(fn).__name__}")
    return _register(name, fn, return_type, vectorized, deterministic)


def _register(name: str, fn: Callable[..., Any], return_type: Any, vectorized: bool, deterministic: bool,
              naive_timestamps: bool = False) -> Udf:
    """``udf``'s work; the PySpark API's functions (``pyspark/sql/udf.py``) come here with
    ``naive_timestamps``, as Spark hands a Python UDF its timestamps: naive, in the session time zone."""
    _refuse_builtin(name)
    ddl = _ddl(return_type, name)
    try:
        arrow = arrow_type(ddl)
    except SchemaError as err:
        raise SchemaError(f"sn.udf({name!r}, ...): return type {ddl!r}: {err}") from None
    function = Udf(name.lower(), fn, ddl, arrow, vectorized, deterministic, naive_timestamps)
    with _lock:
        _registry[function.name] = function
    return function


def registered() -> Mapping[str, Udf]:
    """The functions registered now, by lowercased name: the snapshot a query starts with."""
    with _lock:
        return MappingProxyType(dict(_registry))


def unregister(name: str) -> None:
    """Forget a function (queries already started keep it)."""
    with _lock:
        _registry.pop(name.lower(), None)


def _ddl(return_type: Any, name: str) -> str:
    text = return_type.simpleString() if hasattr(return_type, "simpleString") else return_type
    if not isinstance(text, str):
        raise TypeError(f"sn.udf({name!r}, ...): return_type must be a Spark DDL type string (e.g. 'double') "
                        f"or a stream_nb.pyspark.sql.types type, not {type(return_type).__name__}")
    try:
        return exp.DataType.build(text, dialect="spark").sql("spark")
    except (sqlglot.errors.ParseError, ValueError) as err:
        raise SchemaError(f"sn.udf({name!r}, ...): unknown return type {text!r}: {err}") from None


def _refuse_builtin(name: str) -> None:
    """A name Spark SQL already knows would run the built-in, not the Python function (sqlglot turns it into
    the built-in's DuckDB spelling; DuckDB keeps its own function first): refused, so that never happens."""
    from stream_nb.sql.dialect import StreamSpark

    try:
        node = sqlglot.parse_one(f"{name}(x)", read=StreamSpark)
    except sqlglot.errors.ParseError:  # a keyword (CASE) or a built-in taking other arguments (from_json)
        node = None
    if (not isinstance(node, exp.Anonymous) or name.lower() in _PLANNER_FUNCTIONS
            or name.lower() in _builtin_names()):
        raise ValueError(f"sn.udf: {name!r} is a built-in SQL function or keyword; register the Python function under "
                         "another name")


def _builtin_names() -> frozenset[str]:
    from stream_nb.engine.udf_calls import builtin_names  # DuckDB's own functions: asked of DuckDB, once

    return builtin_names()


__all__ = ["Udf", "UdfError", "registered", "udf", "unregister"]
