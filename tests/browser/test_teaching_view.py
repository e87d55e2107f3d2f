"""The teaching view in a real JupyterLab: the page draws the picture, and BokehJS holds exactly the data the
kernel's picture holds (dots, late crosses, watermark steps, windows with counts, the chosen batch) while the
slider follows the batches one by one (in the page too) and after it moves back; the page sends nothing back;
nothing is logged as an error in the console or the server's log.
"""

from __future__ import annotations

import math
import time

import pytest

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

CELLS = ["""%load_ext stream_nb
import json
import stream_nb as sn
from stream_nb.notebook import views

events = sn.sources.memory("ts timestamp, device string, temp double")

def feed(*rows):
    events.add_data([{"ts": f"2026-11-24 {t}", "device": d, "temp": v} for t, d, v in rows])
    taught.step()

def held():
    # what the kernel's picture holds, source by source (NaN as None, as JSON has no NaN)
    picture = views("taught")[-1].teaching.picture
    def plain(values):
        values = values.tolist() if hasattr(values, "tolist") else list(values)
        return [None if isinstance(v, float) and v != v else v for v in values]
    return {name: {column: plain(values) for column, values in getattr(picture, name).data.items()}
            for name in ("on_time", "late", "watermark", "windows", "selected")}

def settled(batch):
    teaching = views("taught")[-1].teaching
    return teaching.shown == batch and teaching.slider.value == batch""",
         """%%stream taught --mode append --trigger manual --explain
SELECT window(ts, '10 seconds') AS w, count(*) AS readings
FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS
GROUP BY window(ts, '10 seconds')""",
         """feed(("10:00:01", "a", 20.0), ("10:00:04", "b", 22.0), ("10:00:12", "a", 24.0))
feed(("10:00:25", "a", 21.0), ("10:00:07", "b", 23.0))
feed(("10:00:03", "c", 30.0), ("10:00:31", "b", 25.0))
taught.step()"""]

# The teaching picture's sources as BokehJS holds them: the document of the root views in the %%stream cell's
# output that has the picture's named sources (NaN as null, as in the kernel's JSON).
_PAGE_HELD = f"""() => {{
    const cell = {NB}.content.widgets.find(
        c => c.model.sharedModel.getSource().startsWith('%%stream taught'));
    const docs = new Set(window.Bokeh.index.roots.filter(view => cell.node.contains(view.el))
        .map(view => view.model.document).filter(doc => doc.get_model_by_name('teaching_on_time')));
    if (docs.size !== 1) return {{error: `${{docs.size}} teaching pictures in the cell`}};
    const doc = [...docs][0];
    const held = {{}};
    for (const name of ['on_time', 'late', 'watermark', 'windows', 'selected']) {{
        const data = doc.get_model_by_name('teaching_' + name).data;
        const columns = data instanceof Map ? [...data.keys()] : Object.keys(data);
        held[name] = {{}};
        for (const column of columns) {{
            const values = Array.from(data instanceof Map ? data.get(column) : data[column]);
            held[name][column] = values.map(v => typeof v === 'number' && isNaN(v) ? null : v);
        }}
    }}
    // bokeh draws in shadow roots: look for a canvas with pixels through them
    const canvases = node => [...node.querySelectorAll('*')].reduce((n, el) =>
        n + (el.tagName === 'CANVAS' && el.width > 0) + (el.shadowRoot ? canvases(el.shadowRoot) : 0), 0);
    return {{held, drawn: canvases(cell.node) > 0}};
}}"""
# the slider's readout in the page (the front end's own model of the widget, not the kernel's)
_SLIDER_AT = f"""(value) => {{
    const cell = {NB}.content.widgets.find(
        c => c.model.sharedModel.getSource().startsWith('%%stream taught'));
    const readout = cell && cell.node.querySelector('.widget-slider .widget-readout');
    return !!readout && readout.textContent.trim() === value;
}}"""


def _same(page_value, kernel_value) -> bool:
    if isinstance(kernel_value, float) and isinstance(page_value, (int, float)):
        return math.isclose(page_value, kernel_value, rel_tol=1e-12, abs_tol=1e-9)
    return page_value == kernel_value


def _mismatch(page) -> str | None:
    found = page.evaluate(_PAGE_HELD)
    if "error" in found:
        return found["error"]
    if not found["drawn"]:
        return "no canvas drawn in the cell's output"
    kernel = kernel_value(page, "held()")
    for name, columns in kernel.items():
        for column, values in columns.items():
            drawn = found["held"][name].get(column)
            if drawn is None or len(drawn) != len(values) or not all(map(_same, drawn, values)):
                return f"{name}.{column}: the page holds {drawn}, the kernel {values}"
    return None


def _wait_same(page, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (problem := _mismatch(page)) is not None:  # the page may lag behind the kernel a little
        assert time.monotonic() < deadline, f"{what}: {problem}"
        time.sleep(0.2)


def test_the_page_draws_the_teaching_picture_with_the_kernels_data(lab, browser, artifacts):
    write_notebook(lab, "teaching.ipynb", CELLS)
    log_start = lab.log.stat().st_size
    with watched_page(browser, height=1100) as page:
        page.goto(lab.page_url("lab/workspaces/teaching/tree/teaching.ipynb"))
        page.wait_for_function(READY, timeout=90_000)
        page.wait_for_function("() => window.Bokeh !== undefined", timeout=30_000)
        assert page.evaluate(RUN_ALL) is True
        wait_kernel(page, "settled(3)", "the teaching view to reach batch 3")  # drawn on the engine's loop
        _wait_same(page, "at the newest batch")
        newest = kernel_value(page, "held()")
        assert newest["late"]["batch"] == [2] and len(newest["on_time"]["y"]) == 6
        assert [c for c, e in zip(newest["windows"]["count"], newest["windows"]["emitted"]) if e] == [1]
        page.screenshot(path=str(artifacts / "newest.png"), full_page=True)

        for batch, clock in ((4, "10:00:41"), (5, "10:00:52")):  # one at a time: the page's slider follows
            kernel_value(page, f'feed(("{clock}", "a", 1.0)) or None')
            wait_kernel(page, f"settled({batch})", f"the teaching view to follow batch {batch}")
            _wait_same(page, f"following, at batch {batch}")
            page.wait_for_function(_SLIDER_AT, arg=str(batch), timeout=30_000)
        assert kernel_value(page, 'views("taught")[-1].teaching.following') is True

        from_page = kernel_value(page, 'views("taught")[-1].teaching.picture.widget.messages_from_page')
        kernel_value(page, 'setattr(views("taught")[-1].teaching.slider, "value", 2) or None')  # as a drag would
        _wait_same(page, "after the slider moved back to batch 2")
        back = kernel_value(page, "held()")
        assert back["selected"]["left"] == [1.5]
        page.wait_for_function(_SLIDER_AT, arg="2", timeout=30_000)
        assert [(s, c) for s, c, e in zip(back["windows"]["start"], back["windows"]["count"],
                                          back["windows"]["emitted"]) if e] == [("10:00:00", 3)]
        page.screenshot(path=str(artifacts / "batch2.png"), full_page=True)
        # one way: the page sent the kernel nothing back for the redraw (jupyter_bokeh would echo it)
        assert kernel_value(page, 'views("taught")[-1].teaching.picture.widget.messages_from_page') == from_page
    problems = logged_problems(page.console_messages)
    assert problems == [], "\n".join(problems)
    server = lab.log.read_bytes()[log_start:].decode(errors="replace")
    assert not SERVER_ERRORS.search(server), server[-4000:]


WIDE = ["""%load_ext stream_nb
import datetime, json
import stream_nb as sn
from stream_nb.notebook import views
events = sn.sources.memory("ts timestamp, device string, temperature double, humidity double, site string")""",
        """%%stream wide --trigger manual --explain
SELECT window(ts, '5 seconds') AS w, device, site, round(avg(temperature), 2) AS avg_temp,
       round(avg(humidity), 2) AS avg_humidity, count(*) AS readings
FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '5 seconds'), device, site""",
        """start = datetime.datetime(2026, 11, 30, 10, tzinfo=datetime.timezone.utc)
for k in range(3):
    events.add_data([{"ts": start + datetime.timedelta(seconds=3 * k + i), "device": f"sensor-0{i}",
                      "temperature": 20.5 + i, "humidity": 40.25, "site": "north-building"} for i in range(3)])
    wide.step()"""]
# what of the teaching view's tables lies past the right edge of the cell's output (cut off, out of reach),
# and which tables scroll sideways (their columns reachable)
_PAST_THE_EDGE = f"""() => {{
    const cell = {NB}.content.widgets[1];
    const edge = cell.node.querySelector('.jp-OutputArea-output').getBoundingClientRect().right;
    const tables = [...cell.node.querySelectorAll('.widget-html table')];
    return {{
        past: tables.filter(t => t.parentElement.getBoundingClientRect().right > edge + 1)
            .map(t => t.textContent.slice(0, 50)),
        scrolling: tables.filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth).length,
        tables: tables.length}};
}}"""


def test_a_wide_results_tables_stay_within_the_output_and_scroll(lab, browser, artifacts):
    # six columns of state beside the picture: the panel had the width of its widest table, ran past the
    # output's edge and its last columns were cut off with no scrollbar
    write_notebook(lab, "wide.ipynb", WIDE)
    with watched_page(browser) as page:
        page.goto(lab.page_url("lab/workspaces/wide/tree/wide.ipynb"))
        page.wait_for_function(READY, timeout=90_000)
        assert page.evaluate(RUN_ALL) is True
        wait_kernel(page, 'views("wide")[-1].teaching.shown == 2', "the teaching view to show batch 2")
        page.wait_for_function(f"() => {NB}.content.widgets[1].node.querySelectorAll('.widget-html table')"
                               ".length >= 3", timeout=30_000)
        found = page.evaluate(_PAST_THE_EDGE)
        page.locator(".jp-Cell").nth(1).screenshot(path=str(artifacts / "wide.png"))
    assert found["tables"] >= 3 and found["past"] == [], found
    assert found["scrolling"] >= 1, found     # the wide ones scroll within their box
    problems = logged_problems(page.console_messages)
    assert problems == [], "\n".join(problems)
