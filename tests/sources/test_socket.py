"""The socket source (Spark's, for testing only): lines from a real TCP server on loopback as a ``value``
column, the receive time with include_timestamp, an address nobody listens on, and the refusal to go on from
a checkpoint that had read lines (a socket cannot replay them)."""

import socket
import threading
import time

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sources.errors import SourceError


class LineServer:
    """What ``nc -lk PORT`` is in the Spark guide: a TCP server that the test writes lines to."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self._accepted.append(connection)

    def send(self, data: bytes, timeout: float = 10, connections: int = 1) -> None:
        """To the newest connection, once ``connections`` have been accepted."""
        deadline = time.monotonic() + timeout
        while len(self._accepted) < connections:  # the query connects when it starts, on its own thread
            assert time.monotonic() < deadline, "no query connected"
            time.sleep(0.01)
        self._accepted[-1].sendall(data)

    def close(self):
        self.listener.close()
        for connection in self._accepted:
            connection.close()


@pytest.fixture
def server():
    server = LineServer()
    yield server
    server.close()


def caught_up(q, src, lines, timeout=30):
    deadline = time.monotonic() + timeout
    while src.latest_offset() < lines:  # the lines travel over TCP to the source's reader thread
        assert time.monotonic() < deadline, f"the source received {src.latest_offset()} lines, not {lines}"
        time.sleep(0.01)
    q.process_all_available(timeout=timeout)


def test_each_line_is_a_row_of_value_in_order(server):
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT value, length(value) AS n FROM lines", sources={"lines": src})
    server.send(b"apache spark\nstream nb\r\n")
    caught_up(q, src, 2)
    server.send(b"\nlast line\n")
    caught_up(q, src, 4)
    assert q.result.values.tolist() == [["apache spark", 12], ["stream nb", 9], ["", 0], ["last line", 9]]
    assert q.last_progress["sources"][0]["description"] == f"TextSocketV2[host: 127.0.0.1, port: {server.port}]"


def test_include_timestamp_adds_the_receive_time_in_utc(server):
    src = sn.sources.socket("127.0.0.1", server.port, include_timestamp=True)
    q = sn.start("SELECT value, timestamp FROM lines", sources={"lines": src})
    before = pd.Timestamp.now(tz="UTC")
    server.send(b"a\nb\n")
    caught_up(q, src, 2)
    after = pd.Timestamp.now(tz="UTC")
    assert q.result["value"].tolist() == ["a", "b"]
    assert str(q.result["timestamp"].dt.tz) == "UTC"
    assert q.result["timestamp"].between(before, after).all()


def test_no_server_at_the_address_refuses_the_start_naming_it():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceError, match=f"cannot connect to 127.0.0.1:{port} .*refused.* e.g. `nc -lk 9999`"):
        sn.start("SELECT value FROM lines", sources={"lines": sn.sources.socket("127.0.0.1", port)})
    assert sn.queries() == []


def test_a_checkpoint_that_read_lines_cannot_go_on_the_socket_cannot_replay(server, tmp_path):
    checkpoint = tmp_path / "cp"
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT value FROM lines", sources={"lines": src}, checkpoint=checkpoint)
    server.send(b"one\ntwo\n")
    caught_up(q, src, 2)
    q.stop()
    with pytest.raises(SourceError, match=f"cannot replay: checkpoint {checkpoint} read lines from a socket before"
                                          ".* for testing only"):
        sn.start("SELECT value FROM lines", sources={"lines": sn.sources.socket("127.0.0.1", server.port)},
                 checkpoint=checkpoint)


def test_a_checkpoint_that_read_no_line_yet_may_go_on(server, tmp_path):
    checkpoint = tmp_path / "cp"
    sn.start("SELECT value FROM lines", sources={"lines": sn.sources.socket("127.0.0.1", server.port)},
             checkpoint=checkpoint).stop()
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT value FROM lines", sources={"lines": src}, checkpoint=checkpoint)
    server.send(b"first\n", connections=2)  # to the second query's connection, not the stopped one's
    caught_up(q, src, 1)
    assert q.result["value"].tolist() == ["first"]


def test_a_line_sent_in_pieces_is_one_row_once_its_end_arrives(server):
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT value FROM lines", sources={"lines": src})
    server.send(b"first\nsec")
    caught_up(q, src, 1)
    assert q.result["value"].tolist() == ["first"]  # "sec" waits for the rest of its line
    server.send("ond caf\u00e9".encode()[:-1])  # the last character cut in the middle of its UTF-8 bytes
    server.send("ond caf\u00e9".encode()[-1:] + b"\r")
    server.send(b"\nthird\n")
    caught_up(q, src, 3)
    assert q.result["value"].tolist() == ["first", "second caf\u00e9", "third"]


def test_a_query_started_again_on_the_same_source_reads_the_new_connections_lines(server):
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT value FROM lines", sources={"lines": src})
    server.send(b"a\nb\n")
    caught_up(q, src, 2)
    q.stop()  # the notebook's cell is run again: a new query, the same source
    q = sn.start("SELECT value FROM lines", sources={"lines": src})
    server.send(b"c\n", connections=2)  # to the new query's connection, not the stopped one's
    caught_up(q, src, 1)
    assert q.result["value"].tolist() == ["c"]
    q.stop()


def test_empty_lines_crlf_and_a_last_line_without_its_end_are_rows_as_javas_readline_gives_them(server):
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT value FROM lines", sources={"lines": src})
    server.send(b"a\r\n\r\n\nb\rc \xff\n  \nlast")
    server.close()  # the peer closes: its last line ends there
    caught_up(q, src, 7)
    assert q.result["value"].tolist() == ["a", "", "", "b", "c \ufffd", "  ", "last"]
    q.stop()
