"""A static query's SQL (a foreachBatch batch, ``spark.sql`` over a memory table) as DuckDB runs it with Spark's
answers: the rewrites a streaming query's expressions get (``rules.SPARK_EXPRESSIONS``), after the names and types
a static query's tables give, and a sum of integers a bigint (DuckDB's is a 128-bit integer)."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from stream_nb.sql.dialect import DIALECT
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.generators import map_paths, spark_generators
from stream_nb.sql.json_functions import json_functions
from stream_nb.sql.positions import start_of
from stream_nb.sql.resolve import optimizer_schema
from stream_nb.sql.rewrites import keep_alias_case, mark_written_names, window_fields
from stream_nb.sql.rules import SPARK_EXPRESSIONS
from stream_nb.sql.spark_names import name_select_items
from stream_nb.sql.static_windows import static_windows
from stream_nb.sql.windows import is_window_call


def spark_static_sql(sql: str, schemas: Mapping[str, pa.Schema] | None) -> tuple[str, list[str] | None]:
    """``sql`` (Spark's dialect) as DuckDB SQL, and the names of its columns as Spark gives them when the
    rewrites typed it (DuckDB renames a name that comes twice, as both sides' ``k`` of a join: ``k_1``).
    ``schemas``: each table's Arrow schema, or None when a table has none (a pandas frame): then, as for a
    query those rewrites cannot type (a shape only a static query has), DuckDB reads the SQL as it is, with
    Spark's JSON functions, and the names are DuckDB's (None). A refusal (``StreamSQLError``) stands.

    >>> spark_static_sql("SELECT k, sum(n) FROM t GROUP BY k", {"t": pa.schema([("k", pa.string()), ("n", pa.int32())])})
    ('SELECT t.k AS k, CAST(SUM(t.n) AS BIGINT) AS "sum(n)" FROM t AS t GROUP BY t.k', ['k', 'sum(n)'])
    """
    tree = _named_fields(sqlglot.parse_one(sql, read=DIALECT))  # stream_nb's Spark (date patterns' SSS, ...)
    if schemas is not None and all(len(set(s.names)) == len(s.names) for s in schemas.values()):
        try:
            typed = _typed(tree.copy(), sql, schemas)
            return typed.sql("duckdb"), _output_names(typed)
        except (sqlglot.errors.SqlglotError, KeyError, ValueError, AttributeError) as err:
            if isinstance(err, StreamSQLError) and _windows(tree):
                raise  # what is wrong with a window() (DuckDB would say nothing about it)
            # else DuckDB's reading below (a refusal, StreamSQLError, stands: it says what would be wrong)
    for node in _windows(tree):
        raise StreamSQLError(f"{node.name.lower()}() is supported where the query's tables have a schema "
                             "and each column one name", sql=sql, start=start_of(node, sql))
    for node in tree.find_all(exp.ArraySort):  # what DuckDB would answer otherwise, refused as on a stream
        if node.args.get("expression") is not None:
            raise StreamSQLError("array_sort with a comparator function is not supported yet (it would sort "
                                 "ascending, ignoring it)")
    # Spark's JSON functions with Spark's (PERMISSIVE) answers, as the engine runs them on a stream
    return json_functions(tree, sql).sql("duckdb"), None


def _windows(tree: exp.Expression) -> list[exp.Anonymous]:
    return [n for n in tree.find_all(exp.Anonymous) if is_window_call(n) or is_window_call(n, "session_window")]


def _typed(tree: exp.Expression, sql: str, schemas: Mapping[str, pa.Schema]) -> exp.Expression:
    schema = optimizer_schema(schemas)
    columns = {column: kind for table in schema.values() for column, kind in table.items()}
    named = spark_generators(tree, sql, lambda: map_paths(columns, tree))  # explode of a map, lateral views, ...
    window_fields(named)  # window.start of GROUP BY window(...)
    name_select_items(named, sql)  # Spark's names for unnamed items (the optimizer's are _col_1)
    typed = qualify(mark_written_names(named), schema=schema, dialect=DIALECT, quote_identifiers=True, identify=False,
                    validate_qualify_columns=True)
    typed = annotate_types(typed, schema=schema, dialect=DIALECT)
    # names as written or as the tables spell them (the optimizer lowercased them), as in Spark
    keep_alias_case(typed, [c for s in schemas.values() for c in s.names])
    for rewrite in SPARK_EXPRESSIONS:
        rewrite(typed)
    for total in list(typed.find_all(exp.Sum)):  # Spark: a sum of integers is a bigint
        if total.this.type is not None and total.this.type.this in exp.DataType.INTEGER_TYPES:
            whole = total  # the cast goes around sum(v) FILTER (...) OVER (...)
            while isinstance(whole.parent, (exp.Filter, exp.Window, exp.IgnoreNulls)):
                whole = whole.parent
            whole.replace(exp.Cast(this=whole.copy(), to=exp.DataType.build("BIGINT")))
    return json_functions(static_windows(typed, sql), sql)


def _output_names(query: exp.Expression) -> list[str] | None:
    """The names of a typed query's columns; a ``*`` the optimizer left (over a subquery with a name twice:
    ``SELECT * FROM (a join) ORDER BY ...``) is its subquery's; None where they are not known."""
    while isinstance(query, exp.SetOperation):  # a union's names are its first SELECT's
        query = query.this
    if isinstance(query, exp.Subquery):
        return _output_names(query.this)
    if not isinstance(query, exp.Select):
        return None
    names: list[str] = []
    for item in query.selects:
        if not isinstance(item, exp.Star):
            names.append(item.alias_or_name)
            continue
        source = query.args.get("from_")
        inner = _output_names(source.this) if source is not None and not query.args.get("joins") else None
        if inner is None:
            return None
        names += inner
    return names


def _named_fields(tree: exp.Expression) -> exp.Expression:
    """``SELECT window.start ... ORDER BY start``: Spark names a struct's field (or a qualified column) after
    itself, and ORDER BY may use that name; DuckDB binds ORDER BY to names a SELECT gives, so give them.

    >>> _named_fields(sqlglot.parse_one("SELECT w.start, n FROM t ORDER BY start", read="spark")).sql("spark")
    'SELECT w.start AS start, n FROM t ORDER BY start'
    """
    for select in tree.find_all(exp.Select):
        for item in select.expressions:
            if isinstance(item, exp.Column) and item.table and not isinstance(item.this, exp.Star):
                item.replace(exp.alias_(item.copy(), item.name, quoted=item.this.quoted))
    return tree
