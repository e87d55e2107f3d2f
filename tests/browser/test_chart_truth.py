"""The live chart tells the truth: in a real JupyterLab, the points BokehJS holds are, series by series, the
points of ``q.result`` (within each chart's rollover).

Five live charts stream at once for close to a minute — line, scatter, bar (over a category and over windows)
and area; ``--by`` with several series, two of which appear late; update, append and complete mode; a memory
source fed with late keys (rows for windows drawn long before). Halfway the queries are paused and the page is
compared with the kernel, then again after they stop. Any error logged by bokeh, jupyter_bokeh or stream_nb in
the browser console or the server log fails the test, and so does the page sending the kernel chart messages
while the charts update (jupyter_bokeh echoes every patch back unless told not to).
"""

from __future__ import annotations

import json
import math
import time

import pytest

from stream_nb.notebook.chart import ANCHOR
from tests.browser.conftest import (
    NB,
    READY,
    RUN_ALL,
    SERVER_ERRORS,
    kernel_value,
    logged_problems,
    wait_kernel,
    watched_page,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """%load_ext stream_nb
import datetime, json, threading, time
import pandas as pd
import stream_nb as sn
from stream_nb.notebook import views

readings = sn.sources.sensors(devices=4, rows_per_second=60, disorder="2 seconds", late_fraction=0.05, seed=11)
events = sn.sources.memory("ts timestamp, device string, v double")
fed = 0
halfway, go_on = threading.Event(), threading.Event()
NAMES = ["per_window", "raw", "counts", "sums", "per_window_bars"]

def feed(rounds=140, every=0.2):
    # devices a and b from the start, c from round 8, d from round 30; from round 35 on, a row for a window
    # long past; at round 70 every query pauses until the test has compared the page with the results
    global fed
    start = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)
    for k in range(rounds):
        if k == rounds // 2:
            for name in NAMES:
                sn.get(name).pause()
            halfway.set()
            go_on.wait()
            for name in NAMES:
                sn.get(name).resume()
        devices = ["a", "b"] + (["c"] if k >= 8 else []) + (["d"] if k >= 30 else [])
        rows = [{"ts": start + datetime.timedelta(seconds=k), "device": d, "v": float(k % 7 + i)}
                for i, d in enumerate(devices)]
        if k >= 35 and k % 5 == 0:
            rows.append({"ts": start + datetime.timedelta(seconds=k - 35), "device": "c", "v": 100.0})
        events.add_data(rows)
        fed = k + 1
        time.sleep(every)

def truth(q, x, y, by, rollover=2000):
    # what the chart must hold, from q.result alone: (x, y) per series; epoch milliseconds for times
    r = q.result
    def column(name):
        struct, _, field = name.partition(".")
        return r[struct].map(lambda value: value[field]) if field else r[name]
    xs = column(x)
    if pd.api.types.is_datetime64_any_dtype(xs) or (len(xs) and isinstance(xs.iloc[0], pd.Timestamp)):
        xs = (pd.to_datetime(xs, utc=True) - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(milliseconds=1)
    elif not pd.api.types.is_numeric_dtype(xs):
        xs = xs.astype(str)
    frame = pd.DataFrame({"x": xs.to_numpy(), "y": r[y].astype(float).to_numpy(),
                          "s": ["" if by is None else "null" if v is None else str(v)
                                for v in (r[by] if by else [None] * len(r))]})
    if q.plan.output_mode == "append":
        frame = frame.groupby("s", sort=False).tail(rollover)
    return {s: sorted(map(list, zip(g["x"].tolist(), g["y"].tolist()))) for s, g in frame.groupby("s")}

def settled(names):
    # every view has drawn its query's last committed batch
    return all(v.updates and v.updates[-1][1] == v.query.last_progress["batchId"]
               for n in names for v in views(n))"""

CHARTS = {  # name: (the cell that starts it and shows its chart, x, y, by, rollover)
    "per_window": ("""%%stream per_window --chart line --x w.start --y avg_temp --by device
SELECT window(ts, '2 seconds') AS w, device, avg(temperature) AS avg_temp
FROM readings WATERMARK ts DELAY OF INTERVAL 4 SECONDS
GROUP BY window(ts, '2 seconds'), device""", "w.start", "avg_temp", "device", 2000),
    "raw": ("""raw = sn.start("SELECT ts, device, temperature FROM readings", name="raw")
from stream_nb.notebook.live import show    # q.show without a rollover option: the view's own
show(raw, chart="scatter", x="ts", y="temperature", by="device", rollover=300)""",
            "ts", "temperature", "device", 300),
    "counts": ("""%%stream counts --mode complete --chart bar --x device --y n
SELECT device, count(*) AS n FROM readings GROUP BY device""", "device", "n", None, 2000),
    "sums": ("""%%stream sums --chart area --x w.start --y total --by device
SELECT window(ts, '10 seconds') AS w, device, sum(v) AS total FROM events
GROUP BY window(ts, '10 seconds'), device""", "w.start", "total", "device", 2000),
    "per_window_bars": ("""%%stream per_window_bars --chart bar --x w.start --y n --by device
SELECT window(ts, '5 seconds') AS w, device, count(*) AS n FROM events
GROUP BY window(ts, '5 seconds'), device""", "w.start", "n", "device", 2000),
}
FEED = "feeder = threading.Thread(target=feed, daemon=True); feeder.start()"

# The points each series holds in BokehJS: the page's view of the chart in the cell whose source starts with
# the prefix (Bokeh.index holds the root views), a series named by its visible legend item.
_PAGE_POINTS = f"""(prefix) => {{
    const cell = {NB}.content.widgets.find(c => c.model.sharedModel.getSource().startsWith(prefix));
    // (each document also has a Notifications root, which draws no data)
    const roots = window.Bokeh.index.roots.filter(view => cell.node.contains(view.el) && 'renderers' in view.model);
    if (roots.length !== 1) return {{error: `${{roots.length}} bokeh roots in the cell: ` + roots.map(
        v => `${{v.model.type}} ${{v.model.id}}`).join(', ')}};
    const plot = roots[0].model;
    const legend = [...plot.right, ...plot.center].find(m => 'items' in m && 'click_policy' in m);
    const labels = new Map();
    if (legend) {{
        for (const item of legend.items) {{
            if (item.visible) for (const r of item.renderers) labels.set(r, item.label.value);
        }}
    }}
    const column = (data, name) => Array.from(data instanceof Map ? data.get(name) : data[name]);
    const series = {{}};
    for (const r of plot.renderers) {{
        const data = r.data_source.data;
        if (r.name === '{ANCHOR}') {{   // the hidden point of an empty chart: gone once there is data
            if (column(data, 'x').length) return {{error: 'the empty-chart anchor is still there'}};
            continue;
        }}
        const xs = column(data, 'x'), ys = column(data, 'y0');
        const label = legend ? labels.get(r) : '';
        if (label === undefined) {{
            if (xs.length) return {{error: `a renderer holds ${{xs.length}} points and no legend entry`}};
            continue;
        }}
        series[label] = xs.map((x, i) => [x, ys[i]]).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1
                                                                : a[1] - b[1]);
    }}
    return {{series}};
}}"""
_CELL_ERRORS = f"""() => {NB}.content.widgets.flatMap(cell => cell.model.type !== 'code' ? [] :
    cell.model.outputs.toJSON().filter(out => out.output_type === 'error')
        .map(out => `${{cell.model.sharedModel.getSource().slice(0, 60)}}: ${{out.ename}}: ${{out.evalue}}`))"""


def _mismatch(page, truth: dict, prefix: str) -> str | None:
    """What differs between the page's series and the result's, or None."""
    held = page.evaluate(_PAGE_POINTS, prefix)
    if "error" in held:
        return held["error"]
    page_series = held["series"]
    if set(page_series) != set(truth):
        return f"series: the page draws {sorted(page_series)}, the result has {sorted(truth)}"
    for label, points in truth.items():
        drawn = page_series[label]
        if len(drawn) != len(points):
            return f"series {label!r}: the page holds {len(drawn)} points, the result {len(points)}"
        for (px, py), (tx, ty) in zip(drawn, points, strict=True):
            same_x = px == tx if isinstance(tx, str) else math.isclose(px, tx, abs_tol=1e-3)
            if not same_x or not math.isclose(py, ty, rel_tol=1e-9, abs_tol=1e-9):
                return f"series {label!r}: the page holds ({px}, {py}) where the result has ({tx}, {ty})"
    return None


def _compare_all(page, phase: str) -> dict:
    """Each chart against its query's result, once every view has drawn its last batch; series counts."""
    names = list(CHARTS)
    t0 = time.monotonic()
    wait_kernel(page, f"settled({names!r})", f"the views to draw their last batch ({phase})")
    print(f"{phase}: settled in {time.monotonic() - t0:.1f} s")
    counts = {}
    for name, (cell, x, y, by, rollover) in CHARTS.items():
        truth = kernel_value(page, f"truth(views({name!r})[0].query, {x!r}, {y!r}, {by!r}, {rollover})")
        assert truth, f"{name}: the result is empty ({phase})"
        deadline = time.monotonic() + 30
        while (problem := _mismatch(page, truth, cell.splitlines()[0] + "\n")) is not None:  # the page may lag
            assert time.monotonic() < deadline, f"{name} ({phase}): {problem}"
            time.sleep(0.2)
        counts[name] = {label: len(points) for label, points in truth.items()}
    print(f"{phase}: compared in {time.monotonic() - t0:.1f} s")
    return counts


def _load(page) -> dict:
    return kernel_value(page, "{v.query.name: [v.chart.widget.messages_from_page, v.chart.widget.patches_sent, "
                              "len(v.updates)] for v in views() if v.chart is not None}")


def test_every_chart_holds_exactly_the_result_series_by_series(lab, browser, artifacts):
    import urllib.request

    # every cell rendered, on screen or not (JupyterLab's windowing would leave far cells' outputs undrawn)
    request = urllib.request.Request(
        f"{lab.url}lab/api/settings/@jupyterlab/notebook-extension:tracker?token={lab.token}", method="PUT",
        data=json.dumps({"raw": json.dumps({"windowingMode": "none"})}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()
    write_notebook(lab, "truth.ipynb", [SETUP, *(cell for cell, *_ in CHARTS.values()), FEED])
    log_start = lab.log.stat().st_size
    with watched_page(browser) as page:
        opened = time.monotonic()
        page.goto(lab.page_url("lab/workspaces/truth/tree/truth.ipynb"))
        page.wait_for_function(READY, timeout=90_000)
        page.wait_for_function("() => window.Bokeh !== undefined", timeout=30_000)
        started = time.monotonic()
        print(f"the notebook opened, its kernel idle, in {started - opened:.1f} s")
        assert page.evaluate(RUN_ALL) is True, page.evaluate(_CELL_ERRORS)
        print(f"ran all cells in {time.monotonic() - started:.1f} s")

        # halfway (the feeder pauses every query): every series has appeared and late keys have come
        wait_kernel(page, "halfway.is_set() or not feeder.is_alive()", "the feeder's halfway pause")
        first_load = _load(page)
        failed = kernel_value(page, "{n: repr(views(n)[0].query.exception) for n in NAMES"
                                     " if not views(n)[0].query.is_active}")
        assert failed == {}, failed
        assert kernel_value(page, "halfway.is_set()"), "the feeder ended before its halfway pause"
        paused = _compare_all(page, "paused")
        kernel_value(page, "go_on.set()")

        wait_kernel(page, "not feeder.is_alive()", "the feeder to finish", timeout=90)
        kernel_value(page, "[sn.get(n).process_all_available() for n in ('sums', 'per_window_bars')] and None")
        kernel_value(page, "[sn.get(n).stop() for n in NAMES] and None")
        stopped = _compare_all(page, "stopped")
        streaming = time.monotonic() - started
        page.screenshot(path=str(artifacts / "stopped.png"))
        load = _load(page)

    print(f"streamed {streaming:.0f} s; points per series when paused {paused}; when stopped {stopped}")
    print("per chart: [messages from the page, patches sent, updates] halfway", first_load, "at the end", load)
    assert set(stopped["sums"]) == set(stopped["per_window_bars"]) == {"a", "b", "c", "d"}
    sensors = {"sensor-01", "sensor-02", "sensor-03", "sensor-04"}
    assert set(stopped["per_window"]) == set(stopped["raw"]) == sensors and set(stopped["counts"]) == {""}
    assert max(stopped["raw"].values()) == 300          # the scatter's rollover was reached and held
    assert stopped["sums"] != paused["sums"] and stopped["per_window_bars"] != paused["per_window_bars"]
    for name, (from_page, patches, updates) in load.items():
        assert patches <= updates, f"{name}: {patches} patches for {updates} updates (one each at most)"
        assert from_page == first_load[name][0], f"{name}: the page sent the kernel {from_page} messages"
    problems = logged_problems(page.console_messages)
    assert problems == [], "\n".join(problems)
    server = lab.log.read_bytes()[log_start:].decode(errors="replace")
    assert not SERVER_ERRORS.search(server), server[-4000:]
