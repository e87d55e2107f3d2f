"""A Kafka source on the Spark engine. The pyspark wheel has no Kafka connector (spark-sql-kafka is on Maven
Central only), so Spark cannot read Kafka itself here: the source goes through stream_nb's Python data source,
fed from the kernel, and reads a real broker (Tansu on loopback) exactly as the in-kernel engine does. With the
connector jar on the session's classpath, Spark's own Kafka source would read it, with these options."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.spark.sources import has_kafka_connector, kafka_options

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]
_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    pytest.importorskip("confluent_kafka", reason="the Kafka source needs the `kafka` extra")
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def test_a_kafka_source_on_spark_reads_what_the_kernel_reads(kafka_broker, cluster_spark):
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", 2)
    kafka_broker.produce(topic, [{"device": "a", "temp": 20.5}, {"device": "b", "temp": 21.0}], partition=0)
    kafka_broker.produce(topic, [{"device": "a", "temp": 22.0}], partition=1)
    sql = "SELECT device, count(*) AS n, sum(temp) AS total FROM events GROUP BY device"

    def run(**engine):
        source = sn.sources.kafka(kafka_broker.servers, topic, schema="device string, temp double")
        q = sn.start(sql, sources={"events": source}, output_mode="complete", **engine)
        try:
            q.process_all_available(timeout=_TIMEOUT_S)
            kafka_broker.produce(topic, [{"device": "b", "temp": 1.5}], partition=1)
            q.process_all_available(timeout=_TIMEOUT_S)
            return sorted(q.result.itertuples(index=False, name=None))
        finally:
            q.stop()

    in_kernel = run()
    assert not has_kafka_connector(cluster_spark)            # the wheel's jars: the Python data source path
    on_spark = run(engine="spark", spark=cluster_spark)
    assert in_kernel == [("a", 2, 42.5), ("b", 2, 22.5)] and on_spark == in_kernel[:1] + [("b", 3, 24.0)]


def test_with_the_connector_spark_reads_kafka_with_the_sources_options():
    pytest.importorskip("confluent_kafka", reason="the Kafka source needs the `kafka` extra")
    source = sn.sources.kafka("127.0.0.1:9092", "events", starting_offsets={"events": {"0": 23, "1": -2}},
                              max_offsets_per_trigger=100, fail_on_data_loss=False)
    assert kafka_options(source) == {
        "kafka.bootstrap.servers": "127.0.0.1:9092", "subscribe": "events",
        "startingOffsets": json.dumps({"events": {"0": 23, "1": -2}}), "failOnDataLoss": "false",
        "maxOffsetsPerTrigger": "100"}
    pattern = sn.sources.kafka("127.0.0.1:9092", pattern="events-.*", starting_offsets="latest",
                               include_headers=True)
    assert kafka_options(pattern) == {"kafka.bootstrap.servers": "127.0.0.1:9092", "startingOffsets": "latest",
                                      "failOnDataLoss": "true", "subscribePattern": "events-.*",
                                      "includeHeaders": "true"}
