"""DISTINCT on a stream, as Spark means it.

``SELECT DISTINCT cols`` is an aggregation over the selected columns (Spark plans it as one): it follows the
output modes and watermarks of any GROUP BY. ``SELECT DISTINCT ON (keys) ...`` is Spark's ``dropDuplicates``,
which Spark SQL has no words for: the first row of each key, emitted at once, never that key again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.event_time import EventTime, EventTimeKey
from stream_nb.sql.positions import keyword_start


@dataclass(frozen=True)
class DedupPlan:
    """Deduplication (Spark's dropDuplicates): the first row per key, then never that key again."""

    keys: list[str]                 # key columns of the pre table: __d0, __d1, ...
    key_texts: list[str]            # the keys as written
    pre_sql: str                    # per batch: the query's rows plus their keys, over __batch
    event_time_key: EventTimeKey | None = None
    # dropDuplicatesWithinWatermark: a key is kept until the watermark passes its first row's event time (the
    # pre table's EVENT_TIME) plus this delay; None: dropDuplicates, kept for good (or by an event-time key)
    expires_after_us: int | None = None
    # the pre table has the rows' event time (EVENT_TIME): Spark's deduplication drops a row at or behind the
    # watermark whenever its input has the watermarked column, a key or not (then no key is ever evicted)
    drops_late: bool = False


EVENT_TIME = "__et"
WITHIN_WATERMARK = "WITHIN_WATERMARK"  # the hint that asks for dropDuplicatesWithinWatermark, which Spark SQL has
                                       # no words for: SELECT /*+ WITHIN_WATERMARK */ DISTINCT ON (keys) ...




def distinct_as_group_by(select: exp.Select) -> None:
    """``SELECT DISTINCT a, b`` is ``SELECT a, b ... GROUP BY a, b``, as Spark plans it."""
    distinct = select.args.get("distinct")
    if distinct is None or distinct.args.get("on") is not None or select.args.get("group") is not None \
            or select.find(exp.AggFunc):
        return
    select.set("distinct", None)
    select.set("group", exp.Group(expressions=[item.unalias().copy() for item in select.selects]))


def refuse_distinct(tree: exp.Query, sql: str, aggregating: bool) -> None:
    """What DISTINCT is left after ``distinct_as_group_by`` is deduplication, a stateful operator of its own:
    only on the outermost SELECT of a query without aggregation (one stateful operator per query, for now)."""
    for select in tree.find_all(exp.Select):
        if not select.args.get("distinct"):
            continue
        if select is not tree:
            raise StreamSQLError("SELECT DISTINCT (deduplication) is supported on the outermost SELECT only",
                                 sql=sql, start=keyword_start(sql, "DISTINCT"))
        if aggregating:
            raise StreamSQLError("deduplication and aggregation in one query are two stateful operators, "
                                 "which is not supported yet; GROUP BY the columns instead of DISTINCT",
                                 sql=sql, start=keyword_start(sql, "DISTINCT"))



def plan_dedup(tree: exp.Select, event_time: EventTime | None, sql: str = "") -> DedupPlan:
    """Turn SELECT DISTINCT [ON (keys)] into a plain SELECT that also outputs the keys (__d0, ...)."""
    distinct = tree.args["distinct"]
    on = distinct.args.get("on")
    keys = list(on.expressions) if on is not None else [s.unalias() if isinstance(s, exp.Alias) else s
                                                        for s in tree.selects]
    names = [f"__d{i}" for i in range(len(keys))]
    texts = [k.sql("spark") for k in keys]
    tree.set("distinct", None)
    tree.select(*(k.copy().as_(n) for k, n in zip(keys, names)), copy=False)
    if _within_watermark(tree):
        if event_time is None:
            raise StreamSQLError("dropDuplicatesWithinWatermark needs a watermark: a key is kept until the "
                                 "watermark passes its first row's event time plus the delay (as in Spark)",
                                 sql=sql or None, start=keyword_start(sql, "DISTINCT") if sql else None,
                                 hint="withWatermark('ts', '10 seconds') before it, or WATERMARK ts DELAY OF ...")
        tree.select(exp.column(event_time.column).as_(EVENT_TIME), copy=False)
        return DedupPlan(keys=names, key_texts=texts, pre_sql="", expires_after_us=event_time.delay_us,
                         drops_late=True)
    event_time_key = None
    drops_late = False
    if event_time is not None:
        event_time_key = next((EventTimeKey(i) for i, k in enumerate(keys)
                               if isinstance(k, exp.Column) and k.name.lower() == event_time.column.lower()), None)
        drops_late = _reads_event_time(tree, event_time.column)
        if drops_late:
            tree.select(exp.column(event_time.column).as_(EVENT_TIME), copy=False)
    return DedupPlan(keys=names, key_texts=texts, pre_sql="", event_time_key=event_time_key, drops_late=drops_late)


def _reads_event_time(tree: exp.Select, column: str) -> bool:
    """Whether the rows deduplicated have the watermarked column: read from the stream itself, or from a
    subquery that keeps it (``*`` or the column by its name)."""
    source = tree.args.get("from_")
    inner = source.this if source is not None else None
    if isinstance(inner, exp.Table):
        return True
    if isinstance(inner, exp.Subquery) and isinstance(inner.this, exp.Select):
        return any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                   or e.alias_or_name.lower() == column.lower() for e in inner.this.selects)
    return False


def _within_watermark(tree: exp.Select) -> bool:
    """Whether the SELECT carries the WITHIN_WATERMARK hint (taken off: DuckDB runs the rest)."""
    hint = tree.args.get("hint")
    names = [e.name.upper() for e in hint.expressions] if hint is not None else []
    if WITHIN_WATERMARK in names:
        tree.set("hint", None)
    return WITHIN_WATERMARK in names
