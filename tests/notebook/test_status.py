"""The status bar and the Streams panel's record of a continuous query: epochs, rows/s and latency percentiles
instead of batch durations."""

from __future__ import annotations

import stream_nb as sn
from stream_nb.notebook.panel import record
from stream_nb.notebook.status import status_html


def _committed_epoch_with_rows(q) -> dict:
    with q._changed:  # the engine notifies each epoch it commits
        q._changed.wait_for(lambda: any(p["numInputRows"] for p in q.recent_progress) or not q.is_active, 30)
    return q.last_progress


def test_a_continuous_query_shows_its_epoch_rate_and_latency_not_a_batch_duration():
    events = sn.sources.memory("n int")
    # epochs of 2 s: the one with the rows stays the last long after it commits (an epoch commits with or
    # without rows, and one without has no latency to show)
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 2 seconds",
                 name="alerts")
    try:
        events.add_data([{"n": i} for i in range(20)])
        q.process_all_available()
        progress = _committed_epoch_with_rows(q)
        bar = status_html(q)
        assert "latency p50 " in bar and " ms, p99 " in bar and "batch took" not in bar
        assert "epoch " in bar and "rows/s" in bar
        shown = record(q)
        assert shown["continuous"] is True and set(shown["latencyMs"]) == {"p50", "p99", "max"}
        assert shown["batchId"] >= progress["batchId"]
    finally:
        q.stop()


def test_a_micro_batch_query_keeps_its_batch_duration_and_no_latency():
    events = sn.sources.memory("n int")
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="manual")
    try:
        events.add_data([{"n": 1}])
        q.step()
        assert "batch took" in status_html(q)
        assert record(q)["continuous"] is False and record(q)["latencyMs"] is None
    finally:
        q.stop()


def test_the_live_view_shows_a_continuous_querys_rows_before_the_epoch_ends():
    from stream_nb.notebook.live import open_view

    events = sn.sources.memory("n int")
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 1 hour")
    try:
        view = open_view(q, rows=5)
        view.refresh()
        events.add_data([{"n": 7}, {"n": 8}])
        q.process_all_available()  # the rows are in the sink; the epoch ends in an hour
        view.refresh()
        assert ">7<" in view.table.widget.value and ">8<" in view.table.widget.value
    finally:
        q.stop()


def test_the_status_bar_counts_the_late_input_rows_where_sparks_metric_counts_late_groups():
    """Four late rows in two late (window, key) groups: PySpark 4's numRowsDroppedByWatermark is 2 (its
    aggregation drops late rows after the partial aggregation); the status bar says the 4 rows dropped."""
    events = sn.sources.memory("ts timestamp, k string")
    q = sn.start("SELECT window(ts, '10 seconds') AS w, k, count(*) AS n FROM events "
                 "WATERMARK ts DELAY OF INTERVAL 10 SECONDS GROUP BY window(ts, '10 seconds'), k",
                 sources={"events": events}, trigger="manual")
    try:
        events.add_data([{"ts": "2024-01-01 00:01:00", "k": "a"}])
        q.step()
        events.add_data([{"ts": f"2024-01-01 00:00:0{s}", "k": "a"} for s in (1, 2, 3)] +
                        [{"ts": "2024-01-01 00:00:15", "k": "b"}])
        q.step()
        assert q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 2
        assert q.late_rows_dropped == 4
        assert "late rows dropped 4" in status_html(q)
    finally:
        q.stop()
