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

from stream_nb.sql.aggregates import percentile_finish
from stream_nb.sql.dialect import DIALECT
from stream_nb.sql.errors import StreamSQLError, UnsupportedValueError
from stream_nb.sql.generators import map_paths, spark_generators
from stream_nb.sql.json_functions import json_functions
from stream_nb.sql.positions import start_of
from stream_nb.sql.resolve import optimizer_schema
from stream_nb.sql.rewrites import keep_alias_case, mark_written_names, struct_stars, window_fields
from stream_nb.sql.rules import SPARK_EXPRESSIONS
from stream_nb.sql.spark_aggregates import spark_aggregates
from stream_nb.sql.spark_names import name_select_items
from stream_nb.sql.static_windows import static_windows
from stream_nb.sql.tree import decimal_digits
from stream_nb.sql.windows import is_window_call


def spark_static_sql(sql: str, schemas: Mapping[str, pa.Schema] | None) -> tuple[str, list[str] | None]:
    """``sql`` (Spark's dialect) as DuckDB SQL, and the names of its columns as Spark gives them when the
    rewrites typed it (DuckDB renames a name that comes twice, as both sides' ``k`` of a join: ``k_1``).
    ``schemas``: each table's Arrow schema, or None when a table has none (a pandas frame): then, as for a
    query those rewrites cannot type (a shape only a static query has), DuckDB reads the SQL as it is, with
    Spark's JSON functions, and the names are DuckDB's (None). A refusal of a call DuckDB would
    answer otherwise (``UnsupportedValueError``) stands.

    >>> spark_static_sql("SELECT k, sum(n) FROM t GROUP BY k", {"t": pa.schema([("k", pa.string()), ("n", pa.int32())])})
    ('SELECT t.k AS k, CAST(SUM(t.n) AS BIGINT) AS "sum(n)" FROM t AS t GROUP BY t.k', ['k', 'sum(n)'])
    """
    tree = _named_fields(sqlglot.parse_one(sql, read=DIALECT))  # stream_nb's Spark (date patterns' SSS, ...)
    _refuse_distinct_windows(tree, sql)
    _refuse_window_frames(tree, sql)
    _row_ids(tree)
    if schemas is not None and all(len(set(s.names)) == len(s.names) for s in schemas.values()):
        try:
            typed = _typed(tree.copy(), sql, schemas)
            return typed.sql("duckdb"), _output_names(typed)
        except (sqlglot.errors.SqlglotError, KeyError, ValueError, AttributeError) as err:
            if isinstance(err, UnsupportedValueError) or isinstance(err, StreamSQLError) and _windows(tree):
                raise  # what is wrong with a window() (DuckDB would say nothing about it), or DuckDB's other values
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


class SparkRefusal(UnsupportedValueError):
    """A query Spark's analyzer refuses, with the error condition Spark names it by (``condition``): it stands
    where DuckDB would answer otherwise."""

    def __init__(self, condition: str, message: str, **where: object):
        self.condition = condition
        super().__init__(message, **where)


def _refuse_distinct_windows(tree: exp.Expression, sql: str) -> None:
    """``count(DISTINCT v) OVER (...)`` (any aggregate of distinct values over a window) is refused, as Spark's
    analyzer refuses it (DuckDB would answer it)."""
    for window in tree.find_all(exp.Window):
        call = window.this
        while isinstance(call, (exp.IgnoreNulls, exp.RespectNulls, exp.Filter)):
            call = call.this
        if isinstance(call, exp.Func) and isinstance(call.this, exp.Distinct):
            raise SparkRefusal("DISTINCT_WINDOW_FUNCTION_UNSUPPORTED",
                               f'Distinct window functions are not supported: "{window.sql("spark")}"',
                               sql=sql, start=start_of(window, sql))


_RANKS = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile)


def _refuse_window_frames(tree: exp.Expression, sql: str) -> None:
    """What Spark's analyzer refuses of a window: a ranking function or lag/lead over no ORDER BY, or over a frame
    of its own; a RANGE frame with an offset over no or several ORDER BY keys (DuckDB answers the first, not the
    second)."""
    for window in tree.find_all(exp.Window):
        call, spec, order = window.this, window.args.get("spec"), window.args.get("order")
        keys = order.expressions if order is not None else []
        name = call.sql_name().lower() if isinstance(call, exp.Func) else ""
        where = {"sql": sql, "start": start_of(window, sql)}
        if isinstance(call, (*_RANKS, exp.Lag, exp.Lead)) and not keys:
            raise SparkRefusal("WINDOW_FUNCTION_FRAME_NOT_ORDERED", f"Window function {name} requires the window "
                               "to be ordered. You need to add an ORDER BY clause.", **where)
        running = spec is not None and spec.sql("spark").upper() == "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
        if isinstance(call, (*_RANKS, exp.Lag, exp.Lead)) and spec is not None and not (
                running and isinstance(call, _RANKS)):
            raise SparkRefusal("_LEGACY_ERROR_TEMP_1036", f"Window Frame {spec.sql('spark')} must match the "
                               f"required frame of {name}: give {name} a window without a frame.", **where)
        offsets = spec is not None and spec.args.get("kind", "").upper() == "RANGE" and any(
            isinstance(spec.args.get(bound), exp.Expression) for bound in ("start", "end"))
        if offsets and len(keys) != 1:
            condition = "RANGE_FRAME_MULTI_ORDER" if keys else "RANGE_FRAME_WITHOUT_ORDER"
            raise SparkRefusal(f"DATATYPE_MISMATCH.{condition}", "A range window frame with value boundaries "
                               f"cannot be used in a window specification with {len(keys) or 'no'} order by "
                               "expressions" if keys else "A range window frame with value boundaries cannot be "
                               "used in a window specification without order by.", **where)


def _refuse_filters_not_boolean(typed: exp.Expression, sql: str) -> None:
    """WHERE over a value that is not a boolean (a number, a string, a date) is refused, as Spark refuses it
    (DuckDB reads a number as a boolean)."""
    kinds = (*exp.DataType.NUMERIC_TYPES, *exp.DataType.TEXT_TYPES, *exp.DataType.TEMPORAL_TYPES,
             exp.DataType.Type.DATE)
    for where in typed.find_all(exp.Where):
        kind = where.this.type
        if kind is not None and kind.this in kinds:
            raise SparkRefusal("DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN", f'Filter expression "{where.this.sql("spark")}" '
                               f'of type "{kind.sql("spark").upper()}" is not a boolean.', sql=sql,
                               start=start_of(where.this, sql))


def _refuse_range_types(typed: exp.Expression, sql: str) -> None:
    """A RANGE frame with number offsets over an ORDER BY key that is not a number, refused as Spark refuses it
    (DuckDB would count a date's days)."""
    times = (exp.DataType.Type.DATE, *exp.DataType.TEMPORAL_TYPES)
    for window in typed.find_all(exp.Window):
        spec, order = window.args.get("spec"), window.args.get("order")
        if spec is None or str(spec.args.get("kind", "")).upper() != "RANGE" or order is None or \
                len(order.expressions) != 1:
            continue
        bounds = [b for b in (spec.args.get("start"), spec.args.get("end")) if isinstance(b, exp.Expression)]
        key = order.expressions[0].this.type
        if not bounds or any(isinstance(b, exp.Interval) for b in bounds) or key is None:
            continue
        where = {"sql": sql, "start": start_of(window, sql)}
        if key.this in times:
            raise SparkRefusal("DATATYPE_MISMATCH.RANGE_FRAME_INVALID_TYPE", f'The data type "{key.sql("spark")}" '
                               "used in the order specification does not support the data type of the range "
                               "frame's number bounds.", **where)
        if key.this in exp.DataType.TEXT_TYPES or key.this == exp.DataType.Type.BOOLEAN:
            raise SparkRefusal("DATATYPE_MISMATCH.SPECIFIED_WINDOW_FRAME_UNACCEPTED_TYPE", "The data type of the "
                               f'range frame\'s bounds does not match the order by key\'s "{key.sql("spark")}".',
                               **where)


def _row_ids(tree: exp.Expression) -> None:
    """``monotonically_increasing_id()`` of a static query: 0, 1, 2... over the rows in their order, as Spark
    numbers the rows of one partition (a stream's is refused, as Spark refuses it)."""
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "monotonically_increasing_id" and not node.expressions:
            number = exp.Window(this=exp.RowNumber())
            node.replace(exp.Paren(this=exp.Sub(this=exp.Cast(this=number, to=exp.DataType.build("BIGINT")),
                                                expression=exp.Literal.number(1))))


def _windows(tree: exp.Expression) -> list[exp.Anonymous]:
    return [n for n in tree.find_all(exp.Anonymous) if is_window_call(n) or is_window_call(n, "session_window")]


def _typed(tree: exp.Expression, sql: str, schemas: Mapping[str, pa.Schema]) -> exp.Expression:
    schema = optimizer_schema(schemas)
    columns = {column: kind for table in schema.values() for column, kind in table.items()}
    named = spark_generators(tree, sql, lambda: map_paths(columns, tree))  # explode of a map, lateral views, ...
    window_fields(named)  # window.start of GROUP BY window(...)
    name_select_items(named, sql)  # Spark's names for unnamed items (the optimizer's are _col_1)
    spark_aggregates(named, sql)  # count_if, try_sum, ... as the aggregates they are
    struct_stars(named, schema)
    typed = qualify(mark_written_names(named), schema=schema, dialect=DIALECT, quote_identifiers=True, identify=False,
                    validate_qualify_columns=True)
    typed = annotate_types(typed, schema=schema, dialect=DIALECT)
    # names as written or as the tables spell them (the optimizer lowercased them), as in Spark
    keep_alias_case(typed, [c for s in schemas.values() for c in s.names])
    _time_differences(typed)
    zoned = _computed_timestamps(typed)  # read before the rewrites put untyped nodes in
    _decimal_aggregate_types(typed)
    _refuse_range_types(typed, sql)
    _refuse_filters_not_boolean(typed, sql)
    for rewrite in SPARK_EXPRESSIONS:
        rewrite(typed)
    spark_aggregate_answers(typed)
    for item in zoned:
        item.set("this", exp.Cast(this=item.this, to=exp.DataType.build("TIMESTAMPTZ")))
    return _stable_orders(json_functions(static_windows(typed, sql), sql))


_INPUT_ORDER = "__stable_order"


def _stable_orders(tree: exp.Expression) -> exp.Expression:
    """ORDER BY keeps rows that tie in the order they came, as Spark's sort of a partition (a stable TimSort):
    DuckDB's sort is not stable (from ~100 rows two equal keys may swap), so a query that sorts the rows of one
    table or subquery, without grouping them, sorts by their position in it last; so does a window whose answer
    depends on the order of rows that tie (row_number, lag, lead, ntile, a ROWS frame: Spark sorts a window's
    partition stably too; a RANGE frame or a rank reads the ties as one, and keeps its order). The positions are
    the input's order (DuckDB preserves it through a scan, a filter and a projection). A star the optimizer
    could not expand (a name both sides of a join have) is left as it is: it would show the positions."""
    for select in reversed(list(tree.find_all(exp.Select))):  # inner ones first: an outer one copies them
        source = select.args.get("from_")
        relation = source.this if source is not None else None
        windows = [w for w in select.find_all(exp.Window) if w.parent_select is select and _tie_sensitive(w)]
        if not (select.args.get("order") or windows) or select.args.get("joins") or select.args.get("group") or \
                select.args.get("distinct") or not isinstance(relation, (exp.Table, exp.Subquery)) or \
                any(item.is_star for item in select.expressions) or \
                any(node.find_ancestor(exp.Window) is None for node in select.find_all(exp.AggFunc)
                    if node.parent_select is select):
            continue
        alias = relation.alias_or_name
        numbered = exp.select(exp.Star(), exp.alias_(exp.Window(this=exp.RowNumber()), _INPUT_ORDER)) \
            .from_(relation.copy())
        relation.replace(exp.Subquery(this=numbered, alias=exp.TableAlias(this=exp.to_identifier(alias))))
        for order in [select.args.get("order"), *(w.args["order"] for w in windows)]:
            if order is not None:
                order.append("expressions", exp.Ordered(this=exp.column(_INPUT_ORDER, table=alias)))
    return tree


def _tie_sensitive(window: exp.Window) -> bool:
    """Whether a window's answer depends on the order of the rows its ORDER BY ties (not a rank's, not a RANGE
    frame's, which read tied rows as one)."""
    order, spec = window.args.get("order"), window.args.get("spec")
    if order is None or not order.expressions:
        return False
    return isinstance(window.this, (exp.RowNumber, exp.Lag, exp.Lead, exp.Ntile)) or \
        spec is not None and str(spec.args.get("kind", "")).upper() == "ROWS"


def _time_differences(typed: exp.Expression) -> None:
    """``ts - ts`` is an interval (Spark's interval day to second), where the optimizer types it a timestamp."""
    times = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ,
             exp.DataType.Type.TIMESTAMPNTZ)
    for node in typed.find_all(exp.Sub):
        if all(side.type is not None and side.type.this in times for side in (node.this, node.expression)):
            node.type = exp.DataType.build("INTERVAL")
            while isinstance(node.parent, (exp.Paren, exp.Alias)):  # and the (aliased) item it is
                node = node.parent
                node.type = exp.DataType.build("INTERVAL")


def _computed_timestamps(typed: exp.Expression) -> list[exp.Alias]:
    """The output columns the query computes as Spark's timestamp (``to_timestamp(s)``, ``date_trunc``, ``ts +
    INTERVAL 1 HOUR``): DuckDB gives them naive, which would read as timestamp_ntz; cast to a zoned timestamp
    (the connection's zone is UTC), they are Spark's. A column read as it is keeps its type."""
    kinds = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ)
    items = typed.expressions if isinstance(typed, exp.Select) else []
    made = ("timestamp_seconds", "timestamp_millis", "timestamp_micros")  # calls the optimizer does not type
    return [item for item in items if isinstance(item, exp.Alias) and not isinstance(item.this, exp.Column) and (
        item.type is not None and item.type.this in kinds or
        isinstance(item.this, exp.Anonymous) and item.this.name.lower() in made)]


def spark_aggregate_answers(typed: exp.Expression) -> None:
    """Spark's types and values where DuckDB's aggregates differ: a sum of integers is a bigint (DuckDB's a
    128-bit integer), of a decimal(p, s) a decimal(p + 10, s), an average of one a decimal(p + 4, s + 4) (DuckDB's
    a double); skewness and kurtosis are the population's (DuckDB's the sample's, and NULL under 3 rows); a
    collected list or set of no values is empty, not NULL; percentile_approx is one of the values, percentile and
    median interpolate, by Spark's rules (the streaming aggregate's finish, over the values collected)."""
    for node in list(typed.find_all(exp.ApproxQuantile, exp.Quantile, exp.Median)):
        if node.find_ancestor(exp.Window) is None and isinstance(node.this, exp.Expression):
            x = node.this.sql("duckdb")
            node.replace(sqlglot.parse_one(percentile_finish(node, f"list({x}) FILTER (WHERE {x} IS NOT NULL)", ""),
                                           read="duckdb"))
    for node in list(typed.find_all(exp.Corr)):  # one pair, or a side that does not vary: NULL in Spark (its
        whole = _outermost(node)                    # division by zero), NaN in DuckDB
        x, y = node.this.sql("duckdb"), node.expression.sql("duckdb")
        spreads = [_like(whole, node, sqlglot.parse_one(f"var_pop(CASE WHEN {b} IS NOT NULL THEN {a} END)",
                                                        read="duckdb")).sql("duckdb") for a, b in ((x, y), (y, x))]
        value = _like(whole, node, node.copy()).sql("duckdb")
        whole.replace(sqlglot.parse_one(f"CASE WHEN ({spreads[0]}) = 0 OR ({spreads[1]}) = 0 THEN NULL "
                                        f"ELSE {value} END", read="duckdb"))
    for node in list(typed.find_all(exp.Sum, exp.Avg, exp.Skewness, exp.Kurtosis, exp.ArrayAgg,
                                    exp.ArrayUniqueAgg)):
        kind = node.this.type if isinstance(node.this, exp.Expression) else None
        whole = _outermost(node)
        if isinstance(node, (exp.ArrayAgg, exp.ArrayUniqueAgg)):
            whole.replace(exp.Coalesce(this=whole.copy(), expressions=[exp.Array(expressions=[])]))
        elif isinstance(node, exp.Skewness):
            whole.replace(_population_skewness(whole, node))
        elif isinstance(node, exp.Kurtosis):
            node.replace(exp.Anonymous(this="kurtosis_pop", expressions=[node.this.copy()]))
        elif kind is None:
            continue
        elif isinstance(node, exp.Sum) and kind.this in exp.DataType.INTEGER_TYPES:
            whole.replace(exp.Cast(this=whole.copy(), to=exp.DataType.build("BIGINT")))
        elif kind.this == exp.DataType.Type.DECIMAL:
            whole.replace(exp.Cast(this=whole.copy(), to=_decimal_result(node, kind)))


def _decimal_result(node: exp.Sum | exp.Avg, kind: exp.DataType) -> exp.DataType:
    """Spark's type of a sum (decimal(p + 10, s)) or an average (decimal(p + 4, s + 4)) of a decimal(p, s)."""
    precision, scale = decimal_digits(kind)
    precision, scale = (precision + 10, scale) if isinstance(node, exp.Sum) else (precision + 4, scale + 4)
    return exp.DataType.build(f"DECIMAL({min(precision, 38)}, {min(scale, 38)})")


def _decimal_aggregate_types(typed: exp.Expression) -> None:
    """A sum or an average of decimals typed as Spark's decimal (the optimizer says double), so that the rewrites
    read it as one: CAST(avg(d) AS STRING) is -0.625000, as Spark writes a decimal(14,6), not a double's -0.625."""
    for node in typed.find_all(exp.Sum, exp.Avg):
        kind = node.this.type if isinstance(node.this, exp.Expression) else None
        if kind is not None and kind.this == exp.DataType.Type.DECIMAL:
            node.type = _decimal_result(node, kind)


def _outermost(node: exp.Expression) -> exp.Expression:
    """An aggregate call with what goes around it: agg(v) FILTER (...) OVER (...)."""
    while isinstance(node.parent, (exp.Filter, exp.Window, exp.IgnoreNulls)):
        node = node.parent
    return node


def _like(whole: exp.Expression, node: exp.Expression, call: exp.Expression) -> exp.Expression:
    """``call`` with the FILTER and OVER that ``node``'s call has (``whole``: the call with them)."""
    if whole is node:
        return call
    copy = whole.copy()
    next(n for n in copy.walk() if type(n) is type(node) and n == node).replace(call)
    return copy


def _population_skewness(whole: exp.Expression, node: exp.Skewness) -> exp.Expression:
    """Spark's skewness, sqrt(n) m3 / m2^1.5, from DuckDB's sample skewness G1 = g1 sqrt(n (n - 1)) / (n - 2)
    (NULL under 3 values: of two different values it is 0); NULL where the values do not vary, as in Spark."""
    def over(call: exp.Expression) -> exp.Expression:  # the same FILTER / OVER as the call's
        return _like(whole, node, call)

    x = node.this
    n = f"CAST(({over(exp.Count(this=x.copy())).sql('duckdb')}) AS DOUBLE)"
    spread = over(exp.Anonymous(this="var_pop", expressions=[x.copy()])).sql("duckdb")
    sample = over(exp.Skewness(this=x.copy())).sql("duckdb")
    return sqlglot.parse_one(f"CASE WHEN ({spread}) = 0 THEN NULL WHEN {n} = 2 THEN 0.0 "
                             f"ELSE ({sample}) * ({n} - 2) / sqrt({n} * ({n} - 1)) END", read="duckdb")


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
