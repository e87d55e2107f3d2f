"""The kernel side of the Streams panel (``stream_nb/notebook/panel.py``), driven through a real kernel the way
the front end drives it: the kernel's own comm opened at ``import stream_nb``, the queries pushed on it as they
change (also while a cell blocks), a subscription, the buttons' actions (also while a cell blocks, from a
subshell). No browser: jupyter_client plays the front end.
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
        self.replies: list[dict] = []                       # replies to our actions, on our comm
        self.hellos: list[dict] = []                        # comms the kernel opened to say hello
        self.kernel_comms: list[str] = []
        self.subshell: str | None = None                    # where our comm's messages go, if not the main shell

    def run(self, code: str, timeout: float = 60) -> None:
        self.finish(self.client.execute(code), timeout)

    def finish(self, msg_id: str, timeout: float = 60) -> float:
        """Listen until the cell of ``msg_id`` has run; when its idle status came. Raise its error if it failed."""
        while True:
            message = self._take(timeout)
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"):
                return time.monotonic()

    def on_a_subshell(self) -> None:
        """Send our comm's messages to a subshell of their own, as JupyterLab 4.4+ does per comm target."""
        self.client.control_channel.send(self.client.session.msg("create_subshell_request", {}))
        reply = self.client.get_control_msg(timeout=10)
        assert reply["content"]["status"] == "ok", reply["content"]
        self.subshell = reply["content"]["subshell_id"]

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
        message = self.client.session.msg(msg_type, content)
        if self.subshell is not None:
            message["header"]["subshell_id"] = self.subshell
        self.client.shell_channel.send(message)

    def _take(self, timeout: float) -> dict:
        try:
            message = self.client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        content = message["content"]
        if message["msg_type"] == "comm_open" and content.get("target_name") == TARGET:
            self.hellos.append(content["data"])
            self.kernel_comms.append(content["comm_id"])
        elif message["msg_type"] == "comm_msg":
            data = content.get("data", {})
            if "queries" in data:
                self.updates.append((time.monotonic(), data["queries"]))
            elif content["comm_id"] == self.comm_id:
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


def test_import_opens_the_kernels_comm_and_keeps_it_open(front_end):
    front_end.run("import stream_nb")
    assert front_end.hellos == [{"hello": stream_nb.__version__, "queries": []}]
    comms = front_end.client.comm_info(target_name=TARGET, reply=True, timeout=10)["content"]["comms"]
    assert list(comms) == front_end.kernel_comms      # what a reloaded page finds
    front_end.subscribe()
    front_end.run("from stream_nb.notebook import panel; assert len(panel.link()._comms) == 1")
    comms = front_end.client.comm_info(target_name=TARGET, reply=True, timeout=10)["content"]["comms"]
    assert sorted(comms) == sorted([*front_end.kernel_comms, front_end.comm_id])


def test_queries_are_pushed_from_their_start_while_the_cell_that_started_them_blocks(front_end):
    # no subscription, and the kernel's main thread busy all along (a long cell): the updates come anyway
    cell = front_end.client.execute(SENSORS + "\n" + COUNTS + "\nimport time\ntime.sleep(3)")
    seen = front_end.wait_for(lambda queries: queries and (queries[0]["batchId"] or 0) >= 1)
    arrived = front_end.updates[-1][0]
    ended = front_end.finish(cell)
    assert seen[0]["name"] == "counts" and seen[0]["running"] is True
    assert arrived < ended, "the queries came only once the cell had ended"


def test_a_click_from_a_subshell_is_done_while_a_cell_blocks(front_end):
    front_end.run(SENSORS + "\n" + COUNTS)
    front_end.on_a_subshell()
    front_end.subscribe()
    front_end.wait_for(lambda queries: queries and queries[0]["batchId"] is not None)
    # the cell ends only once the query is paused: the pause must be done while the main thread runs it
    blocked = front_end.client.execute("import time\ndeadline = time.monotonic() + 60\n"
                                       "while q.state is not sn.QueryState.PAUSED and time.monotonic() < deadline:\n"
                                       "    time.sleep(0.02)\n"
                                       "assert q.state is sn.QueryState.PAUSED, 'the pause never came'")
    front_end.act("pause", "counts")
    paused = front_end.wait_for(lambda queries: queries[0]["state"] == "paused")[0]
    front_end.finish(blocked)
    assert front_end.replies == [{"done": "pause", "name": "counts",
                                  "message": f"paused counts at batch {paused['batchId']}"}]
    assert paused["buttons"] == [{"action": "resume", "enabled": True}, {"action": "step", "enabled": True},
                                 {"action": "stop", "enabled": True}]


def test_queries_are_pushed_as_they_change_coalesced(front_end):
    front_end.run(SENSORS)
    front_end.subscribe()
    assert front_end.wait_for(lambda queries: queries == []) == []   # the answer to subscribing: no queries
    front_end.run(COUNTS)
    first = front_end.wait_for(lambda queries: queries and queries[0]["batchId"] is not None)[0]
    assert first["name"] == "counts" and first["state"] in ("running", "waiting") and first["running"]
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
    front_end.listen(1.0)
    said = [r.get("message") or r.get("error") for r in front_end.replies]
    assert said[:2] == [f"paused counts at batch {paused['batchId']}",
                        f"counts ran batch {paused['batchId'] + 1}: " + said[1].split(": ", 1)[1]]
    assert said[2].startswith("resumed counts after batch ") and said[3].startswith("stopped counts at batch ")
    assert said[4:] == ["no active query named 'counts'"]
    front_end.run(COUNTS.replace("name='counts'", "name='again'"))
    front_end.act("resume", "again")
    front_end.act("rewind", "again")
    front_end.listen(1.0)
    assert [r.get("error") for r in front_end.replies[5:]] == [
        "again is not paused: it is running", "unknown action 'rewind': pause, resume, step or stop"]


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


def test_a_query_that_ended_between_two_looks_is_listed_as_stopped(front_end):
    # available_now reads what is there and stops, well within one update interval
    front_end.run("import stream_nb as sn\nsrc = sn.sources.memory('x long')\nsrc.add_data([{'x': 1}])\n"
                  "q = sn.start('SELECT x FROM src', name='once', trigger='available_now')\n"
                  "assert q.await_termination(30)")
    (once,) = front_end.wait_for(lambda queries: [q["state"] for q in queries] == ["stopped"])
    assert once["name"] == "once" and once["batchId"] == 0 and once["running"] is False
