"""librdkafka's messages as columns (``kafka_bulk.BulkConsumer``), against confluent-kafka's Consumer reading the
same offsets of a real broker (Tansu on loopback): the same keys, values, offsets and timestamps, the same errors,
and confluent-kafka reading where the bulk consumer cannot."""

import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import confluent_kafka
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.sources import kafka_bulk
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


def produced_topic(broker, count):
    topic = broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 1)
    broker.produce(topic, [f"v{k}".encode() for k in range(count)])
    return topic


def closes(consumer, seconds=30):
    """Whether close returns (librdkafka's destroy waits forever for a message never destroyed)."""
    closing = threading.Thread(target=consumer.close, daemon=True)
    closing.start()
    closing.join(seconds)
    return not closing.is_alive()


@pytest.mark.parametrize("step", ["_heads", "_gather"])
def test_a_failure_while_a_batch_becomes_columns_destroys_its_messages_and_loses_none(kafka_broker, monkeypatch,
                                                                                         step):
    # _heads: the compiled loop reading the messages; _gather: copying their bytes into Arrow's buffers
    topic = produced_topic(kafka_broker, 5)
    consumer = open_consumer(config(kafka_broker), LOG, 100)
    real = getattr(consumer, step)

    def fails(*args):
        real(*args)
        raise MemoryError("no memory for the batch's columns")

    monkeypatch.setattr(consumer, step, fails)
    consumer.assign({(topic, 0): 0})
    with pytest.raises(MemoryError):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            consumer.consume(100, 0.2)
    monkeypatch.setattr(consumer, step, real)
    chunks, _ = read_all(consumer, {(topic, 0): 0}, 5)  # the reader seeks back to where the batch began
    assert closes(consumer)
    # (read after the client and its messages are gone: the columns own their bytes)
    assert [v for c in chunks for v in c.values.to_pylist()] == [f"v{k}".encode() for k in range(5)]


def test_close_waits_for_a_consume_on_another_thread_and_may_be_called_twice(kafka_broker):
    topic = produced_topic(kafka_broker, 3)
    consumer = open_consumer(config(kafka_broker), LOG, 100)
    consumer.assign({(topic, 0): 0})
    started, ended = threading.Event(), []

    def batches():  # as a query's batch thread, while its stop closes the source
        try:
            while True:
                consumer.consume(100, 0.2)
                started.set()
        except RuntimeError as err:
            ended.append(str(err))

    reading = threading.Thread(target=batches)
    reading.start()
    assert started.wait(30)
    consumer.close()
    consumer.close()
    reading.join(30)
    assert not reading.is_alive() and "closed" in ended[0]
    with pytest.raises(RuntimeError, match="closed"):
        consumer.position([(topic, 0)])


def test_librdkafkas_log_lines_reach_the_logger_on_the_thread_that_consumes(kafka_broker):
    # never on librdkafka's own threads, where Python's garbage collector could destroy a client from inside it
    threads = []

    class Threads(logging.Handler):
        def emit(self, record):
            threads.append(record.thread)

    logger = logging.getLogger(f"test_kafka_bulk.{uuid.uuid4().hex[:8]}")
    logger.addHandler(Threads())
    logger.setLevel(logging.DEBUG)
    consumer = open_consumer(config(kafka_broker, **{"bootstrap.servers": "127.0.0.1:1"}), logger, 100)
    try:
        deadline = time.monotonic() + 30
        while not threads and time.monotonic() < deadline:  # "connection refused" comes as a log line
            consumer.consume(100, 0.2)
        assert threads and set(threads) == {threading.get_ident()}
    finally:
        consumer.close()


def test_a_forked_child_gets_an_error_not_a_hang_and_leaves_the_parents_client_working(kafka_broker):
    topic = produced_topic(kafka_broker, 4)
    consumer = open_consumer(config(kafka_broker), LOG, 100)
    consumer.assign({(topic, 0): 0})
    pid = os.fork()
    if pid == 0:  # the child: librdkafka's threads stayed in the parent
        try:
            code = 1
            try:
                consumer.consume(100, 0.2)
            except RuntimeError as err:
                code = 0 if "fork" in str(err) else 2
            consumer.close()
            kafka_bulk._close_all()  # (as at the child's exit)
        finally:
            os._exit(code)
    deadline, status = time.monotonic() + 60, None
    while status is None and time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        status = status if done else (time.sleep(0.05) or None)
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert status is not None and os.waitstatus_to_exitcode(status) == 0
    chunks, _ = read_all(consumer, {(topic, 0): 0}, 4)
    assert sum(len(c) for c in chunks) == 4
    assert closes(consumer)


def test_a_librdkafka_of_another_major_version_reads_through_confluent_kafka(kafka_broker, monkeypatch):
    monkeypatch.setattr(kafka_bulk, "_MAJOR", kafka_bulk._MAJOR + 1)
    monkeypatch.setattr(kafka_bulk, "_lib", None)  # (loaded again, and the version checked again)
    assert open_consumer(config(kafka_broker), LOG, 100) is None
    topic = produced_topic(kafka_broker, 2)
    src = sn.sources.kafka(kafka_broker.servers, topic)
    q = sn.start("SELECT value, offset FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    assert q.result.sort_values("offset")["value"].tolist() == [b"v0", b"v1"]
    q.stop()
