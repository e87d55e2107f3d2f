"""Spark aggregates that are other aggregates: rewritten to the ones state keeps (``sql/aggregates.py``).

Spark defines these by the same identities (they are ``RuntimeReplaceable``), so the answers are Spark's:

* ``agg(x) FILTER (WHERE c)`` is ``agg(CASE WHEN c THEN x END)`` (every aggregate here skips NULLs;
  ``count(*) FILTER (WHERE c)`` counts ``CASE WHEN c THEN 1 END``);
* ``count_if(c)`` is ``count(CASE WHEN c THEN 1 END)``;
* ``bool_or`` / ``some`` / ``any`` are ``max`` of a boolean, ``bool_and`` / ``every`` its ``min``;
* ``mean`` is ``avg``, ``std`` is ``stddev`` (Spark's other names for them), ``try_sum`` and ``try_avg`` are
  ``sum`` and ``avg`` (they differ on an overflow only);
* ``product(x)``, a plain call to the parser, is the aggregate call state keeps (``aggregates.product``);
* ``approx_count_distinct(x)`` is counted exactly, as ``count(DISTINCT x)`` (the answer an approximation
  aims at; Spark's own error for ``count(DISTINCT x)`` on a stream points users to it).

Runs after the select items are named, so an unaliased ``count_if(c)`` keeps that name.
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.aggregates import product
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of

_OR = ("some", "any", "bool_or")
_AND = ("every", "bool_and")


def spark_aggregates(tree: exp.Expression, sql: str) -> exp.Expression:
    """Each aggregate above as one that state keeps.

    >>> import sqlglot
    >>> sql = "SELECT count(*) FILTER (WHERE t > 1), count_if(t < 0), every(t > 0) FROM s"
    >>> spark_aggregates(sqlglot.parse_one(sql, read="spark"), sql).sql("spark")
    'SELECT COUNT(CASE WHEN t > 1 THEN 1 END), COUNT(CASE WHEN t < 0 THEN 1 END), MIN(t > 0) FROM s'
    """
    for node in list(tree.find_all(exp.Filter)):
        if isinstance(node.this, (exp.AggFunc, exp.IgnoreNulls)):
            _unfilter(node, sql)
    for node in list(tree.find_all(exp.CountIf, exp.LogicalOr, exp.LogicalAnd, exp.Any, exp.Anonymous,
                                   exp.ApproxDistinct)):
        replacement = _replacement(node)
        if replacement is not None:
            node.replace(replacement)
    return tree


def _replacement(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, exp.CountIf):
        return exp.Count(this=_when(node.this, exp.Literal.number(1)))
    if isinstance(node, exp.ApproxDistinct):
        return exp.Count(this=exp.Distinct(expressions=[node.this.copy()]))
    if isinstance(node, exp.LogicalOr):
        return exp.Max(this=node.this.copy())
    if isinstance(node, exp.LogicalAnd):
        return exp.Min(this=node.this.copy())
    if isinstance(node, exp.Any):  # any(c) the aggregate, not `x = ANY (subquery)`
        if isinstance(node.this, (exp.Subquery, exp.Query)) or isinstance(node.parent, exp.Predicate):
            return None
        return exp.Max(this=node.this.copy())
    if isinstance(node, exp.Anonymous) and len(node.expressions) == 1:
        name = node.name.lower()
        if name in ("mean", "try_avg"):  # try_: NULL on an overflow Spark's non-ANSI sum/avg would wrap
            return exp.Avg(this=node.expressions[0].copy())
        if name == "try_sum":
            return exp.Sum(this=node.expressions[0].copy())
        if name == "std":
            return exp.Stddev(this=node.expressions[0].copy())
        if name in _OR:
            return exp.Max(this=node.expressions[0].copy())
        if name in _AND:
            return exp.Min(this=node.expressions[0].copy())
        if name == "product":
            return product(node.expressions[0])
    return None


def _unfilter(node: exp.Filter, sql: str) -> None:
    """``agg(x) FILTER (WHERE c)`` as ``agg(CASE WHEN c THEN x END)``."""
    call = node.this.this if isinstance(node.this, exp.IgnoreNulls) else node.this
    condition = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
    keeps_nulls = isinstance(call, (exp.First, exp.Last)) and not isinstance(node.this, exp.IgnoreNulls) and \
        not (isinstance(call.args.get("expression"), exp.Boolean) and call.args["expression"].this is True)
    if keeps_nulls:
        raise StreamSQLError(f"{call.sql('spark').split('(')[0].lower()}() with FILTER (WHERE ...) is not "
                             "supported yet: it counts the rows the filter keeps, NULLs included",
                             sql=sql, start=start_of(node, sql),
                             hint="ignore NULLs (first(x, true)), or filter in WHERE")
    argument = call.this
    if argument is None or isinstance(argument, exp.Star):  # count(*)
        call.set("this", _when(condition, exp.Literal.number(1)))
    elif isinstance(argument, exp.Distinct):
        argument.set("expressions", [_when(condition, e) for e in argument.expressions])
    else:
        call.set("this", _when(condition, argument))
    node.replace(node.this)


def _when(condition: exp.Expression, value: exp.Expression) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=condition.copy(), true=value.copy())])
