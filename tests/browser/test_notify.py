"""``sn.sinks.notify`` in a real JupyterLab (Debian's Chromium): a query's rows show as JupyterLab notifications
whose text is the kernel's message for each row (the query's name, the row's values), at most max_per_minute of
them, then one summary of the rows held back, which later held-back rows update in place.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import READY, RUN_ALL, kernel_value, logged_problems, wait_kernel, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """import json
import stream_nb as sn
from stream_nb.notebook import panel
readings = sn.sources.memory("device string, temperature double")
too_hot = sn.start("SELECT device, temperature FROM readings WHERE temperature > 40", name="too_hot",
                   sources={"readings": readings}, trigger="manual", sink=sn.sinks.notify(max_per_minute=3))"""

# every notification JupyterLab holds, as its notification center lists them (newest first), once it is open
LISTED = "() => [...document.querySelectorAll('.jp-Notification-List-Item')].map(item => item.innerText.trim())"


def _listed(page, count: int) -> list[str]:
    """The notifications the notification center lists, once there are ``count`` of them."""
    if not page.locator(".jp-Notification-List").is_visible():
        page.evaluate("async () => await window.jupyterapp.commands.execute('apputils:display-notifications')")
        page.locator(".jp-Notification-List").wait_for(state="visible", timeout=10_000)
    page.wait_for_function(f"() => ({LISTED})().length >= {count}", timeout=30_000)
    return page.evaluate(LISTED)


def _burst(page, rows: list[dict]) -> list[str]:
    """Add ``rows``, run one batch, and return the messages the kernel's sink sent for it."""
    before = kernel_value(page, "len(too_hot.sink.messages)")
    messages = kernel_value(page, f"(readings.add_data({rows!r}), too_hot.step(), list(too_hot.sink.messages))[-1]")
    return messages[before:]


def test_rows_become_notifications_within_the_rate_limit_and_a_summary_counts_the_rest(lab, page, artifacts):
    write_notebook(lab, "notify.ipynb", [SETUP])
    page.goto(lab.page_url("lab/workspaces/notify/tree/notify.ipynb"))
    page.wait_for_function(READY, timeout=90_000)
    assert page.evaluate(RUN_ALL) is True
    wait_kernel(page, "panel.link().subscribed", "the page's Streams panel to subscribe to the kernel")

    hot = [{"device": f"d{i}", "temperature": 40.5 + i} for i in range(10)]
    messages = _burst(page, [{"device": "cold", "temperature": 20.0}, *hot])
    # the kernel's messages name the query and the row: three rows (max_per_minute), then the summary
    assert messages == [f"too_hot: device=d{i}, temperature={40.5 + i}" for i in range(3)] + [
        "too_hot: … and 7 more rows in this minute"]
    listed = _listed(page, 4)
    assert sorted(listed) == sorted(messages), listed

    # more rows within the same minute: all held back; the summary says so in place, no new notification
    messages = _burst(page, [{"device": f"e{i}", "temperature": 50.0 + i} for i in range(5)])
    assert messages == ["too_hot: … and 12 more rows in this minute"]
    page.wait_for_function(f"() => ({LISTED})().includes({messages[0]!r})", timeout=30_000)
    listed = _listed(page, 4)
    assert len(listed) == 4 and "too_hot: … and 7 more rows in this minute" not in listed, listed
    assert kernel_value(page, "[too_hot.sink.notified, too_hot.sink.held_back]") == [3, 12]
    page.screenshot(path=artifacts / "notifications.png")
    assert logged_problems(page.console_messages) == []


def test_the_online_ml_notebooks_alerts_are_notifications_in_jupyterlab(lab, page, artifacts):
    """notebooks/online_ml.ipynb run in JupyterLab: its anomaly alerts show as the sink's messages say."""
    import nbformat

    notebook = nbformat.read(lab.root / "online_ml.ipynb", as_version=4)
    # first a cell that imports stream_nb (and json, for the test's questions): the page subscribes to the
    # kernel then, before the notebook's alerts come (until a page subscribes, a notify sink logs)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("import json\nfrom stream_nb.notebook import panel"))
    nbformat.write(notebook, lab.root / "online_ml_alerts.ipynb")
    page.goto(lab.page_url("lab/workspaces/online-ml-alerts/tree/online_ml_alerts.ipynb"))
    page.wait_for_function(READY, timeout=90_000)
    page.evaluate("async () => await window.jupyterapp.commands.execute('notebook:run-cell')")
    wait_kernel(page, "panel.link().subscribed", "the page's Streams panel to subscribe to the kernel")
    assert page.evaluate(RUN_ALL) is True
    said = kernel_value(page, "list(alerts.sink.messages)")
    assert len(said) == 6 and said[-1].startswith("Anomaly (alerts): … and "), said   # 5 a minute, a summary
    listed = _listed(page, len(said))
    page.screenshot(path=artifacts / "online_ml_alerts.png")
    assert sorted(listed) == sorted(said), listed
    assert logged_problems(page.console_messages) == []
