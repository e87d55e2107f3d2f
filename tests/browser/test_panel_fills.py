"""The Streams panel and the status bar list queries from the moment they start, whatever the kernel is doing:
Run All on every notebook in ``notebooks/`` fills the panel while cells are still running, and a click on the
panel's pause button is done while a cell blocks the kernel's main thread (the kernel's comm speaks from the
engine's thread; the panel's clicks go to a kernel subshell).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import (
    NB,
    READY,
    RUN_ALL,
    RUN_ALL_DONE,
    RUN_ALL_START,
    SECOND_CELL_RUNS,
    kernel_value,
    wait_kernel,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = sorted(p.name for p in (Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))

# Run All, and meanwhile note when each query first shows in the panel: the kernel's status then, how many
# cells were still to run, and what the status bar said. Every 20 ms, and on every change of the panel.
_RUN_ALL_WATCHING = f"""async () => {{
    const nb = {NB};
    const kernel = nb.sessionContext.session.kernel;
    const seen = {{}};
    const look = () => {{
        for (const row of document.querySelectorAll('.sn-StreamsPanel .sn-query')) {{
            const name = row.dataset.name;
            if (name in seen) continue;
            const pending = nb.content.widgets.filter(
                c => c.model.type === 'code' && c.model.executionState === 'running').length;
            const status = document.querySelector('.sn-StreamsStatus');
            seen[name] = {{kernel: kernel.status, pending, state: row.dataset.state,
                           statusBar: status ? status.textContent : null}};
        }}
    }};
    const observer = new MutationObserver(look);
    observer.observe(document.querySelector('.sn-StreamsPanel'), {{childList: true, subtree: true}});
    const timer = setInterval(look, 20);
    let ok;
    try {{
        ok = await window.jupyterapp.commands.execute('notebook:run-all-cells');
    }} finally {{
        clearInterval(timer);
        observer.disconnect();
    }}
    look();
    return {{ok, seen}};
}}"""
_ERRORS = f"""() => {{
    const found = [];
    {NB}.content.widgets.forEach((cell, i) => {{
        if (cell.model.type !== 'code') return;
        for (const out of cell.model.outputs.toJSON()) {{
            const text = String((out.data || {{}})['text/plain'] || '');
            if (out.output_type === 'error' || text.startsWith('stream_nb:')) found.push([i, out.ename || text]);
        }}
    }});
    return found;
}}"""


def _open(page, lab, name: str) -> None:
    page.goto(lab.page_url(f"lab/workspaces/{Path(name).stem}-fills/tree/{name}"))
    page.wait_for_function(READY, timeout=90_000)
    page.evaluate("() => window.jupyterapp.shell.activateById('stream-nb-streams')")
    page.locator(".sn-StreamsPanel").wait_for(state="visible")


def _started_queries(notebook: Path) -> set[str]:
    """The names of the queries a notebook starts: ``%%stream NAME`` cells, ``name="..."`` arguments and the
    PySpark API's ``.queryName("...")``."""
    import nbformat

    text = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
    return (set(re.findall(r"%%stream (\w+)", text)) | set(re.findall(r"name=[\"'](\w+)[\"']", text))
            | set(re.findall(r"queryName\([\"'](\w+)[\"']\)", text)))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_run_all_fills_the_panel_while_the_cells_run(lab, page, notebook):
    _open(page, lab, notebook)
    result = page.evaluate(_RUN_ALL_WATCHING)
    assert result["ok"] is True, f"a cell of {notebook} failed"
    assert page.evaluate(_ERRORS) == []
    seen = result["seen"]
    print(f"{notebook}: {seen}")
    expected = _started_queries(lab.root / notebook)
    # every query is listed, also one started and stopped by the last cells between two of the panel's looks
    # (a quarter of a second apart): it is listed, stopped, on the next look
    try:
        page.wait_for_function("""(names) => names.every(n =>
            document.querySelector(`.sn-StreamsPanel .sn-query[data-name="${n}"]`))""",
                               arg=sorted(expected), timeout=30_000)
    except PlaywrightTimeout:
        listed = page.evaluate("""() => [...document.querySelectorAll('.sn-StreamsPanel .sn-query')].map(
            row => [row.dataset.name, row.dataset.state])""")
        pytest.fail(f"{notebook}: the panel lists {listed}, not every one of {sorted(expected)}")
    assert expected and seen, (expected, seen)
    # each query showed while Run All still had cells to run (the kernel goes idle for a moment between two
    # cells; what counts is that the panel did not wait for the last one), but for one the last cells both
    # started and stopped
    late = {name: s for name, s in seen.items() if s["pending"] == 0}
    assert not late, f"queries that showed only once Run All had ended: {late}"
    assert all(s["statusBar"] and s["statusBar"].startswith("\u25b6") for s in seen.values()), seen
    ours = [m for m in page.console_messages if m.startswith(("error", "pageerror"))
            and any(word in m.lower() for word in ("stream_nb", "stream-nb", "comm"))]
    assert not ours, ours      # the panel's comms logged nothing in the browser


BLOCKING = """import time
import stream_nb as sn
readings = sn.sources.sensors(devices=2, rows_per_second=20, seed=1)
counts = sn.start("SELECT device, count(*) AS n FROM readings GROUP BY device", name="counts")"""
# the cell ends only once the query is paused: the panel's click has to be done while it runs
WAIT_FOR_PAUSE = """deadline = time.monotonic() + 90
while counts.state is not sn.QueryState.PAUSED and time.monotonic() < deadline:
    time.sleep(0.05)
assert counts.state is sn.QueryState.PAUSED, "the pause from the panel never came"
paused_at = counts.last_progress["batchId"]"""


def test_a_pause_click_is_done_while_a_cell_blocks(lab, page):
    write_notebook(lab, "blocking.ipynb", [BLOCKING, WAIT_FOR_PAUSE])
    _open(page, lab, "blocking.ipynb")
    page.evaluate(RUN_ALL_START)
    row = page.locator('.sn-StreamsPanel .sn-query[data-name="counts"]')
    row.wait_for(state="visible", timeout=30_000)
    page.wait_for_selector('.sn-query[data-name="counts"] .sn-batch[data-batch-id]:not([data-batch-id=""])',
                           timeout=30_000)
    page.wait_for_function(SECOND_CELL_RUNS, timeout=30_000)
    # a query in the kernel: the row says which engine, and only a query on Spark shows it as a badge
    assert row.get_attribute("data-engine") == "stream_nb" and row.locator(".sn-engine").is_hidden()
    row.locator('button[data-action="pause"]').click()
    page.wait_for_selector('.sn-query[data-name="counts"][data-state="paused"]', timeout=30_000)
    reply = page.locator('.sn-StreamsPanel .sn-action-reply[data-outcome="done"]')
    reply.wait_for(state="visible", timeout=30_000)
    assert re.fullmatch(r"paused counts at batch \d+", reply.inner_text()), reply.inner_text()
    assert page.evaluate(RUN_ALL_DONE) is True           # the cell saw the pause and ended
    assert page.evaluate(_ERRORS) == []
    batch = int(re.search(r"\d+$", reply.inner_text()).group())
    assert row.locator(".sn-batch").get_attribute("data-batch-id") == str(batch)
    # the kernel decides the buttons: resume in the pause button's place, step allowed
    assert row.locator('button[data-action="resume"]').is_enabled()
    assert row.locator('button[data-action="step"]').is_enabled()
    row.locator('button[data-action="stop"]').click()
    page.wait_for_selector('.sn-query[data-name="counts"][data-state="stopped"]', timeout=30_000)
    assert reply.inner_text() == f"stopped counts at batch {batch}"
    assert row.locator('button[data-action="stop"]').is_disabled()


# the cell blocks for a few seconds, watching for a pause that cannot come while it runs
WAIT_A_WHILE = """deadline = time.monotonic() + 6
while counts.state is not sn.QueryState.PAUSED and time.monotonic() < deadline:
    time.sleep(0.05)
assert counts.state is not sn.QueryState.PAUSED, "without subshells the click came while the cell ran?"
"""


def test_without_subshells_a_click_says_it_waits_for_the_cell_then_is_done(lab, page):
    write_notebook(lab, "no_subshells.ipynb", [BLOCKING, WAIT_A_WHILE])
    _open(page, lab, "no_subshells.ipynb")
    # as with a kernel that has no subshells (ipykernel < 7): every comm message goes to the main shell
    page.evaluate(f"() => {{ {NB}.sessionContext.session.kernel.commsOverSubshells = 'disabled'; }}")
    page.evaluate(RUN_ALL_START)
    row = page.locator('.sn-StreamsPanel .sn-query[data-name="counts"]')
    row.wait_for(state="visible", timeout=30_000)
    page.wait_for_function(SECOND_CELL_RUNS, timeout=30_000)
    row.locator('button[data-action="pause"]').click()
    pending = page.locator('.sn-StreamsPanel .sn-action-reply[data-outcome="pending"]')
    pending.wait_for(state="visible", timeout=10_000)
    assert pending.inner_text() == ("pause counts: sent; the kernel is running a cell and takes the click when "
                                    "the cell ends (this kernel has no subshells to take it meanwhile)")
    assert page.evaluate(RUN_ALL_DONE) is True      # the cell ended without the pause, as it says
    assert page.evaluate(_ERRORS) == []
    done = page.locator('.sn-StreamsPanel .sn-action-reply[data-outcome="done"]')
    done.wait_for(state="visible", timeout=30_000)
    assert re.fullmatch(r"paused counts at batch \d+", done.inner_text()), done.inner_text()
    page.wait_for_selector('.sn-query[data-name="counts"][data-state="paused"]', timeout=30_000)


_LOADED = f"""() => {{
    const nb = window.jupyterapp && {NB};
    const kernel = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!(kernel && nb.content.widgets.length);
}}"""


def _kernel_state(lab, page) -> str:
    """What the server knows of the notebook's kernel (from its IOPub status): busy or idle."""
    import json
    import urllib.request

    kernel_id = page.evaluate(f"() => {NB}.sessionContext.session.kernel.id")
    with urllib.request.urlopen(f"{lab.url}api/kernels/{kernel_id}?token={lab.token}", timeout=10) as response:
        return json.load(response)["execution_state"]


def test_a_page_reloaded_while_a_cell_runs_lists_the_queries_and_says_why_a_click_waits(lab, page, tmp_path):
    done = tmp_path / "done"  # the long cell runs until the test is through (a reload's time is not ours to bound)
    long_cell = (f"import os, time  # a long cell\ndeadline = time.monotonic() + 300\n"
                 f"while not os.path.exists({str(done)!r}) and time.monotonic() < deadline:\n    time.sleep(0.05)")
    write_notebook(lab, "reload_busy.ipynb", [BLOCKING, long_cell])
    try:
        _open(page, lab, "reload_busy.ipynb")
        page.evaluate(RUN_ALL_START)
        page.locator('.sn-StreamsPanel .sn-query[data-name="counts"]').wait_for(state="visible", timeout=30_000)
        page.reload()
        page.wait_for_function(_LOADED, timeout=60_000)
        page.evaluate("() => window.jupyterapp.shell.activateById('stream-nb-streams')")
        row = page.locator('.sn-StreamsPanel .sn-query[data-name="counts"]')
        row.wait_for(state="visible", timeout=10_000)     # from the kernel's updates on IOPub, cell or no cell
        assert _kernel_state(lab, page) == "busy", "the long cell should still be running"
        row.locator('button[data-action="pause"]').click()
        reply = page.locator('.sn-StreamsPanel .sn-action-reply[data-outcome="error"]')
        reply.wait_for(state="visible", timeout=10_000)
        assert reply.inner_text() == ("pause counts: the kernel has not answered this page yet (a cell is running?): "
                                      "the panel can act once it does; try again then")
        assert _kernel_state(lab, page) == "busy"
    finally:
        done.touch()  # the long cell ends


CONTINUOUS = """import json
import stream_nb as sn
from stream_nb.notebook.panel import record
ticks = sn.sources.rate(rows_per_second=200)
alarms = sn.start("SELECT value, value % 7 AS bucket FROM ticks WHERE value % 2 = 0", name="alarms",
                  trigger="continuous 200 milliseconds")"""


def test_a_continuous_query_shows_its_epoch_and_latency_instead_of_a_batch(lab, page):
    write_notebook(lab, "continuous_panel.ipynb", [CONTINUOUS])
    _open(page, lab, "continuous_panel.ipynb")
    assert page.evaluate(RUN_ALL) is True
    row = page.locator('.sn-StreamsPanel .sn-query[data-name="alarms"]')
    row.wait_for(state="visible", timeout=30_000)
    assert row.get_attribute("data-continuous") == "true"
    wait_kernel(page, "(alarms.last_progress or {}).get('latencyMs') is not None "
                      "and alarms.last_progress['batchId'] >= 1", "an epoch with measured latencies")
    kernel_value(page, "alarms.stop() or True")
    page.wait_for_selector('.sn-query[data-name="alarms"][data-state="stopped"]', timeout=30_000)
    shown = kernel_value(page, "record(alarms)")
    # the page shows what the kernel's record says: the epoch, input rows a second and the latency percentiles
    page.wait_for_function("""(epoch) => {
        const b = document.querySelector('.sn-query[data-name="alarms"] .sn-batch');
        return b && b.dataset.batchId === String(epoch);
    }""", arg=shown["batchId"], timeout=30_000)
    assert row.locator(".sn-batch").inner_text() == f"epoch {shown['batchId']}"
    p50, p99 = (float(f"{shown['latencyMs'][k]:.3g}") for k in ("p50", "p99"))
    rate = row.locator(".sn-rate").inner_text()
    assert re.fullmatch(r"\S+( k)? rows/s in · latency p50 \S+ ms, p99 \S+ ms", rate), rate
    assert re.search(r"p50 (\S+) ms", rate).group(1) == f"{p50:g}", (rate, shown["latencyMs"])
    assert re.search(r"p99 (\S+) ms", rate).group(1) == f"{p99:g}", (rate, shown["latencyMs"])
