"""What Spark refuses in a chain of stateful operators (``UnsupportedOperationChecker``), with its reason,
what to do instead, and where in the SQL."""

from __future__ import annotations

from sqlglot import exp

from stream_nb.sql.errors import OutputModeError
from stream_nb.sql.positions import keyword_start, start_of
from stream_nb.sql.tree import aggregates_in


def is_aggregation(select: exp.Select) -> bool:
    """An aggregation, or a plain SELECT DISTINCT (Spark plans it as one); not DISTINCT ON (dropDuplicates)."""
    distinct = select.args.get("distinct")
    return bool(aggregates_in(select) or select.args.get("group")) or (
        distinct is not None and distinct.args.get("on") is None)


def refuse_without_watermark(after_aggregation: bool, upper: exp.Select, sql: str) -> OutputModeError:
    what = ("multiple streaming aggregations (an aggregation over what another one emits)" if after_aggregation
            else "an aggregation over what another stateful operator emits")
    return OutputModeError(
        f"{what} run in append output mode here, as in Spark (an aggregation in update or complete mode cannot be "
        "followed by another stateful operator), and append needs a watermark: without one no group is ever "
        "final, so nothing would be emitted", sql=sql, start=where(upper, sql),
        hint="declare a watermark (FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS), group the inner query "
             "by window(ts, '10 seconds') and the outer one by window(window_time(w), '1 minute'); or "
             "aggregate once and compute over q.result in pandas")


def refuse_after_update(lower: exp.Select, upper: exp.Select, mode: str, sql: str) -> OutputModeError:
    what = "an aggregation" if is_aggregation(upper) else "a deduplication on event time"
    return OutputModeError(
        f"an aggregation in {mode} output mode cannot be followed by another stateful operator (here {what}), as "
        "in Spark: it emits a group again each time the group changes, so the next operator would get rows "
        "older than the watermark and drop them as late (Spark's 'correctness' issue due to the global "
        "watermark)", sql=sql, start=where(upper, sql),
        hint="use output_mode='append' (each window is emitted once, when the watermark passes its end), or "
             "run the second step over q.result in pandas")


def refuse_without_event_time(upper: exp.Select, times: dict[str, tuple[str, str]], sql: str) -> OutputModeError:
    windows = [name for name, (_, kind) in times.items() if kind == "struct"]
    hint = (f"GROUP BY window(window_time({windows[0]}), '1 minute'), ... (the window's end - 1 microsecond "
            "is its rows' event time)" if windows else
            f"GROUP BY window({next(iter(times))}, '1 minute'), ..." if times else
            "give the operator before it an event-time key: GROUP BY window(ts, '10 seconds'), ...")
    return OutputModeError(
        "append output mode with an aggregation needs an event-time column among its GROUP BY keys (as in "
        "Spark): here it aggregates what another stateful operator emits, whose event-time columns are "
        f"{', '.join(times) or 'none'}; without one no group is ever final", sql=sql,
        start=where(upper, sql, keys_first=True),
        hint=hint)


def where(select: exp.Select, sql: str, keys_first: bool = False) -> int | None:
    """Where a stateful SELECT shows itself: its first aggregate (or GROUP BY key, first if asked), else
    DISTINCT."""
    group = select.args.get("group")
    keys = [start_of(group.expressions[0], sql)] if group is not None and group.expressions else []
    aggregates = [start_of(a, sql) for a in aggregates_in(select)][:1]
    found = keys + aggregates if keys_first else aggregates + keys
    return found[0] if found else keyword_start(sql, "DISTINCT", start_of(select, sql) or 0)
