"""PySpark's kafka format reaching the Kafka source's options: subscribe of several topics, subscribePattern,
failOnDataLoss and includeHeaders, against a real broker (Tansu on loopback)."""

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def rows(spark, reader, name):
    q = reader.load().selectExpr("topic", "CAST(value AS STRING) AS v").writeStream.format("memory") \
        .queryName(name).start()
    q.processAllAvailable()
    found = sorted((r.topic, r.v) for r in spark.sql(f"SELECT * FROM {name}").collect())
    q.stop()
    return found


def test_subscribe_with_several_topics_reads_them_all(spark, kafka_broker):
    first, second = (kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}") for _ in range(2))
    kafka_broker.produce(first, [b"a"])
    kafka_broker.produce(second, [b"b"])
    reader = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", kafka_broker.servers)
              .option("subscribe", f"{first},{second}").option("startingOffsets", "earliest"))
    assert rows(spark, reader, "several") == sorted([(first, "a"), (second, "b")])


def test_subscribe_pattern_reads_the_topics_it_matches(spark, kafka_broker):
    prefix = f"p{uuid.uuid4().hex[:6]}"
    for name, value in (("in-1", b"x"), ("in-2", b"y"), ("out", b"z")):
        kafka_broker.create_topic(f"{prefix}-{name}")
        kafka_broker.produce(f"{prefix}-{name}", [value])
    reader = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", kafka_broker.servers)
              .option("subscribePattern", f"{prefix}-in-.*").option("startingOffsets", "earliest"))
    assert rows(spark, reader, "pattern") == [(f"{prefix}-in-1", "x"), (f"{prefix}-in-2", "y")]


def test_fail_on_data_loss_false_lets_the_query_go_on_past_a_deleted_topic(spark, kafka_broker, tmp_path):
    kept, deleted = (kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}") for _ in range(2))
    kafka_broker.produce(kept, [b"a"])
    kafka_broker.produce(deleted, [b"d"])
    values = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", kafka_broker.servers)
              .option("subscribe", f"{kept},{deleted}").option("startingOffsets", "earliest")
              .option("failOnDataLoss", "false").load().selectExpr("CAST(value AS STRING) AS v"))

    def run(name):  # the same query again on its checkpoint
        q = values.writeStream.format("memory").queryName(name).option("checkpointLocation", str(tmp_path)).start()
        q.processAllAvailable()
        found = sorted(r.v for r in spark.sql(f"SELECT * FROM {name}").collect())
        q.stop()
        return found

    assert run("before") == ["a", "d"]
    kafka_broker.delete_topic(deleted)  # with no query reading it (Tansu: see stream_nb/sources/tansu.py)
    kafka_broker.produce(kept, [b"b"])
    with pytest.warns(UserWarning, match=f"topic '{deleted}' partition 0: the partition is gone"):
        after = run("after")
    assert after == ["b"]


def test_include_headers_adds_the_headers_column(spark, kafka_broker):
    topic = kafka_broker.create_topic(f"t-{uuid.uuid4().hex[:8]}")
    producer = kafka_broker.producer()
    producer.produce(topic, value=b"a", headers=[("trace", b"t1")])
    assert producer.flush(15) == 0
    frame = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", kafka_broker.servers)
             .option("subscribe", topic).option("startingOffsets", "earliest").option("includeHeaders", "true")
             .load())
    assert frame.columns[-1] == "headers"
    q = frame.selectExpr("headers[0].key AS k", "CAST(headers[0].value AS STRING) AS v").writeStream \
        .format("memory").queryName("with_headers").start()
    q.processAllAvailable()
    found = [(r.k, r.v) for r in spark.sql("SELECT * FROM with_headers").collect()]
    q.stop()
    assert found == [("trace", "t1")]
