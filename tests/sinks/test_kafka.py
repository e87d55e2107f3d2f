"""The Kafka sink against a real broker (Tansu on loopback): rows as JSON values, a value column as it is, a key
column, a delivery error stopping the query with the broker's message."""

import json
import socket
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from kafka_broker import Tansu

import stream_nb as sn
from stream_nb.sinks.kafka import SinkError, json_rows


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    with Tansu.started(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


# Tansu 0.6.0 shows a partition's end offset as the first offset of its last batch plus one: one message a batch
ONE_A_BATCH = {"batch.num.messages": 1}


def read_back(broker, topic):
    """What the topic holds, read by the Kafka source: (key, value) in offset order."""
    q = sn.start("SELECT key, value, offset FROM t", sources={"t": sn.sources.kafka(broker.servers, topic)})
    q.process_all_available(timeout=30)
    rows = q.result.sort_values("offset")
    q.stop()
    return list(zip(rows["key"], rows["value"]))


def test_rows_are_written_as_json_values(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    src = sn.sources.memory("ts timestamp, device string, temp double")
    q = sn.start("SELECT window(ts, '10 seconds') AS w, device, temp FROM readings", sources={"readings": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, topic, key="device", options=ONE_A_BATCH))
    src.add_data([{"ts": "2026-01-01 00:00:03", "device": "d1", "temp": 20.5},
                  {"ts": "2026-01-01 00:00:12", "device": "d2", "temp": float("nan")}])
    q.process_all_available(timeout=30)
    assert [(key, json.loads(value)) for key, value in read_back(kafka_broker, topic)] == [
        (b"d1", {"w": {"start": "2026-01-01T00:00:00.000Z", "end": "2026-01-01T00:00:10.000Z"}, "device": "d1",
                 "temp": 20.5}),
        (b"d2", {"w": {"start": "2026-01-01T00:00:10.000Z", "end": "2026-01-01T00:00:20.000Z"}, "device": "d2",
                 "temp": "NaN"}),
    ]


def test_a_value_column_is_written_as_it_is(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    src = sn.sources.memory("id bigint, line string")
    q = sn.start("SELECT upper(line) AS value, id FROM lines", sources={"lines": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, topic, key="id", options=ONE_A_BATCH))
    src.add_data([{"id": 7, "line": "hello"}, {"id": 8, "line": "{not json"}])
    q.process_all_available(timeout=30)
    assert read_back(kafka_broker, topic) == [(b"7", b"HELLO"), (b"8", b"{NOT JSON")]


def test_a_key_column_beside_a_value_column_is_the_messages_key_as_in_spark(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    src = sn.sources.memory("id bigint, line string")
    # the Spark guide's shape: SELECT CAST(... AS STRING) AS key, ... AS value, with no key= given
    q = sn.start("SELECT CAST(id AS STRING) AS key, upper(line) AS value FROM lines", sources={"lines": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, topic, options=ONE_A_BATCH))
    src.add_data([{"id": 1, "line": "a"}, {"id": None, "line": "b"}])
    q.process_all_available(timeout=30)
    assert read_back(kafka_broker, topic) == [(b"1", b"A"), (None, b"B")]


def test_a_headers_column_beside_value_is_written_as_the_messages_headers(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    src = sn.sources.memory("id bigint, line string")
    q = sn.start("SELECT upper(line) AS value, CASE WHEN id > 1 THEN array(named_struct('key', 'id', 'value', "
                 "CAST(CAST(id AS STRING) AS BINARY)), named_struct('key', 'src', 'value', CAST('lines' AS BINARY))) "
                 "END AS headers FROM lines", sources={"lines": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, topic, options=ONE_A_BATCH))
    src.add_data([{"id": 1, "line": "a"}, {"id": 2, "line": "b"}])
    q.process_all_available(timeout=30)
    q.stop()
    back = sn.start("SELECT value, headers, offset FROM t",
                    sources={"t": sn.sources.kafka(kafka_broker.servers, topic, include_headers=True)})
    back.process_all_available(timeout=30)
    rows = sorted(back.sink.table().to_pylist(), key=lambda r: r["offset"])
    back.stop()
    assert [(r["value"], r["headers"]) for r in rows] == [
        (b"A", None), (b"B", [{"key": "id", "value": b"2"}, {"key": "src", "value": b"lines"}])]


def test_a_headers_column_of_another_type_is_refused_at_start(kafka_broker):
    src = sn.sources.memory("line string")
    with pytest.raises(ValueError, match="must be array<struct<key: string, value: binary>>"):
        sn.start("SELECT line AS value, line AS headers FROM lines", sources={"lines": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, "anything"))


def test_an_aggregation_in_update_mode_writes_each_changed_row(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    src = sn.sources.memory("device string")
    q = sn.start("SELECT device, count(*) AS n FROM s GROUP BY device", sources={"s": src}, trigger="manual",
                 sink=sn.sinks.kafka(kafka_broker.servers, topic))
    src.add_data([{"device": "a"}, {"device": "a"}])
    q.step()
    src.add_data([{"device": "a"}])
    q.step()
    assert [json.loads(value) for _, value in read_back(kafka_broker, topic)] == [
        {"device": "a", "n": 2}, {"device": "a", "n": 3}]


def test_a_delivery_error_stops_the_query_with_the_brokers_message(kafka_broker):
    # librdkafka reports the broker's refusal of the topic as the produce request's error, or, once its metadata
    # answer came, as the topic being unknown: at delivery, or at once when the message is handed to it
    src = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM s", sources={"s": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, "no spaces allowed!"))
    src.add_data([{"n": 1}])
    with pytest.raises(sn.StreamingQueryException, match=r"kafka sink: the broker at 127\.0\.0\.1:\d+ did not "
                                                        r"take batch 0's messages to topic 'no spaces allowed!': "
                                                        r"(Unable to produce message: )?(Broker: Invalid topic|Local: Unknown topic)"):
        q.process_all_available(timeout=60)


def test_a_message_refused_at_once_fails_the_batch_with_the_sinks_message(kafka_broker):
    # once librdkafka knows the topic is unusable, produce() itself raises: the batch fails as a refused delivery
    sink = sn.sinks.kafka(kafka_broker.servers, "no spaces allowed!")
    one = pa.table({"n": [1]})
    try:
        with pytest.raises(SinkError, match="batch 0's messages"):
            sink.add_batch(0, one)
        with pytest.raises(SinkError, match=r"did not take batch 1's messages to topic 'no spaces allowed!': "
                                            r"Unable to produce message: Local: Unknown topic"):
            sink.add_batch(1, one)
    finally:
        sink.close()


def test_large_binary_keys_and_values_are_written_as_their_bytes(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    sink = sn.sinks.kafka(kafka_broker.servers, topic, key="k", options=ONE_A_BATCH)
    rows = pa.table({"k": pa.array([b"\xfe", None], pa.large_binary()), "value": pa.array([b"\xff", b"b"],
                                                                                          pa.large_binary())})
    sink.bind(rows.schema, "append")
    try:
        sink.add_batch(0, rows)
    finally:
        sink.close()
    assert read_back(kafka_broker, topic) == [(b"\xfe", b"\xff"), (None, b"b")]


def test_an_unreachable_broker_refuses_the_start_within_seconds_naming_its_address():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    began = time.monotonic()
    with pytest.raises(SinkError, match=rf"kafka sink: cannot reach the Kafka broker at 127\.0\.0\.1:{port}"):
        sn.start("SELECT n FROM s", sources={"s": sn.sources.memory("n bigint")},
                 sink=sn.sinks.kafka(f"127.0.0.1:{port}", "out"))
    assert time.monotonic() - began < 15  # not the minute a batch's messages may take to time out


def test_a_key_that_is_not_an_output_column_is_refused_at_start(kafka_broker):
    with pytest.raises(ValueError, match=r"key='id' is not a column of the query's output \(n\)"):
        sn.start("SELECT n FROM s", sources={"s": sn.sources.memory("n bigint")},
                 sink=sn.sinks.kafka(kafka_broker.servers, "t", key="id"))


def test_a_key_column_of_a_struct_is_refused_at_start_saying_how_to_make_it_text(kafka_broker):
    with pytest.raises(ValueError, match=r"the key column 'w' is struct<.*a message's key is text or bytes: write "
                                         r"CAST\(w AS STRING\), or to_json\(w\)"):
        sn.start("SELECT window(ts, '1 minute') AS w, n FROM s",
                 sources={"s": sn.sources.memory("ts timestamp, n bigint")},
                 sink=sn.sinks.kafka(kafka_broker.servers, "t", key="w"))


def test_a_value_column_that_is_not_text_is_refused_at_start(kafka_broker):
    with pytest.raises(ValueError, match="'value' column .* must be a string or binary, not int64"):
        sn.start("SELECT n AS value FROM s", sources={"s": sn.sources.memory("n bigint")},
                 sink=sn.sinks.kafka(kafka_broker.servers, "t"))


def test_decimals_dates_binary_and_maps_are_written_as_sparks_to_json_writes_them(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    schema = pa.schema([("amount", pa.decimal128(10, 2)), ("day", pa.date32()), ("raw", pa.binary()),
                        ("tags", pa.map_(pa.string(), pa.int64())), ("at", pa.timestamp("us", tz="UTC"))])
    src = sn.sources.memory(schema)
    q = sn.start("SELECT * FROM payments", sources={"payments": src},
                 sink=sn.sinks.kafka(kafka_broker.servers, topic, options=ONE_A_BATCH))
    src.add_data(pa.table({"amount": [Decimal("100.50")], "day": [date(2026, 1, 2)], "raw": [b"\xff\x00"],
                           "tags": [[("a", 1)]], "at": [datetime(2026, 1, 1, 0, 0, 1, 123456, tzinfo=UTC)]},
                          schema=schema))
    q.process_all_available(timeout=30)
    assert [json.loads(value) for _, value in read_back(kafka_broker, topic)] == [
        {"amount": 100.5, "day": "2026-01-02", "raw": "/wA=", "tags": {"a": 1}, "at": "2026-01-01T00:00:01.123Z"}]


def test_floats_are_written_as_their_shortest_text_as_sparks_to_json_writes_them(kafka_broker):
    topic = kafka_broker.create_topic(f"out-{uuid.uuid4().hex[:8]}")
    src = sn.sources.memory("id bigint, temp float")
    q = sn.start("SELECT id, temp, named_struct('t', temp) AS s, temp * 2 AS twice FROM readings",
                 sources={"readings": src}, sink=sn.sinks.kafka(kafka_broker.servers, topic, options=ONE_A_BATCH))
    src.add_data([{"id": 1, "temp": 0.1}, {"id": 2, "temp": None}])
    q.process_all_available(timeout=30)
    # Spark writes a float 0.1 as 0.1 (Float.toString), not as the float's exact value 0.10000000149011612
    assert [value for _, value in read_back(kafka_broker, topic)] == [
        b'{"id":1,"temp":0.1,"s":{"t":0.1},"twice":0.2}', b'{"id":2,"temp":null,"s":{"t":null},"twice":null}']


def test_a_time_without_a_zone_is_written_as_utc_whatever_the_kernels_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        rows = json_rows(pa.table({"at": pa.array([datetime(2026, 1, 1)], pa.timestamp("us"))}))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert rows == [b'{"at":"2026-01-01T00:00:00.000Z"}']  # not 05:00, New York's midnight


def test_an_option_librdkafka_does_not_take_is_refused_naming_it():
    with pytest.raises(ValueError, match='kafka sink: options: No such configuration property: "no.such"'):
        sn.sinks.kafka("127.0.0.1:9", "out", options={"kafka.no.such": "1"})
