"""The live view's buttons in JupyterLab: a click on pause is done while a cell blocks the kernel's main thread
(JupyterLab sends it on a kernel subshell, and the kernel runs it there), and the view says what it did."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import NB, READY, RUN_ALL_DONE, RUN_ALL_START, SECOND_CELL_RUNS, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_ERRORS = f"""() => {{
    const found = [];
    {NB}.content.widgets.forEach((cell, i) => {{
        if (cell.model.type !== 'code') return;
        for (const out of cell.model.outputs.toJSON()) {{
            if (out.output_type === 'error') found.push([i, out.ename, out.evalue]);
        }}
    }});
    return found;
}}"""

VIEW = """import time
import stream_nb as sn
readings = sn.sources.sensors(devices=2, rows_per_second=20, seed=1)
counts = sn.start("SELECT device, count(*) AS n FROM readings GROUP BY device", name="counts")
counts.show(table=True)"""
# the cell ends only once the query is paused: the view's click has to be done while it runs
WAIT_FOR_PAUSE = """deadline = time.monotonic() + 90
while counts.state is not sn.QueryState.PAUSED and time.monotonic() < deadline:
    time.sleep(0.05)
assert counts.state is sn.QueryState.PAUSED, "the pause from the view never came"
"""


def test_the_views_pause_button_works_while_a_cell_blocks(lab, page):
    write_notebook(lab, "view_controls.ipynb", [VIEW, WAIT_FOR_PAUSE])
    page.goto(lab.page_url("lab/workspaces/view-controls/tree/view_controls.ipynb"))
    page.wait_for_function(READY, timeout=90_000)
    page.evaluate(RUN_ALL_START)
    pause = page.locator(".jp-OutputArea .widget-button", has_text="pause").first
    pause.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(SECOND_CELL_RUNS, timeout=30_000)
    pause.click()
    said = page.locator(".jp-OutputArea .widget-html", has_text="paused counts at batch")
    said.wait_for(state="visible", timeout=30_000)
    assert page.evaluate(RUN_ALL_DONE) is True            # the cell saw the pause and ended
    assert page.evaluate(_ERRORS) == []
    assert re.search(r"paused counts at batch \d+", said.inner_text())
    resume = page.locator(".jp-OutputArea .widget-button", has_text="resume").first
    resume.wait_for(state="visible", timeout=30_000)       # the kernel's buttons for a paused query
