"""Aggregates as partial aggregates: what is computed per batch, how state merges it, how it finishes.

An aggregate over all input so far is split in three, so that a batch costs what it changes:

* ``partials``: per batch and key, an Arrow hash aggregate over the batch's rows (``sum(x)``, ``count(x)``,
  ...), computed by ``engine/partials.py``;
* ``merge``: how a partial combines with the state's value for the same key (see ``engine/state.py``);
* ``finish``: SQL over the state's columns that gives the aggregate's value (``sum / count`` for avg).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of
from stream_nb.sql.windows import is_window_call

# Merge rules, implemented by engine/state.py:
#   add      null-aware addition (null + v = v)        min / max   ignoring nulls
#   keep     the first value the key ever had           replace     the latest batch's value
#   moments  (count, mean, M2) merged by Chan's formula, over three consecutive partial columns
#   moments4 (count, mean, M2, M3, M4) merged by Pébay's pairwise formulas, over five consecutive partial
#            columns (skewness, kurtosis; stddev's state keeps its three columns, so old checkpoints restore)
#   keep_nonnull / replace_nonnull   the same, but a null never wins over a value
#   distinct count(DISTINCT): the engine counts values new to the key's set of seen values
#   concat   lists appended in arrival order (collect_list, and the values percentile keeps)
#   union    lists of distinct values merged, new values after the old (collect_set; NaN is one value)
#   bit_and / bit_or / bit_xor / product   the operation, a NULL side giving the other (engine/reductions.py)
#   comoments (n, mean_a, mean_b, ck, m2a, m2b) of a pair of columns, merged by Chan's formulas, over six
#            consecutive partial columns (covar_pop, covar_samp, corr, regr_*: ``engine/comoments.py``)
#   max_by / min_by   (ord, value) over two consecutive partial columns: the pair of the larger (smaller) ord
#            wins, the later pair on a tie, as Spark's MaxBy/MinBy update (a NULL ord never wins)
#
# Partial functions, implemented by engine/partials.py: Arrow's hash aggregates count_all, count, sum, min,
# max, mean, first, last (rows in arrival order), plus sum_double (avg's sum: a double, or decimal(p + 10, s)
# for decimal(p, s), as Spark's Average keeps it), m2 (the sum of squared deviations from the mean:
# variance * count), m3 / m4 (the sums of cubed / fourth-power deviations), first_nonnull / last_nonnull, and distinct (the batch's distinct values per key, for
# count(DISTINCT x)), and co_n ... co_m2b (``engine/comoments.py``). Decimal and NaN rules: engine/decimals.py, engine/partials.py.

VARIANCES = {
    "Variance": ("M2 / (n - 1)", 1), "VariancePop": ("M2 / n", 0),
    "Stddev": ("sqrt(M2 / (n - 1))", 1), "StddevSamp": ("sqrt(M2 / (n - 1))", 1),
    "StddevPop": ("sqrt(M2 / n)", 0),
}

# Spark's CentralMomentAgg finishes, over the population moments: NULL with no value, and NULL where M2 is 0
# (a constant group), as Spark 3.5 gives by default (spark.sql.legacy.statisticalAggregate=false; NaN if true).
SHAPES = {"Skewness": "sqrt({n}) * {m3} / sqrt({m2} * {m2} * {m2})", "Kurtosis": "{n} * {m4} / ({m2} * {m2}) - 3.0"}

# bit_and, bit_or, bit_xor over a group's non-null integers, product over its doubles: merged by the same
# operation (engine/reductions.py)
REDUCED = {"BitwiseAndAgg": "bit_and", "BitwiseOrAgg": "bit_or", "BitwiseXorAgg": "bit_xor"}


def product(value: exp.Expression) -> exp.AnonymousAggFunc:
    """Spark's product(x), which sqlglot reads as a plain call, as the aggregate call ``make_aggregate`` plans."""
    return exp.AnonymousAggFunc(this="product", expressions=[value.copy()])


def _is_product(node: exp.Expression) -> bool:
    return isinstance(node, exp.AnonymousAggFunc) and node.name.lower() == "product" and len(node.expressions) == 1


# Spark's finishes of its Covariance / PearsonCorrelation buffers (n, xAvg, yAvg, ck, xMk, yMk), over the pair
# (a, b) of the call's first and second argument: regr_*(y, x) reads a as y and b as x. A sample statistic of
# one pair is NULL (spark.sql.legacy.statisticalAggregate=false), and a division by zero is NULL (Spark's
# Divide outside ANSI mode).
CO_MOMENTS = {
    "CovarPop": "CASE WHEN {n} > 0 THEN {ck} / {n} END",
    "CovarSamp": "CASE WHEN {n} > 1 THEN {ck} / ({n} - 1) END",
    "Corr": "CASE WHEN {n} > 1 AND {m2a} * {m2b} <> 0 THEN {ck} / sqrt({m2a} * {m2b}) END",
    "RegrCount": "{n}",
    "RegrAvgx": "CASE WHEN {n} > 0 THEN {mb} END",
    "RegrAvgy": "CASE WHEN {n} > 0 THEN {ma} END",
    "RegrSxx": "CASE WHEN {n} > 0 THEN {m2b} END",
    "RegrSyy": "CASE WHEN {n} > 0 THEN {m2a} END",
    "RegrSxy": "CASE WHEN {n} > 0 THEN {ck} END",
    "RegrSlope": "CASE WHEN {n} > 1 AND {m2b} <> 0 THEN {ck} / {m2b} END",
    "RegrIntercept": "CASE WHEN {n} > 0 AND {m2b} <> 0 THEN {ma} - {ck} / {m2b} * {mb} END",
    "RegrR2": "CASE WHEN {n} > 1 AND {m2b} <> 0 THEN CASE WHEN {m2a} = 0 THEN 1.0 "
              "ELSE {ck} * {ck} / ({m2a} * {m2b}) END END",
}


@dataclass(frozen=True)
class Partial:
    name: str              # column name in the partial table and in state
    function: str          # a partial function above
    argument: str | None   # the pre-aggregation column it reads (None for count_all)
    merge: str             # a merge rule above

    def describe(self) -> str:
        return f"{self.function}({self.argument or ''})"


@dataclass(frozen=True)
class Aggregate:
    """One aggregate call of the query, e.g. ``avg(temp)``."""

    text: str                   # as written, for explain()
    column: str                 # the finished value's column, e.g. __a0
    argument: str | None        # pre-aggregation column holding its argument, e.g. __x0
    partials: tuple[Partial, ...]
    finish: str                 # DuckDB SQL over state columns
    mean_of: tuple[str, str] | None = None  # avg: (sum, count) state columns, finished in Arrow as sum / count
                                            # into ``column`` (engine.aggregate_queries.with_means)


SUPPORTED = ("count(*)", "count(x)", "count(DISTINCT x)", "sum", "avg", "min", "max", "stddev",
             "stddev_pop", "variance", "var_pop", "skewness", "kurtosis", "first", "last", "collect_list", "collect_set", "max_by",
             "min_by", "percentile_approx", "percentile", "median", "covar_pop", "covar_samp", "corr", "regr_count",
             "regr_avgx", "regr_avgy", "regr_sxx", "regr_syy", "regr_sxy", "regr_slope", "regr_intercept", "regr_r2",
             "bit_and", "bit_or", "bit_xor", "product", "mode")


# Spark aggregates that the SQL parser reads as plain calls: named when refused, where the planner would
# otherwise call their argument a column outside any aggregate, or the engine an unknown function.
NOT_YET = frozenset({"histogram_numeric", "count_min_sketch",
                     "bloom_filter_agg", "hll_sketch_agg", "hll_union_agg", "bitmap_construct_agg", "bitmap_or_agg"})


def not_yet(name: str, sql: str, start: int | None) -> StreamSQLError:
    """The refusal of an aggregate stream_nb does not keep in state yet, as ``make_aggregate`` words it."""
    return StreamSQLError(f"aggregate {name.lower()}() is not supported in a streaming query yet", sql=sql,
                          start=start, hint=f"supported aggregates: {', '.join(SUPPORTED)}")


def make_aggregate(node: exp.AggFunc, index: int, argument: str | None, sql: str) -> Aggregate:
    """The partial-aggregate plan for one aggregate call, or a clear refusal."""
    a, x = f"__a{index}", argument
    text = node.sql("spark")
    kind = type(node).__name__
    if isinstance(node, exp.Count):
        inner = node.this
        if isinstance(inner, exp.Distinct):
            return Aggregate(text, a, x, (Partial(f"{a}_n", "distinct", x, "distinct"),), f"{a}_n")
        if inner is None or isinstance(inner, exp.Star):
            return Aggregate(text, a, None, (Partial(f"{a}_n", "count_all", None, "add"),), f"{a}_n")
        return Aggregate(text, a, x, (Partial(f"{a}_n", "count", x, "add"),), f"{a}_n")
    _refuse_distinct(node, sql)
    if kind == "Sum":
        return Aggregate(text, a, x, (Partial(f"{a}_s", "sum", x, "add"),), f"{a}_s")
    if kind == "Avg":
        # Finished as sum / count before the final SQL, which reads it as a column: Spark's avg of
        # decimals is an exact decimal, where DuckDB divides decimals as doubles.
        partials = (Partial(f"{a}_s", "sum_double", x, "add"), Partial(f"{a}_n", "count", x, "add"))
        return Aggregate(text, a, x, partials, a, mean_of=(f"{a}_s", f"{a}_n"))
    if kind in ("Min", "Max"):
        return Aggregate(text, a, x, (Partial(f"{a}_v", kind.lower(), x, kind.lower()),), f"{a}_v")
    if kind in VARIANCES:
        formula, min_n = VARIANCES[kind]
        partials = (Partial(f"{a}_n", "count", x, "moments"), Partial(f"{a}_m", "mean", x, "moments"),
                    Partial(f"{a}_q", "m2", x, "moments"))
        value = formula.replace("M2", f"{a}_q").replace("n", f"{a}_n")
        return Aggregate(text, a, x, partials, f"CASE WHEN {a}_n > {min_n} THEN {value} END")
    if kind in SHAPES:
        partials = tuple(Partial(f"{a}_{suffix}", function, x, "moments4") for suffix, function in
                         (("n", "count"), ("m", "mean"), ("q", "m2"), ("c", "m3"), ("f", "m4")))
        value = SHAPES[kind].format(n=f"CAST({a}_n AS DOUBLE)", m2=f"{a}_q", m3=f"{a}_c", m4=f"{a}_f")
        return Aggregate(text, a, x, partials, f"CASE WHEN {a}_n > 0 AND {a}_q <> 0 THEN {value} END")
    if kind in REDUCED or _is_product(node):
        function = REDUCED.get(kind, "product")
        return Aggregate(text, a, x, (Partial(f"{a}_v", function, x, function),), f"{a}_v")
    if kind in CO_MOMENTS:
        names = {suffix: f"{a}_{suffix}" for suffix in ("n", "ma", "mb", "ck", "m2a", "m2b")}
        partials = tuple(Partial(name, f"co_{suffix}", x, "comoments") for suffix, name in names.items())
        return Aggregate(text, a, x, partials, CO_MOMENTS[kind].format(**names))
    if kind in ("ArgMax", "ArgMin"):
        rule = "max_by" if kind == "ArgMax" else "min_by"
        partials = (Partial(f"{a}_o", f"{rule}_ord", x, rule), Partial(f"{a}_v", f"{rule}_value", x, rule))
        return Aggregate(text, a, x, partials, f"{a}_v")
    if kind == "ArrayAgg":  # collect_list
        _refuse_over_sessions(node, sql)
        return Aggregate(text, a, x, (Partial(f"{a}_l", "list", x, "concat"),), f"{a}_l")
    if kind == "ArrayUniqueAgg":  # collect_set
        return Aggregate(text, a, x, (Partial(f"{a}_l", "set", x, "union"),), f"{a}_l")
    if kind == "Mode":  # the group's values kept, the most frequent one taken (on a tie any of them, as Spark's)
        if _written_arguments(node, sql) > 1:
            raise StreamSQLError("mode() with a deterministic argument is not supported yet", sql=sql,
                                 start=start_of(node, sql), hint="mode(x): on a tie, any of the most frequent values")
        return Aggregate(text, a, x, (Partial(f"{a}_l", "list", x, "concat"),), f"list_aggregate({a}_l, 'mode')")
    if kind in ("ApproxQuantile", "Quantile", "Median"):
        return Aggregate(text, a, x, (Partial(f"{a}_l", "list", x, "concat"),), percentile_finish(node, f"{a}_l", sql))
    if kind in ("First", "FirstValue", "AnyValue", "Last", "LastValue"):  # Spark's aliases of first and last
        function, rule = ("last", "replace") if kind.startswith("Last") else ("first", "keep")
        if _ignore_nulls(node):
            function, rule = f"{function}_nonnull", f"{rule}_nonnull"
        return Aggregate(text, a, x, (Partial(f"{a}_v", function, x, rule),), f"{a}_v")
    raise StreamSQLError(
        f"aggregate {node.sql('spark').split('(')[0].lower()}() is not supported in a streaming query yet",
        sql=sql, start=start_of(node, sql), hint=f"supported aggregates: {', '.join(SUPPORTED)}")


def aggregate_argument(node: exp.AggFunc) -> exp.Expression | None:
    """The expression an aggregate reads (None for count(*)); max_by/min_by read two, as one pair column."""
    if isinstance(node, (exp.ArgMax, exp.ArgMin)) and node.expression is not None:
        return by_pair(node.this, node.expression)
    if type(node).__name__ in CO_MOMENTS and node.expression is not None:
        return co_pair(node.this, node.expression)
    if _is_product(node):
        return exp.TryCast(this=node.expressions[0].copy(), to=exp.DataType.build("double"))
    if isinstance(node, (exp.Quantile, exp.Median)) and node.this is not None:
        # Spark's percentile works in doubles (a string is cast as its non-ANSI mode casts: NULL if no number)
        return exp.TryCast(this=node.this.copy(), to=exp.DataType.build("double"))
    inner = node.this
    if isinstance(inner, exp.Distinct):
        expressions = inner.expressions
        return expressions[0] if len(expressions) == 1 else None
    if inner is None or isinstance(inner, exp.Star):
        return None
    return inner


def by_pair(value: exp.Expression, ordering: exp.Expression) -> exp.Expression:
    """max_by(x, ord)'s two arguments as one pre-aggregation column, a struct {v: x, o: ord}: the planner
    projects one column per aggregate argument, and the partials read its two fields."""
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy()),
                                   exp.PropertyEQ(this=exp.to_identifier("o"), expression=ordering.copy())])


def co_pair(first: exp.Expression, second: exp.Expression) -> exp.Expression:
    """covar / corr / regr's two arguments as one pre-aggregation column, a struct {a: first, b: second} of
    doubles (Spark casts them to double; a string as its non-ANSI cast does: NULL if no number)."""
    def double(value: exp.Expression) -> exp.Expression:
        return exp.TryCast(this=value.copy(), to=exp.DataType.build("double"))
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier("a"), expression=double(first)),
                                   exp.PropertyEQ(this=exp.to_identifier("b"), expression=double(second))])


def percentile_finish(node: exp.AggFunc, values: str, sql: str) -> str:
    """The finish of percentile_approx / percentile / median over the group's kept values (a list column).

    percentile_approx gives an input value, Spark's rule for a summary that holds every value: the sorted
    values' ceil(p * n)-th (at least the first). percentile and median interpolate between the two values
    around position (n - 1) * p, with Spark's formula (a value exactly at a position is that value)."""
    kind = type(node).__name__
    if kind == "Quantile" and _written_arguments(node, sql) > 2:  # (sqlglot drops the third)
        raise StreamSQLError("percentile() with a frequency argument is not supported yet", sql=sql,
                             start=start_of(node, sql), hint="percentile(x, p) counts each row once")
    quantile = exp.Literal.number(0.5) if kind == "Median" else node.args.get("quantile")
    points = quantile.expressions if isinstance(quantile, exp.Array) else [quantile]
    for point in points:
        number = _literal_number(point)
        if number is None or not 0 <= number <= 1:
            raise StreamSQLError(
                f"{node.sql('spark').split('(')[0].lower()}()'s percentage must be a number literal between 0.0 "
                f"and 1.0 (or an array of them), got {point.sql('spark') if point is not None else 'none'}",
                sql=sql, start=start_of(node, sql), hint="e.g. percentile_approx(temp, 0.5) or "
                                                          "percentile_approx(temp, array(0.25, 0.75))")
    accuracy = node.args.get("accuracy")
    if accuracy is not None and not (_literal_number(accuracy) or 0) >= 1:
        raise StreamSQLError(f"percentile_approx()'s accuracy must be a positive integer literal, got "
                             f"{accuracy.sql('spark')}", sql=sql, start=start_of(node, sql),
                             hint="e.g. percentile_approx(temp, 0.5, 10000) (10000 is Spark's default)")
    if kind == "ApproxQuantile":
        pick = "s[greatest(CAST(ceil(p * len(s)) AS BIGINT), 1)]"
    else:
        pick = ("CASE WHEN floor((len(s) - 1) * p) = ceil((len(s) - 1) * p) "
                "THEN CAST(s[CAST(floor((len(s) - 1) * p) AS BIGINT) + 1] AS DOUBLE) "
                "ELSE (ceil((len(s) - 1) * p) - (len(s) - 1) * p) * s[CAST(floor((len(s) - 1) * p) AS BIGINT) + 1]"
                " + ((len(s) - 1) * p - floor((len(s) - 1) * p)) * s[CAST(ceil((len(s) - 1) * p) AS BIGINT) + 1] "
                "END")
    ps = ", ".join(f"CAST({_literal_number(point)!r} AS DOUBLE)" for point in points)
    each = f"list_transform([{ps}], lambda p: {pick})"
    value = each if isinstance(quantile, exp.Array) else f"{each}[1]"
    # bound once to the sorted values; no value: NULL (an empty list's element is NULL)
    return f"CASE WHEN len({values}) > 0 THEN list_transform([list_sort({values})], lambda s: {value})[1] END"


def _refuse_over_sessions(node: exp.AggFunc, sql: str) -> None:
    """collect_list over session windows: Spark lists a session's values in the order its pieces merge (by
    their start, each stored session as a block), which the session operator's rows in arrival order are not."""
    select = node.find_ancestor(exp.Select)
    group = select.args.get("group") if select is not None else None
    if group is not None and any(is_window_call(key, "session_window") for key in group.expressions):
        raise StreamSQLError("collect_list() over session windows is not supported yet (Spark orders a session's "
                             "values by event time as its sessions merge)", sql=sql, start=start_of(node, sql),
                             hint="collect_set(x) where the order does not matter, or collect_list(x) over window()")


def _written_arguments(node: exp.Expression, sql: str) -> int:
    """How many arguments the call at ``node`` has in the SQL text (0 if it cannot be told), for an argument
    the parser drops: its commas at the call's own depth."""
    start = start_of(node, sql)
    if start is None:
        return 0
    depth, commas = 0, 0
    for token in Tokenizer().tokenize(sql[start:]):
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
            if depth == 0:
                return commas + 1
        elif token.token_type == TokenType.COMMA and depth == 1:
            commas += 1
    return 0


def _literal_number(node: exp.Expression | None) -> float | None:
    if isinstance(node, exp.Neg):
        inner = _literal_number(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        return float(node.this)
    if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.NUMERIC_TYPES):  # PySpark's lit(0.5)
        return _literal_number(node.this)
    return None


def is_aggregate(node: exp.Expression) -> bool:
    return isinstance(node, exp.AggFunc)


def _refuse_distinct(node: exp.AggFunc, sql: str) -> None:
    if isinstance(node.this, exp.Distinct):
        raise StreamSQLError("only count(DISTINCT x) is supported among DISTINCT aggregates",
                             sql=sql, start=start_of(node, sql))


def _ignore_nulls(node: exp.AggFunc) -> bool:
    flag = node.args.get("expression")
    if isinstance(node.parent, exp.IgnoreNulls):
        return True
    return isinstance(flag, exp.Boolean) and flag.this is True
