"""The quickstart in a real JupyterLab, as a person sees it: the chart moves, the Streams panel lists the query
with a rising batch id and its stop button stops it, the ``%%stream`` cell reads as SQL, and the saved notebook
is small (BokehJS comes from the server extension, not from the outputs).

One test walks the whole story in order (each step needs the one before); the screenshots it takes stay in
``tests/browser/artifacts/``.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "quickstart.ipynb"
STREAM_CELL = "%%stream averages"
MAX_SAVED_BYTES = 500_000

# page helpers, run in the browser (window.jupyterapp: the server runs with expose_app_in_browser)
_NB = "window.jupyterapp.shell.currentWidget"
_READY = f"""() => {{
    // the app is exposed on window only once it has started, some time after the page's load event
    const nb = window.jupyterapp && {_NB};
    const kernel = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!(kernel && kernel.status === 'idle' && nb.content.widgets.length);
}}"""
_RUN_ALL_ABOVE_LAST = f"""async () => {{
    const nb = {_NB}.content;
    nb.activeCellIndex = nb.widgets.length - 1;
    return await window.jupyterapp.commands.execute('notebook:run-all-above');
}}"""
_RUN_LAST = f"""async () => {{
    const nb = {_NB}.content;
    nb.activeCellIndex = nb.widgets.length - 1;
    return await window.jupyterapp.commands.execute('notebook:run-cell');
}}"""
_PROBLEMS = f"""() => {{
    const found = [];
    {_NB}.content.widgets.forEach((cell, i) => {{
        if (cell.model.type !== 'code') return;
        for (const out of cell.model.outputs.toJSON()) {{
            const text = String((out.data || {{}})['text/plain'] || '');
            if (out.output_type === 'error' || text.startsWith('stream_nb:')) {{
                found.push([i, cell.model.sharedModel.getSource().slice(0, 80), out.ename || text]);
            }}
        }}
    }});
    return found;
}}"""
_CELL_INDEX = f"""(prefix) => {_NB}.content.widgets.findIndex(
    cell => cell.model.sharedModel.getSource().startsWith(prefix))"""
_SCROLL_TO = f"async (index) => {{ await {_NB}.content.scrollToItem(index, 'start'); }}"
_KERNEL_VALUE = f"""async (expression) => {{
    const kernel = {_NB}.sessionContext.session.kernel;
    const future = kernel.requestExecute({{
        code: 'import json as _j; print(_j.dumps(' + expression + '))', silent: false, store_history: false}});
    let text = '';
    future.onIOPub = msg => {{ if (msg.header.msg_type === 'stream') text += msg.content.text; }};
    await future.done;
    return text;
}}"""
# the colour a CSS variable gives, as the browser computes it (for comparing with a token's colour)
_VAR_COLOR = """(name) => {
    const probe = document.createElement('span');
    probe.style.color = `var(${name})`;
    document.body.appendChild(probe);
    const color = getComputedStyle(probe).color;
    probe.remove();
    return color;
}"""
_TOKEN = """([cellSelector, text]) => {
    for (const span of document.querySelectorAll(`${cellSelector} .cm-content span`)) {
        if (span.textContent === text) {
            const style = getComputedStyle(span);
            return {color: style.color, weight: style.fontWeight, cls: span.className};
        }
    }
    return null;
}"""


def _cell(index: int) -> str:
    return f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]'


def _open_panel(page) -> None:
    page.evaluate("() => window.jupyterapp.shell.activateById('stream-nb-streams')")
    page.locator(".sn-StreamsPanel").wait_for(state="visible")


def _shot(locator, path) -> bytes:
    """A screenshot of what ``locator`` finds now. BokehJS may replace a plot's canvas when it lays the view out
    again, and the notebook's windowing may re-attach a cell, between finding the element and its shot: the
    locator then finds the new one."""
    for attempt in range(5):
        try:
            data = locator.screenshot(path=str(path))
            break
        except PlaywrightError as err:
            if "not attached to the DOM" not in str(err) or attempt == 4:
                raise
    print(f"screenshot: {path}")
    return data


def _colors(png: bytes) -> int:
    from PIL import Image

    return len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or [])


def test_quickstart_in_jupyterlab(lab, page, artifacts):
    # -- open the quickstart and run it, all but its last cell (which stops every query) --------------------
    page.goto(lab.page_url(f"lab/workspaces/quickstart/tree/{NOTEBOOK}"))  # a workspace of its own
    page.wait_for_function(_READY, timeout=90_000)
    # the front end loads BokehJS from the server extension (stream_nb.server), not from a CDN
    page.wait_for_function("() => window.Bokeh !== undefined", timeout=30_000)
    assert page.evaluate(_RUN_ALL_ABOVE_LAST) is True, "a cell of the quickstart failed"
    assert page.evaluate(_PROBLEMS) == []

    # -- the %%stream cell is highlighted as SQL ----------------------------------------------------------------
    stream_cell = page.evaluate(_CELL_INDEX, STREAM_CELL)
    assert stream_cell > 0
    page.evaluate(_SCROLL_TO, stream_cell)
    cell = _cell(stream_cell)
    page.wait_for_selector(f"{cell} .cm-content")
    assert page.get_attribute(f"{cell} .cm-content", "data-language") == "sql"
    assert page.locator(f"{cell} .cm-line.sn-stream-magic").count() == 1   # the %%stream line, as a magic
    keyword = page.evaluate(_VAR_COLOR, "--jp-mirror-editor-keyword-color")
    select = page.evaluate(_TOKEN, [cell, "SELECT"])
    group_by = page.evaluate(_TOKEN, [cell, "GROUP"])
    assert select is not None and select["color"] == keyword, (select, keyword)
    assert group_by is not None and group_by["color"] == keyword, (group_by, keyword)
    # the same word in a Python cell is part of a string, not a keyword
    python_cell = _cell(page.evaluate(_CELL_INDEX, "per_device = sn.start("))
    page.evaluate(_SCROLL_TO, page.evaluate(_CELL_INDEX, "per_device = sn.start("))
    page.wait_for_selector(f"{python_cell} .cm-content")
    assert page.get_attribute(f"{python_cell} .cm-content", "data-language") != "sql"

    # -- the chart moves: its pixels change between two screenshots -----------------------------------------
    page.evaluate(_SCROLL_TO, stream_cell)
    canvas = page.locator(f"{cell} .jp-OutputArea canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    deadline = time.monotonic() + 30  # shots until the chart is drawn, then until it changes: 30 s at most
    before = _shot(canvas, artifacts / "chart-a.png")
    while _colors(before) <= 20 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        before = _shot(canvas, artifacts / "chart-a.png")
    assert _colors(before) > 20, "the chart is blank: did BokehJS load?"
    after, deadline = before, time.monotonic() + 30  # a batch that changes nothing visible may come first
    while after == before and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        after = _shot(canvas, artifacts / "chart-b.png")
    assert before != after, "the chart did not change in 30 s"

    # -- the Streams panel lists the query; its batch id rises ---------------------------------------------
    _open_panel(page)
    row = page.locator('.sn-StreamsPanel .sn-query[data-name="averages"]')
    row.wait_for(state="visible", timeout=30_000)
    assert row.get_attribute("data-state") in ("running", "waiting")
    first = int(row.locator(".sn-batch").get_attribute("data-batch-id"))
    page.wait_for_function(
        """(first) => {
            const b = document.querySelector('.sn-query[data-name="averages"] .sn-batch');
            return b && Number(b.dataset.batchId) > first + 1;
        }""", arg=first, timeout=30_000)
    assert page.locator(".sn-StreamsStatus").inner_text().startswith("\u25b6 2 streams")
    _shot(page, artifacts / "panel-running.png")

    # -- its stop button stops the query ------------------------------------------------------------------
    row.locator('button[data-action="stop"]').click()
    page.wait_for_selector('.sn-query[data-name="averages"][data-state="stopped"]', timeout=30_000)
    stopped = json.loads(page.evaluate(_KERNEL_VALUE, "[averages.is_active, averages.last_progress['batchId']]"))
    assert stopped[0] is False
    time.sleep(1)
    assert json.loads(page.evaluate(_KERNEL_VALUE, "averages.last_progress['batchId']")) == stopped[1]
    assert row.locator('button[data-action="stop"]').is_disabled()
    _shot(page, artifacts / "panel-stopped.png")

    # -- the last cell (stop the rest) runs; the saved notebook is small ------------------------------------
    assert page.evaluate(_RUN_LAST) is True
    assert page.evaluate(_PROBLEMS) == []
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")
    page.wait_for_function(f"() => !{_NB}.context.model.dirty", timeout=30_000)
    saved = lab.root / NOTEBOOK
    notebook = json.loads(saved.read_text())
    print(f"saved {saved}: {saved.stat().st_size:,} bytes")
    view = notebook["cells"][stream_cell]["outputs"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in view), view
    assert saved.stat().st_size < MAX_SAVED_BYTES, (
        f"the saved quickstart is {saved.stat().st_size:,} bytes: BokehJS inlined in an output?")


COUNTS = """import stream_nb as sn
readings = sn.sources.sensors(devices=2, rows_per_second=20, seed=1)
counts = sn.start("SELECT device, count(*) AS n FROM readings GROUP BY device", name="counts")"""


def test_the_panel_follows_a_reload_and_a_kernel_restart(lab, page, artifacts):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(COUNTS)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, lab.root / "restart.ipynb")
    counts = '.sn-StreamsPanel .sn-query[data-name="counts"]'
    page.goto(lab.page_url("lab/workspaces/restart/tree/restart.ipynb"))
    page.wait_for_function(_READY, timeout=90_000)
    _open_panel(page)
    assert "No stream_nb" in page.locator(".sn-StreamsPanel .sn-note").inner_text()
    assert page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')") is True
    page.wait_for_selector(counts, timeout=30_000)

    # a reloaded page finds the kernel's queries again (the kernel lists the panel's comms)
    page.reload()
    page.wait_for_function(_READY, timeout=90_000)
    _open_panel(page)
    page.wait_for_selector(counts, timeout=30_000)

    # a restarted kernel has no queries; importing stream_nb there brings the panel back
    page.evaluate(f"async () => {{ await {_NB}.sessionContext.restartKernel(); }}")
    page.wait_for_function(_READY, timeout=90_000)
    page.wait_for_selector(counts, state="detached", timeout=30_000)
    assert "No stream_nb" in page.locator(".sn-StreamsPanel .sn-note").inner_text()
    assert page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')") is True
    page.wait_for_function(
        """() => Number((document.querySelector('.sn-query[data-name="counts"] .sn-batch') || {dataset: {}})
                   .dataset.batchId) >= 3""", timeout=30_000)
    _shot(page, artifacts / "panel-after-restart.png")
