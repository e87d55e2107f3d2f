"""``sn.spark.local_cluster()``: a standalone Spark master and workers on this machine, from the installed pyspark.

The pyspark wheel carries ``bin/spark-class`` but not the ``sbin`` start scripts, so the master and each worker
are started as ``spark-class org.apache.spark.deploy.master.Master`` / ``...worker.Worker`` processes, on
loopback and free ports; the cluster is ready when the master's JSON (``/json/`` of its web UI) lists every
worker ALIVE. Leaving the ``with`` block (or an error while starting) stops them, workers first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

_HOST = "127.0.0.1"
_START_TIMEOUT_S = 90  # JVMs on a loaded 2-core machine take a while


def pyspark_home() -> Path:
    """The installed pyspark's directory (its ``bin/spark-class`` and ``jars/``)."""
    try:
        import pyspark
    except ImportError as err:
        raise ImportError("engine='spark' needs pyspark: pip install 'stream_nb[spark]'") from err
    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind((_HOST, 0))
        return s.getsockname()[1]


class LocalCluster:
    """A standalone master and workers on this machine: ``with local_cluster() as master:`` or, in a notebook,
    ``cluster = local_cluster().start()`` ... ``cluster.stop()``. ``master`` is the URL to give ``spark=``."""

    def __init__(self, workers: int, cores: int, memory: str):
        if workers < 1 or cores < 1:
            raise ValueError(f"a local cluster needs at least one worker of one core (got workers={workers}, "
                             f"cores={cores})")
        self.workers, self.cores, self.memory = workers, cores, memory
        self.master: str | None = None
        self.logs: Path | None = None
        self._processes: list[subprocess.Popen] = []

    def start(self) -> LocalCluster:
        """Start the master and the workers; returns once the master lists every worker ALIVE."""
        home = pyspark_home()
        if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
            raise RuntimeError("a Spark cluster needs Java (17 or later) on PATH or JAVA_HOME")
        self.logs = Path(tempfile.mkdtemp(prefix="stream_nb-spark-cluster-"))
        port, ui = free_port(), free_port()
        master = f"spark://{_HOST}:{port}"
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": _HOST, "SPARK_LOG_DIR": str(self.logs),
               "SPARK_WORKER_DIR": str(self.logs / "work")}
        try:
            self._processes.append(_spawn(home, env, self.logs / "master.log",
                                          "org.apache.spark.deploy.master.Master",
                                          "--host", _HOST, "--port", str(port), "--webui-port", str(ui)))
            for i in range(self.workers):
                self._processes.append(_spawn(home, env, self.logs / f"worker-{i}.log",
                                              "org.apache.spark.deploy.worker.Worker", master, "--host", _HOST,
                                              "--cores", str(self.cores), "--memory", self.memory,
                                              "--webui-port", str(free_port())))
            _wait_alive(f"http://{_HOST}:{ui}/json/", self.workers, self._processes, self.logs)
        except BaseException:
            self.stop()
            raise
        self.master = master
        return self

    def stop(self) -> None:
        """Stop the workers, then the master (it sees them leave)."""
        processes, self._processes = self._processes, []
        for process in reversed(processes):
            _stop(process)
        self.master = None

    def __enter__(self) -> str:
        return self.start().master

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.master or "stopped"
        return f"<LocalCluster {where}: {self.workers} worker(s) × {self.cores} core(s), {self.memory}>"


def local_cluster(workers: int = 2, cores: int = 1, memory: str = "1g") -> LocalCluster:
    """A standalone master and ``workers`` workers on loopback; as a ``with`` block it yields the master URL and
    stops them at the end.

    >>> with local_cluster(workers=2) as master:     # doctest: +SKIP
    ...     q = sn.start(sql, engine="spark", spark=master)
    """
    return LocalCluster(workers, cores, memory)


def _spawn(home: Path, env: dict, log: Path, main: str, *args: str) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([str(home / "bin" / "spark-class"), main, *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_alive(url: str, workers: int, processes: list[subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    alive = 0
    while time.monotonic() < deadline:
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a Spark cluster process exited with {dead[0].returncode} while starting; "
                               f"its log is in {logs}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                state = json.load(response)
            alive = sum(w.get("state") == "ALIVE" for w in state.get("workers", []))
            if alive >= workers:
                return
        except OSError:
            pass  # the master's web UI is not up yet
        time.sleep(0.5)
    raise TimeoutError(f"the Spark master at {url} listed {alive} of {workers} workers ALIVE after "
                       f"{_START_TIMEOUT_S} s; logs in {logs}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the JVM's shutdown hooks run), then SIGKILL if it lingers; the process group, as spark-class
    execs java in it."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
