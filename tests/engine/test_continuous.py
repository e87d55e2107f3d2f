"""Continuous processing (trigger="continuous"): each row to the sink as it arrives, epochs in the checkpoint,
Spark's refusals for what is not map-like."""

from __future__ import annotations

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.checkpoint.logs import batches
from stream_nb.engine.continuous import ContinuousQuery
from stream_nb.sinks.files import read_files_sink


def _wait_for_epoch(q, epoch: int, timeout: float = 30.0) -> dict:
    """Block until epoch ``epoch`` has committed (the engine notifies each commit); its progress."""
    with q._changed:
        done = q._changed.wait_for(lambda: any(p["batchId"] >= epoch for p in q.recent_progress) or not q.is_active,
                                   timeout)
    assert done and q.is_active, f"epoch {epoch} did not commit: {q.exception}"
    return next(p for p in q.recent_progress if p["batchId"] >= epoch)


@pytest.fixture
def events():
    return sn.sources.memory("device string, temp double, n int")


def _rows(n: int, first: int = 0) -> list[dict]:
    return [{"device": "abc"[i % 3], "temp": 15.0 + i % 20, "n": i} for i in range(first, first + n)]


def test_every_row_reaches_the_memory_sink_without_a_batch(events):
    q = sn.start("SELECT n, device, temp * 9 / 5 + 32 AS f FROM events WHERE temp > 20", sources={"events": events},
                 trigger="continuous")
    try:
        assert isinstance(q, ContinuousQuery) and q.compiled
        for chunk in range(10):
            events.add_data(_rows(100, chunk * 100))
        q.process_all_available()
        expected = [(r["n"], r["device"], r["temp"] * 9 / 5 + 32) for r in _rows(1000) if r["temp"] > 20]
        assert list(q.result.itertuples(index=False, name=None)) == expected
        assert q.compiled_rows == 1000 and q.duckdb_rows == 0
    finally:
        q.stop()


CASES = [
    "SELECT n, n % 7 AS m, -n % 4 AS neg, n / 0 AS z, n / 3 AS d FROM events",
    "SELECT upper(device) AS u, lower(device) AS l, length(device) AS len, abs(temp - 25) AS a FROM events",
    "SELECT device || '-' || device AS c, coalesce(temp, -1) AS t, nullif(n, 3) AS k FROM events",
    "SELECT n, CASE WHEN temp > 30 THEN 'hot' WHEN temp IS NULL THEN 'none' ELSE 'ok' END AS label FROM events",
    "SELECT n FROM events WHERE device IN ('a', NULL) OR temp BETWEEN 20 AND 22 OR NOT (n > 2)",
    "SELECT n, temp IS NULL AS missing, n = 3 AND temp > 1 AS both FROM events WHERE device <> 'b'",
    "SELECT n * 2 AS twice, n + 2147483647 AS wrapped, CAST(n AS BIGINT) * 3 AS big FROM events",  # Spark's overflow
    "SELECT CAST(device AS STRING) AS d, CAST(temp AS STRING) AS t, CAST(n AS DOUBLE) / 4 AS q FROM events",
]


@pytest.mark.parametrize("sql", CASES)
def test_the_compiled_query_equals_the_micro_batch_one(sql, events):
    rows = [*_rows(12), {"device": None, "temp": None, "n": None}, {"device": "a", "temp": None, "n": -5}]
    continuous = sn.start(sql, sources={"events": events}, trigger="continuous")
    micro = sn.start(sql, sources={"events": events}, trigger="manual")
    try:
        assert continuous.compiled
        events.add_data(rows)
        continuous.process_all_available()
        micro.process_all_available()
        pd.testing.assert_frame_equal(continuous.result, micro.result)
        assert continuous.duckdb_rows == 0
    finally:
        continuous.stop()
        micro.stop()


def test_what_is_not_compiled_runs_on_duckdb_with_the_same_answer(events):
    sql = "SELECT n, CAST(temp AS INT) AS t, concat(device, n) AS c, round(temp / 3, 1) AS r FROM events"
    continuous = sn.start(sql, sources={"events": events}, trigger="continuous")
    micro = sn.start(sql, sources={"events": events}, trigger="manual")
    try:
        assert not continuous.compiled
        events.add_data(_rows(30))
        continuous.process_all_available()
        micro.process_all_available()
        pd.testing.assert_frame_equal(continuous.result, micro.result)
        assert continuous.duckdb_rows == 30
    finally:
        continuous.stop()
        micro.stop()


def test_a_kafka_value_cast_to_string_is_compiled_as_spark_reads_bytes():
    messages = sn.sources.memory("value binary")
    sql = "SELECT upper(CAST(value AS STRING)) AS text FROM messages"
    continuous = sn.start(sql, sources={"messages": messages}, trigger="continuous")
    micro = sn.start(sql, sources={"messages": messages}, trigger="manual")
    try:
        messages.add_data([{"value": b"caf\xc3\xa9"}, {"value": b"\xff ok"}, {"value": None}])
        continuous.process_all_available()
        micro.process_all_available()
        pd.testing.assert_frame_equal(continuous.result, micro.result)
        assert continuous.compiled and continuous.duckdb_rows == 0
    finally:
        continuous.stop()
        micro.stop()


def test_a_value_the_compiled_query_was_not_written_for_goes_to_duckdb(events):
    sql = "SELECT device || n AS c FROM events"  # a number's text is DuckDB's cast, not Python's
    q = sn.start(sql, sources={"events": events}, trigger="continuous")
    try:
        events.add_data(_rows(3))
        q.process_all_available()
        assert q.result["c"].tolist() == ["a0", "b1", "c2"]
        assert q.duckdb_rows == 3
    finally:
        q.stop()


REFUSED = [
    ("SELECT device, count(*) AS n FROM events GROUP BY device", "Aggregate", "GROUP BY"),
    ("SELECT max(temp) AS hottest FROM events", "Aggregate", "max("),
    ("SELECT DISTINCT device FROM events", "Deduplicate", "DISTINCT"),
    ("SELECT e.n, s.name FROM events e JOIN sites s ON e.device = s.device", "Join", "JOIN"),
    ("SELECT n FROM events UNION ALL SELECT n FROM events", "Union", "UNION"),
    ("SELECT n, current_timestamp() AS at FROM events", "current time", "current_timestamp"),
    ("SELECT explode(array(n, n)) AS m FROM events", "Generate", "explode"),
    ("SELECT n FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS", "EventTimeWatermark", "WATERMARK"),
    ("SELECT n FROM events LIMIT 5", "GlobalLimit", "LIMIT"),  # a stream's LIMIT runs in micro-batches only
]


@pytest.mark.parametrize("sql", ["SELECT n FROM events ORDER BY n", "SELECT n FROM events LIMIT 5 OFFSET 1",
                                 "SELECT n, row_number() OVER (ORDER BY n) AS k FROM events"])
def test_what_no_stream_may_do_is_refused_first_with_the_streaming_reason(sql):
    """Spark's checkForContinuous runs checkForStreaming first: sorting, LIMIT and OVER fail as on any stream."""
    events = sn.sources.memory("n int")
    with pytest.raises(ValueError) as caught:
        sn.start(sql, sources={"events": events}, trigger="continuous")
    assert "stream" in str(caught.value) and "Continuous" not in str(caught.value)


@pytest.mark.parametrize(("sql", "node", "at"), REFUSED)
def test_what_is_not_map_like_is_refused_with_sparks_reason_and_position(sql, node, at):
    events = sn.sources.memory("device string, temp double, n int, ts timestamp")
    sites = pd.DataFrame({"device": ["a"], "name": ["roof"]})
    with pytest.raises(ValueError) as caught:
        sn.start(sql, sources={"events": events, "sites": sites}, trigger="continuous")
    err = caught.value
    assert err.message == f"Continuous processing does not support {node} operations."
    assert err.column == sql.index(at) + 1, str(err)
    assert "micro-batches" in str(err)


def test_a_source_that_cannot_push_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("n\n1\n")
    files = sn.sources.files(str(tmp_path), format="csv", schema="n int")
    with pytest.raises(ValueError, match=r"does not support StreamingRelation operations: 'f'.*'push'") as caught:
        sn.start("SELECT n FROM f", sources={"f": files}, trigger="continuous")
    assert caught.value.column == len("SELECT n FROM ") + 1


def test_the_rate_source_pushes_each_row_when_it_is_due():
    rate = sn.sources.rate(200)
    q = sn.start("SELECT value, value * 2 AS doubled FROM rate", sources={"rate": rate},
                 trigger="continuous 100 milliseconds")
    try:
        progress = _wait_for_epoch(q, 2)
        result = q.result
        assert result["value"].tolist() == list(range(len(result)))
        assert (result["doubled"] == result["value"] * 2).all() and q.duckdb_rows == 0
        assert progress["sources"][0]["description"].startswith("RateSource")
    finally:
        q.stop()


def test_each_epoch_reports_progress_with_latency_percentiles(events):
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 100 milliseconds")
    try:
        events.add_data(_rows(50))
        q.process_all_available()
        epoch = q.last_progress["batchId"] + 1 if q.last_progress else 0
        progress = _wait_for_epoch(q, epoch)
        seen = [p for p in q.recent_progress if p["numInputRows"]]
        assert sum(p["numInputRows"] for p in q.recent_progress) == 50, progress
        assert seen[0]["sink"]["numOutputRows"] == seen[0]["numInputRows"]
        assert set(seen[0]["latencyMs"]) == {"p50", "p99", "max"}
        assert 0 < seen[0]["latencyMs"]["p50"] <= seen[0]["latencyMs"]["p99"] <= seen[0]["latencyMs"]["max"]
    finally:
        q.stop()


def test_epochs_are_logged_in_the_checkpoint_as_offsets_and_commits(events, tmp_path):
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 50 milliseconds",
                 checkpoint=str(tmp_path / "cp"))
    events.add_data(_rows(10))
    q.process_all_available()
    _wait_for_epoch(q, 1)
    q.stop()
    commits = batches(tmp_path / "cp", "commits")
    assert commits and commits == batches(tmp_path / "cp", "offsets")
    assert "endOffset\": 10" in (tmp_path / "cp" / "offsets" / str(commits[-1])).read_text()


def test_a_restart_goes_on_from_the_last_epoch_and_the_files_sink_holds_each_row_once(events, tmp_path):
    out, cp = tmp_path / "out", str(tmp_path / "cp")
    sql = "SELECT n, device FROM events WHERE n % 2 = 0"
    q = sn.start(sql, sources={"events": events}, trigger="continuous 50 milliseconds",
                 sink=sn.sinks.files(str(out)), checkpoint=cp)
    events.add_data(_rows(20))
    q.process_all_available()
    q.stop()  # the last epoch commits on stop
    events.add_data(_rows(20, 20))  # while it is stopped
    q = sn.start(sql, sources={"events": events}, trigger="continuous 50 milliseconds",
                 sink=sn.sinks.files(str(out)), checkpoint=cp)
    events.add_data(_rows(10, 40))
    q.process_all_available()
    q.stop()
    assert sorted(read_files_sink(str(out))["n"]) == list(range(0, 50, 2))


def test_an_uncommitted_epoch_is_redone_with_its_logged_offsets(events, tmp_path):
    """Offsets of epoch N logged, the process gone before commits/N: a restart writes epoch N again, once."""
    out, cp = tmp_path / "out", tmp_path / "cp"
    sql = "SELECT n FROM events"
    q = sn.start(sql, sources={"events": events}, trigger="continuous 50 milliseconds",
                 sink=sn.sinks.files(str(out)), checkpoint=str(cp))
    events.add_data(_rows(5))
    q.process_all_available()
    q.stop()
    last = batches(cp, "commits")[-1]
    (cp / "commits" / str(last)).unlink()  # as if the process had died between the sink and the commit
    events.add_data(_rows(5, 5))
    q = sn.start(sql, sources={"events": events}, trigger="continuous 50 milliseconds",
                 sink=sn.sinks.files(str(out)), checkpoint=str(cp))
    q.process_all_available()
    q.stop()
    assert sorted(read_files_sink(str(out))["n"]) == list(range(10))


def test_the_memory_sink_gets_rows_again_after_a_restart_only_those_after_the_last_epoch(events, tmp_path):
    cp = tmp_path / "cp"
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 50 milliseconds",
                 checkpoint=str(cp))
    events.add_data(_rows(4))
    q.process_all_available()
    q.stop()
    last = batches(cp, "commits")[-1]
    (cp / "commits" / str(last)).unlink()  # the last epoch never committed: its rows are delivered again
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 50 milliseconds",
                 checkpoint=str(cp))
    events.add_data(_rows(2, 4))
    q.process_all_available()
    q.stop()
    again = sorted(q.result["n"])
    assert again[-2:] == [4, 5] and set(again) <= set(range(6))


def test_a_paused_query_takes_no_rows_until_stepped(events):
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous")
    try:
        q.pause()
        events.add_data(_rows(3))
        assert q.step()["numInputRows"] == 3
        assert q.result["n"].tolist() == [0, 1, 2]
        assert q.step() is None
    finally:
        q.stop()



def test_a_udf_runs_in_continuous_processing_on_duckdb(events):
    sn.udf("continuous_fahrenheit", lambda c: None if c is None else c * 9 / 5 + 32, "double")
    q = sn.start("SELECT n, continuous_fahrenheit(temp) AS f FROM events", sources={"events": events},
                 trigger="continuous")
    try:
        events.add_data(_rows(4))
        q.process_all_available()
        assert q.result["f"].tolist() == [r["temp"] * 9 / 5 + 32 for r in _rows(4)]
        assert not q.compiled and q.duckdb_rows == 4
    finally:
        q.stop()


def test_the_duckdb_sink_holds_each_row_once_across_a_restart_from_an_epoch(events, tmp_path):
    database, cp = str(tmp_path / "out.duckdb"), tmp_path / "cp"
    for first in (0, 6):
        q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous 50 milliseconds",
                     sink=sn.sinks.duckdb(database, "out"), checkpoint=str(cp))
        events.add_data(_rows(6, first))
        q.process_all_available()
        q.stop()
        (cp / "commits" / str(batches(cp, "commits")[-1])).unlink()  # the last epoch is redone on restart
    import duckdb

    with duckdb.connect(database) as con:
        assert sorted(n for (n,) in con.execute("SELECT n FROM out").fetchall()) == list(range(12))


def test_kill_9_then_a_restart_leaves_each_row_once_in_the_files_sink(tmp_path):
    """The process dies at a random point of its epochs; the restart goes on from the last committed epoch, redoes
    an uncommitted one with its logged offsets, and the files sink skips what it holds: no gap, no duplicate."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    out, cp = tmp_path / "out", tmp_path / "cp"
    child = subprocess.Popen([sys.executable, str(Path(__file__).with_name("continuous_pipeline.py")), str(out),
                              str(cp)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started", child.stderr.read()
    deadline = time.monotonic() + 60
    while len(batches(cp, "commits")) < 5:  # the child's epochs, as its checkpoint shows them
        assert time.monotonic() < deadline and child.poll() is None, child.stderr.read()
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_at = batches(cp, "commits")[-1]
    q = sn.start("SELECT value, value * 2 AS doubled FROM rate", sources={"rate": sn.sources.rate(500)},
                 trigger="continuous 50 milliseconds", sink=sn.sinks.files(str(out)), checkpoint=str(cp))
    try:
        _wait_for_epoch(q, killed_at + 3)
    finally:
        q.stop()
    values = sorted(read_files_sink(str(out))["value"])
    assert values == list(range(len(values))) and len(values) > 0


def test_the_spark_engine_refuses_a_continuous_trigger_saying_why(events):
    with pytest.raises(ValueError, match="runs on the stream_nb engine only.*foreachBatch"):
        sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous", engine="spark")


def test_rows_added_from_several_threads_at_once_each_arrive_once(events):
    import threading

    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous")
    try:
        writers = [threading.Thread(target=lambda k=k: [events.add_data(_rows(1, k * 250 + i)) for i in range(250)])
                   for k in range(4)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        q.process_all_available()
        assert sorted(q.result["n"]) == list(range(1000))
    finally:
        q.stop()


def test_the_status_says_data_is_available_while_a_paused_query_holds_rows(events):
    q = sn.start("SELECT n FROM events", sources={"events": events}, trigger="continuous")
    try:
        q.pause()
        events.add_data(_rows(2))
        with q._changed:  # the row thread sees the rows, holds them while paused, and says so
            q._changed.wait_for(lambda: q.status["isDataAvailable"], 30)
        assert q.status["isDataAvailable"] and q.status["message"] == "Paused"
        q.step()
        assert not q.status["isDataAvailable"]
    finally:
        q.stop()
