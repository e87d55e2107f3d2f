"""The Kafka source against a real broker (Tansu on loopback): Spark's columns, JSON values, starting offsets,
the per-trigger cap, new partitions, lost offsets, an unreachable broker, a broker restart, replay on restart."""

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.checkpoint import logs
from stream_nb.checkpoint.files import CheckpointError, read_json
from stream_nb.sources.errors import SourceError


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


def new_topic(broker, partitions=1):
    return broker.create_topic(f"t-{uuid.uuid4().hex[:8]}", partitions)


def test_messages_arrive_with_sparks_kafka_columns(kafka_broker):
    topic = new_topic(kafka_broker, partitions=2)
    before = datetime.now(UTC).replace(microsecond=0)  # Kafka's timestamps are milliseconds
    kafka_broker.produce(topic, [b"a", b"b"], partition=0, key=b"k0")
    kafka_broker.produce(topic, [b"c"], partition=1)
    after = datetime.now(UTC)
    q = sn.start("SELECT * FROM events", sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
    q.process_all_available(timeout=30)
    rows = q.result.sort_values(["partition", "offset"]).to_dict("records")
    assert [(r["key"], r["value"], r["topic"], r["partition"], r["offset"], r["timestampType"]) for r in rows] == [
        (b"k0", b"a", topic, 0, 0, 0), (b"k0", b"b", topic, 0, 1, 0), (None, b"c", topic, 1, 0, 0)]
    assert all(before <= r["timestamp"] <= after for r in rows)  # the producer's CreateTime
    schema = sn.sources.kafka(kafka_broker.servers, topic).schema
    assert [(f.name, str(f.type)) for f in schema] == [
        ("key", "binary"), ("value", "binary"), ("topic", "string"), ("partition", "int32"), ("offset", "int64"),
        ("timestamp", "timestamp[us, tz=UTC]"), ("timestampType", "int32")]


def test_include_headers_gives_sparks_headers_column_in_order_and_null_without(kafka_broker):
    topic = new_topic(kafka_broker)
    producer = kafka_broker.producer()
    for value, headers in [(b"a", [("trace", b"t1"), ("kind", b"x"), ("trace", b"t2")]), (b"b", None),
                           (b"c", [("empty", b"")])]:
        producer.produce(topic, value=value, partition=0, headers=headers)
        assert producer.flush(15) == 0  # one at a time (Tansu shows a batch's last offset late: tests/kafka_broker)
    src = sn.sources.kafka(kafka_broker.servers, topic, include_headers=True, schema=None)
    assert [f.name for f in src.schema][-1] == "headers"
    q = sn.start("SELECT value, headers, size(headers) AS n, headers[0].key AS first FROM events",
                 sources={"events": src})
    q.process_all_available(timeout=30)
    rows = q.sink.table().to_pylist()
    q.stop()
    assert [(r["value"], r["headers"], r["n"], r["first"]) for r in rows] == [
        (b"a", [{"key": "trace", "value": b"t1"}, {"key": "kind", "value": b"x"}, {"key": "trace", "value": b"t2"}],
         3, "trace"),
        (b"b", None, -1, None),
        (b"c", [{"key": "empty", "value": b""}], 1, "empty")]


def test_schema_parses_json_values_into_columns_beside_kafkas(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [{"device": "d1", "temp": 20.5, "ts": "2026-01-01 00:00:05"},
                                 {"device": "d2", "temp": 21.0, "ts": "2026-01-01T00:00:07Z"}])
    src = sn.sources.kafka(kafka_broker.servers, topic, schema="device string, temp double, ts timestamp")
    q = sn.start("""SELECT window(ts, '10 seconds') AS w, count(*) AS n, round(avg(temp), 2) AS t, max(offset) AS o
                    FROM events GROUP BY window(ts, '10 seconds')""", sources={"events": src})
    q.process_all_available(timeout=30)
    row = q.result.to_dict("records")[0]
    assert (row["n"], row["t"], row["o"]) == (2, 20.75, 1)
    assert row["w"]["start"] == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("value", "says"), [
    (b'{"device": "d1", "temp": "warm"}', "column 'temp'"),
    (b'{"device": "d1", "temp": 2', "malformed JSON value"),
    (b"", "the value is empty"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"device": "\xff"}', "not UTF-8"),
    (b'{"device": "d1"} {"device": "d2"}', "holds more than one JSON object"),
])
def test_a_malformed_value_stops_the_query_naming_topic_partition_and_offset(kafka_broker, tmp_path, value, says):
    topic = new_topic(kafka_broker, partitions=2)
    kafka_broker.produce(topic, [{"device": "d0", "temp": 1.0}], partition=1)
    kafka_broker.produce(topic, [{"device": "d0", "temp": 1.0}, value], partition=1)
    src = sn.sources.kafka(kafka_broker.servers, topic, schema="device string, temp double")
    q = sn.start("SELECT * FROM events", sources={"events": src}, checkpoint=tmp_path / "cp")
    with pytest.raises(sn.StreamingQueryException) as failed:
        q.process_all_available(timeout=30)
    message = str(failed.value)
    assert f"topic {topic!r}, partition 1, offset 2" in message and says in message
    assert logs.batches(tmp_path / "cp", "commits") == []  # nothing committed: the messages will be read again


def test_starting_offsets_latest_reads_only_what_comes_after_the_start(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"old"])
    q = sn.start("SELECT value FROM events", trigger="manual",
                 sources={"events": sn.sources.kafka(kafka_broker.servers, topic, starting_offsets="latest")})
    kafka_broker.produce(topic, [b"new"])
    q.process_all_available(timeout=30)
    assert q.result["value"].tolist() == [b"new"]


def test_a_query_started_again_on_the_same_source_reads_from_latest_at_its_own_start(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"before"])
    src = sn.sources.kafka(kafka_broker.servers, topic, starting_offsets="latest")
    q = sn.start("SELECT value FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    kafka_broker.produce(topic, [b"first"])
    q.process_all_available(timeout=30)
    assert q.result["value"].tolist() == [b"first"]
    q.stop()
    kafka_broker.produce(topic, [b"between"])
    q = sn.start("SELECT value FROM events", sources={"events": src})  # the notebook's cell run again
    q.process_all_available(timeout=30)
    kafka_broker.produce(topic, [b"second"])
    q.process_all_available(timeout=30)
    assert q.result["value"].tolist() == [b"second"]  # as a new Spark query: nothing from before its start
    q.stop()


def test_starting_offsets_as_sparks_json_per_partition(kafka_broker):
    topic = new_topic(kafka_broker, partitions=2)
    kafka_broker.produce(topic, [b"a", b"b", b"c"], partition=0)
    kafka_broker.produce(topic, [b"x", b"y"], partition=1)
    src = sn.sources.kafka(kafka_broker.servers, topic, starting_offsets=json.dumps({topic: {"0": 2, "1": -2}}))
    q = sn.start("SELECT value FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    assert sorted(q.result["value"]) == [b"c", b"x", b"y"]


def test_starting_offsets_must_name_every_partition_as_in_spark(kafka_broker):
    topic = new_topic(kafka_broker, partitions=2)
    src = sn.sources.kafka(kafka_broker.servers, topic, starting_offsets={topic: {"0": 0}})
    with pytest.raises(SourceError, match=r"names partitions \{'t-\w+': \{'0': 0\}\}.*have partitions "
                                          r"\{'t-\w+': \{'0': 0, '1': 0\}\}"):
        src.latest_offset()


@pytest.mark.parametrize(("spec", "says"), [
    ("newest", "neither 'earliest', 'latest' nor JSON"),
    ('{"other": {"0": 1}}', "give the offsets of the topics this source reads"),
    ('{"T": {"zero": 1}}', "partition 'zero'"),
    ('{"T": {"0": -3}}', "-2 for earliest, -1 for latest"),
])
def test_bad_starting_offsets_are_refused_saying_the_form(spec, says):
    with pytest.raises(ValueError, match=says):
        sn.sources.kafka("127.0.0.1:9", "T", starting_offsets=spec)


def test_max_offsets_per_trigger_caps_each_batch_across_partitions(kafka_broker):
    topic = new_topic(kafka_broker, partitions=3)
    kafka_broker.produce_many(topic, {p: [b"%d-%d" % (p, i) for i in range(10 * (p + 1))] for p in range(3)})
    src = sn.sources.kafka(kafka_broker.servers, topic, max_offsets_per_trigger=7)
    q = sn.start("SELECT partition, offset FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    sizes = [p["numInputRows"] for p in q.recent_progress if p["numInputRows"]]
    assert max(sizes) <= 7 and sum(sizes) == 60 and len(sizes) >= 60 // 7
    assert len(q.result) == 60 and not q.result.duplicated().any()


def test_max_offsets_per_trigger_over_uneven_partitions_reads_each_partitions_first_message_in_the_first_batch(
        kafka_broker):
    topic = new_topic(kafka_broker, partitions=3)
    kafka_broker.produce_many(topic, {0: [b"%d" % i for i in range(40)], 1: [b"one"], 2: [b"two"]})
    src = sn.sources.kafka(kafka_broker.servers, topic, max_offsets_per_trigger=5)
    q = sn.start("SELECT partition, count(*) AS n FROM events GROUP BY partition", sources={"events": src},
                 output_mode="update", trigger="manual")
    q.step()
    assert sorted(map(tuple, q.result.values.tolist())) == [(0, 3), (1, 1), (2, 1)]  # not 5 of partition 0
    q.process_all_available(timeout=30)
    sizes = [p["numInputRows"] for p in q.recent_progress if p["numInputRows"]]
    assert max(sizes) <= 5 and sum(sizes) == 42


def test_new_partitions_are_picked_up_from_their_earliest_offset(kafka_broker):
    # Tansu cannot add partitions to a topic (CreatePartitions), so the topic itself comes after the start
    topic = f"t-{uuid.uuid4().hex[:8]}"
    src = sn.sources.kafka(kafka_broker.servers, topic, starting_offsets="latest")
    q = sn.start("SELECT value, partition FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    kafka_broker.create_topic(topic, 2)
    kafka_broker.produce(topic, [b"a"], partition=0)
    kafka_broker.produce(topic, [b"b", b"c"], partition=1)
    q.process_all_available(timeout=30)
    assert sorted(map(tuple, q.result.values.tolist())) == [(b"a", 0), (b"b", 1), (b"c", 1)]


def test_an_unreachable_broker_is_reported_at_start_with_its_address():
    src = sn.sources.kafka("127.0.0.1:9", "events")
    with pytest.raises(SourceError, match=r"cannot reach the Kafka broker at 127\.0\.0\.1:9"):
        sn.start("SELECT * FROM events", sources={"events": src})


def test_a_restarted_query_reads_exactly_the_messages_after_its_checkpoint(kafka_broker, tmp_path):
    topic = new_topic(kafka_broker, partitions=2)
    kafka_broker.produce(topic, [b"a", b"b"], partition=0)
    kafka_broker.produce(topic, [b"c"], partition=1)
    checkpoint = tmp_path / "cp"

    def run():
        q = sn.start("SELECT value FROM events", checkpoint=checkpoint,
                     sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
        q.process_all_available(timeout=30)
        values = sorted(q.result["value"])
        q.stop()
        return values

    assert run() == [b"a", b"b", b"c"]
    kafka_broker.produce(topic, [b"d"], partition=1)
    assert run() == [b"d"]
    offsets = read_json(checkpoint / "sources" / "0" / "1")
    assert offsets == [{"end": {topic: {"0": 2, "1": 2}}}]  # the step in Spark's per-topic form
    source_line = json.loads((checkpoint / "offsets" / "1").read_text().splitlines()[2])
    assert source_line["sparkOffset"] == {topic: {"0": 2, "1": 2}}  # the offset log shows Spark's JSON too


def test_a_restart_reads_on_from_its_checkpoint_whatever_starting_offsets_says_now(kafka_broker, tmp_path):
    # as Spark: startingOffsets only place a new query; here the ones given at the restart are past the end
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"a", b"b", b"c"])
    checkpoint = tmp_path / "cp"

    def run(starting):
        src = sn.sources.kafka(kafka_broker.servers, topic, starting_offsets=json.dumps({topic: {"0": starting}}))
        q = sn.start("SELECT value FROM events", checkpoint=checkpoint, sources={"events": src})
        q.process_all_available(timeout=30)
        values = sorted(q.result["value"])
        q.stop()
        return values

    assert run(1) == [b"b", b"c"]
    kafka_broker.produce(topic, [b"d"])
    assert run(7) == [b"d"]


def test_a_start_the_sql_refuses_leaves_no_client_fetching_and_the_source_serves_the_next_query(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"a", b"b"])
    src = sn.sources.kafka(kafka_broker.servers, topic)
    with pytest.raises(Exception, match="no_such_function"):
        sn.start("SELECT no_such_function(value) FROM events", sources={"events": src})
    assert src._reader is None  # prepare() had connected and begun fetching; the failed start closed it
    q = sn.start("SELECT value FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    assert sorted(q.result["value"]) == [b"a", b"b"]
    q.stop()


def test_offsets_gone_from_the_broker_stop_the_query_as_spark_fail_on_data_loss(kafka_broker, tmp_path):
    # Tansu has no DeleteRecords (retention), so the offsets go with the topic: deleted and made again.
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"a", b"b", b"c"])
    checkpoint = tmp_path / "cp"
    q = sn.start("SELECT value FROM events", checkpoint=checkpoint,
                 sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
    q.process_all_available(timeout=30)
    q.stop()
    kafka_broker.delete_topic(topic)
    kafka_broker.create_topic(topic, 1)
    kafka_broker.produce(topic, [b"x"])
    q = sn.start("SELECT value FROM events", checkpoint=checkpoint,
                 sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
    with pytest.raises((SourceError, sn.StreamingQueryException), match=rf"topic '{topic}' partition 0: its end offset went back from 3 to 1\. "
                                          "Some data may have been lost"):
        q.process_all_available(timeout=30)


@pytest.mark.slow
def test_a_query_goes_on_after_the_broker_restarts(tmp_path):
    # Tansu keeps topics in memory (its S3 engine lags its end offsets), so after the restart the test writes
    # again what kept storage would hold: the same messages at the same offsets. The broker process and every
    # connection to it are really gone meanwhile.
    with Tansu.started(tmp_path) as broker:
        broker.create_topic("events", 1)
        broker.produce("events", [b"a", b"b"])
        q = sn.start("SELECT value FROM events", sources={"events": sn.sources.kafka(broker.servers, "events")})
        q.process_all_available(timeout=30)

        def stop_the_broker():  # the query polls on its own: it may see the broker gone before stop returns
            broker.stop()
            q.process_all_available(timeout=30)  # nothing new while it is away, and no failure

        with pytest.warns(UserWarning, match=rf"the broker at {broker.servers} does not answer"):
            stop_the_broker()
        assert q.exception is None and q.is_active
        q.pause()  # while the topic is written again: until then the broker says it has no such topic
        broker.start()
        broker.create_topic("events", 1)
        broker.produce("events", [b"a", b"b", b"c"])
        q.resume()
        q.process_all_available(timeout=60)
        assert sorted(q.result["value"]) == [b"a", b"b", b"c"]
        assert q.exception is None


def test_cast_of_key_and_value_as_string_reads_their_utf8_text_as_spark(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b'{"device": "caf\xc3\xa9"}'], key=b"k-1")
    kafka_broker.produce(topic, [b"\xffA"])  # not UTF-8: U+FFFD for the byte, as Java's new String(bytes, UTF_8)
    q = sn.start("SELECT CAST(key AS STRING) AS k, CAST(value AS STRING) AS v FROM events",
                 sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
    q.process_all_available(timeout=30)
    assert q.result.fillna("<null>").to_dict("list") == {"k": ["k-1", "<null>"],
                                                         "v": ['{"device": "café"}', "\ufffdA"]}
    q.stop()


def test_a_json_value_with_nested_struct_array_timestamp_and_date_fields_is_parsed_into_them(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [{"id": 1, "ts": "2026-01-01T00:00:01.5Z", "d": "2026-01-02",
                                  "loc": {"lat": 1.5, "tags": ["a", "b"]}}])
    src = sn.sources.kafka(kafka_broker.servers, topic,
                           schema="id int, ts timestamp, d date, loc struct<lat: double, tags: array<string>>")
    # Spark's subscript counts from 0: tags[0] is the first tag
    q = sn.start("SELECT id, ts, d, loc.lat AS lat, loc.tags[0] AS first_tag FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    row = q.result.to_dict("records")[0]
    assert (row["id"], row["ts"], str(row["d"]), row["lat"], row["first_tag"]) == (
        1, datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC), "2026-01-02", 1.5, "a")
    q.stop()


@pytest.mark.parametrize("topic", ["sensors.*", "sensors/#", "a,,b", ["a", 3], ""])
def test_a_topic_that_is_not_a_name_is_refused_pointing_at_pattern(topic):
    with pytest.raises(ValueError, match="topic is a topic's name .* give pattern= instead"):
        sn.sources.kafka("127.0.0.1:9", topic)


@pytest.mark.parametrize(("options", "says"), [
    ({"failOnDataLoss": "false"}, r"options\['failOnDataLoss'\] is a Spark option"),
    ({"startingOffsets": "latest"}, "starting_offsets="),
    ({"kafka.no.such.setting": "1"}, 'No such configuration property: "no.such.setting"'),
    ({"fetch.wait.max.ms": "soon"}, "fetch.wait.max.ms"),
])
def test_options_that_are_not_librdkafka_settings_are_refused_naming_them(options, says):
    with pytest.raises(ValueError, match=says):
        sn.sources.kafka("127.0.0.1:9", "events", options=options)


def test_librdkafka_settings_in_options_reach_the_consumer(kafka_broker):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"a"])
    # a bootstrap address in options wins over servers, as Spark's kafka.bootstrap.servers is the address
    src = sn.sources.kafka("127.0.0.1:9", topic, options={"kafka.bootstrap.servers": kafka_broker.servers,
                                                          "client.id": "stream_nb-test"})
    q = sn.start("SELECT value FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    assert q.result["value"].tolist() == [b"a"]
    q.stop()


def test_a_message_larger_than_a_fetch_response_arrives_whole(kafka_broker):
    # the source asks for ~1 MB a fetch response, so partitions take turns; the broker still hands over a
    # message larger than that, alone (a larger message.max.bytes in options is taken as it is)
    topic = new_topic(kafka_broker)
    big = b"x" * (3 << 20)
    producer = kafka_broker.producer(**{"message.max.bytes": 4 << 20})
    for value in (b"a", big, b"b"):
        producer.produce(topic, value=value)
        assert producer.flush(15) == 0
    for options in ({}, {"message.max.bytes": 4 << 20}):
        src = sn.sources.kafka(kafka_broker.servers, topic, max_offsets_per_trigger=2, options=options)
        q = sn.start("SELECT value FROM events", sources={"events": src})
        q.process_all_available(timeout=30)
        assert q.result["value"].tolist() == [b"a", big, b"b"]
        q.stop()


def test_progress_shows_each_sources_offsets_per_partition_as_spark(kafka_broker):
    topic = new_topic(kafka_broker, partitions=2)
    kafka_broker.produce(topic, [b"a", b"b"], partition=0)
    kafka_broker.produce(topic, [b"c"], partition=1)
    q = sn.start("SELECT value FROM events", sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
    q.process_all_available(timeout=30)
    source = next(p for p in q.recent_progress if p["numInputRows"])["sources"][0]
    assert (source["startOffset"], source["endOffset"], source["latestOffset"]) == (
        {topic: {"0": 0, "1": 0}}, {topic: {"0": 2, "1": 1}}, {topic: {"0": 2, "1": 1}})
    assert source["description"] == f"KafkaV2[Subscribe[{topic}]]"
    q.stop()


def test_several_topics_are_read_as_one_stream_each_row_naming_its_topic(kafka_broker, tmp_path):
    first, second = new_topic(kafka_broker), new_topic(kafka_broker, partitions=2)
    kafka_broker.produce(first, [b"a1", b"a2"])
    kafka_broker.produce(second, [b"b1"], partition=1)
    checkpoint = tmp_path / "cp"

    def run(topics):
        q = sn.start("SELECT topic, partition, offset, value FROM events", checkpoint=checkpoint,
                     sources={"events": sn.sources.kafka(kafka_broker.servers, topics)})
        q.process_all_available(timeout=30)
        rows = sorted(map(tuple, q.result.values.tolist()))
        progress = [p for p in q.recent_progress if p["numInputRows"]]
        q.stop()
        return rows, progress

    rows, progress = run(f"{first},{second}")  # Spark's subscribe form
    assert rows == sorted([(first, 0, 0, b"a1"), (first, 0, 1, b"a2"), (second, 1, 0, b"b1")])
    source = progress[0]["sources"][0]
    assert source["endOffset"] == {first: {"0": 2}, second: {"0": 0, "1": 1}}  # Spark's JSON, per topic
    assert source["description"] == f"KafkaV2[Subscribe[{first},{second}]]"
    kafka_broker.produce(second, [b"b2"], partition=0)
    rows, _ = run([first, second])  # the same subscription as a list: the restart reads on from its checkpoint
    assert rows == [(second, 0, 0, b"b2")]
    assert read_json(checkpoint / "sources" / "0" / "1") == [{"end": {first: {"0": 2}, second: {"0": 1, "1": 1}}}]


def test_a_subscribed_topic_created_after_the_start_is_read_from_its_earliest_offset(kafka_broker):
    present, later = new_topic(kafka_broker), f"t-{uuid.uuid4().hex[:8]}"
    kafka_broker.produce(present, [b"old"])
    q = sn.start("SELECT topic, value FROM events", sources={
        "events": sn.sources.kafka(kafka_broker.servers, [present, later], starting_offsets="latest")})
    q.process_all_available(timeout=30)
    kafka_broker.create_topic(later, 1)
    kafka_broker.produce(later, [b"x", b"y"])
    kafka_broker.produce(present, [b"new"])
    q.process_all_available(timeout=30)
    assert sorted(map(tuple, q.result.values.tolist())) == sorted([(later, b"x"), (later, b"y"), (present, b"new")])
    q.stop()


def test_a_pattern_reads_every_matching_topic_and_those_created_later_but_no_other(kafka_broker):
    prefix = f"p{uuid.uuid4().hex[:6]}"
    kafka_broker.create_topic(f"{prefix}-sensors-a", 1)
    kafka_broker.create_topic(f"{prefix}-other", 1)
    kafka_broker.produce(f"{prefix}-sensors-a", [b"a"])
    kafka_broker.produce(f"{prefix}-other", [b"not me"])
    src = sn.sources.kafka(kafka_broker.servers, pattern=rf"{prefix}-sensors-.*")
    assert src.description == f"KafkaV2[SubscribePattern[{prefix}-sensors-.*]]"
    q = sn.start("SELECT topic, value FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    kafka_broker.create_topic(f"{prefix}-sensors-b", 2)
    kafka_broker.produce(f"{prefix}-sensors-b", [b"b"], partition=1)
    q.process_all_available(timeout=30)
    assert sorted(map(tuple, q.result.values.tolist())) == [(f"{prefix}-sensors-a", b"a"),
                                                           (f"{prefix}-sensors-b", b"b")]
    q.stop()


def test_starting_offsets_json_names_every_partition_of_every_topic(kafka_broker):
    first, second = new_topic(kafka_broker), new_topic(kafka_broker)
    kafka_broker.produce(first, [b"a1", b"a2"])
    kafka_broker.produce(second, [b"b1", b"b2"])
    src = sn.sources.kafka(kafka_broker.servers, [first, second],
                           starting_offsets={first: {"0": 1}, second: {"0": -1}})
    kafka_broker.produce(second, [b"b3"])  # after the start: "latest" was resolved before it
    q = sn.start("SELECT value FROM events", sources={"events": src})
    q.process_all_available(timeout=30)
    assert sorted(q.result["value"]) == [b"a2"]
    q.stop()
    with pytest.raises(ValueError, match="give the offsets of the topics this source reads"):
        sn.sources.kafka(kafka_broker.servers, first, starting_offsets={second: {"0": 0}})


def test_a_checkpoint_of_other_topics_is_refused_naming_both(kafka_broker, tmp_path):
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"a"])
    q = sn.start("SELECT value FROM events", checkpoint=tmp_path / "cp",
                 sources={"events": sn.sources.kafka(kafka_broker.servers, topic)})
    q.process_all_available(timeout=30)
    q.stop()
    with pytest.raises(CheckpointError, match=rf"'KafkaV2\[Subscribe\[{topic}\]\]', now "
                                              r"'KafkaV2\[SubscribePattern\[t-\.\*\]\]'"):
        sn.start("SELECT value FROM events", checkpoint=tmp_path / "cp",
                 sources={"events": sn.sources.kafka(kafka_broker.servers, pattern="t-.*")})


@pytest.mark.parametrize(("args", "says"), [
    ({}, "give the topics to read .* not neither"),
    ({"topic": "a", "pattern": "a.*"}, "not both"),
    ({"pattern": "sensors-("}, r"pattern 'sensors-\(' is not a regular expression"),
])
def test_topic_or_pattern_exactly_one_of_them(args, says):
    with pytest.raises(ValueError, match=says):
        sn.sources.kafka("127.0.0.1:9", **args)


def test_fail_on_data_loss_false_goes_on_from_the_new_end_with_a_warning_when_offsets_went_back(
        kafka_broker, tmp_path):
    # Tansu has no DeleteRecords (retention), so the offsets go with the topic: deleted and made again.
    topic = new_topic(kafka_broker)
    kafka_broker.produce(topic, [b"a", b"b", b"c"])
    checkpoint = tmp_path / "cp"

    def start():
        q = sn.start("SELECT value FROM events", checkpoint=checkpoint, sources={
            "events": sn.sources.kafka(kafka_broker.servers, topic, fail_on_data_loss=False)})
        q.process_all_available(timeout=30)
        return q

    start().stop()
    kafka_broker.delete_topic(topic)
    kafka_broker.create_topic(topic, 1)
    kafka_broker.produce(topic, [b"x"])
    with pytest.warns(UserWarning, match=rf"topic '{topic}' partition 0: its end offset went back from 3 to 1\. "
                                         r"Some data may have been lost; the query goes on"):
        q = start()
    kafka_broker.produce(topic, [b"y"])
    q.process_all_available(timeout=30)
    assert q.exception is None and q.result["value"].tolist() == [b"y"]  # as Spark: on from the new end
    q.stop()


def test_fail_on_data_loss_false_drops_a_deleted_topic_with_a_warning_and_reads_the_others(kafka_broker, tmp_path):
    # The topic is deleted while no query reads it: a librdkafka consumer assigned to a topic that Tansu deletes
    # crashes (librdkafka 2.16's metadata cache, a segfault), which Kafka's own brokers do not make it do.
    kept, deleted = new_topic(kafka_broker), new_topic(kafka_broker)
    kafka_broker.produce(kept, [b"a"])
    kafka_broker.produce(deleted, [b"d"])
    checkpoint = tmp_path / "cp"

    def start():
        q = sn.start("SELECT value FROM events", checkpoint=checkpoint, sources={
            "events": sn.sources.kafka(kafka_broker.servers, [kept, deleted], fail_on_data_loss=False)})
        q.process_all_available(timeout=30)
        return q

    q = start()
    assert sorted(q.result["value"]) == [b"a", b"d"]
    q.stop()
    kafka_broker.delete_topic(deleted)
    kafka_broker.produce(kept, [b"b"])
    with pytest.warns(UserWarning, match=rf"topic '{deleted}' partition 0: the partition is gone"):
        q = start()
    assert q.exception is None and q.result["value"].tolist() == [b"b"]
    q.stop()
