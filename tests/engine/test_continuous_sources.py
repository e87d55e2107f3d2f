"""Continuous processing over the push sources that live outside the process: each line of a socket and each
MQTT message (once durable in the write-ahead log) reaches the sink as it arrives, against real servers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from mqtt_broker import publish, running_broker, wait_for
from sources.test_socket import LineServer, caught_up

import stream_nb as sn
from stream_nb.checkpoint.logs import batches


@pytest.fixture
def server():
    server = LineServer()
    yield server
    server.close()


@pytest.fixture
def broker(tmp_path):
    yield from running_broker(tmp_path / "mosquitto")


def test_each_socket_line_reaches_the_sink_as_it_arrives(server):
    src = sn.sources.socket("127.0.0.1", server.port)
    q = sn.start("SELECT upper(value) AS shout FROM lines WHERE value <> ''", sources={"lines": src},
                 trigger="continuous")
    try:
        server.send(b"hello\n\nworld\n")
        caught_up(q, src, 3)
        assert q.result["shout"].tolist() == ["HELLO", "WORLD"]
        assert q.compiled and q.duckdb_rows == 0
    finally:
        q.stop()


def test_each_mqtt_message_is_processed_once_it_is_in_the_write_ahead_log(broker, tmp_path):
    src = sn.sources.mqtt(broker.address, "sensors/#", schema="id bigint, temperature double")
    cp = tmp_path / "cp"
    q = sn.start("SELECT id, temperature * 9 / 5 + 32 AS f FROM m WHERE temperature > 20", sources={"m": src},
                 trigger="continuous 100 milliseconds", checkpoint=cp)
    try:
        publish(broker, "sensors/a", [json.dumps({"id": i, "temperature": 19 + i}).encode() for i in range(4)])
        wait_for(src, 4)
        q.process_all_available(timeout=30)
        assert q.result.values.tolist() == [[2, 69.8], [3, 71.6]]
    finally:
        q.stop()
    assert batches(cp, "commits")  # its epochs are in the checkpoint, as a micro-batch query's batches


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    from kafka_broker import Tansu

    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def test_each_kafka_message_reaches_the_sink_from_the_poll_loop(kafka_broker, tmp_path):
    topic = kafka_broker.create_topic("continuous-in", 2)
    src = sn.sources.kafka(kafka_broker.servers, topic)
    cp = tmp_path / "cp"
    q = sn.start("SELECT partition, CAST(value AS STRING) AS text FROM k", sources={"k": src},
                 trigger="continuous 100 milliseconds", checkpoint=cp)
    try:
        kafka_broker.produce(topic, [b"a", b"b"], partition=0)
        kafka_broker.produce(topic, [b"c"], partition=1)
        with q._changed:  # the engine notifies as rows reach the sink
            q._changed.wait_for(lambda: q.sink.table().num_rows == 3 or not q.is_active, 60)
        assert sorted(q.result["text"]) == ["a", "b", "c"]
    finally:
        q.stop()
    last = (cp / "offsets" / str(batches(cp, "commits")[-1])).read_text()
    assert '"sparkOffset": {"' + topic + '": {"0": 2, "1": 1}}' in last  # the epoch's offsets as Spark writes them


def test_kafka_to_kafka_each_message_is_written_as_it_is_read(kafka_broker):
    source_topic = kafka_broker.create_topic("continuous-from", 1)
    sink_topic = kafka_broker.create_topic("continuous-to", 1)
    q = sn.start("SELECT upper(CAST(value AS STRING)) AS value FROM k",
                 sources={"k": sn.sources.kafka(kafka_broker.servers, source_topic)},
                 sink=sn.sinks.kafka(kafka_broker.servers, sink_topic), trigger="continuous")
    back = sn.start("SELECT CAST(value AS STRING) AS text FROM out",
                    sources={"out": sn.sources.kafka(kafka_broker.servers, sink_topic)}, trigger="manual")
    try:
        for message in (b"x", b"y"):  # one at a time: each is written on its own as it is read
            kafka_broker.produce(source_topic, [message])
            q.process_all_available(timeout=60)
        assert q.deliveries == 2
        deadline = time.monotonic() + 60
        while len(back.result) < 2 and time.monotonic() < deadline:
            back.step()  # a batch of what the broker shows of the sink topic now (it may show the last late)
        assert sorted(back.result["text"]) == ["X", "Y"]
    finally:
        q.stop()
        back.stop()
