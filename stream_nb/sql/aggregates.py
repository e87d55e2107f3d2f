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

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of

# Merge rules, implemented by engine/state.py:
#   add      null-aware addition (null + v = v)        min / max   ignoring nulls
#   keep     the first value the key ever had           replace     the latest batch's value
#   moments  (count, mean, M2) merged by Chan's formula, over three consecutive partial columns
#   keep_nonnull / replace_nonnull   the same, but a null never wins over a value
#   distinct count(DISTINCT): the engine counts values new to the key's set of seen values
#
# Partial functions, implemented by engine/partials.py: Arrow's hash aggregates count_all, count, sum, min,
# max, mean, first, last (rows in arrival order), plus sum_double (avg's sum: a double, or decimal(p + 10, s)
# for decimal(p, s), as Spark's Average keeps it), m2 (the sum of squared deviations from the mean:
# variance * count), first_nonnull / last_nonnull, and distinct (the batch's distinct values per key, for
# count(DISTINCT x)). Decimal and NaN rules: engine/decimals.py, engine/partials.py.

VARIANCES = {
    "Variance": ("M2 / (n - 1)", 1), "VariancePop": ("M2 / n", 0),
    "Stddev": ("sqrt(M2 / (n - 1))", 1), "StddevSamp": ("sqrt(M2 / (n - 1))", 1),
    "StddevPop": ("sqrt(M2 / n)", 0),
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
             "stddev_pop", "variance", "var_pop", "first", "last")


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
    if kind in ("First", "Last"):
        function, rule = ("first", "keep") if kind == "First" else ("last", "replace")
        if _ignore_nulls(node):
            function, rule = f"{function}_nonnull", f"{rule}_nonnull"
        return Aggregate(text, a, x, (Partial(f"{a}_v", function, x, rule),), f"{a}_v")
    raise StreamSQLError(
        f"aggregate {node.sql('spark').split('(')[0].lower()}() is not supported in a streaming query yet",
        sql=sql, start=start_of(node, sql), hint=f"supported aggregates: {', '.join(SUPPORTED)}")


def aggregate_argument(node: exp.AggFunc) -> exp.Expression | None:
    """The expression an aggregate reads (None for count(*))."""
    inner = node.this
    if isinstance(inner, exp.Distinct):
        expressions = inner.expressions
        return expressions[0] if len(expressions) == 1 else None
    if inner is None or isinstance(inner, exp.Star):
        return None
    return inner


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
