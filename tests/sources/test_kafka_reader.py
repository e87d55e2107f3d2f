"""Reading offset ranges with one consumer, against a real broker (Tansu on loopback): a read stopped by another
thread (a read ahead nobody waits for) leaves nothing half-read behind."""

import logging
import sys
import threading
import uuid
from pathlib import Path

import confluent_kafka
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.sources.kafka_reader import Cancelled, RangeReader


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def test_a_cancelled_read_raises_and_the_next_read_of_the_range_gets_it_whole(kafka_broker):
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 1)
    kafka_broker.produce(topic, [b"a", b"b", b"c", b"d"])
    config = sn.sources.kafka(kafka_broker.servers, topic)._config
    reader = RangeReader(confluent_kafka, config, kafka_broker.servers, logger=logging.getLogger(__name__),
                         watermarks=lambda tp: None, outage_seconds=30)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        reader.fetch({(topic, 0): (0, 3)}, cancel)
    for first, end, values in [(0, 3, [b"a", b"b", b"c"]), (3, 4, [b"d"])]:
        runs = reader.fetch({(topic, 0): (first, end)})
        assert [v for _, chunk in runs for v in chunk.values.to_pylist()] == values
    reader.close()
