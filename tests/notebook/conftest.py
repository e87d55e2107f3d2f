"""A real kernel to drive from a test: run cells, collect every IOPub message with the time it arrived.

Each test gets its own kernel (the venv's python, through the ``python3`` kernelspec), so the tests can run in
parallel under pytest-xdist.
"""

from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass, field

import pytest

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass
class Execution:
    """One cell run: its reply, the IOPub messages that belong to it, and how long it took to go idle."""

    code: str
    reply: dict
    messages: list[tuple[float, dict]]   # the cell's own (by parent header)
    during: list[tuple[float, dict]]     # everything the kernel sent while the cell ran (views update from
    started: float                       # the engine's thread, whose messages name any parent)
    seconds: float

    def of_type(self, *types: str) -> list[dict]:
        return [m for _, m in self.messages if m["msg_type"] in types]

    @property
    def stdout(self) -> str:
        return self._stream("stdout")

    @property
    def stderr(self) -> str:
        return self._stream("stderr")

    def _stream(self, name: str) -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == name)

    @property
    def errors(self) -> list[dict]:
        return self.of_type("error")

    @property
    def displays(self) -> list[dict]:
        """The data bundles of display_data / execute_result messages."""
        return [m["content"]["data"] for m in self.of_type("display_data", "execute_result")]

    def text(self) -> str:
        """Everything the cell showed as text: stdout, stderr, and the text/plain of its displays."""
        return self.stdout + self.stderr + "\n".join(d.get("text/plain", "") for d in self.displays)


@dataclass
class Kernel:
    manager: object
    client: object
    log: list[tuple[float, dict]] = field(default_factory=list)   # every IOPub message seen, in order

    def execute(self, code: str, timeout: float = 60, allow_errors: bool = False) -> Execution:
        started = time.monotonic()
        msg_id = self.client.execute(code)
        mine: list[tuple[float, dict]] = []
        during: list[tuple[float, dict]] = []
        deadline = started + timeout
        while True:
            message = self._next(deadline, code)
            self.log.append(message)
            during.append(message)
            if message[1]["parent_header"].get("msg_id") != msg_id:
                continue
            mine.append(message)
            content = message[1]["content"]
            if message[1]["msg_type"] == "status" and content["execution_state"] == "idle":
                break
        seconds = mine[-1][0] - started
        reply = self.client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        execution = Execution(code, reply["content"], mine, during, started, seconds)
        if not allow_errors and (reply["content"]["status"] != "ok" or execution.errors):
            tb = "\n".join("\n".join(e["content"]["traceback"]) for e in execution.errors)
            raise AssertionError(f"cell failed:\n{code}\n{tb or reply['content']}")
        return execution

    def value(self, expression: str, timeout: float = 60):
        """The JSON value of a Python expression evaluated in the kernel."""
        out = self.execute(f"import json as _json; print(_json.dumps({expression}, default=str))", timeout)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def until(self, expression: str, timeout: float = 30) -> bool:
        """Whether a Python expression becomes true in the kernel within ``timeout`` seconds (asked again every
        tenth of a second: for what the views do on the engine's thread, which no cell waits for)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.value(f"bool({expression})"):
                return True
            if time.monotonic() > deadline:
                return False
            self.idle_for(0.1)

    def idle_for(self, seconds: float) -> list[tuple[float, dict]]:
        """Collect what the kernel sends while no cell runs."""
        until = time.monotonic() + seconds
        got = []
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return got
            try:
                message = self.client.get_iopub_msg(timeout=left)
            except queue.Empty:
                return got
            got.append((time.monotonic(), message))
            self.log.append(got[-1])

    def _next(self, deadline: float, code: str) -> tuple[float, dict]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the kernel did not finish in time:\n{code}")
        try:
            return time.monotonic(), self.client.get_iopub_msg(timeout=left)
        except queue.Empty:
            raise TimeoutError(f"the kernel did not finish in time:\n{code}") from None


def comm_models(messages) -> dict[str, str]:
    """comm id -> widget model name, from comm_open messages."""
    found = {}
    for _, m in messages:
        if m["msg_type"] == "comm_open":
            state = m["content"]["data"].get("state", {})
            found[m["content"]["comm_id"]] = state.get("_model_name", "")
    return found


def bokeh_patches(messages, comm_id: str) -> list[float]:
    """Arrival times of the BokehModel's document patches (the header message of each)."""
    times = []
    for t, m in messages:
        content = m["content"]
        if m["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id:
            data = content.get("data", {})
            inner = data.get("content") if data.get("method") == "custom" else None
            header = isinstance(inner, dict) and '"msgtype"' in str(inner.get("payload"))
            if header and inner.get("msg") == "patch":
                times.append(t)
    return times


@pytest.fixture
def kernel():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield Kernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
