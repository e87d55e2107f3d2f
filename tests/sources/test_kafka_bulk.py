"""librdkafka's messages as columns (``kafka_bulk.BulkConsumer``), against confluent-kafka's Consumer reading the
same offsets of a real broker (Tansu on loopback): the same keys, values, offsets and timestamps, the same errors,
and confluent-kafka reading where the bulk consumer cannot."""

import logging
import sys
import time
import uuid
from pathlib import Path

import confluent_kafka
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.sources.kafka_bulk import BulkConsumer, open_consumer
from stream_nb.sources.kafka_reader import ConfluentConsumer

LOG = logging.getLogger("test_kafka_bulk")


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def config(broker, **more):
    return {"bootstrap.servers": broker.servers, "group.id": f"g-{uuid.uuid4()}", "enable.auto.commit": False,
            "enable.partition.eof": True, "auto.offset.reset": "error", "fetch.wait.max.ms": 10, **more}


def read_all(consumer, starts, count):
    """Chunks and errors until ``count`` messages came (or 30 s passed)."""
    consumer.assign(starts)
    chunks, errors, deadline = [], [], time.monotonic() + 30
    while sum(len(c) for c in chunks) < count and time.monotonic() < deadline:
        chunk, errs = consumer.consume(1000, 0.2)
        chunks.append(chunk)
        errors += errs
    return chunks, errors


def rows(chunks):
    return sorted((c.topics[c.codes[k]], int(c.partitions[k]), int(c.offsets[k]), c.keys[k].as_py(),
                   c.values[k].as_py(), int(c.times[k]), int(c.kinds[k])) for c in chunks for k in range(len(c)))


def test_the_bulk_consumer_hands_over_what_confluent_kafkas_consumer_does(kafka_broker):
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 2)
    producer = kafka_broker.producer()
    sent = [(0, b"k1", b'{"a": 1}', 1_700_000_000_123), (0, None, None, 1_700_000_000_124),  # a tombstone
            (1, b"", b"", 1_700_000_000_125), (1, None, "é\n\x00".encode() * 300, 1_700_000_000_126)]
    for partition, key, value, stamp in sent:
        producer.produce(topic, value=value, key=key, partition=partition, timestamp=stamp)
        assert producer.flush(15) == 0
    bulk = open_consumer(config(kafka_broker), LOG, 100)
    assert isinstance(bulk, BulkConsumer)  # librdkafka found beside confluent-kafka, numba there
    reference = ConfluentConsumer(confluent_kafka, config(kafka_broker), LOG)
    try:
        starts = {(topic, 0): 0, (topic, 1): 0}
        got, expected = rows(read_all(bulk, starts, 4)[0]), rows(read_all(reference, starts, 4)[0])
        assert got == expected
        assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in got] == [
            (p, o, k, v, t, 1) for o, (p, k, v, t) in zip([0, 1, 0, 1], sent, strict=True)]  # 1: CreateTime
        assert bulk.position([(topic, 0), (topic, 1)]) == {(topic, 0): 2, (topic, 1): 2}
    finally:
        bulk.close()
        reference.close()


def test_the_end_of_a_partition_comes_as_confluent_kafkas_error_message(kafka_broker):
    # (the reader asks the broker what it means: _error in kafka_reader, the same for both consumers)
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 1)
    kafka_broker.produce(topic, [b"x", b"y"])
    found = []
    for consumer in (open_consumer(config(kafka_broker), LOG, 100),
                     ConfluentConsumer(confluent_kafka, config(kafka_broker), LOG)):
        try:
            consumer.assign({(topic, 0): 2})
            deadline, errors = time.monotonic() + 30, []
            while not errors and time.monotonic() < deadline:
                errors = consumer.consume(100, 0.2)[1]
            error = errors[0]
            found.append((error.topic(), error.partition(), error.offset(), error.error().code(),
                          error.error().fatal()))
        finally:
            consumer.close()
    assert found[0] == found[1] == (topic, 0, 2, confluent_kafka.KafkaError._PARTITION_EOF, False)


def test_a_setting_only_confluent_kafka_takes_reads_through_confluent_kafka(kafka_broker):
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 1)
    kafka_broker.produce(topic, [{"n": 1}, {"n": 2}])
    calls = []
    assert open_consumer(config(kafka_broker, error_cb=calls.append), LOG, 100) is None
    src = sn.sources.kafka(kafka_broker.servers, topic, schema="n int", options={"error_cb": calls.append})
    q = sn.start("SELECT n, offset FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    assert q.result.sort_values("offset")["n"].tolist() == [1, 2]
    q.stop()
