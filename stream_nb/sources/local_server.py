"""A server process of our own on a free loopback port (the brokers ``mqtt_broker`` and ``kafka_broker`` start):
started, waited for until it accepts connections, stopped cleanly, and stopped when the Python process exits."""

from __future__ import annotations

import atexit
import socket
import subprocess
import time


class LocalServer:
    """A process listening on ``127.0.0.1:port``. A subclass says how to ``launch`` it and where its log is."""

    name = "server"
    port: int

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self.start()
        atexit.register(self.stop)

    def launch(self) -> subprocess.Popen:
        raise NotImplementedError

    def exit_details(self) -> str:
        """What to show when the process exits at start (its last log lines)."""
        return ""

    def log_hint(self) -> str:
        return ""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 20) -> None:
        """Start the server; returns once it accepts connections."""
        if self.running:
            return
        self._process = self.launch()
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} on port {self.port} exited at start (code "
                                   f"{self._process.returncode}): {self.exit_details()}{self.log_hint()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not listen on 127.0.0.1:{self.port} within {timeout} s"
                                       f"{self.log_hint()}") from None
                time.sleep(0.05)  # a process starting up: nothing to wait on but its port

    def stop(self) -> None:
        """Stop the server (SIGTERM first: a broker saves its sessions and queued messages)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
