"""The teaching view, kernel side: the picture's bokeh sources hold exactly each batch's rows, late rows,
windows with their counts and watermark; the slider follows the newest batch until the user moves it; the
tables are flat and readable; the plan reads as steps. The rows are the Spark guide's kind of example, placed
by hand: on time, out of order, late."""

import math
import re

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.engine.history import PICTURE_ROWS, STATE_LIMIT
from stream_nb.notebook.teaching import TeachingPanel
from stream_nb.sql.explain import explain_for_students

pytestmark = pytest.mark.filterwarnings("error::bokeh.util.warnings.BokehUserWarning")  # e.g. ragged columns

COUNTS = """SELECT window(ts, '10 seconds') AS w, count(*) AS readings, round(avg(temp), 2) AS avg_temp
FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS
GROUP BY window(ts, '10 seconds')"""

BATCHES = [  # (event time, device, temp) per batch; the last batch has no data
    [("10:00:01", "a", 20.0), ("10:00:04", "b", 22.0), ("10:00:12", "a", 24.0)],
    [("10:00:25", "a", 21.0), ("10:00:07", "b", 23.0)],           # 10:00:07 out of order, not late
    [("10:00:03", "c", 30.0), ("10:00:31", "b", 25.0)],           # 10:00:03 behind the watermark 10:00:15
    [],
]
WATERMARKS = [None, "10:00:02", "10:00:15", "10:00:21"]  # the one each batch ran with (None: the epoch)


def ms(clock: str) -> float:
    return pd.Timestamp(f"2026-11-24 {clock}", tz="UTC").value / 1e6


@pytest.fixture
def events():
    return sn.sources.memory("ts timestamp, device string, temp double")


def run(events, mode="update", batches=BATCHES, sql=COUNTS):
    q = sn.start(sql, sources={"events": events}, output_mode=mode, trigger="manual")
    panel = TeachingPanel(q)
    for rows in batches:
        if rows:
            events.add_data([{"ts": f"2026-11-24 {t}", "device": d, "temp": v} for t, d, v in rows])
        q.step()
        panel.refresh()
    return q, panel


def points(source, batch=None) -> list[float]:
    data = source.data
    return [y for y, b in zip(data["y"], data["batch"]) if batch is None or b == batch]


def header(panel) -> str:
    """The words above the tables: the batch, the watermark, what the picture leaves out (one line each)."""
    words = panel.panel.value.split('<div style="display:flex', 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", words).split())


def test_each_row_is_a_dot_at_its_event_time_in_its_batchs_column(events):
    q, panel = run(events)
    on_time = panel.picture.on_time.data
    for batch, rows in enumerate(BATCHES):
        expected = [ms(t) for t, _, _ in rows if (batch, t) != (2, "10:00:03")]
        assert points(panel.picture.on_time, batch) == expected  # in arrival order
    assert all(b - 0.5 < x < b + 0.5 for x, b in zip(on_time["x"], on_time["batch"]))
    q.stop()


def test_a_late_row_is_a_cross_in_its_batch_and_counted(events):
    q, panel = run(events)
    assert points(panel.picture.late) == [ms("10:00:03")]
    assert list(panel.picture.late.data["batch"]) == [2]
    assert q.recent_progress[2]["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
    panel.slider.value = 2
    assert "2 · late, dropped: 1 row<" in panel.panel.value
    late_box = panel.panel.value.split("2 · late, dropped")[1].split("3 · state")[0]
    assert ">10:00:03<" in late_box and ">c<" in late_box and "__" not in late_box  # as it came in
    q.stop()


def test_the_watermark_is_a_step_per_batch_and_absent_before_event_time(events):
    q, panel = run(events)
    data = panel.picture.watermark.data
    for batch, clock in enumerate(WATERMARKS):
        column = [y for x, y in zip(data["x"], data["y"]) if batch - 0.5 <= x <= batch + 0.5]
        ys = [y for y in column if not math.isnan(y)]
        if clock is None:
            assert not [y for x, y in zip(data["x"], data["y"])
                        if batch - 0.5 < x < batch + 0.5 and not math.isnan(y)]
        else:
            assert set(ys) >= {ms(clock)}
    assert "watermark 10:00:21" in header(panel)
    q.stop()


@pytest.mark.parametrize("mode, chosen, in_state, emitted", [
    ("update", 1, {"10:00:00": 3, "10:00:10": 1, "10:00:20": 1}, {"10:00:00": 3, "10:00:20": 1}),
    ("append", 2, {"10:00:10": 1, "10:00:20": 1, "10:00:30": 1}, {"10:00:00": 3}),
    ("append", 3, {"10:00:20": 1, "10:00:30": 1}, {"10:00:10": 1}),
])
def test_windows_are_bands_with_their_counts_and_the_emitted_ones_marked(events, mode, chosen, in_state,
                                                                          emitted):
    q, panel = run(events, mode)
    panel.slider.value = chosen
    data = panel.picture.windows.data
    bands = {start: (count, was) for start, count, was in zip(data["start"], data["count"], data["emitted"])}
    assert {s: n for s, (n, was) in bands.items() if not was} == \
        {s: n for s, n in in_state.items() if s not in emitted}
    assert {s: n for s, (n, was) in bands.items() if was} == emitted
    assert [b - t for b, t in zip(data["bottom"], data["top"])] == [-10_000.0] * len(bands)  # 10 s tall
    assert all(f"{s}: {n} row" in label for s, n, label in zip(data["start"], data["count"], data["label"]))
    q.stop()


def test_a_big_batch_is_drawn_as_a_sample_and_says_so(events):
    rows = [(f"10:{i // 60:02d}:{i % 60:02d}", "a", 1.0) for i in range(1000)]
    q, panel = run(events, batches=[rows])
    assert len(panel.picture.on_time.data["y"]) == PICTURE_ROWS
    assert "a sample: 200 of 1,000 rows on time" in header(panel)
    assert "1 · came in: 1,000 rows" in panel.panel.value
    q.stop()


def test_the_slider_follows_the_newest_batch_until_the_user_moves_it(events):
    q, panel = run(events, batches=BATCHES[:3])
    assert panel.slider.value == panel.slider.max == 2 and panel.following
    panel.slider.value = 0                      # the user looks back
    assert not panel.following
    events.add_data([{"ts": "2026-11-24 10:00:40", "device": "a", "temp": 1.0}])
    q.step()
    panel.refresh()
    assert (panel.slider.value, panel.slider.max, panel.shown) == (0, 3, 0)
    assert header(panel).startswith("batch 0 ")
    panel.slider.value = 3                      # back at the newest: it follows again
    events.add_data([{"ts": "2026-11-24 10:00:41", "device": "a", "temp": 1.0}])
    q.step()
    panel.refresh()
    assert (panel.slider.value, panel.shown) == (4, 4) and header(panel).startswith("batch 4 ")
    q.stop()


def test_the_labels_and_the_shaded_column_agree_with_the_slider(events):
    q, panel = run(events)
    for batch in (3, 1, 0, 2):
        panel.slider.value = batch
        assert header(panel).startswith(f"batch {batch} ")
        selected = panel.picture.selected.data
        assert (selected["left"], selected["right"]) == ([batch - 0.5], [batch + 0.5])
        assert max(panel.picture.on_time.data["batch"]) <= batch  # the picture as it stood then
    q.stop()


def test_a_slider_on_a_batch_the_view_never_saw_stands_on_the_one_before(events):
    q, panel = run(events, batches=BATCHES[:3])
    for second in range(25):                    # more batches than q.history keeps, unseen by the view
        events.add_data([{"ts": f"2026-11-24 10:01:{second:02d}", "device": "a", "temp": 1.0}])
        q.step()
    panel.refresh()
    assert 3 not in panel.batch_ids and panel.slider.max == 27
    panel.slider.value = 4
    assert panel.slider.value == panel.shown == 2 and header(panel).startswith("batch 2 ")
    q.stop()


def test_tables_flatten_windows_show_every_column_and_count_in_words(events):
    q, panel = run(events)
    panel.slider.value = 2
    state = panel.panel.value.split("3 · state after the batch: 3 rows")[1].split("4 · emitted")[0]
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", state)
    assert heads == ["w.start", "w.end", "readings", "avg_temp"]
    assert ">10:00:10<" in state and ">10:00:20<" in state and "{" not in state
    assert "4 · emitted (update mode): 1 row<" in panel.panel.value
    assert "times are UTC on 2026-11-24" in header(panel)
    q.stop()


def test_the_plan_reads_as_steps_in_the_guides_words(events):
    q, panel = run(events, "append", batches=[])
    steps = explain_for_students(q.plan)
    assert "__" not in steps and "partial" not in steps
    for words in ("Each batch:", "put each row in its window of 10 seconds by ts",
                  "drop the late rows: those whose window ended at or before the watermark",
                  "Kept in state:", "for count(*): a running count of rows",
                  "for avg(temp): a running sum of temp and a running count of temp values",
                  "Emitted (append mode):", "as w = window(ts, '10 seconds'), readings = count(*)",
                  "The watermark:", "the latest ts seen minus 10 seconds"):
        assert words in steps, words
    plan = panel.plan.value
    assert "the incremental plan" in plan
    assert plan.index("Kept in state") < plan.index("__k0")  # q.explain()'s text last, folded
    q.stop()


def test_drawing_adds_no_bokeh_model_after_display(events):
    q = sn.start(COUNTS, sources={"events": events}, trigger="manual")
    panel = TeachingPanel(q)
    assert panel.picture is None               # nothing to draw before the first batch
    models = []
    for rows in BATCHES:
        if rows:
            events.add_data([{"ts": f"2026-11-24 {t}", "device": d, "temp": v} for t, d, v in rows])
        q.step()
        panel.refresh()
        panel.slider.value = 0
        panel.slider.value = panel.slider.max
        models.append({m.id for m in panel.picture.figure.references()})
    assert all(m == models[0] for m in models)
    assert panel._picture_box.children == (panel.picture.widget,)
    q.stop()


def test_without_count_a_windows_count_is_its_groups(events):
    sql = """SELECT window(ts, '10 seconds') AS w, device, max(temp) AS hottest
    FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS GROUP BY window(ts, '10 seconds'), device"""
    q, panel = run(events, batches=BATCHES[:1], sql=sql)
    data = panel.picture.windows.data
    assert list(zip(data["start"], data["count"])) == [("10:00:00", 2), ("10:00:10", 1)]
    assert data["label"] == ["10:00:00: 2 groups, emitted", "10:00:10: 1 group, emitted"]
    q.stop()


def test_session_windows_are_bands_and_a_row_whose_own_session_ended_is_late(events):
    sql = """SELECT session_window(ts, '5 seconds') AS s, device, count(*) AS n
    FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY session_window(ts, '5 seconds'), device"""
    batches = [[("10:00:01", "a", 1.0), ("10:00:03", "a", 1.0), ("10:00:20", "a", 1.0)],
               [("10:00:04", "a", 1.0)]]          # watermark 10:00:15: its session would end at 10:00:09
    q, panel = run(events, "append", batches, sql)
    assert points(panel.picture.late, 1) == [ms("10:00:04")]
    assert q.recent_progress[1]["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
    data = panel.picture.windows.data
    bands = {(s, e): (n, was)
             for s, e, n, was in zip(data["start"], data["end"], data["count"], data["emitted"])}
    assert bands == {("10:00:01", "10:00:08"): (2, True)}  # (the session operator's state is its rows, not
    #                                                         sessions: open sessions are not drawn)
    q.stop()


def test_a_state_too_big_to_keep_leaves_its_windows_out_and_says_so(events):
    sql = """SELECT window(ts, '10 seconds') AS w, device, count(*) AS n
    FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS GROUP BY window(ts, '10 seconds'), device"""
    rows = [("10:00:01", f"d{i}", 1.0) for i in range(STATE_LIMIT + 1)]
    q, panel = run(events, batches=[rows], sql=sql)
    assert "the windows in state are not drawn: the state holds 1,001 rows" in header(panel)
    assert "3 · state after the batch: 1,001 rows" in panel.panel.value
    data = panel.picture.windows.data
    assert list(zip(data["start"], data["count"], data["emitted"])) == [("10:00:00", 1001, True)]
    q.stop()


def test_a_sessions_state_shows_its_rows_by_the_names_they_were_written_with(events):
    sql = """SELECT session_window(ts, '5 seconds') AS s, device, count(*) AS n
    FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY session_window(ts, '5 seconds'), device"""
    q, panel = run(events, "append", [[("10:00:01", "a", 1.0), ("10:00:03", "b", 1.0)]], sql)
    state = panel.panel.value.split("3 · state after the batch")[1].split("4 · emitted")[0]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", state) == ["ts", "device"]  # its rows, until sessions close
    assert "__" not in panel.panel.value
    q.stop()


def test_many_windows_are_told_by_the_hover_not_by_overprinted_labels(events):
    rows = [(f"10:0{m}:{s}0", "a", 1.0) for m in range(2) for s in range(6)]  # twelve 10-second windows
    q, panel = run(events, batches=[rows])
    data = panel.picture.windows.data
    assert len(data["count"]) == 12 and data["count"] == [1] * 12
    assert data["label"] == [""] * 12 and len(data["label_x"]) == 12
    q.stop()


def test_a_query_without_event_time_has_tables_and_no_picture():
    readings = sn.sources.memory("device string, temp double")
    q = sn.start("SELECT device, count(*) AS n FROM readings GROUP BY device", sources={"readings": readings},
                 trigger="manual")
    panel = TeachingPanel(q)
    readings.add_data([{"device": "a", "temp": 1.0}])
    q.step()
    panel.refresh()
    assert panel.picture is None and panel._picture_box.layout.display == "none"
    assert "1 · came in: 1 row<" in panel.panel.value and "no watermark yet" in header(panel)
    q.stop()


def test_with_sliding_windows_a_cross_is_a_row_dropped_from_all_its_windows(events):
    sql = """SELECT window(ts, '10 seconds', '5 seconds') AS w, count(*) AS n
    FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds', '5 seconds')"""
    batches = [[("10:00:20", "a", 1.0)],                         # the watermark moves to 10:00:15
               [("10:00:12", "b", 1.0), ("10:00:04", "c", 1.0)]]  # 12: late for [05, 15) only; 04: for both
    q, panel = run(events, batches=batches, sql=sql)
    assert points(panel.picture.on_time, 1) == [ms("10:00:12")]
    assert points(panel.picture.late, 1) == [ms("10:00:04")]
    assert q.recent_progress[1]["stateOperators"][0]["numRowsDroppedByWatermark"] == 3
    assert "(3 drops); 1 row dropped from all their windows are the red crosses" in header(panel)
    q.stop()
