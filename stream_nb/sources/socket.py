"""The socket source: lines of text read from a TCP server, as Spark's ``socket`` source (the Spark guide's
first example, ``nc -lk 9999``).

As in Spark it is for testing and teaching only: a socket keeps nothing, so the source cannot replay. Lines
are read by a thread into memory and numbered (the offsets); a batch reads them from there, and they are let
go once committed. There is no exactly-once: lines received but not yet processed when the process ends are
lost, and a query restarted from a checkpoint that had read lines from it is refused, since those lines
cannot be read again.
"""

from __future__ import annotations

import socket as sockets
import threading
import time
from pathlib import Path

import pyarrow as pa

from stream_nb.checkpoint.files import write_json
from stream_nb.sources.errors import SourceError, check_offsets
from stream_nb.types import TIMESTAMP

_MARK = "socket.json"  # in the checkpoint: this query has read lines from a socket (that it cannot replay)


class SocketSource:
    """Lines from ``host:port`` (see ``socket``). One query at a time reads it."""

    capabilities = frozenset({"checkpoint_dir", "attach", "commit", "close", "push"})

    def __init__(self, host: str, port: int, *, include_timestamp: bool = False, connect_timeout: float = 5.0):
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ValueError(f"port must be a TCP port number (1-65535), not {port!r}")
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.include_timestamp = include_timestamp
        fields = [pa.field("value", pa.string())] + ([pa.field("timestamp", TIMESTAMP)] if include_timestamp else [])
        self.schema = pa.schema(fields)
        self.description = f"TextSocketV2[host: {host}, port: {port}]"  # as Spark's progress names it
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # a continuous query waits on it for the next line
        self._lines: list[str] = []
        self._received: list[int] = []  # µs since the epoch, per line
        self._first = 0                 # the offset of _lines[0] (those before were committed)
        self._socket: sockets.socket | None = None
        self._reader: threading.Thread | None = None
        self._error: Exception | None = None
        self._mark: Path | None = None  # to write once the first line is planned, with a checkpoint

    def open_checkpoint(self, directory: Path) -> None:
        """Refuse a checkpoint that read lines from a socket before: they are gone, and offsets would point
        at other lines."""
        mark = directory / _MARK
        if mark.exists():
            raise SourceError(
                f"{self.description} cannot replay: checkpoint {directory.parent.parent} read lines from a socket "
                "before, and a socket keeps nothing, so the lines it planned are gone. The socket source is for "
                "testing only (as Spark's: no recovery, no exactly-once); start over with a new checkpoint "
                "directory, or read from a source that can replay (files, Kafka, MQTT)")
        self._mark = mark

    def attach(self) -> None:
        """Connect and start reading lines, numbered from 0 (a query started again, the cell run again, reads a
        new connection's lines, as Spark's source made anew); a SourceError naming the address if no server
        answers."""
        if self._socket is not None:
            raise SourceError(f"{self.description} is already read by a running query; give each query its own "
                              "sn.sources.socket(...)")
        with self._lock:  # what an earlier query received and did not process is gone with its connection
            self._lines, self._received, self._first = [], [], 0
        try:
            self._socket = sockets.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as err:
            raise SourceError(f"cannot connect to {self.host}:{self.port} ({err}); the socket source reads from "
                              "a TCP server that is already listening, e.g. `nc -lk 9999`") from None
        self._socket.settimeout(None)
        self._error = None
        self._reader = threading.Thread(target=self._read_lines, args=(self._socket,),
                                        name=f"socket {self.host}:{self.port}", daemon=True)
        self._reader.start()

    def _read_lines(self, connection: sockets.socket) -> None:
        try:
            with connection.makefile("r", encoding="utf-8", errors="replace", newline=None) as lines:
                for line in lines:  # universal newlines: \n, \r\n and \r end a line, as Java's readLine
                    received = time.time_ns() // 1000
                    with self._lock:
                        self._lines.append(line.rstrip("\n"))
                        self._received.append(received)
                        self._arrived.notify_all()
        except (OSError, ValueError) as err:  # ValueError: the file closed under the read by detach
            if self._socket is connection:  # not closed by detach: the connection broke
                self._error = err

    def latest_offset(self) -> int:
        """How many lines have been received (the server closing the connection ends the lines)."""
        with self._lock:
            end = self._first + len(self._lines)
        if end and self._mark is not None:  # before any line is planned: the checkpoint can no longer replay
            write_json(self._mark, {"host": self.host, "port": self.port})
            self._mark = None
        return end

    def wait_for_data(self, offset: int, timeout: float) -> tuple[int, float | None]:
        """Block until a line after ``offset`` has come (at most ``timeout`` s): the latest offset, and when
        line ``offset`` was received, on ``time.perf_counter()``'s scale (None if none has)."""
        with self._arrived:
            if self._first + len(self._lines) <= offset:
                self._arrived.wait(timeout)
        latest = self.latest_offset()
        with self._lock:
            if latest <= offset or offset < self._first:
                return latest, None
            received_s = self._received[offset - self._first] / 1e6
        return latest, time.perf_counter() - max(0.0, time.time() - received_s)

    def read(self, start: int, end: int) -> pa.Table:
        """Lines ``start`` to ``end`` (exclusive), while they are held (until committed)."""
        with self._lock:
            check_offsets(start, end, self._first + len(self._lines), self.description)
            if start < self._first:
                raise SourceError(f"{self.description}: lines before offset {self._first} were committed and let go; "
                                  f"cannot read [{start}, {end}) (a socket cannot replay)")
            values = self._lines[start - self._first:end - self._first]
            received = self._received[start - self._first:end - self._first]
        columns = [pa.array(values, pa.string())]
        if self.include_timestamp:
            columns.append(pa.array(received, pa.int64()).cast(TIMESTAMP))
        return pa.Table.from_arrays(columns, schema=self.schema)

    def commit(self, end: int) -> None:
        with self._lock:
            drop = max(0, min(end - self._first, len(self._lines)))
            del self._lines[:drop], self._received[:drop]
            self._first += drop

    def detach(self) -> None:
        connection, self._socket = self._socket, None
        if connection is None:
            return
        try:
            connection.shutdown(sockets.SHUT_RDWR)
        except OSError:
            pass  # already closed by the server
        connection.close()
        if self._reader is not None:
            self._reader.join()
            self._reader = None

    def close(self) -> None:
        self.detach()

    def __repr__(self) -> str:
        return f"{self.description} ({self.latest_offset()} lines)"


def socket(host: str, port: int, *, include_timestamp: bool = False, connect_timeout: float = 5.0) -> SocketSource:
    """Lines of text from a TCP server: a ``value`` string column (Spark's socket source), and with
    ``include_timestamp=True`` a ``timestamp`` column, when the line was received (Spark's ``includeTimestamp``).

    FOR TESTING ONLY, as Spark says of its own: a socket cannot replay what it sent, so there is no
    fault tolerance and no exactly-once. Lines not yet processed when the process ends are lost, and a query
    restarted from a checkpoint that had read lines is refused. The query connects when it starts (a server
    must be listening, e.g. ``nc -lk 9999``; none is an error naming the address).

    >>> src = socket("localhost", 9999, include_timestamp=True)
    >>> src.schema.names
    ['value', 'timestamp']
    """
    return SocketSource(host, port, include_timestamp=include_timestamp, connect_timeout=connect_timeout)
