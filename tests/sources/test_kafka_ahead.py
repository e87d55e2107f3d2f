"""The Kafka source reads the next planned step ahead (one step a batch) against a real broker (Tansu on
loopback): the rows are those a plain read gives, a read of other steps stops it, a read ahead that fails is
read again and fails there, closing the source stops it."""

import json
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.sources.errors import SourceError


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def numbered_topic(broker, partitions: int, per_partition: int) -> tuple[str, list[int]]:
    topic = broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", partitions)
    numbers = {p: [p * 1000 + i for i in range(per_partition)] for p in range(partitions)}
    broker.produce_many(topic, {p: [json.dumps({"n": n}).encode() for n in ns] for p, ns in numbers.items()})
    return topic, sorted(n for ns in numbers.values() for n in ns)


def source(broker, topic, per_trigger):
    return sn.sources.kafka(broker.servers, topic, schema="n long", max_offsets_per_trigger=per_trigger)


def test_each_step_read_after_the_one_before_comes_read_ahead_with_the_rows_a_plain_read_gives(kafka_broker):
    topic, numbers = numbered_topic(kafka_broker, partitions=3, per_partition=40)
    ahead, plain = source(kafka_broker, topic, 25), source(kafka_broker, topic, 25)
    steps = ahead.latest_offset()
    assert steps == plain.latest_offset() == 5  # 120 messages, 25 a step
    in_order = []
    for k in range(steps):
        in_order.append(ahead.read(k, k + 1))
        assert ahead._ahead.steps == ((k + 1, k + 2) if k + 1 < steps else None)  # the next, while it is planned
    # read backwards, each read stops the read ahead of the step after it and reads its own
    backwards = {k: plain.read(k, k + 1) for k in reversed(range(steps))}
    for k in range(steps):
        assert in_order[k].equals(backwards[k])
    assert sorted(n for table in in_order for n in table.column("n").to_pylist()) == numbers
    ahead.close()
    plain.close()


def test_a_read_of_other_steps_stops_the_read_ahead_and_reads_its_own(kafka_broker):
    topic, _ = numbered_topic(kafka_broker, partitions=2, per_partition=10)
    src = source(kafka_broker, topic, 5)
    assert src.latest_offset() == 4
    first = src.read(0, 1)
    assert src._ahead.steps == (1, 2)
    assert src.read(0, 1).equals(first)  # a batch read again (a replay): the same rows
    assert src.read(0, 2).num_rows == 10  # two steps at once: not what was read ahead
    later = src.read(2, 4)
    assert later.num_rows == 10
    assert sorted(later.column("offset").to_pylist()) == [5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
    src.close()


def test_a_read_ahead_that_fails_is_read_again_when_asked_and_fails_there_naming_the_offset(kafka_broker):
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 1)
    kafka_broker.produce(topic, [b'{"n": 1}', b'{"n": 2}', b'{"n": three}', b'{"n": 4}'])
    src = source(kafka_broker, topic, 2)
    assert src.latest_offset() == 2
    assert src.read(0, 1).column("n").to_pylist() == [1, 2]
    for _ in range(2):  # nothing of it is kept: asked again, it fails again
        with pytest.raises(SourceError, match=rf"topic {topic!r}, partition 0, offset 2: malformed JSON value"):
            src.read(1, 2)
    src.close()


def test_closing_the_source_stops_its_read_ahead_and_a_later_read_opens_it_again(kafka_broker):
    topic, numbers = numbered_topic(kafka_broker, partitions=1, per_partition=30)
    src = source(kafka_broker, topic, 10)
    assert src.latest_offset() == 3
    first = src.read(0, 1)
    src.close()
    assert src._ahead.steps is None
    rest = [src.read(1, 2), src.read(2, 3)]
    assert [n for table in [first, *rest] for n in table.column("n").to_pylist()] == numbers
    src.close()


def test_a_query_with_one_step_a_batch_reads_every_message_once(kafka_broker):
    topic, numbers = numbered_topic(kafka_broker, partitions=3, per_partition=50)
    q = sn.start("SELECT n FROM events", sources={"events": source(kafka_broker, topic, 20)},
                 trigger="available_now")
    q.await_termination()
    assert sorted(q.result["n"]) == numbers
    assert [p["numInputRows"] for p in q.recent_progress if p["numInputRows"]] == [20] * 7 + [10]
