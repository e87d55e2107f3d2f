"""``%%stream`` and ``%stream`` in a real kernel (jupyter_client): the cell returns at once, the chart moves
while the kernel is idle and while another cell blocks, stop stops, re-running replaces, mistakes show one
message and no traceback."""

import json
import time

from .conftest import WIDGET_VIEW, bokeh_patches, comm_models

BOKEHJS_LOAD = "application/vnd.bokehjs_load.v0+json"

SETUP = """
%load_ext stream_nb
import time
import stream_nb as sn
from stream_nb.notebook import views
readings = sn.sources.sensors(devices=3, rows_per_second=50)
"""

TEMPERATURES = """%%stream temps --chart line --x ts --y temperature --by device --table
SELECT ts, device, temperature FROM readings
"""


def bokeh_model(kernel) -> str:
    (comm_id,) = [c for c, name in comm_models(kernel.log).items() if name == "BokehModel"]
    return comm_id


def test_the_cell_returns_at_once_and_the_chart_moves_while_idle_and_while_a_cell_sleeps(kernel):
    kernel.execute(SETUP)
    cell = kernel.execute(TEMPERATURES)
    # it returns without waiting for batches or the chart (bound loosely: a busy machine is slow at anything)
    assert cell.seconds < 5.0, f"the %%stream cell took {cell.seconds:.2f} s"
    assert any(WIDGET_VIEW in d for d in cell.displays)
    assert kernel.value("temps.is_active")

    idle = kernel.idle_for(3.0)  # (the first batches of a query just started: slower on a busy machine)
    model = bokeh_model(kernel)
    assert len(bokeh_patches(idle, model)) >= 3, "no chart updates while the kernel was idle"

    sleeping = kernel.execute("time.sleep(3)")
    during = [t - sleeping.started for t in bokeh_patches(sleeping.during, model)]
    # the view spaces its updates by what each costs: on a busy machine fewer, but on through the sleep
    assert len(during) >= 3, during
    assert min(during) < 1.5 < max(during), f"updates did not go on through the sleep: {during}"

    points = kernel.value("[points for _, _, points in views('temps')[0].updates]")
    assert points[-1] > points[0] > 0  # the chart's data grew
    batches = kernel.value("[batch for _, batch, _ in views('temps')[0].updates]")
    assert batches == sorted(batches) and len(set(batches)) == len(batches)


def test_watermark_policy_max_lets_the_fastest_of_several_streams_move_the_watermark(kernel):
    kernel.execute(SETUP)
    kernel.execute('clicks = sn.sources.memory("ts timestamp, ad string")\n'
                   'shows = sn.sources.memory("ts timestamp, ad string")')
    kernel.execute("%%stream both --watermark-policy max --trigger manual --table\n"
                   "SELECT ts, ad FROM clicks WATERMARK ts DELAY OF INTERVAL 5 SECONDS\n"
                   "UNION ALL SELECT ts, ad FROM shows WATERMARK ts DELAY OF INTERVAL 1 SECONDS\n")
    kernel.execute('clicks.add_data([{"ts": "2026-01-01T00:00:20", "ad": "a"}])\nboth.step()')
    assert kernel.value("both.watermark.isoformat()") == "2026-01-01T00:00:15+00:00"  # shows has no rows yet
    kernel.execute("both.stop()")

def test_stop_stops_and_running_the_cell_again_replaces_the_query(kernel):
    kernel.execute(SETUP)
    kernel.execute(TEMPERATURES)
    first_id = kernel.value("temps.id")
    kernel.execute("first = temps")
    kernel.execute(TEMPERATURES)
    assert kernel.value("temps.id") != first_id
    assert kernel.value("(first.is_active, temps.is_active, [q.name for q in sn.queries()])") == \
        [False, True, ["temps"]]
    listed = kernel.execute("%stream list")
    assert "temps" in listed.text() and "running" in listed.text()

    stopped = kernel.execute("%stream stop temps")
    assert "stopped temps at batch" in stopped.text()
    assert kernel.value("(temps.is_active, sn.queries())") == [False, []]
    assert kernel.until("'stopped' in views('temps')[-1].status.value")  # the view shows it, once it has looked
    assert "no active queries" in kernel.execute("%stream list").text()


def test_controls_from_the_line_magic_and_the_progress_report(kernel):
    kernel.execute(SETUP + "events = sn.sources.memory('device string, temp double')")
    kernel.execute("%%stream counts --trigger manual\n"
                   "SELECT device, count(*) AS n FROM events GROUP BY device")
    kernel.execute("events.add_data([{'device': 'a', 'temp': 1.0}, {'device': 'b', 'temp': 2.0}])")
    step = kernel.execute("%stream step counts")
    assert "counts ran batch 0: 2 rows in, 2 rows out" in step.text()
    assert "no new data" in kernel.execute("%stream step counts").text()
    progress = json.loads(kernel.execute("%stream progress counts").stdout)
    assert progress["batchId"] == 0 and progress["numInputRows"] == 2
    refused = kernel.execute("%stream pause counts")   # a manual trigger runs batches only on step
    assert "counts runs on a manual trigger: it only runs a batch on step; nothing to pause" in refused.text()
    assert kernel.value("(counts.state.value, counts.status['message'])") == ["manual", "Waiting for q.step()"]
    explain = kernel.execute("%stream explain counts")
    assert any(WIDGET_VIEW in d for d in explain.displays)
    assert kernel.until("'came in: 2 rows' in views('counts')[-1].teaching.panel.value")  # its first update
    assert kernel.value("views('counts')[-1].teaching.slider.max") == 0  # one batch: nothing to slide to
    assert kernel.execute("%stream stop --all").text().strip() == "stopped counts at batch 0"
    assert kernel.value("sn.queries()") == []


def test_the_magics_say_what_they_did_and_list_reads_the_same_state(kernel):
    kernel.execute(SETUP)
    kernel.execute("averages = sn.start('SELECT device, avg(temperature) AS t FROM readings GROUP BY device', "
                   "name='averages'); averages.process_all_available()")
    paused = kernel.execute("%stream pause averages").text().strip()
    batch = kernel.value("averages.last_progress['batchId']")
    assert paused == f"paused averages at batch {batch}"
    listed = kernel.execute("%stream list").text()
    assert "averages  paused  " + str(batch) in listed, listed      # right after the pause: paused
    assert kernel.execute("%stream pause averages").text().strip() == "stream_nb: averages is already paused"
    stepped = kernel.execute("%stream step averages").text().strip()
    assert stepped.startswith(f"averages ran batch {batch + 1}: ") and " rows in, " in stepped, stepped
    assert kernel.value("(averages.state.value, averages.last_progress['batchId'])") == ["paused", batch + 1]
    assert kernel.execute("%stream resume averages").text().strip() == \
        f"resumed averages after batch {batch + 1}"
    assert "running" in kernel.execute("%stream list").text()
    refused = kernel.execute("%stream step averages").text().strip()
    assert refused == "stream_nb: averages is running: pause it first to run one batch at a time"
    stopped = kernel.execute("%stream stop averages").text().strip()
    last = kernel.value("averages.last_progress['batchId']")
    assert stopped == f"stopped averages at batch {last}"
    assert kernel.execute("%stream resume averages").text().strip() == \
        "stream_nb: averages is stopped; run its cell again to start it anew"


def test_update_mode_sends_patches_for_changed_keys(kernel):
    kernel.execute(SETUP + "events = sn.sources.memory('device string, temp double')")
    kernel.execute("%%stream hottest --trigger manual --chart bar --x device --y top\n"
                   "SELECT device, max(temp) AS top FROM events GROUP BY device")
    kernel.execute("events.add_data([{'device': 'a', 'temp': 1.0}, {'device': 'b', 'temp': 2.0}]); "
                   "hottest.step()")
    deadline = time.monotonic() + 20  # the first update shows both keys; wait for it, however busy the machine
    shown = "sum(len(s.source.data['x']) for s in getattr(views('hottest')[0].chart, 'series', {}).values())"
    while kernel.value(shown) != 2:
        assert time.monotonic() < deadline, "the first update never reached the chart"
        kernel.idle_for(0.1)
    since = len(kernel.log)
    kernel.execute("events.add_data([{'device': 'a', 'temp': 5.0}]); hottest.step()")
    # the view sends the change from the engine's thread, before or after the cell's end: wait for the chart
    # to hold it, then read every message since the cell began
    data = "views('hottest')[0].chart.series[None].source.data"
    assert kernel.until(f"5.0 in [float(y) for y in {data}['y0']]")  # (drawn since the first step)
    model = bokeh_model(kernel)

    def payloads() -> str:
        return " ".join(str(m["content"]["data"]) for _, m in kernel.log[since:] if m["content"].get("comm_id") == model)
    deadline = time.monotonic() + 20  # the message may leave the kernel just after the chart's data changed
    while "ColumnsPatched" not in payloads() and time.monotonic() < deadline:
        kernel.idle_for(0.1)
    assert "ColumnsPatched" in payloads() and "ColumnsStreamed" not in payloads()
    kernel.execute("data = views('hottest')[0].chart.series[None].source.data")
    shown = kernel.value("{x: float(y) for x, y in zip(data['x'], data['y0'])}")
    assert shown == {"a": 5.0, "b": 2.0}


def test_the_same_from_python_with_q_show_and_bokehjs_loaded_inline_once(kernel):
    kernel.execute("import stream_nb as sn\nfrom stream_nb.notebook import views\n"
                   "readings = sn.sources.sensors(devices=3, rows_per_second=50)")  # no %load_ext
    kernel.execute("q = sn.start('SELECT device, avg(temperature) AS t, count(*) AS n FROM readings "
                   "GROUP BY device', name='by_device')")
    shown = kernel.execute("q.show(chart='bar', x='device', y=['t'], table=True)")
    assert any(WIDGET_VIEW in d for d in shown.displays) and not shown.stdout
    (bokehjs,) = [d for d in shown.displays if BOKEHJS_LOAD in d]
    script = bokehjs["application/javascript"]
    assert "cdn.bokeh.org" not in script and len(script) > 1_000_000  # BokehJS itself: works offline
    drawn = "getattr(views(q)[0].chart, 'series', {}).get(None)"  # the chart is made by the view's first update
    assert kernel.until(f"{drawn} is not None and len({drawn}.source.data['x']) == 3")
    assert kernel.value("sorted(views(q)[0].chart.series[None].source.data['x'])") == \
        ["sensor-01", "sensor-02", "sensor-03"]
    assert kernel.value("'most recently updated' in views(q)[0].table.widget.value")
    teaching = kernel.execute("q.show(explain=True)")
    assert any(WIDGET_VIEW in d for d in teaching.displays)
    again = kernel.execute("q.show(chart='line', x='device', y='n')")
    assert not [d for d in again.displays if BOKEHJS_LOAD in d]


def test_running_the_cell_again_resumes_from_its_checkpoint(kernel, tmp_path):
    kernel.execute(SETUP + "events = sn.sources.memory('device string, temp double')")
    cell = (f"%%stream counts --trigger manual --checkpoint {tmp_path / 'counts'}\n"
            "SELECT device, count(*) AS n FROM events GROUP BY device")
    kernel.execute(cell)
    kernel.execute("events.add_data([{'device': 'a', 'temp': 1.0}]); counts.step(); first = counts.id")
    kernel.execute(cell)
    kernel.execute("events.add_data([{'device': 'a', 'temp': 2.0}]); counts.step()")
    resumed = kernel.value("(counts.id == first, counts.last_progress['batchId'], "
                           "counts.result.to_dict('records'))")
    assert resumed == [True, 1, [{"device": "a", "n": 2}]]


MISTAKES = [
    ("%%stream bad\nSELECT nope FROM readings", "unknown column 'nope'"),
    ("%%stream bad --chart pie\nSELECT ts FROM readings", "invalid choice: 'pie'"),
    ("%%stream bad --frobnicate\nSELECT ts FROM readings", "unrecognized arguments: --frobnicate"),
    ("%%stream bad --chart line --x w.start --y temperature\nSELECT ts, temperature FROM readings",
     "has no column 'w.start'"),
    ("%%stream bad --mode complete\nSELECT ts, temperature FROM readings", "complete"),
    ("%%stream bad --trigger often\nSELECT ts FROM readings", "unknown trigger 'often'"),
    ("%%stream 2bad\nSELECT ts FROM readings", "needs a NAME for the query, a Python identifier"),
    ("%%stream\nSELECT ts FROM readings", "needs a NAME"),
    ("%%stream bad\n", "the cell body is empty"),  # IPython's own message, also without a traceback
    ("%stream stop nosuch", "no query named 'nosuch' (active queries: none)"),
    ("%stream frobnicate", "unknown subcommand 'frobnicate'"),
    ("%stream", "needs a subcommand"),
]


def test_mistakes_show_one_message_and_no_traceback(kernel):
    kernel.execute(SETUP)
    for cell, says in MISTAKES:
        result = kernel.execute(cell, allow_errors=True)
        assert not result.errors, cell
        assert says in result.text(), (cell, result.text())
        assert "Traceback" not in result.text(), cell
    assert kernel.value("[q.name for q in sn.queries()]") == []
    assert "bad" not in kernel.value("list(get_ipython().user_ns)")
