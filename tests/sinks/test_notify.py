"""The notify sink: rows become notifications (log lines outside JupyterLab), at most max_per_minute a query in
any 60 seconds, the rest held back and said in a summary; messages name the query and the row, short.
(JupyterLab's side, through a real JupyterLab and Chromium: tests/browser/test_notify.py.)"""

import datetime
import json
import logging
import subprocess
import sys
import textwrap
import uuid

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.sinks.notify import MESSAGE_CHARS, NotifySink, RateLimit, format_row


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def rows(n, start=0):
    return pa.table({"device": [f"d{i}" for i in range(start, start + n)],
                     "temperature": [40.0 + i for i in range(start, start + n)]})


def test_the_rate_limit_lets_max_per_minute_through_then_holds():
    clock = Clock()
    limit = RateLimit(3, clock)
    assert [limit.take() for _ in range(5)] == [True, True, True, False, False]


def test_the_rate_limit_is_a_sliding_window_not_a_fixed_minute():
    clock = Clock()
    limit = RateLimit(2, clock)
    assert limit.take()             # at 0 s
    clock.now += 30
    assert limit.take()             # at 30 s
    clock.now += 29.9
    assert not limit.take()         # at 59.9 s both are still within the minute
    clock.now += 0.1
    assert limit.take()             # at 60 s the first has left the window: one slot, not two
    assert not limit.take()


def test_a_row_reads_as_column_value_pairs_headed_by_the_title():
    message = format_row("alerts", {"ts": datetime.datetime(2026, 11, 24, 10, 0, 5, 250000), "device": "d2",
                                    "score": 3.14159, "n": 7, "note": None,
                                    "w": {"start": datetime.datetime(2026, 11, 24, 10, 0),
                                          "end": datetime.datetime(2026, 11, 24, 10, 0, 10)}})
    assert message == ("alerts: ts=2026-11-24 10:00:05.250, device=d2, score=3.142, n=7, note=null, "
                       "w={start: 2026-11-24 10:00:00, end: 2026-11-24 10:00:10}")


def test_a_long_row_is_cut_short_with_an_ellipsis():
    message = format_row("alerts", {"text": "x" * 500, **{f"c{i}": i for i in range(60)}})
    assert len(message) == MESSAGE_CHARS and message.endswith("…")
    assert message.startswith("alerts: text=" + "x" * 39 + "…, c0=0")


def test_a_burst_notifies_max_per_minute_rows_and_one_summary_of_the_rest(caplog):
    sink = NotifySink("hot", max_per_minute=10, clock=Clock())
    with caplog.at_level(logging.INFO, logger="stream_nb.notify"):
        sink.add_batch(0, rows(25))
    expected = [format_row("hot", r) for r in rows(10).to_pylist()] + ["hot: … and 15 more rows in this minute"]
    assert list(sink.messages) == expected
    assert (sink.notified, sink.held_back) == (10, 15)
    assert [r.getMessage() for r in caplog.records] == expected   # outside JupyterLab: a log line each


def test_rows_held_back_over_several_batches_are_counted_in_the_summary_until_a_row_gets_through():
    clock = Clock()
    sink = NotifySink("hot", max_per_minute=2, clock=clock)
    sink.add_batch(0, rows(3))
    clock.now += 10
    sink.add_batch(1, rows(4, start=3))
    assert list(sink.messages)[-1] == "hot: … and 5 more rows in this minute"
    clock.now += 60                                     # the minute has passed: rows notify again
    sink.add_batch(2, rows(3, start=7))
    assert list(sink.messages)[-3:] == [format_row("hot", r) for r in rows(2, start=7).to_pylist()] + [
        "hot: … and 1 more row in this minute"]         # a new run of held-back rows, counted from one
    assert (sink.notified, sink.held_back) == (4, 6)


def test_the_log_level_follows_the_notification_type(caplog):
    sink = NotifySink("hot", level="error", clock=Clock())
    with caplog.at_level(logging.INFO, logger="stream_nb.notify"):
        sink.add_batch(0, rows(1))
    assert [(r.name, r.levelno) for r in caplog.records] == [("stream_nb.notify", logging.ERROR)]


def test_a_batch_handed_again_in_the_same_process_notifies_once():
    sink = NotifySink("hot", clock=Clock())
    sink.add_batch(0, rows(2))
    sink.add_batch(0, rows(2))
    assert sink.notified == 2 and len(sink.messages) == 2


def test_a_sink_handed_to_a_second_query_notifies_its_batches_from_batch_0(caplog):
    readings = sn.sources.memory("device string, temperature double")
    sink = sn.sinks.notify("hot", max_per_minute=100)
    first = sn.start("SELECT * FROM readings", name="hot_first", sources={"readings": readings}, trigger="manual",
                     sink=sink)
    readings.add_data([{"device": "d1", "temperature": 41.5}])
    first.step()
    readings.add_data([{"device": "d2", "temperature": 42.5}])
    first.step()
    first.stop()
    second = sn.start("SELECT * FROM readings WHERE device = 'd2'", name="hot_second", sources={"readings": readings},
                      trigger="manual", sink=sink)
    try:
        second.step()
        assert list(sink.messages)[-1] == "hot (hot_second): device=d2, temperature=42.5" and sink.notified == 3
    finally:
        second.stop()


def test_a_query_names_its_notifications_and_a_title_of_its_own_still_names_the_query(caplog):
    readings = sn.sources.memory("device string, temperature double")
    plain = sn.start("SELECT device, temperature FROM readings WHERE temperature > 40", name="too_hot",
                     sources={"readings": readings}, trigger="manual", sink=sn.sinks.notify())
    titled = sn.start("SELECT device, temperature FROM readings WHERE temperature > 40", name="too_hot_titled",
                      sources={"readings": readings}, trigger="manual", sink=sn.sinks.notify("Overheating"))
    try:
        readings.add_data([{"device": "d1", "temperature": 20.5}, {"device": "d2", "temperature": 41.5}])
        with caplog.at_level(logging.INFO, logger="stream_nb.notify"):
            plain.step()
            titled.step()
        assert sorted(r.getMessage() for r in caplog.records) == [
            "Overheating (too_hot_titled): device=d2, temperature=41.5", "too_hot: device=d2, temperature=41.5"]
    finally:
        plain.stop()
        titled.stop()


def test_in_a_plain_python_without_logging_set_up_each_row_is_a_line_on_stderr_whatever_its_level():
    script = textwrap.dedent("""
        import stream_nb as sn
        readings = sn.sources.memory("device string, temperature double")
        q = sn.start("SELECT device, temperature FROM readings", name="seen", sources={"readings": readings},
                     trigger="manual", sink=sn.sinks.notify(max_per_minute=2, level="info"))
        readings.add_data([{"device": f"d{i}", "temperature": 20.5 + i} for i in range(5)])
        q.step()
        q.stop()
    """)
    run = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == ["INFO: seen: device=d0, temperature=20.5",
                                       "INFO: seen: device=d1, temperature=21.5",
                                       "INFO: seen: … and 3 more rows in this minute"]


@pytest.mark.parametrize(("options", "error", "says"), [
    ({"max_per_minute": 0}, ValueError, "max_per_minute=...) is how many rows may notify in a minute"),
    ({"max_per_minute": 2.5}, ValueError, "a positive whole number; got 2.5"),
    ({"level": "loud"}, ValueError, "'info', 'success', 'warning', 'error'"),
    ({"title": 3}, TypeError, "title=...) is the notifications' title, a string; got 3"),
])
def test_bad_options_are_refused_with_what_they_should_be(options, error, says):
    with pytest.raises(error, match=None) as refused:
        sn.sinks.notify(**options)
    assert says in str(refused.value)


KERNEL_SETUP = """import stream_nb as sn
readings = sn.sources.memory("device string, temperature double")
q = sn.start("SELECT device, temperature FROM readings", name="seen", sources={"readings": readings},
             trigger="manual", sink=sn.sinks.notify(max_per_minute=2))
def burst(*devices):
    readings.add_data([{"device": d, "temperature": 20.5} for d in devices])
    q.step()"""


def test_in_a_kernel_rows_go_to_a_subscribed_front_end_on_the_panels_comm_and_to_stderr_before(kernel):
    kernel.run(KERNEL_SETUP)
    assert kernel.run("burst('a')") == (["WARNING: seen: device=a, temperature=20.5\n"], [])  # no front end yet
    kernel.subscribe()
    stderr, notices = kernel.run("burst('b', 'c', 'd')")
    assert stderr == []
    assert notices == [
        {"query": "seen", "message": "seen: device=b, temperature=20.5", "type": "warning", "key": None},
        {"query": "seen", "message": "seen: … and 2 more rows in this minute", "type": "warning",
         "key": f"{kernel.value('q.id')}:0"}]   # a summary has a key: the front end updates it in place


class Kernel:
    """A real kernel, and what a front end with the Streams panel sees of it: a cell's stderr, the notify
    messages on IOPub."""

    def __init__(self, client):
        self.client = client

    def run(self, code: str) -> tuple[list[str], list[dict]]:
        """Run a cell; its stderr and the notices that came while it ran (until it is idle)."""
        msg_id = self.client.execute(code)
        stderr, notices = [], []
        while True:
            message = self.client.get_iopub_msg(timeout=60)
            content, mine = message["content"], message["parent_header"].get("msg_id") == msg_id
            if message["msg_type"] == "comm_msg" and "notify" in content["data"]:
                notices.append(content["data"]["notify"])
            elif mine and message["msg_type"] == "stream" and content["name"] == "stderr":
                stderr.append(content["text"])
            elif mine and message["msg_type"] == "error":
                raise AssertionError("\n".join(content["traceback"]))
            elif mine and message["msg_type"] == "status" and content["execution_state"] == "idle":
                return stderr, notices

    def value(self, expression: str):
        msg_id = self.client.execute(f"import json; print(json.dumps({expression}))")
        while True:
            message = self.client.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "stream":
                return json.loads(message["content"]["text"])

    def subscribe(self) -> None:
        """What the Streams panel does when it finds stream_nb in the kernel."""
        self.client.shell_channel.send(self.client.session.msg("comm_open", {
            "comm_id": uuid.uuid4().hex, "target_name": "stream_nb.panel", "data": {"action": "subscribe"}}))
        self.run("from stream_nb.notebook import panel\nassert panel.link().subscribed")


@pytest.fixture
def kernel():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield Kernel(client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
