"""The live view in-process: coalesced updates from the engine's thread, a failure shown once, no work while
displayed nowhere, the table by output mode, the teaching panel. (Widgets keep their state without a kernel;
``test_magics.py`` drives a real one.)"""

import time

import pytest

import stream_nb as sn
from stream_nb.notebook.live import open_view
from stream_nb.notebook.view import INTERVAL


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture
def events():
    return sn.sources.memory("device string, temp double")


def started(view):
    view.start()
    return view


def test_updates_are_coalesced_to_about_ten_a_second_from_the_engine_thread():
    fast = sn.sources.rate(rows_per_second=2000)
    q = sn.start("SELECT timestamp, value FROM fast", sources={"fast": fast})
    view = started(open_view(q, "scatter", x="timestamp", y="value", rollover=500))
    wait_for(lambda: view.updates)      # the first one builds the chart
    first_batch = q.last_progress["batchId"]
    time.sleep(1.0)
    recent = [t for t, _, _ in view.updates if t > time.monotonic() - 1.0]
    assert 3 <= len(recent) <= 11, recent
    assert q.last_progress["batchId"] - first_batch > len(recent)  # more batches than updates: latest won
    assert view.chart.points == 500     # the rollover holds


def test_a_failing_query_shows_its_error_once_and_the_view_stops_updating(events):
    q = sn.start("SELECT device, CASE WHEN temp > 100 THEN error('sensor ' || device || ' reads ' || temp) "
                 "ELSE temp END AS temp FROM events", sources={"events": events})
    view = started(open_view(q, table=True))
    events.add_data([{"device": "a", "temp": 20.0}])
    q.process_all_available(timeout=10)
    events.add_data([{"device": "b", "temp": 200.0}])
    wait_for(lambda: not view._ticking)
    assert "failed" in view.status.value and "sensor b reads 200.0" in view.status.value
    assert view.status.value.count("sensor b reads 200.0") == 1
    assert view.controls.stop.disabled and view.controls.pause.disabled
    assert "20" in view.table.widget.value  # the committed rows stay shown


def test_a_view_displayed_nowhere_does_no_work_and_catches_up_when_shown_again(events):
    q = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events})
    view = started(open_view(q, "bar", x="device", y="n"))
    view.widget._view_count = 1             # shown (the front end counts its views)
    events.add_data([{"device": "a", "temp": 1.0}])
    wait_for(lambda: view.updates and view.updates[-1][1] == 0)
    view.widget._view_count = 0             # its output cleared: no view anywhere
    shown = len(view.updates)
    for _ in range(3):
        events.add_data([{"device": "b", "temp": 1.0}])
        q.process_all_available(timeout=10)
    time.sleep(5 * INTERVAL)
    assert len(view.updates) == shown
    view.widget._view_count = 1             # displayed again: all of it comes back
    wait_for(lambda: view.updates[-1][1] == q.last_progress["batchId"])
    series = view.chart.series[None].source.data
    assert dict(zip(series["x"], series["y0"])) == {"a": 1, "b": 3}


def test_the_table_shows_the_latest_rows_by_output_mode(events):
    update = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events},
                      trigger="manual")
    append = sn.start("SELECT device, temp FROM events", sources={"events": events}, trigger="manual")
    views = [started(open_view(q, rows=2)) for q in (update, append)]
    for device in "abca":
        events.add_data([{"device": device, "temp": 1.0}])
        for q in (update, append):
            q.step()
        batch = update.last_progress["batchId"]
        wait_for(lambda batch=batch: all(v.updates and v.updates[-1][1] == batch for v in views))
    update_table, append_table = (v.table.widget.value for v in views)
    assert "2 most recently updated of 3 rows" in update_table
    assert update_table.index(">a<") < update_table.index(">c<") and ">b<" not in update_table
    assert "latest 2 of 4 rows emitted" in append_table


def test_the_teaching_panel_follows_the_batches_and_steps_back(events):
    q = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events},
                 trigger="manual")
    view = started(open_view(q, explain=True))
    for temp in (1.0, 2.0, 3.0):
        events.add_data([{"device": "a", "temp": temp}, {"device": "b", "temp": temp}])
        q.step()
    wait_for(lambda: view.teaching.slider.value == 2 and "batch 2" in view.teaching.panel.value)
    panel = view.teaching.panel.value
    assert "1 · came in: 2 rows" in panel and "3 · state after the batch: 2 rows" in panel
    view.teaching.slider.value = 0
    assert "batch 0" in view.teaching.panel.value
    assert "the incremental plan" in view.teaching.plan.value


def test_buttons_pause_step_resume_and_stop(events, engine_has_run_over):
    q = sn.start("SELECT device, temp FROM events", sources={"events": events})
    view = started(open_view(q))
    view.controls.pause.click()
    wait_for(lambda: q.status["message"] == "Paused")  # (not while it looks for data: "Processing")
    wait_for(lambda: view.controls.pause.description == "resume" and not view.controls.step.disabled)
    events.add_data([{"device": "a", "temp": 1.0}])
    engine_has_run_over(events)
    assert q.last_progress is None              # paused: no batch ran
    view.controls.step.click()
    assert q.last_progress["batchId"] == 0
    view.controls.pause.click()                 # resume
    wait_for(lambda: view.controls.pause.description == "pause")
    view.controls.stop.click()
    assert not q.is_active
    wait_for(lambda: "stopped" in view.status.value and view.controls.stop.disabled)


def test_case_14_the_view_says_when_the_memory_sinks_row_limit_dropped_rows():
    events = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM events", sources={"events": events}, sink=sn.sinks.memory(max_rows=5),
                 trigger="manual")
    view = started(open_view(q, rows=3))
    for start in (0, 4, 8):
        events.add_data([{"n": n} for n in range(start, start + 4)])
        q.step()
        batch = q.last_progress["batchId"]
        wait_for(lambda batch=batch: view.updates and view.updates[-1][1] == batch)
    assert "q.result keeps the newest 5 rows: 7 older rows dropped" in view.status.value
    table = view.table.widget.value
    assert "latest 3 of 12 rows emitted" in table and "7 older rows dropped" in table
    assert table.index(">11<") < table.index(">10<") < table.index(">9<") and ">8<" not in table


def test_an_update_view_reads_each_batchs_change_and_leaves_the_result_uncompacted(events):
    q = sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events},
                 trigger="manual")
    view = started(open_view(q, "bar", x="device", y="n", table=True, rows=2))
    events.add_data([{"device": f"d{i}", "temp": 1.0} for i in range(100)])
    q.step()
    wait_for(lambda: view.updates and view.updates[-1][1] == 0)
    for batch in (1, 2):
        events.add_data([{"device": "d7", "temp": 1.0}])
        q.step()
        wait_for(lambda batch=batch: view.updates[-1][1] == batch)
    assert len(q.sink._chunks) == 3  # the view read three changes, and compacted nothing to do so
    assert "2 most recently updated of 100 rows" in view.table.widget.value
    assert view.chart.points == 100
    assert q.result.set_index("device")["n"].to_dict() == {**{f"d{i}": 1 for i in range(100)}, "d7": 3}


def test_an_update_view_patches_by_the_state_key_even_when_the_result_does_not_show_it(events):
    q = sn.start("SELECT upper(device) AS d, count(*) AS n FROM events GROUP BY device",
                 sources={"events": events}, trigger="manual")
    view = started(open_view(q, rows=5))
    for batch, device in enumerate("aba"):
        events.add_data([{"device": device, "temp": 1.0}])
        q.step()
        wait_for(lambda batch=batch: view.updates and view.updates[-1][1] == batch)
    table = view.table.widget.value
    assert "2 most recently updated of 2 rows" in table  # patched in place, not a new row per batch
    assert table.index(">A<") < table.index(">B<")      # a changed last: shown first, with its count
    assert ">2<" in table[table.index(">A<"):table.index(">B<")]
