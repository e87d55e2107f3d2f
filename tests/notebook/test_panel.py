"""The Streams panel's list of queries (``stream_nb/notebook/panel.py``'s ``PanelLink.snapshot``), looked at the
way its updater looks every quarter second; the comm around it is tested through a real kernel in
``tests/browser/test_panel_comm.py``."""

from __future__ import annotations

import threading

import pytest

import stream_nb as sn
from stream_nb.engine import registry
from stream_nb.notebook.panel import PanelLink


class SlowToClose:
    """A sink whose close() waits until the test lets it go: the query is then unregistered and still closing."""

    capabilities = frozenset({"close"})

    def __init__(self):
        self.closing = threading.Event()
        self.let_go = threading.Event()

    def add_batch(self, batch_id, table, keys=None):
        pass

    def close(self):
        self.closing.set()
        assert self.let_go.wait(30)


class RefusesToOpen:
    """A sink that refuses the start, after the panel has looked (the query registered, starting)."""

    capabilities = frozenset({"open"})

    def __init__(self, link: PanelLink):
        self.link = link
        self.seen: dict[str, str] = {}

    def add_batch(self, batch_id, table, keys=None):
        pass

    def open(self, query_id):
        self.seen = listed(self.link)
        raise RuntimeError("the table is locked")


def listed(link: PanelLink) -> dict[str, str]:
    return {q["name"]: q["state"] for q in link.snapshot()}


def test_a_query_looked_at_while_it_closes_stays_listed_and_then_shows_stopped():
    link = PanelLink("test")
    src = sn.sources.memory("x long")
    sink = SlowToClose()
    q = sn.start("SELECT x FROM src", name="closing_slowly", sink=sink, trigger="manual")
    assert listed(link) == {"closing_slowly": "manual"}
    stopping = threading.Thread(target=q.stop)
    stopping.start()
    try:
        assert sink.closing.wait(30)
        # a look in the middle of the stop: the query has left the registry but has not ended yet
        assert registry.active_query("closing_slowly") is None and q.is_active
        assert "closing_slowly" in listed(link)
    finally:
        sink.let_go.set()
        stopping.join(30)
    assert listed(link) == {"closing_slowly": "stopped"}
    assert listed(link) == {"closing_slowly": "stopped"}   # and stays, until a query of that name runs again
    del src


def test_a_query_refused_while_it_starts_is_not_listed():
    link = PanelLink("test")
    src = sn.sources.memory("x long")
    sink = RefusesToOpen(link)
    with pytest.raises(RuntimeError, match="the table is locked"):
        sn.start("SELECT x FROM src", name="refused", sink=sink)
    assert "refused" in sink.seen            # looked at while it started...
    assert "refused" not in listed(link)     # ...and gone once refused: it never ran
    assert "refused" not in listed(link)
    del src
