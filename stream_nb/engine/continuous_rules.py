"""Which queries run in continuous processing: Spark's ``UnsupportedOperationChecker.checkForContinuous``.

Continuous processing runs map-like queries only: projections, filters and the functions in them (UDFs too).
Anything that needs more than the row at hand (aggregations, deduplication, joins, sorting, a limit, a union
of streams, a watermark, windows over rows) or a clock (current_timestamp) is refused with Spark's words,
pointing at the construct. The source must hand rows as they arrive (it declares ``push``).

>>> import stream_nb as sn
>>> from stream_nb.sql.plan import plan_query
>>> s = sn.sources.memory("device string, temp double")
>>> try:
...     check_continuous(plan_query("SELECT device, count(*) FROM s GROUP BY device", namespaces=[{"s": s}]))
... except ContinuousError as err:
...     print(err.message, "column", err.column)
Continuous processing does not support Aggregate operations. column 32
"""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sources._protocol import source_traits
from stream_nb.sql.dialect import parse
from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import keyword_start, start_of

HINT = ("continuous processing runs map-like queries only (projections, filters, UDFs), one row at a time; "
        "run this query in micro-batches instead (trigger=None or an interval such as '1 second')")

_CLOCK = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentDatetime)
_CLOCK_NAMES = {"NOW", "LOCALTIMESTAMP", "CURRENT_TIMESTAMP", "CURRENT_DATE", "UNIX_TIMESTAMP"}
_GENERATORS = (exp.Explode, exp.Posexplode, exp.Inline)


class ContinuousError(StreamSQLError):
    """A query continuous processing cannot run (Spark's AnalysisException from checkForContinuous)."""


def check_continuous(plan) -> None:
    """Refuse, with Spark's reason and the SQL position, what continuous processing cannot run."""
    sql = plan.sql
    tree, _ = parse(sql)
    found = _refusal(tree, plan, sql)
    if found is not None:
        node, start = found
        raise ContinuousError(f"Continuous processing does not support {node} operations.", sql=sql,
                              start=start, hint=HINT)
    for name, stream in plan.bindings.streams.items():
        if not source_traits(stream.source, name).push:
            raise ContinuousError(
                f"Continuous processing does not support StreamingRelation operations: {name!r} "
                f"({getattr(stream.source, 'description', type(stream.source).__name__)}) cannot hand rows as they "
                "arrive (it does not declare the 'push' capability)", sql=sql, start=_table_start(tree, name),
                hint="continuous processing reads push sources (memory, socket, MQTT, Kafka, rate); read this "
                     "source in micro-batches")


def _refusal(tree: exp.Expression, plan, sql: str) -> tuple[str, int | None] | None:
    """Spark's name of the first operation continuous processing refuses, and where it is."""
    if isinstance(tree, exp.Union):
        return "Union", keyword_start(sql, "UNION")
    for node in tree.walk():
        if isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Window):
            return "Aggregate", keyword_start(sql, "GROUP BY") or start_of(node, sql)
        if isinstance(node, exp.Group):
            return "Aggregate", keyword_start(sql, "GROUP BY")
        if isinstance(node, exp.Window):
            return "Window", start_of(node, sql)
        if isinstance(node, exp.Select) and node.args.get("distinct"):
            return "Deduplicate", keyword_start(sql, "DISTINCT")
        if isinstance(node, exp.Join):
            return "Join", keyword_start(sql, "JOIN") or start_of(node, sql)
        if isinstance(node, exp.Order):
            return "Sort", keyword_start(sql, "ORDER BY")
        if isinstance(node, exp.Limit):
            return "GlobalLimit", keyword_start(sql, "LIMIT")
        if isinstance(node, exp.Union):
            return "Union", keyword_start(sql, "UNION")
        if isinstance(node, _GENERATORS):
            return "Generate", start_of(node, sql)
        if isinstance(node, _CLOCK) or (isinstance(node, exp.Anonymous) and node.name.upper() in _CLOCK_NAMES):
            return "current time", start_of(node, sql) or keyword_start(sql, node.sql("spark").split("(")[0])
    if getattr(plan, "group_state", None) is not None:  # applyInPandasWithState: state per group
        return "FlatMapGroupsInPandasWithState", None
    if plan.aggregate is not None or plan.chain is not None:
        return "Aggregate", None
    if plan.dedup is not None:
        return "Deduplicate", None
    if plan.join is not None:
        return "Join", None
    if plan.event_times:
        starts = [w.start for w in plan.watermarks if getattr(w, "start", None) is not None]
        return "EventTimeWatermark", starts[0] if starts else None
    return None


def _table_start(tree: exp.Expression, name: str) -> int | None:
    for table in tree.find_all(exp.Table):
        if table.name == name or table.alias_or_name == name:
            return start_of(table)
    return None
