"""LIMIT on a stream, as Spark runs it: in append mode, the stream's first N rows, ever (StreamingGlobalLimitExec).

Spark keeps, as state, how many rows have passed the limit so far; each batch lets through at most the limit
minus that, in the batch's order, and once the limit is reached nothing more passes, across restarts too
(``engine/limit.py`` runs it). The planner keeps the LIMIT in the per-batch SQL (Spark's LocalLimitExec: no
batch gives more than N) and tells the engine the count. A LIMIT in a subquery under stateless SELECTs (a
filter or a projection over the first rows, PySpark's ``df.limit(3).where(...)``) cuts the SQL in two: the
SELECT with the LIMIT (``LimitPlan.pre_sql``), whose rows the engine cuts and hands to the rest as ``LIMITED``.
Below a stream-static join the LIMIT's SELECT orders by the batch's row numbers (``ROW``): DuckDB's hash join
emits in the order of the side it probes with, where Spark's broadcast join keeps the stream's.

What Spark refuses is refused in its words: LIMIT in update mode, OFFSET on a stream. What Spark runs and
stream_nb does not yet (a LIMIT over or under an aggregation or a deduplication in append mode, two LIMITs on
the stream's path) is refused saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.tree import BATCH

LIMITED = "__limited"  # the rows that passed the limit, in DuckDB, when the LIMIT is in a subquery
ROW = "__row"  # each batch row's position, where a join below the LIMIT would lose the batch's order


@dataclass(frozen=True)
class LimitPlan:
    """The stream's first ``count`` rows. ``pre_sql``: the SELECT holding the LIMIT when it is not the outermost
    one (its rows, cut, are read by the plan's ``stateless_sql`` as ``LIMITED``); None when the LIMIT is the
    query's own, over the plan's ``stateless_sql``."""

    count: int
    pre_sql: str | None = None
    row_numbers: bool = False  # the batch carries ROW, its rows' order, for the SQL to keep them in (a join)


def check_limit(tree: exp.Query, sql: str, mode: str, aggregate: exp.Select | None) -> None:
    """Refuse the LIMITs and OFFSETs a streaming query cannot have here (``validate.refuse_ordering`` calls it).

    >>> from stream_nb.sql.dialect import parse
    >>> check_limit(parse("SELECT * FROM s LIMIT 3")[0], "SELECT * FROM s LIMIT 3", "update", None)
    Traceback (most recent call last):
    ...
    stream_nb.sql.errors.StreamSQLError: Limits are not supported on streaming DataFrames/Datasets in Update ...
    """
    for node in tree.find_all(exp.Offset):
        raise StreamSQLError("OFFSET is not supported on a stream (as in Spark: \"Offset is not supported on "
                             "streaming DataFrames/Datasets\"): a stream has no end to count rows back from",
                             sql=sql, start=keyword_start(sql, "OFFSET"),
                             hint="use LIMIT alone (the stream's first rows), or cut q.result in pandas")
    for node in tree.find_all(exp.Limit):
        if _in_expression(node, tree):
            continue  # a static table's subquery (a stream there is refused): DuckDB limits it, as Spark
        at = _limit_start(node, sql)
        if mode == "update":
            raise StreamSQLError("Limits are not supported on streaming DataFrames/Datasets in Update output mode "
                                 "(as in Spark): an updated row would have to replace one inside the limit",
                                 sql=sql, start=at, hint="use output_mode='append' (a query without aggregation: "
                                 "the stream's first rows) or 'complete' (over an aggregation)")
        owner = node.parent
        over_aggregate = aggregate is not None and any(s is aggregate for s in owner.find_all(exp.Select))
        if mode == "complete" and over_aggregate:
            continue  # the complete table's first rows, each batch
        if aggregate is not None:
            where = "over" if over_aggregate else "under"
            raise StreamSQLError(f"LIMIT {where} an aggregation in {mode} output mode is not supported yet (Spark "
                                 "keeps the first rows " + ("the aggregation emits" if over_aggregate else
                                                            "of the stream, and aggregates those") + ")",
                                 sql=sql, start=at,
                                 hint="LIMIT over an aggregation runs in output_mode='complete'; or cut q.result "
                                      "in pandas")
        distinct = next((s for s in tree.find_all(exp.Select) if s.args.get("distinct")), None)
        if distinct is not None:
            raise StreamSQLError("LIMIT with a deduplication (DISTINCT, dropDuplicates) is not supported yet (Spark "
                                 "keeps the first rows that are new)", sql=sql, start=at,
                                 hint="deduplicate in one query and take the first rows of q.result in pandas")
        count(node, sql)


def count(node: exp.Limit, sql: str) -> int:
    """The number a LIMIT takes: a whole number, 0 or more (Spark's rule, checked as it plans)."""
    value = node.expression
    if isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit():
        return int(value.name)
    raise StreamSQLError(f"LIMIT takes a whole number, 0 or more (as in Spark), not {value.sql('spark')}",
                         sql=sql, start=_limit_start(node, sql), hint="write e.g. LIMIT 10")


def plan_limit(tree: exp.Query, sql: str, to_sql) -> LimitPlan | None:
    """The stream's LIMIT, once the tree reads the batch tables (``plan.plan_stateless``, ``plan.plan_union``);
    the SELECT holding it, when it is a subquery, is cut out of ``tree`` (``to_sql`` writes it as DuckDB runs it)
    and the tree reads ``LIMITED`` in its place. None without a LIMIT on the stream's path."""
    limits = [node for node in tree.find_all(exp.Limit) if _on_stream_path(node, tree)]
    if not limits:
        return None
    if len(limits) > 1:
        inner = max(limits, key=lambda node: node.depth)
        raise StreamSQLError("a LIMIT over another LIMIT of the stream is not supported yet (Spark keeps the "
                             "first rows of the first rows)", sql=sql, start=_limit_start(inner, sql),
                             hint="keep one LIMIT, the smaller")
    node = limits[0]
    owner = node.parent
    ordered = _in_batch_order(owner, sql, node)
    if owner is tree:
        return LimitPlan(count(node, sql), row_numbers=ordered)
    if isinstance(tree, exp.SetOperation) or isinstance(owner, exp.SetOperation) or \
            any(isinstance(n, exp.SetOperation) for n in _ancestors(owner, tree)):
        raise StreamSQLError("LIMIT inside one SELECT of a UNION ALL of streams is not supported yet (Spark keeps "
                             "that stream's first rows)", sql=sql, start=_limit_start(node, sql),
                             hint="put the LIMIT after the whole UNION ALL, or limit each stream in a query of "
                                  "its own")
    subquery = owner.parent
    pre_sql = to_sql(owner)
    subquery.replace(exp.Table(this=exp.to_identifier(LIMITED), alias=subquery.args.get("alias")))
    return LimitPlan(count(node, sql), pre_sql, row_numbers=ordered)


def _in_batch_order(owner: exp.Query, sql: str, node: exp.Limit) -> bool:
    """Make the SELECT holding the LIMIT keep the batch's order when a stream-static join below it would not
    (DuckDB's hash join emits in the order of whichever side it probes with): each SELECT from the batch table
    up passes on the batch's ROW, and the LIMIT's SELECT orders by it. True when it did so (the batch must then
    carry ROW). A filter or a projection keeps the order on its own, and so does a UNION ALL (its SELECTs' rows
    one after the other), as Spark's single partition does."""
    if not any(select.args.get("joins") for select in owner.find_all(exp.Select)):
        return False
    path, batch = [], None
    select = owner
    while isinstance(select, exp.Select):
        path.append(select)
        sources = [select.args["from_"].this] + [join.this for join in select.args.get("joins") or []]
        batch = next((s for s in sources if isinstance(s, exp.Table) and _is_batch(s)), None)
        if batch is not None:
            break
        inner = next((s for s in sources if isinstance(s, exp.Subquery) and _reads_batch(s)), None)
        if inner is None or not inner.alias:
            break
        select = inner.this
    if batch is None:
        raise StreamSQLError("a LIMIT over a UNION ALL whose SELECTs join a static table is not supported yet",
                             sql=sql, start=_limit_start(node, sql),
                             hint="limit each stream in a query of its own, or cut q.result in pandas")
    reference = exp.column(ROW, table=batch.alias_or_name)
    for below in path[:0:-1]:  # from the SELECT reading the batch up to the one below the owner
        below.select(exp.alias_(reference, ROW), copy=False)
        reference = exp.column(ROW, table=below.parent.alias)
    owner.order_by(reference, copy=False)
    return True


def _is_batch(table: exp.Table) -> bool:
    return table.name == BATCH or table.name.startswith(f"{BATCH}_")


def _reads_batch(node: exp.Expression) -> bool:
    return any(_is_batch(t) for t in node.find_all(exp.Table))


def _on_stream_path(node: exp.Limit, tree: exp.Query) -> bool:
    """Whether the LIMIT cuts the stream's rows: its SELECT is the query, or a derived table of the query (a
    subquery in FROM or JOIN) that reads the batch; a static table's own LIMIT stays in the SQL."""
    owner = node.parent
    if _in_expression(node, tree):
        return False
    return owner is tree or _reads_batch(owner)


def _in_expression(node: exp.Expression, root: exp.Expression) -> bool:
    return any(not isinstance(n, (exp.From, exp.Join, exp.Subquery, exp.Select, exp.SetOperation, exp.Limit))
               for n in _ancestors(node, root))


def _ancestors(node: exp.Expression, root: exp.Expression) -> list[exp.Expression]:
    found, node = [], node.parent
    while node is not None and node is not root:
        found.append(node)
        node = node.parent
    return found


def _limit_start(node: exp.Limit, sql: str) -> int | None:
    value = start_of(node.expression)
    if value is not None:
        at = sql.upper().rfind("LIMIT", 0, value)
        if at >= 0:
            return at
    return keyword_start(sql, "LIMIT")
