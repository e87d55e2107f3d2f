"""Spark Connect: ``spark="sc://host:port"`` and ``sn.spark.local_connect_server()``.

Over Spark Connect the kernel holds no JVM: it sends plans to a server over gRPC, and the server's own Python
processes run a query's foreachBatch function and its Python data sources. So the rows of each batch reach
the kernel's sink (``q.result``, the live view) through the kernel's feed (``sources.Feed``): the function the
server runs posts them there as Arrow IPC (``datasource.post_batch``). Both directions go to the feed's
loopback address, so the server must run on the kernel's machine, with a Python that has pyspark's
``connect`` extra and pyarrow (``spark.pyspark.python`` of the server); a remote server cannot reach it.

``local_connect_server()`` starts such a server from the installed pyspark, as the wheel has no ``sbin``
scripts: ``spark-class org.apache.spark.deploy.SparkSubmit --class ...SparkConnectServer``, bound to loopback
on a free port, its Python workers this kernel's interpreter.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from stream_nb.spark.cluster import _HOST, _spawn, _stop, free_port, pyspark_home

_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
_START_TIMEOUT_S = 120  # a JVM and its SparkContext on a loaded 2-core machine
_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.pyspark.python": sys.executable,
    "spark.pyspark.driver.python": sys.executable,
}


def is_connect(spark) -> bool:
    """Whether ``spark`` is a Spark Connect session (a client of a server, with no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def connect_session(url: str):
    """A Spark Connect session to ``url`` (``sc://host:port``), made with the Connect client's own builder, so
    the process does not switch pyspark into Connect mode (a classic session may live beside it)."""
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as err:
        raise ImportError(f"spark={url!r} needs Spark Connect's client: pip install 'stream_nb[spark]' (it "
                          "brings grpcio, grpcio-status, googleapis-common-protos and zstandard)") from err
    session = _sessions.get(url)
    if session is None or session.is_stopped:
        session = ConnectSession.builder.remote(url).create()
        _sessions[url] = session
    return session


_sessions: dict[str, object] = {}


class LocalConnectServer:
    """A Spark Connect server on loopback: ``with local_connect_server() as url:`` (``sc://127.0.0.1:PORT``) or
    ``server = local_connect_server().start()`` ... ``server.stop()``. ``master`` is where the server runs its
    queries (``local[N]``, or a ``local_cluster()``'s URL)."""

    def __init__(self, master: str, conf: dict | None):
        self.master, self.conf = master, {**_CONF, **(conf or {})}
        self.url: str | None = None
        self.logs: Path | None = None
        self._process = None

    def start(self) -> LocalConnectServer:
        home = pyspark_home()
        self.logs = Path(tempfile.mkdtemp(prefix="stream_nb-spark-connect-"))
        port = free_port()
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": _HOST, "PYSPARK_PYTHON": sys.executable}
        conf = {**self.conf, "spark.connect.grpc.binding.address": _HOST,
                "spark.connect.grpc.binding.port": str(port)}
        args = ["--master", self.master, "--class", _SERVER, "--name", "stream_nb Spark Connect server"]
        for key, value in conf.items():
            args += ["--conf", f"{key}={value}"]
        self._process = _spawn(home, env, self.logs / "server.log", "org.apache.spark.deploy.SparkSubmit", *args)
        try:
            _wait_listening(port, self._process, self.logs)
        except BaseException:
            self.stop()
            raise
        self.url = f"sc://{_HOST}:{port}"
        return self

    def stop(self) -> None:
        """Close this kernel's sessions to the server (a client left open retries for minutes), then stop it."""
        session = _sessions.pop(self.url, None)
        if session is not None:
            with contextlib.suppress(Exception):  # the server may be gone already
                session.stop()
        process, self._process = self._process, None
        if process is not None:
            _stop(process)
        self.url = None

    def __enter__(self) -> str:
        return self.start().url

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LocalConnectServer {self.url or 'stopped'} on {self.master}>"


def local_connect_server(master: str = "local[2]", conf: dict | None = None) -> LocalConnectServer:
    """A Spark Connect server on loopback, from the installed pyspark; as a ``with`` block it yields its
    ``sc://`` URL and stops it at the end.

    >>> with local_connect_server() as url:          # doctest: +SKIP
    ...     q = sn.start(sql, engine="spark", spark=url)
    """
    return LocalConnectServer(master, conf)


def _wait_listening(port: int, process, logs: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Spark Connect server exited with {process.returncode} while starting; its "
                               f"log is {logs / 'server.log'}")
        try:
            with socket.create_connection((_HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)  # its gRPC service is not up yet
    raise TimeoutError(f"the Spark Connect server did not listen on {_HOST}:{port} after {_START_TIMEOUT_S} s; "
                       f"its log is {logs / 'server.log'}")
