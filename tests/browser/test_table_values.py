"""A map and a day-time interval in a real JupyterLab: the live table shows, cell by cell, what ``q.result`` holds
(a dict per cell, a Timedelta per cell) written for a student — ``{a: 2, b: 4}``, ``{a: NULL, b: NULL}``,
``1 min 30 s``, ``2 days 5 s``, ``-(1 min 30 s)`` — not Python's repr nor pandas' ``-1 days +23:58:30``; and a
chart plots a duration in seconds (on y, and on x) and a map as a series named by that same text.

Two queries over one memory source, on a manual trigger: ``spans`` (update mode: the table, and a bar chart of
each key's span) and ``shapes`` (complete mode: a scatter of the span against the count, one series per map).
Each batch is run by the notebook and waited for on the engine (the views have drawn the last committed batch);
then the page's table cells and BokehJS's points are compared with the kernel's results, and with the texts
written out here. Nothing may be logged as an error in the console or the server's log.
"""

from __future__ import annotations

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

SQL = """SELECT k, map('a', max(n), 'b', max(n) * 2) AS m, max(ts) - min(ts) AS span, min(ts) - max(ts) AS back,
       count(*) AS readings
FROM events GROUP BY k"""
CELLS = ["""%load_ext stream_nb
import datetime, json
import stream_nb as sn
from stream_nb.notebook import views
from stream_nb.notebook.formatting import cell_text

events = sn.sources.memory("ts timestamp, k string, n int")
start = datetime.datetime(2026, 11, 30, 10, tzinfo=datetime.timezone.utc)

def feed(*rows):
    # rows of (seconds after 10:00, key, n); one batch of each query
    events.add_data([{"ts": start + datetime.timedelta(seconds=s), "k": k, "n": n} for s, k, n in rows])
    spans.step()
    shapes.step()

def held(name):
    # q.result as Python holds it, by key: the map (a dict), the intervals in seconds (Timedeltas), the count
    return {k: [m, span.total_seconds(), back.total_seconds(), int(n)]
            for k, m, span, back, n in sn.get(name).result.itertuples(index=False, name=None)}

def written(name):
    # q.result's rows as the view writes its cells, by key
    return {row[0]: [cell_text(v) for v in row] for row in sn.get(name).result.itertuples(index=False, name=None)}

def plotted(name, x, y, by):
    # what the chart must hold, from q.result: (x, y) per series; a duration in seconds, a map as its text
    def value(v):
        return v.total_seconds() if isinstance(v, datetime.timedelta) else v if isinstance(v, str) else float(v)
    series = {}
    for row in sn.get(name).result.to_dict("records"):
        label = cell_text(row[by], True) if by else ""
        series.setdefault(label, []).append([value(row[x]), value(row[y])])
    return {label: sorted(points) for label, points in series.items()}

def settled():
    # every view has drawn its query's last committed batch
    return all(v.updates and v.updates[-1][1] == v.query.last_progress["batchId"] for v in views())""",
         f"""%%stream spans --trigger manual --table --chart bar --x k --y span
{SQL}""",
         f"""%%stream shapes --mode complete --trigger manual --chart scatter --x span --y readings --by m
{SQL}""",
         """feed((0, "a", 1), (90, "a", 2), (5, "b", 3), (3725.5, "b", 4), (1, "c", None))"""]

HEAD = ["k", "m", "span", "back", "readings"]
# batch 0: a spans 10:00:00 to 10:01:30, b 10:00:05 to 11:02:05.5, c one row with a NULL n
FIRST = {"a": ["a", "{a: 2, b: 4}", "1 min 30 s", "-(1 min 30 s)", "2"],
         "b": ["b", "{a: 4, b: 8}", "1 h 2 min 0.5 s", "-(1 h 2 min 0.5 s)", "2"],
         "c": ["c", "{a: NULL, b: NULL}", "0 s", "0 s", "1"]}
FIRST_HELD = {"a": [{"a": 2, "b": 4}, 90.0, -90.0, 2], "b": [{"a": 4, "b": 8}, 3720.5, -3720.5, 2],
              "c": [{"a": None, "b": None}, 0.0, 0.0, 1]}
# batch 1: a changes (a later row, a larger n), d comes, two days and five seconds apart
SECOND_FEED = 'feed((100, "a", 5), (172_805, "d", 7), (0, "d", 1)) or None'
SECOND = {**FIRST, "a": ["a", "{a: 5, b: 10}", "1 min 40 s", "-(1 min 40 s)", "3"],
          "d": ["d", "{a: 7, b: 14}", "2 days 5 s", "-(2 days 5 s)", "2"]}
SECOND_HELD = {**FIRST_HELD, "a": [{"a": 5, "b": 10}, 100.0, -100.0, 3],
               "d": [{"a": 7, "b": 14}, 172_805.0, -172_805.0, 2]}
CHARTS = {"spans": ("k", "span", None), "shapes": ("span", "readings", "m")}   # query: x, y, by

# The live table's cells in the cell of query `name`: the table whose header is the result's columns
_PAGE_TABLE = f"""(name) => {{
    const cell = {NB}.content.widgets.find(c => c.model.sharedModel.getSource().startsWith('%%stream ' + name));
    const tables = [...cell.node.querySelectorAll('.widget-html table')].filter(t => t.tHead);
    if (tables.length !== 1) return {{error: `${{tables.length}} tables in the cell`}};
    const text = el => el.textContent;
    return {{head: [...tables[0].tHead.rows[0].cells].map(text),
             rows: [...tables[0].tBodies[0].rows].map(row => [...row.cells].map(text)),
             caption: tables[0].caption ? tables[0].caption.textContent : ''}};
}}"""
# The points each series holds in BokehJS, in the cell of query `name` (a series named by its visible legend
# item; '' without a legend), and the axes' labels
_PAGE_POINTS = f"""(name) => {{
    const cell = {NB}.content.widgets.find(c => c.model.sharedModel.getSource().startsWith('%%stream ' + name));
    const roots = window.Bokeh.index.roots.filter(view => cell.node.contains(view.el) && 'renderers' in view.model);
    if (roots.length !== 1) return {{error: `${{roots.length}} bokeh roots in the cell`}};
    const plot = roots[0].model;
    const legend = [...plot.right, ...plot.center].find(m => 'items' in m && 'click_policy' in m);
    const labels = new Map();
    if (legend) for (const item of legend.items) {{
        if (item.visible) for (const r of item.renderers) labels.set(r, item.label.value);
    }}
    const column = (data, key) => Array.from(data instanceof Map ? data.get(key) : data[key]);
    const series = {{}};
    for (const r of plot.renderers) {{
        if (r.name === '{ANCHOR}') continue;
        const data = r.data_source.data;
        const xs = column(data, 'x'), ys = column(data, 'y0');
        if (!xs.length) continue;
        const label = legend ? labels.get(r) : '';
        if (label === undefined) return {{error: `a renderer holds ${{xs.length}} points and no legend entry`}};
        series[label] = xs.map((x, i) => [x, ys[i]]).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    }}
    return {{series, x: plot.below[0].axis_label, y: plot.left[0].axis_label,
             ticks: [plot.below[0].formatter.type, plot.left[0].formatter.type]}};
}}"""
_CELL_ERRORS = f"""() => {NB}.content.widgets.flatMap(cell => cell.model.type !== 'code' ? [] :
    cell.model.outputs.toJSON().filter(out => out.output_type === 'error')
        .map(out => `${{cell.model.sharedModel.getSource().slice(0, 60)}}: ${{out.ename}}: ${{out.evalue}}`))"""


def _table_mismatch(page, expected: dict[str, list[str]]) -> str | None:
    found = page.evaluate(_PAGE_TABLE, "spans")
    if "error" in found:
        return found["error"]
    if found["head"] != HEAD:
        return f"the header is {found['head']}"
    shown = {row[0]: row for row in found["rows"]}
    if len(shown) != len(found["rows"]) or shown != expected:
        return f"the page shows {found['rows']} ({found['caption']}), the kernel's result {expected}"
    return None


def _chart_mismatch(page, name: str, expected: dict[str, list]) -> str | None:
    found = page.evaluate(_PAGE_POINTS, name)
    if "error" in found:
        return found["error"]
    if set(found["series"]) != set(expected):
        return f"{name}: the page draws series {sorted(found['series'])}, the result has {sorted(expected)}"
    for label, points in expected.items():
        drawn = found["series"][label]
        same = len(drawn) == len(points) and all(
            (px == tx if isinstance(tx, str) else math.isclose(px, tx, abs_tol=1e-6))
            and math.isclose(py, ty, abs_tol=1e-6) for (px, py), (tx, ty) in zip(drawn, points))
        if not same:
            return f"{name}, series {label!r}: the page holds {drawn}, the result {points}"
    return None


def _wait_page(what: str, check, *args, timeout: float = 20) -> None:
    """Until ``check(*args)`` finds nothing amiss: the page may lag behind the kernel a little."""
    deadline = time.monotonic() + timeout
    while (problem := check(*args)) is not None:
        assert time.monotonic() < deadline, f"{what}: {problem}"
        time.sleep(0.2)


def _compare(page, texts: dict[str, list[str]], values: dict[str, list], phase: str) -> None:
    """The kernel holds ``values`` and writes them as ``texts``; the page shows exactly those texts and plots
    the kernel's values."""
    wait_kernel(page, "settled()", f"the views to draw the last batch ({phase})")
    assert kernel_value(page, 'held("spans")') == values == kernel_value(page, 'held("shapes")'), phase
    assert kernel_value(page, 'written("spans")') == texts, phase
    _wait_page(f"the table ({phase})", _table_mismatch, page, texts)
    for name, (x, y, by) in CHARTS.items():
        truth = kernel_value(page, f"plotted({name!r}, {x!r}, {y!r}, {by!r})")
        _wait_page(f"the chart of {name} ({phase})", _chart_mismatch, page, name, truth)


def test_the_table_shows_maps_and_intervals_as_the_result_holds_them(lab, browser, artifacts):
    write_notebook(lab, "values.ipynb", CELLS)
    log_start = lab.log.stat().st_size
    with watched_page(browser) as page:
        page.goto(lab.page_url("lab/workspaces/values/tree/values.ipynb"))
        page.wait_for_function(READY, timeout=90_000)
        page.wait_for_function("() => window.Bokeh !== undefined", timeout=30_000)
        assert page.evaluate(RUN_ALL) is True, page.evaluate(_CELL_ERRORS)

        _compare(page, FIRST, FIRST_HELD, "batch 0")
        kernel_value(page, SECOND_FEED)
        _compare(page, SECOND, SECOND_HELD, "batch 1")
        page.screenshot(path=str(artifacts / "values.png"), full_page=True)

        # a duration is plotted in seconds, on y (bars of each key's span) and on x; a map names a series
        spans, shapes = page.evaluate(_PAGE_POINTS, "spans"), page.evaluate(_PAGE_POINTS, "shapes")
        assert (spans["x"], spans["y"], shapes["x"], shapes["y"]) == ("k", "span (seconds)", "span (seconds)",
                                                                      "readings")
        # seconds written out (172,805), not as bokeh's default writes large numbers (1.728e+5)
        assert (spans["ticks"][1], shapes["ticks"][0]) == ("NumeralTickFormatter", "NumeralTickFormatter")
        assert spans["series"] == {"": [["a", 100.0], ["b", 3720.5], ["c", 0.0], ["d", 172_805.0]]}
        assert shapes["series"] == {"{a: 5, b: 10}": [[100.0, 3.0]], "{a: 4, b: 8}": [[3720.5, 2.0]],
                                    "{a: NULL, b: NULL}": [[0.0, 1.0]], "{a: 7, b: 14}": [[172_805.0, 2.0]]}
        assert kernel_value(page, "[repr(v.error) for v in views() if v.error is not None]") == []
        assert page.evaluate(_CELL_ERRORS) == []
    problems = logged_problems(page.console_messages)
    assert problems == [], "\n".join(problems)
    server = lab.log.read_bytes()[log_start:].decode(errors="replace")
    assert not SERVER_ERRORS.search(server), server[-4000:]
