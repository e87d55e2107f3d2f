"""The view's buttons follow ``q.state`` (the kernel's one rule, ``engine/lifecycle.buttons``) and say what a click
did, or why it was refused, under the buttons."""

from __future__ import annotations

import pytest

import stream_nb as sn
from stream_nb.notebook.controls import Controls


@pytest.fixture
def events():
    return sn.sources.memory("device string, temp double")


def controls_of(query) -> Controls:
    controls = Controls(query, on_action=lambda: controls.sync(query.state))
    return controls


def shown(controls: Controls) -> list[tuple[str, bool]]:
    return [(b.description, not b.disabled) for b in (controls.pause, controls.step, controls.stop)]


def test_pause_resume_and_stop_a_running_query_say_what_they_did(events):
    q = sn.start("SELECT device FROM events", sources={"events": events}, name="readings")
    events.add_data([{"device": "a", "temp": 1.0}])
    q.process_all_available()
    controls = controls_of(q)
    assert shown(controls) == [("pause", True), ("step", False), ("stop", True)]
    controls.pause.click()
    assert q.state is sn.QueryState.PAUSED
    assert "paused readings at batch 0" in controls.said.value
    assert shown(controls) == [("resume", True), ("step", True), ("stop", True)]
    controls.pause.click()                       # the same button, now resume
    assert "resumed readings after batch 0" in controls.said.value
    controls.stop.click()
    assert "stopped readings at batch" in controls.said.value
    assert shown(controls) == [("pause", False), ("step", False), ("stop", False)]


def test_a_manual_query_offers_step_and_a_step_says_what_ran(events):
    q = sn.start("SELECT device FROM events", sources={"events": events}, name="by_hand", trigger="manual")
    controls = controls_of(q)
    assert shown(controls) == [("pause", False), ("step", True), ("stop", True)]
    events.add_data([{"device": "a", "temp": 1.0}, {"device": "b", "temp": 2.0}])
    controls.step.click()
    assert "by_hand ran batch 0: 2 rows in, 2 rows out" in controls.said.value
    controls.step.click()
    assert "by_hand: no new data, no batch ran" in controls.said.value


def test_a_click_the_state_no_longer_allows_is_refused_with_the_reason(events):
    q = sn.start("SELECT device FROM events", sources={"events": events}, name="gone")
    controls = controls_of(q)
    q.stop()                                     # stopped elsewhere (a magic, the panel) before the view synced
    controls.pause.click()
    assert "gone is stopped; run its cell again to start it anew" in controls.said.value
    assert "#c62828" in controls.said.value      # said in red
