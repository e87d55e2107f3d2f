"""The kernel side of the Streams panel (``stream_nb/notebook/panel.py``), driven through a real kernel the way
the front end drives it: the hello at ``import stream_nb``, a subscription, the queries pushed as they change,
the buttons' actions. No browser: jupyter_client plays the front end.
"""

from __future__ import annotations

import queue
import time
import uuid

import pytest

import stream_nb
from stream_nb.notebook import panel

TARGET = "stream_nb.panel"


class FrontEnd:
    """A kernel, and what a front end sees of the panel's comm on its IOPub stream."""

    def __init__(self, client):
        self.client = client
        self.comm_id: str | None = None
        self.updates: list[tuple[float, list[dict]]] = []   # (arrival, queries), from any comm
        self.replies: list[dict] = []                       # errors on our comm
        self.hellos: list[dict] = []                        # comms the kernel opened to say hello

    def run(self, code: str, timeout: float = 60) -> None:
        msg_id = self.client.execute(code)
        while True:
            message = self._take(timeout)
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"):
                return

    def subscribe(self) -> None:
        self.comm_id = uuid.uuid4().hex
        self._send("comm_open", {"comm_id": self.comm_id, "target_name": TARGET,
                                 "data": {"action": "subscribe"}})

    def act(self, action: str, name: str) -> None:
        self._send("comm_msg", {"comm_id": self.comm_id, "data": {"action": action, "name": name}})

    def listen(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            try:
                self._take(left)
            except TimeoutError:
                return

    def wait_for(self, predicate, timeout: float = 20) -> list[dict]:
        """Listen until the latest queries satisfy ``predicate``; return them."""
        until = time.monotonic() + timeout
        while True:
            if self.updates and predicate(self.updates[-1][1]):
                return self.updates[-1][1]
            left = until - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not seen in {timeout} s; last: {self.updates[-1:]}")
            try:
                self._take(left)
            except TimeoutError:
                pass

    def query(self, name: str) -> dict | None:
        return next((q for q in self.updates[-1][1] if q["name"] == name), None) if self.updates else None

    def _send(self, msg_type: str, content: dict) -> None:
        self.client.shell_channel.send(self.client.session.msg(msg_type, content))

    def _take(self, timeout: float) -> dict:
        try:
            message = self.client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        content = message["content"]
        if message["msg_type"] == "comm_open" and content.get("target_name") == TARGET:
            self.hellos.append(content["data"])
        elif message["msg_type"] == "comm_msg":
            data = content.get("data", {})
            if "queries" in data:
                self.updates.append((time.monotonic(), data["queries"]))
            elif "error" in data and content["comm_id"] == self.comm_id:
                self.replies.append(data)
        return message


@pytest.fixture
def front_end():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield FrontEnd(client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


SENSORS = "import stream_nb as sn\nreadings = sn.sources.sensors(devices=3, rows_per_second=40, seed=3)"
COUNTS = "q = sn.start('SELECT device, count(*) AS n FROM readings GROUP BY device', name='counts')"


def test_import_says_hello_and_registers_the_target(front_end):
    front_end.run("import stream_nb")
    assert front_end.hellos == [{"hello": stream_nb.__version__}]
    comms = front_end.client.comm_info(target_name=TARGET, reply=True, timeout=10)["content"]["comms"]
    assert comms == {}           # the hello comm is closed at once: nothing dangles for a front end to close
    front_end.subscribe()
    front_end.run("from stream_nb.notebook import panel; assert len(panel.link()._comms) == 1")
    comms = front_end.client.comm_info(target_name=TARGET, reply=True, timeout=10)["content"]["comms"]
    assert list(comms) == [front_end.comm_id]   # what a reloaded page looks for


def test_queries_are_pushed_as_they_change_coalesced(front_end):
    front_end.run(SENSORS)
    front_end.subscribe()
    assert front_end.wait_for(lambda queries: queries == []) == []   # the answer to subscribing: no queries
    front_end.run(COUNTS)
    first = front_end.wait_for(lambda queries: queries and queries[0]["batchId"] is not None)[0]
    assert first["name"] == "counts" and first["state"] in ("running", "waiting")
    assert first["stateRows"] is not None and first["watermark"] is None and first["error"] is None
    front_end.updates.clear()
    front_end.listen(2.0)
    batches = [queries[0]["batchId"] for _, queries in front_end.updates]
    assert batches == sorted(batches) and batches[-1] > first["batchId"]
    assert 2 <= len(front_end.updates) <= 2.0 / panel.INTERVAL + 2     # a few a second, not one per batch
    latest = front_end.query("counts")
    assert 1 <= len(latest["rates"]) <= panel.RATES and latest["processedRowsPerSecond"] > 0


def test_actions_pause_step_resume_stop(front_end):
    front_end.run(SENSORS + "\n" + COUNTS)
    front_end.subscribe()
    front_end.wait_for(lambda queries: queries and queries[0]["batchId"] is not None)
    front_end.act("pause", "counts")
    paused = front_end.wait_for(lambda queries: queries[0]["state"] == "paused")[0]
    front_end.listen(0.6)
    assert front_end.query("counts")["batchId"] == paused["batchId"]
    front_end.act("step", "counts")
    front_end.wait_for(lambda queries: queries[0]["batchId"] == paused["batchId"] + 1)
    front_end.act("resume", "counts")
    front_end.wait_for(lambda queries: queries[0]["batchId"] > paused["batchId"] + 2)
    front_end.act("stop", "counts")
    stopped = front_end.wait_for(lambda queries: queries[0]["state"] == "stopped")[0]
    front_end.run("assert not q.is_active")
    assert stopped["name"] == "counts"       # an ended query stays listed, stopped
    front_end.act("stop", "counts")
    front_end.act("rewind", "counts")
    front_end.listen(1.0)
    assert [r["error"] for r in front_end.replies] == [
        "no active query named 'counts'", "unknown action 'rewind': pause, resume, step or stop"]


def test_a_failed_query_shows_its_error_and_a_new_one_replaces_it(front_end):
    front_end.run("import stream_nb as sn\nsrc = sn.sources.memory('x long')\n"
                  "def boom(df, batch_id):\n    raise ValueError('the sink is full')\n"
                  "q = sn.start('SELECT x FROM src', name='sinking', sink=sn.sinks.foreach_batch(boom))")
    front_end.subscribe()
    front_end.wait_for(lambda queries: [q["name"] for q in queries] == ["sinking"])
    front_end.run("src.add_data([{'x': 1}])")
    failed = front_end.wait_for(lambda queries: queries[0]["state"] == "failed")[0]
    assert "the sink is full" in failed["error"], failed
    front_end.run("q = sn.start('SELECT x FROM src', name='sinking')")
    again = front_end.wait_for(lambda queries: queries[0]["state"] != "failed")
    assert [q["name"] for q in again] == ["sinking"]


def test_nothing_happens_outside_a_kernel():
    # this test process imported stream_nb without an IPython kernel: no comm, no IPython import for it
    assert panel.link() is None
