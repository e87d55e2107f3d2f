"""The StreamingQuery handle: triggers, pause/resume/step/stop, failures, progress, and the registry."""

import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pyarrow as pa
import pytest

import stream_nb as sn


@pytest.fixture
def events():
    return sn.sources.memory("device string, temp double")


def rows(*temps, device="a"):
    return [{"device": device, "temp": t} for t in temps]


def test_manual_trigger_runs_batches_only_on_step(events, engine_has_run_over):
    q = sn.start("SELECT device, temp FROM events", sources={"events": events}, trigger="manual")
    events.add_data(rows(1.0, 2.0))
    engine_has_run_over(events)
    assert q.last_progress is None and q.result.empty
    assert q.step()["numInputRows"] == 2
    assert q.step() is None  # nothing new: no batch
    assert q.result["temp"].tolist() == [1.0, 2.0]


def test_default_trigger_processes_data_as_it_arrives(events):
    q = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events})
    events.add_data(rows(1.0, 2.0, 3.0))
    q.process_all_available(timeout=10)
    events.add_data(rows(4.0))
    q.process_all_available(timeout=10)
    assert q.result.to_dict("records") == [{"device": "a", "n": 4}]
    assert q.last_progress["batchId"] >= 1


def test_interval_trigger_waits_between_batches(events):
    q = sn.start("SELECT temp FROM events", sources={"events": events}, trigger="0.3 seconds")
    events.add_data(rows(1.0))
    q.process_all_available(timeout=10)
    events.add_data(rows(2.0))
    q.process_all_available(timeout=10)
    first, second = (pd.Timestamp(p["timestamp"]) for p in q.recent_progress[-2:])
    assert second - first >= pd.Timedelta(seconds=0.15)  # the second batch waited for the next tick
    assert len(q.result) == 2


def test_available_now_processes_what_is_there_then_stops(events):
    events.add_data(rows(1.0, 2.0))
    q = sn.start("SELECT temp FROM events", sources={"events": events}, trigger="available_now")
    assert q.await_termination(timeout=10)
    assert not q.is_active
    assert q.result["temp"].tolist() == [1.0, 2.0]


def test_max_per_trigger_caps_a_batch():
    class Capped:
        schema = pa.schema([("v", pa.int64())])
        capabilities = frozenset({"max_per_trigger"})
        max_per_trigger = 2
        description = "Capped"

        def latest_offset(self):
            return 5

        def read(self, start, end):
            return pa.table({"v": list(range(start, end))}, schema=self.schema)

    q = sn.start("SELECT v FROM c", sources={"c": Capped()}, trigger="manual")
    q.process_all_available(timeout=10)
    assert [p["numInputRows"] for p in q.recent_progress] == [2, 2, 1]
    assert q.result["v"].tolist() == [0, 1, 2, 3, 4]


def test_pause_holds_batches_and_resume_catches_up(events, engine_has_run_over):
    q = sn.start("SELECT temp FROM events", sources={"events": events})
    q.pause()
    events.add_data(rows(1.0))
    engine_has_run_over(events)
    assert q.result.empty and q.status["message"] == "Paused"
    q.resume()
    q.process_all_available(timeout=10)
    assert q.result["temp"].tolist() == [1.0]


def test_stop_ends_the_query_and_frees_its_name(events):
    q = sn.start("SELECT temp FROM events", sources={"events": events}, name="temps")
    assert sn.get("temps") is q and q in sn.queries()
    with pytest.raises(ValueError, match="already running"):
        sn.start("SELECT temp FROM events", sources={"events": events}, name="temps")
    q.stop()
    assert not q.is_active and q.status["message"] == "Stopped"
    assert q not in sn.queries()
    with pytest.raises(KeyError, match="no active query named 'temps'"):
        sn.get("temps")
    with pytest.raises(RuntimeError, match="stopped"):
        q.step()


def test_a_failing_batch_stops_the_query_and_commits_nothing(events):
    calls = []

    def write(df, batch_id):
        calls.append(batch_id)
        if batch_id == 1:
            raise OSError("disk full")

    q = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events},
                 trigger="manual", sink=sn.sinks.foreach_batch(write))
    events.add_data(rows(1.0))
    q.step()
    events.add_data(rows(2.0, 3.0))
    with pytest.raises(sn.StreamingQueryException, match="failed in batch 1: disk full"):
        q.step()
    assert not q.is_active and isinstance(q.exception.__cause__, OSError)
    assert q.last_progress["batchId"] == 0  # batch 1 never committed...
    assert q.last_progress["stateOperators"][0]["numRowsTotal"] == 1
    with pytest.raises(sn.StreamingQueryException):
        q.await_termination()


def test_batches_run_on_the_engine_thread_not_the_callers(events):
    threads = []
    q = sn.start("SELECT temp FROM events", sources={"events": events},
                 sink=sn.sinks.foreach_batch(lambda df, i: threads.append(threading.current_thread().name)))
    events.add_data(rows(1.0))
    q.process_all_available(timeout=10)
    assert threads and threading.main_thread().name not in threads


def test_a_query_keeps_running_while_the_caller_blocks(events):
    delivered = threading.Event()
    temps = []
    q = sn.start("SELECT temp FROM events", sources={"events": events},
                 sink=sn.sinks.foreach_batch(lambda df, i: (temps.extend(df["temp"]), delivered.set())))
    events.add_data(rows(1.0))
    assert delivered.wait(timeout=10)  # a cell that blocks, calling nothing: the engine goes on without it
    q.process_all_available(timeout=10)
    assert temps == [1.0]


def test_progress_has_sparks_field_names(events):
    q = sn.start("SELECT device, avg(temp) AS t FROM events GROUP BY device", sources={"events": events},
                 trigger="manual", name="avg_temp")
    events.add_data(rows(1.0, 3.0))
    progress = q.step()
    assert {"id", "runId", "name", "timestamp", "batchId", "numInputRows", "inputRowsPerSecond",
            "processedRowsPerSecond", "durationMs", "eventTime", "stateOperators", "sources",
            "sink"} <= set(progress)
    assert progress["id"] == q.id and progress["runId"] == q.run_id and progress["name"] == "avg_temp"
    assert progress["sources"][0]["startOffset"] == 0 and progress["sources"][0]["endOffset"] == 2
    state = progress["stateOperators"][0]
    assert state["numRowsTotal"] == 1 and state["numRowsUpdated"] == 1 and state["memoryUsedBytes"] > 0
    assert progress["sink"]["numOutputRows"] == 1
    assert q.recent_progress == [progress]


def test_process_all_available_raises_when_it_times_out():
    stuck = sn.sources.memory("v bigint")
    stuck.add_data([{"v": 0}])
    q = sn.start("SELECT v FROM s", sources={"s": stuck}, trigger="5 seconds")
    q.process_all_available(timeout=10)  # the first tick's batch committed: the next tick is seconds away
    stuck.add_data([{"v": 1}])
    with pytest.raises(TimeoutError, match="has not caught up"):
        q.process_all_available(timeout=0.01)


def test_explain_shows_the_incremental_plan(events, capsys):
    q = sn.start("SELECT device, avg(temp) AS t FROM events GROUP BY device", sources={"events": events})
    q.explain()
    text = capsys.readouterr().out
    for part in ("Stateless, per batch", "Partial aggregates per key", "State: one row per key",
                 "__a0 = AVG(events.temp)", "update mode", "averages finished in Arrow: t = __a0_s / __a0_n",
                 "no DuckDB call"):
        assert part in text


def test_names_resolve_in_the_callers_namespace(events):
    readings = events
    q = sn.start("SELECT temp FROM readings", trigger="manual")
    readings.add_data(rows(5.0))
    q.step()
    assert q.result["temp"].tolist() == [5.0]


def test_a_running_query_is_a_stream_for_the_next_one(events):
    hot = sn.start("SELECT device, temp FROM events WHERE temp > 10", sources={"events": events},
                   name="hot", trigger="manual")
    counts = sn.start("SELECT device, count(*) AS n FROM hot GROUP BY device", trigger="manual")
    events.add_data(rows(5.0, 15.0, 25.0))
    hot.step()
    counts.step()
    assert counts.result.to_dict("records") == [{"device": "a", "n": 2}]


def test_repr_says_what_the_query_is_doing(events):
    q = sn.start("SELECT temp FROM events", sources={"events": events}, name="r", trigger="manual")
    assert "<StreamingQuery 'r' active" in repr(q) and "append mode" in repr(q)


class TestCallsFromInsideABatch:
    """Case 11: a foreach_batch function that calls back into its own query neither deadlocks nor hangs exit."""

    def test_case_11_stop_inside_foreach_batch_stops_after_that_batch_commits(self, events):
        handle = []
        seen = []

        def write(df, batch_id):
            seen.append(batch_id)
            handle[0].stop()

        q = sn.start("SELECT temp FROM events", sources={"events": events}, sink=sn.sinks.foreach_batch(write))
        handle.append(q)
        events.add_data(rows(1.0))
        assert q.await_termination(timeout=30)
        assert not q.is_active and q.exception is None and seen == [0]
        assert q.last_progress["batchId"] == 0  # the batch committed before the query stopped

    def test_case_11_stop_inside_a_stepped_batch_leaves_the_query_stopped(self, events):
        handle = []
        q = sn.start("SELECT temp FROM events", sources={"events": events}, trigger="manual",
                     sink=sn.sinks.foreach_batch(lambda df, batch_id: handle[0].stop()))
        handle.append(q)
        events.add_data(rows(1.0))
        assert q.step()["batchId"] == 0
        assert not q.is_active and sn.queries() == []

    @pytest.mark.parametrize("call", ["process_all_available", "step", "await_termination"])
    def test_case_11_a_waiting_call_inside_foreach_batch_fails_the_batch_with_a_clear_error(self, events, call):
        handle = []
        q = sn.start("SELECT temp FROM events", sources={"events": events}, trigger="manual",
                     sink=sn.sinks.foreach_batch(lambda df, batch_id: getattr(handle[0], call)()))
        handle.append(q)
        events.add_data(rows(1.0))
        with pytest.raises(sn.StreamingQueryException, match=rf"{call}\(\) was called inside a batch of query "
                                                             rf"'{q.name}' \(from its foreach_batch function\)"):
            q.step()
        assert not q.is_active

    def test_case_11_the_interpreter_exits_after_a_stop_inside_foreach_batch(self):
        script = textwrap.dedent("""
            import stream_nb as sn
            events = sn.sources.memory("temp double")
            handle = []
            q = sn.start("SELECT temp FROM events", sources={"events": events},
                         sink=sn.sinks.foreach_batch(lambda df, batch_id: handle[0].stop()))
            handle.append(q)
            events.add_data([{"temp": 1.0}])
            q.await_termination()
            print("stopped", flush=True)
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr[-2000:]


class TestChainedQueries:
    """Case 12: a query over another's result holds a buffer on it only while it runs, trimmed as it commits."""

    def test_case_12_a_refused_downstream_start_leaves_no_buffer_on_the_upstream(self, events):
        up = sn.start("SELECT device, temp FROM events", sources={"events": events}, name="up", trigger="manual")
        with pytest.raises(sn.StreamSQLError):
            sn.start("SELECT device, count(*) AS n FROM up GROUP BY nope", trigger="manual")
        with pytest.raises(ValueError, match="checkpoint_retention"):
            sn.start("SELECT device FROM up", trigger="manual", checkpoint_retention=0)
        assert up._downstream == []

    def test_case_12_a_stopped_downstream_is_no_longer_fed(self, events):
        up = sn.start("SELECT device, temp FROM events", sources={"events": events}, name="up", trigger="manual")
        down = sn.start("SELECT device, temp FROM up", trigger="manual")
        assert up._downstream == [down.source]
        down.stop()
        assert up._downstream == []
        events.add_data(rows(1.0, 2.0))
        up.step()
        assert down.source.latest_offset() == 0  # nothing buffered for a query that is gone

    def test_case_12_a_live_downstream_buffer_keeps_only_the_rows_not_yet_committed(self, events):
        up = sn.start("SELECT device, temp FROM events", sources={"events": events}, name="up", trigger="manual")
        down = sn.start("SELECT device, count(*) AS n FROM up GROUP BY device", trigger="manual")
        for batch in range(3):
            events.add_data(rows(1.0, 2.0))
            up.step()
            assert buffered(down.source) == 2
            down.step()
            assert buffered(down.source) == 0
        events.add_data(rows(3.0))
        up.step()
        assert buffered(down.source) == 1
        down.step()
        assert down.result.to_dict("records") == [{"device": "a", "n": 7}]


def buffered(stream) -> int:
    """Rows a result stream holds in memory (read and committed ones are let go)."""
    return sum(chunk.num_rows for chunk in stream._chunks)


@pytest.mark.parametrize("ending", ["stop", "stop inside its batch", "a failing batch"])
def test_a_manual_querys_loop_task_ends_with_the_query(events, ending):
    # a manual query's task on the engine loop waits for the query to end (it has nothing to poll): every way
    # of ending wakes it, so no task is left waiting on the loop
    def sink(df, batch_id):
        if ending == "stop inside its batch":
            q.stop()
        if ending == "a failing batch":
            raise ValueError("the sink failed")

    q = sn.start("SELECT device, temp FROM events", sources={"events": events}, trigger="manual",
                 sink=sn.sinks.foreach_batch(sink))
    events.add_data(rows(1.0))
    if ending == "stop":
        q.stop()
    elif ending == "a failing batch":
        with pytest.raises(sn.StreamingQueryException, match="the sink failed"):
            q.step()
    else:
        q.step()
    q._task.result(timeout=10)  # the task has returned (a task left waiting would time out here)
    assert not q.is_active


def test_progress_has_the_keys_of_sparks_streaming_query_progress():
    src = sn.sources.memory("device string, temp double")
    q = sn.start("SELECT device, count(*) AS n FROM s GROUP BY device", sources={"s": src}, trigger="manual")
    src.add_data([{"device": "a", "temp": 1.0}])
    q.step()
    progress = q.last_progress
    q.stop()
    assert {"id", "runId", "name", "timestamp", "batchId", "batchDuration", "numInputRows", "inputRowsPerSecond",
            "processedRowsPerSecond", "durationMs", "eventTime", "stateOperators", "sources", "sink",
            "observedMetrics"} <= set(progress)
    assert progress["batchDuration"] == progress["durationMs"]["triggerExecution"]
    assert {"numRowsTotal", "numRowsUpdated", "numRowsRemoved", "numRowsDroppedByWatermark", "memoryUsedBytes",
            "numShufflePartitions", "numStateStoreInstances", "customMetrics"} <= set(progress["stateOperators"][0])
    assert "metrics" in progress["sources"][0] and "metrics" in progress["sink"]
