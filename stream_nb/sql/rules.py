"""The planner as an ordered list of named rules, as sqlglot's optimizer ``RULES``.

Each rule is a small function ``(tree, planning)``, of one of three kinds:

* ``rewrite``: returns the query's tree, rewritten (``inline_ctes``, ``qualify``, ``spark_casts``, ...);
* ``check``: raises a ``StreamSQLError`` that points at the SQL, or notes in ``planning`` what it found
  (``resolve`` binds the names, ``output_mode`` picks the mode);
* ``plan``: returns the ``Plan`` when the query has its shape (a join of streams, a union, a deduplication,
  a stateless query, an aggregation), or None to let the next rules look.

``plan_query`` (``plan.py``) runs the list until a ``plan`` rule answers; ``Plan.rules`` names the rewrites
that changed the query, which ``explain()`` shows. ``tests/sql/fixtures/`` has SQL in / SQL out (or the
refusal) for every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from stream_nb.sql import plan as planners
from stream_nb.sql.chain import plan_chain
from stream_nb.sql.coercions import spark_coercions
from stream_nb.sql.dedup import distinct_as_group_by, refuse_distinct
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.event_time import EventTime, resolve_event_times
from stream_nb.sql.generators import map_paths, spark_generators
from stream_nb.sql.grouping_sets import spark_grouping_sets
from stream_nb.sql.join_statics import fold_statics_into_side
from stream_nb.sql.joins import find_stream_join, plan_stream_join
from stream_nb.sql.json_functions import json_functions
from stream_nb.sql.non_ansi import non_ansi
from stream_nb.sql.output_modes import choose_output_mode
from stream_nb.sql.positions import start_of
from stream_nb.sql.resolve import Bindings, qualify_columns, resolve
from stream_nb.sql.rewrites import (
    group_by_all,
    inline_ctes,
    keep_alias_case,
    mark_written_names,
    spark_casts,
    spark_functions,
    struct_stars,
    window_fields,
)
from stream_nb.sql.spark_aggregates import spark_aggregates
from stream_nb.sql.spark_dates import spark_dates
from stream_nb.sql.spark_decimals import decimal_division
from stream_nb.sql.spark_names import name_select_items
from stream_nb.sql.split_aggregates import refuse_stray_sessions
from stream_nb.sql.tree import aggregates_in, select_chain, to_duckdb
from stream_nb.sql.validate import refuse_multiple_aggregations, refuse_ordering, refuse_unsupported
from stream_nb.sql.window_time import name_window_times
from stream_nb.sql.windows import WindowSpec, is_window_call, window_spec

WATERMARK_POLICIES = ("min", "max")  # spark.sql.streaming.multipleWatermarkPolicy


@dataclass
class Planning:
    """What the rules pass along: the query's options, and what the rules before found."""

    sql: str
    namespaces: list[Mapping[str, Any]]
    output_mode: str | None = None          # as requested
    watermark: Any = None                   # the watermark= option, as given
    watermark_policy: str = "min"
    watermarks: list = field(default_factory=list)  # the WATERMARK clauses (dialect.Watermark)
    bindings: Bindings | None = None        # resolve
    event_times: dict[str, EventTime] = field(default_factory=dict)  # event_times, watermark_filters
    window: WindowSpec | None = None        # one_window
    chain: list[exp.Select] = field(default_factory=list)  # the SELECTs from the outermost to the stream
    aggregating: list[exp.Select] = field(default_factory=list)  # those of them that aggregate
    mode: str | None = None                 # output_mode
    changed: list[str] = field(default_factory=list)  # the rewrites that changed the query

    def inputs(self) -> dict[str, Any]:
        """The multi-input part of every Plan."""
        return {"inputs": list(self.bindings.streams), "event_times": dict(self.event_times),
                "watermark_policy": self.watermark_policy}


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "rewrite", "check" or "plan"
    apply: Callable[[exp.Query, Planning], Any]


def run(tree: exp.Query, planning: Planning, until: str | None = None):
    """Run the rules in order: the Plan of the first ``plan`` rule that answers. With ``until``, stop after
    that rule and return the tree as it is then (for tests and for reading what one rule does)."""
    for rule in RULES:
        if rule.kind == "rewrite":
            before = tree.sql()
            tree = rule.apply(tree, planning)
            if tree.sql() != before:
                planning.changed.append(rule.name)
        else:
            plan = rule.apply(tree, planning)
            if plan is not None and rule.kind == "plan":
                return plan
        if rule.name == until:
            return tree
    raise AssertionError("no rule planned the query")  # the last rule (aggregate) always answers


# -- checks ------------------------------------------------------------------------------------------------


def _resolve(tree: exp.Query, q: Planning) -> None:
    q.bindings = resolve(tree, q.sql, q.namespaces)


def _refuse_unsupported(tree: exp.Query, q: Planning) -> None:
    refuse_unsupported(tree, q.sql, list(q.bindings.streams))


def _event_times(tree: exp.Query, q: Planning) -> None:
    aliases = {t.alias: t.name for t in tree.find_all(exp.Table) if t.name in q.bindings.streams and t.alias}
    schemas = {name: stream.source.schema for name, stream in q.bindings.streams.items()}
    q.event_times = resolve_event_times(q.watermarks, q.watermark, schemas, q.sql, aliases)


def _watermark_policy(tree: exp.Query, q: Planning) -> None:
    policy = str(q.watermark_policy).strip().lower()
    if policy not in WATERMARK_POLICIES:
        raise StreamSQLError(f"unknown watermark policy {q.watermark_policy!r}; use 'min' (Spark's default: "
                             "the slowest input holds the watermark back) or 'max'")
    q.watermark_policy = policy


def _one_window(tree: exp.Query, q: Planning) -> None:
    """The query's window(), if any: one window per query (it may be written in several places)."""
    calls = [node for node in tree.find_all(exp.Anonymous) if is_window_call(node)]
    specs = [window_spec(call, q.sql) for call in calls]
    for call in calls:
        time = call.expressions[0]
        if time.type is not None and time.type.this in exp.DataType.TEXT_TYPES:
            raise StreamSQLError(
                f"window() over {time.name!r}, a string column, is not supported on a stream yet (Spark casts it "
                "to a timestamp)", sql=q.sql, start=start_of(time, q.sql),
                hint=f"convert it first: SELECT window(t, ...) ... FROM (SELECT to_timestamp({time.name}) AS t, ... "
                     f"FROM <stream>), or in PySpark withColumn('{time.name}', F.to_timestamp('{time.name}'))")
    for call, spec in zip(calls, specs):
        if spec != specs[0]:
            raise StreamSQLError("a query can use one window() only; write the same window(...) everywhere",
                                 sql=q.sql, start=start_of(call, q.sql))
    q.window = specs[0] if specs else None


def _watermark_filters(tree: exp.Query, q: Planning) -> None:
    """The stream's own WHERE conditions apply before its watermark (Spark pushes them below it)."""
    stream = q.bindings.stream.name
    q.chain = select_chain(tree, stream)
    event_time = q.event_times.get(stream)
    if event_time is not None and q.chain:
        q.event_times[stream] = event_time.pushed_through(q.chain, stream, q.bindings.stream.source.schema.names,
                                                          to_duckdb)
    q.aggregating = [s for s in q.chain if aggregates_in(s) or s.args.get("group")]


def _one_aggregation(tree: exp.Query, q: Planning) -> None:
    refuse_multiple_aggregations(q.aggregating, q.sql)


def _refuse_distinct(tree: exp.Query, q: Planning) -> None:
    refuse_distinct(tree, q.sql, bool(q.aggregating))


def _output_mode(tree: exp.Query, q: Planning) -> None:
    q.mode = choose_output_mode(q.output_mode, aggregating=bool(q.aggregating), sql=q.sql, tree=tree,
                                watermarks=q.watermarks, watermark_option=q.watermark)


def _refuse_ordering(tree: exp.Query, q: Planning) -> None:
    refuse_ordering(tree, q.sql, q.mode, q.aggregating[0] if q.aggregating else None)


def _refuse_stray_sessions(tree: exp.Query, q: Planning) -> None:
    refuse_stray_sessions(tree, q.aggregating[0] if q.aggregating else None, q.sql)


# -- rewrites ----------------------------------------------------------------------------------------------


def _qualify(tree: exp.Query, q: Planning) -> exp.Query:
    """Qualify and type every column; the output aliases keep the case they are written in (or the stream's
    schema spells them in), as in Spark."""
    struct_stars(tree, q.bindings.schema())
    tree = qualify_columns(mark_written_names(tree), q.sql, q.bindings)
    keep_alias_case(tree, [c for table in q.bindings.schema().values() for c in table])
    return tree


# Spark's answers for a typed tree's expressions, in this order (a static query's SQL gets them too,
# ``spark_static_sql``): implicit casts, decimal division's type, non-ANSI casts, functions, date patterns,
# NULL where ANSI mode would raise.
SPARK_EXPRESSIONS: tuple[Callable[[exp.Expression], None], ...] = (
    spark_coercions, decimal_division, spark_casts, spark_functions, spark_dates, non_ansi)


def _in_place(rewrite: Callable[[exp.Expression], None]) -> Callable[[exp.Query, Planning], exp.Query]:
    """A rewrite that edits the tree where it is, as a rule."""

    def rule(tree: exp.Query, q: Planning) -> exp.Query:
        rewrite(tree)
        return tree
    return rule


def _distinct_as_group_by(tree: exp.Query, q: Planning) -> exp.Query:
    if isinstance(tree, exp.Select):
        distinct_as_group_by(tree)
    return tree


def _source_columns(tree: exp.Query, q: Planning) -> set[str]:
    """The lower-case names of the columns the query's tables and subqueries give (before names are bound)."""
    try:
        schema = resolve(tree, q.sql, q.namespaces).schema()
    except StreamSQLError:
        return set()  # the resolve rule says what is wrong, in its place
    names = {column.lower() for table in schema.values() for column in table}
    for subquery in tree.find_all(exp.Subquery):
        if isinstance(subquery.this, exp.Select):
            names.update(item.alias_or_name.lower() for item in subquery.this.expressions)
    return names


def _map_columns(tree: exp.Query, q: Planning) -> set[str]:
    """Where the query reads maps (``generators.map_paths``), before names are bound."""
    try:
        schema = resolve(tree, q.sql, q.namespaces).schema()
    except StreamSQLError:
        schema = {}  # the resolve rule says what is wrong, in its place
    return map_paths({column: kind for table in schema.values() for column, kind in table.items()}, tree)


# -- plans -------------------------------------------------------------------------------------------------


def _chain(tree: exp.Query, q: Planning):
    """Several stateful operators: each planned as a query of its own (``sql/chain.py``)."""
    return plan_chain(q.sql, tree, namespaces=q.namespaces, output_mode=q.output_mode, watermark=q.watermark,
                      watermark_policy=q.watermark_policy, plan=planners.plan_query)


def _stream_join(tree: exp.Query, q: Planning):
    if find_stream_join(tree, q.bindings.streams) is None:
        return None
    return plan_stream_join(tree, q.sql, q.bindings, q.output_mode, q.watermarks, q.watermark, q.inputs())


def _union(tree: exp.Query, q: Planning):
    return planners.plan_union(tree, q) if isinstance(tree, exp.Union) else None


RULES: list[Rule] = [
    Rule("inline_ctes", "rewrite", lambda tree, q: inline_ctes(tree)),
    Rule("group_by_all", "rewrite", lambda tree, q: group_by_all(tree)),
    Rule("spark_generators", "rewrite", lambda tree, q: spark_generators(tree, q.sql, lambda: _map_columns(tree, q))),
    # >>> C (chained stateful operators, sql/chain.py): its rules go here, before names are bound
    Rule("chain", "plan", _chain),
    # <<< C
    Rule("spark_grouping_sets", "rewrite",
         lambda tree, q: spark_grouping_sets(tree, q.sql, lambda: _source_columns(tree, q))),
    Rule("name_window_times", "rewrite", lambda tree, q: name_window_times(tree)),
    Rule("resolve", "check", _resolve),
    Rule("refuse_unsupported", "check", _refuse_unsupported),
    Rule("event_times", "check", _event_times),
    Rule("watermark_policy", "check", _watermark_policy),
    Rule("name_select_items", "rewrite", lambda tree, q: name_select_items(tree, q.sql) or tree),
    Rule("spark_aggregates", "rewrite", lambda tree, q: spark_aggregates(tree, q.sql)),
    Rule("window_fields", "rewrite", _in_place(window_fields)),
    Rule("qualify", "rewrite", _qualify),
    *[Rule(rewrite.__name__, "rewrite", _in_place(rewrite)) for rewrite in SPARK_EXPRESSIONS],
    Rule("json_functions", "rewrite", lambda tree, q: json_functions(tree, q.sql)),
    # >>> J (stream-stream joins, sql/joins.py): its rules go here, over the qualified and typed tree
    Rule("fold_statics_into_join_side", "rewrite",
         lambda tree, q: fold_statics_into_side(tree, q.bindings.streams, q.bindings.schema()) or tree),
    Rule("stream_join", "plan", _stream_join),
    # <<< J
    Rule("one_window", "check", _one_window),
    Rule("union_of_streams", "plan", _union),
    Rule("distinct_as_group_by", "rewrite", _distinct_as_group_by),
    Rule("watermark_filters", "check", _watermark_filters),
    Rule("one_aggregation", "check", _one_aggregation),
    Rule("refuse_distinct", "check", _refuse_distinct),
    Rule("output_mode", "check", _output_mode),
    Rule("refuse_ordering", "check", _refuse_ordering),
    Rule("refuse_stray_sessions", "check", _refuse_stray_sessions),
    Rule("deduplicate", "plan", lambda tree, q: planners.plan_deduplicate(tree, q)),
    Rule("stateless", "plan", lambda tree, q: planners.plan_stateless(tree, q)),
    Rule("aggregate", "plan", lambda tree, q: planners.plan_aggregate(tree, q)),
]
