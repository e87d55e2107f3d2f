"""A real MQTT broker for the tests: Debian's mosquitto (``apt-get install mosquitto``; CI installs it),
started by ``sn.sources.mqtt_broker`` with a config of its own on a free loopback port, stopped after the test.

Test modules put ``tests/`` on sys.path, ``from mqtt_broker import running_broker, publish, wait_for``, and
make their fixture ``broker`` of ``running_broker``.
"""

from __future__ import annotations

import os
import time

import pytest
from paho.mqtt import client as paho

from stream_nb.sources.mosquitto import MOSQUITTO, MosquittoBroker


def running_broker(directory, users=None):
    """A mosquitto for one test (a generator for a fixture); skipped where it is not installed, but not on CI."""
    if not os.path.exists(MOSQUITTO) and not os.environ.get("CI"):
        pytest.skip("the MQTT tests need Debian's mosquitto: apt-get install mosquitto")
    broker = MosquittoBroker(directory=directory, users=users)
    yield broker
    broker.stop()


def publish(broker, topic: str, payloads, *, qos: int = 1) -> None:
    """Publish each payload (bytes or str) and return once the broker has acknowledged every one."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.connect(broker.address.split(":")[0], broker.port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=qos).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def wait_for(source, offset: int, timeout: float = 30) -> None:
    """Wait until ``source`` holds messages up to ``offset`` (received, and synced to its log): what was
    published reaches the query's source over the network, on the client's thread."""
    deadline = time.monotonic() + timeout
    while source.latest_offset() < offset:
        assert time.monotonic() < deadline, f"{source!r} holds {source.latest_offset()} messages, not {offset}"
        time.sleep(0.01)
