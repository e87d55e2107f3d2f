"""Output modes, checked with Spark's rules: a query Spark rejects is rejected here, saying what to change."""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from stream_nb.sql.errors import OutputModeError

MODES = ("append", "update", "complete")


def choose_output_mode(requested: str | None, *, aggregating: bool, sql: str, tree: exp.Query,
                       watermarks: list, watermark_option: Mapping | None) -> str:
    """The output mode to run with: the requested one if Spark allows it, else a clear error.

    Default: ``append`` without aggregation, ``update`` with.
    """
    if requested is None:
        return "update" if aggregating else "append"
    mode = str(requested).strip().lower()
    if mode not in MODES:
        raise OutputModeError(f"unknown output mode {requested!r}; use one of: {', '.join(MODES)}")
    if mode == "complete" and not aggregating:
        raise OutputModeError(
            "complete output mode needs an aggregation: it re-emits the whole result table every batch, "
            "and a query without GROUP BY or aggregates has no result table to keep (as in Spark)",
            hint="use output_mode='append', or aggregate (e.g. GROUP BY ... with count(*))")
    if mode == "append" and aggregating and not (watermarks or watermark_option):
        raise OutputModeError(
            "append output mode with an aggregation needs a watermark on the window's time column: without "
            "one, no group is ever final, so nothing could be emitted (as in Spark)",
            hint="use output_mode='update' or 'complete', or group by window(ts, '10 seconds') with "
                 "FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS")
    return mode
