"""``q.state``: one value for what a query is doing, the actions each state allows, and why one is refused."""

from __future__ import annotations

import threading
import time

import pytest

import stream_nb as sn
from stream_nb.engine.lifecycle import ActionRefused, buttons, check
from stream_nb.notebook.actions import perform

QueryState = sn.QueryState


@pytest.fixture
def events():
    return sn.sources.memory("device string, temp double")


def test_the_state_is_public_and_an_enum():
    import enum

    assert issubclass(sn.QueryState, enum.Enum) and "QueryState" in sn.__all__
    assert [s.value for s in QueryState] == ["running", "waiting", "manual", "paused", "stopped", "failed"]


def test_a_query_waits_for_data_pauses_steps_resumes_and_stops(events):
    q = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events})
    assert q.state in (QueryState.WAITING, QueryState.RUNNING) and q.state.label == "running"
    events.add_data([{"device": "a", "temp": 1.0}])
    q.process_all_available()
    q.pause()
    assert q.state is QueryState.PAUSED and q.status["message"] == "Paused"
    events.add_data([{"device": "b", "temp": 2.0}])
    assert q.step()["batchId"] == 1
    assert q.state is QueryState.PAUSED          # a step of a paused query leaves it paused
    q.resume()
    assert q.state in (QueryState.WAITING, QueryState.RUNNING)
    q.stop()
    assert q.state is QueryState.STOPPED and not q.state.is_active and q.state.actions == ()


def test_a_manual_trigger_waits_for_step(events):
    q = sn.start("SELECT device FROM events", sources={"events": events}, trigger="manual")
    assert q.state is QueryState.MANUAL and q.status["message"] == "Waiting for q.step()"
    assert q.state.actions == ("step", "stop") and q.state.label == "waiting for step"


def test_a_failed_batch_leaves_the_query_failed(events):
    def full(df, batch_id):
        raise ValueError("the sink is full")

    q = sn.start("SELECT device FROM events", sources={"events": events}, sink=sn.sinks.foreach_batch(full))
    events.add_data([{"device": "a", "temp": 1.0}])
    with pytest.raises(sn.StreamingQueryException):
        q.await_termination(10)
    assert q.state is QueryState.FAILED and q.status["message"].startswith("Failed: the sink is full")


def pause_in_flight(events):
    """A query whose first batch is held in its sink, and a thread calling pause() meanwhile: (query, the
    pausing thread, the event that lets the batch finish)."""
    inside, release = threading.Event(), threading.Event()

    def slow(df, batch_id):
        inside.set()
        release.wait(30)

    q = sn.start("SELECT device FROM events", sources={"events": events}, sink=sn.sinks.foreach_batch(slow))
    events.add_data([{"device": "a", "temp": 1.0}])
    assert inside.wait(30)
    assert q.state is QueryState.RUNNING        # a batch is in flight
    pausing = threading.Thread(target=q.pause)
    pausing.start()
    deadline = time.monotonic() + 30
    while not q.is_paused:  # pause() has asked, and waits for the batch in flight
        assert time.monotonic() < deadline, "pause() never took"
        time.sleep(0.01)
    return q, pausing, release


def test_pause_returns_once_the_batch_in_flight_has_committed(events):
    q, pausing, release = pause_in_flight(events)
    assert pausing.is_alive(), "pause() returned while a batch was still in flight"
    assert q.state is QueryState.RUNNING        # still running: "paused" with a batch to come would be untrue
    release.set()
    pausing.join(30)
    assert q.last_progress["batchId"] == 0 and q.state is QueryState.PAUSED
    assert perform(q, "resume") == f"resumed {q.name} after batch 0"


def test_resume_right_after_pause_is_taken_while_the_batch_in_flight_finishes(events):
    q, pausing, release = pause_in_flight(events)
    assert q.state is QueryState.RUNNING and q.is_paused
    assert perform(q, "resume").startswith(f"resumed {q.name}")
    release.set()
    pausing.join(30)
    assert not q.is_paused and q.state in (QueryState.WAITING, QueryState.RUNNING)
    q.stop()


BUTTONS = [
    (QueryState.RUNNING, [("pause", True), ("step", False), ("stop", True)]),
    (QueryState.WAITING, [("pause", True), ("step", False), ("stop", True)]),
    (QueryState.MANUAL, [("pause", False), ("step", True), ("stop", True)]),
    (QueryState.PAUSED, [("resume", True), ("step", True), ("stop", True)]),
    (QueryState.STOPPED, [("pause", False), ("step", False), ("stop", False)]),
    (QueryState.FAILED, [("pause", False), ("step", False), ("stop", False)]),
]


@pytest.mark.parametrize(("state", "shown"), BUTTONS, ids=[s.value for s, _ in BUTTONS])
def test_the_buttons_each_state_shows(state, shown):
    assert [tuple(b) for b in buttons(state)] == shown


REFUSALS = [
    (QueryState.MANUAL, "pause", "q runs on a manual trigger: it only runs a batch on step; nothing to pause"),
    (QueryState.PAUSED, "pause", "q is already paused"),
    (QueryState.WAITING, "resume", "q is not paused: it is running"),
    (QueryState.RUNNING, "step", "q is running: pause it first to run one batch at a time"),
    (QueryState.STOPPED, "stop", "q is stopped; run its cell again to start it anew"),
    (QueryState.FAILED, "resume", "q has failed; run its cell again to start it anew"),
    (QueryState.PAUSED, "rewind", "unknown action 'rewind': pause, resume, step or stop"),
]


@pytest.mark.parametrize(("state", "action", "says"), REFUSALS, ids=[f"{s.value}-{a}" for s, a, _ in REFUSALS])
def test_an_action_the_state_does_not_allow_is_refused_with_the_reason(state, action, says):
    with pytest.raises(ActionRefused) as refused:
        check("q", state, action)
    assert str(refused.value) == says
