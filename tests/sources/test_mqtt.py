"""The MQTT source against a real broker (mosquitto on loopback): its columns, JSON payloads, each kind of bad
payload named by topic and WAL position, an unreachable broker, at most once without a checkpoint, the
persistent session across a restart of the query, a restart of the broker, and the log let go once committed."""

import json
import re
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from mqtt_broker import publish, running_broker, wait_for

import stream_nb as sn
from stream_nb.checkpoint.files import CheckpointError
from stream_nb.sources import wal
from stream_nb.sources.errors import SourceError
from stream_nb.sources.mqtt import DEDUP_WINDOW

SCHEMA = "id bigint, device string, temperature double"


@pytest.fixture
def broker(tmp_path):
    yield from running_broker(tmp_path / "mosquitto")


def reading(i, device="d1"):
    return json.dumps({"id": i, "device": device, "temperature": 20 + i / 10})


def test_messages_arrive_with_topic_payload_qos_and_receive_time(broker, tmp_path):
    src = sn.sources.mqtt(broker.address, "sensors/#")
    q = sn.start("SELECT topic, payload, qos, timestamp FROM m", sources={"m": src}, checkpoint=tmp_path / "cp")
    before = pd.Timestamp.now(tz="UTC")
    publish(broker, "sensors/a", [b"one", b"two"])
    publish(broker, "sensors/b", [b"three"], qos=0)
    wait_for(src, 3)
    after = pd.Timestamp.now(tz="UTC")
    q.process_all_available(timeout=30)
    rows = q.result
    assert rows[["topic", "payload", "qos"]].values.tolist() == [
        ["sensors/a", b"one", 1], ["sensors/a", b"two", 1], ["sensors/b", b"three", 0]]
    assert str(rows["timestamp"].dt.tz) == "UTC"
    assert rows["timestamp"].between(before, after).all()  # the receive time


def test_schema_parses_each_json_payload_into_columns(broker, tmp_path):
    src = sn.sources.mqtt(broker.address, "sensors/+", schema=SCHEMA)
    q = sn.start("SELECT topic, id, device, temperature FROM m", sources={"m": src}, checkpoint=tmp_path / "cp")
    publish(broker, "sensors/x", [reading(1, "d1"), json.dumps({"id": 2, "device": "d2"})])
    wait_for(src, 2)
    q.process_all_available(timeout=30)
    assert q.result.astype(object).where(q.result.notna(), None).values.tolist() == [
        ["sensors/x", 1, "d1", 20.1], ["sensors/x", 2, "d2", None]]  # a field left out is null, as in Spark


def test_a_schema_column_named_like_a_source_column_is_refused():
    with pytest.raises(ValueError, match="schema= column 'timestamp' clashes with the MQTT source's own column"):
        sn.sources.mqtt("localhost:1883", "t", schema="timestamp timestamp, temperature double")


@pytest.mark.parametrize(("payload", "what"), [
    (b"not json", "JSON parse error"),
    (b"[1, 2]", "must be a JSON object, not an array"),
    (b'{"id": "seven"}', "column 'id': expected"),
    (b'{"id": 2.5}', "column 'id' is bigint but holds 2.5"),
    (b"", "empty, not a JSON object"),
    (b'{"device": "\xff"}', "invalid UTF-8 (byte 0xff"),
    (b'{"id": 2}\n{"id": 3}', "it holds more than one JSON object"),
], ids=["not-json", "not-an-object", "wrong-type", "fraction-for-int", "empty", "not-utf8", "two-objects"])
def test_a_bad_payload_fails_the_batch_naming_its_topic_and_wal_position_and_is_kept(broker, tmp_path,
                                                                                      payload, what):
    checkpoint = tmp_path / "cp"
    src = sn.sources.mqtt(broker.address, "sensors/#", schema=SCHEMA)
    q = sn.start("SELECT id FROM m", sources={"m": src}, checkpoint=checkpoint, trigger="manual")
    publish(broker, "sensors/good", [reading(0), reading(1)])
    wait_for(src, 2)
    q.step()  # the good ones are committed
    publish(broker, "sensors/bad", [payload])
    wait_for(src, 3)
    with pytest.raises(sn.StreamingQueryException) as err:
        q.step()
    message = str(err.value.__cause__)
    assert "MQTT topic 'sensors/bad', WAL position 2" in message and what in message
    assert str(checkpoint / "sources" / "0" / "wal") in message
    assert q.result["id"].tolist() == [0, 1]
    # nothing lost: the message is still in the log, and a restart reads it again
    again = sn.sources.mqtt(broker.address, "sensors/#", schema=SCHEMA)
    q = sn.start("SELECT id FROM m", sources={"m": again}, checkpoint=checkpoint, trigger="manual")
    assert again.latest_offset() == 3
    with pytest.raises(sn.StreamingQueryException, match="WAL position 2"):
        q.step()


def test_an_unreachable_broker_refuses_the_start_naming_its_address(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceError, match=f"cannot reach the MQTT broker at 127.0.0.1:{port}: .*refused"):
        sn.start("SELECT * FROM m", sources={"m": sn.sources.mqtt(f"127.0.0.1:{port}", "t")},
                 checkpoint=tmp_path / "cp")
    assert sn.queries() == []


def test_a_server_that_does_not_speak_mqtt_is_reported_after_connect_timeout(tmp_path):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        src = sn.sources.mqtt(address, "t", connect_timeout=0.5)
        with pytest.raises(SourceError, match=f"the MQTT broker at {address} did not let .* subscribe: no answer "
                                              "within 0.5 s"):
            sn.start("SELECT * FROM m", sources={"m": src}, checkpoint=tmp_path / "cp")


def test_without_a_checkpoint_delivery_is_at_most_once_and_says_so(broker):
    src = sn.sources.mqtt(broker.address, "t")
    with pytest.warns(UserWarning, match="without a checkpoint delivers at most once"):
        q = sn.start("SELECT payload FROM m", sources={"m": src})
    publish(broker, "t", [b"a", b"b"])
    wait_for(src, 2)
    q.process_all_available(timeout=30)
    assert q.result["payload"].tolist() == [b"a", b"b"]
    q.stop()
    publish(broker, "t", [b"while stopped"])  # no session kept for it: gone
    again = sn.sources.mqtt(broker.address, "t")
    with pytest.warns(UserWarning):
        q = sn.start("SELECT payload FROM m", sources={"m": again})
    publish(broker, "t", [b"c"])
    wait_for(again, 1)
    q.process_all_available(timeout=30)
    assert q.result["payload"].tolist() == [b"c"]


def test_messages_published_while_the_query_is_stopped_arrive_when_it_restarts(broker, tmp_path):
    checkpoint = tmp_path / "cp"
    sink = tmp_path / "out"

    def run(expect):
        src = sn.sources.mqtt(broker.address, "t/#")
        q = sn.start("SELECT payload FROM m", sources={"m": src}, checkpoint=checkpoint,
                     sink=sn.sinks.files(sink, format="parquet"))
        wait_for(src, expect)
        q.process_all_available(timeout=30)
        q.stop()

    publish(broker, "t/1", [b"before the first start"])  # no session yet: not for this query
    run(0)
    publish(broker, "t/1", [b"m1", b"m2"])
    run(2)
    publish(broker, "t/2", [b"m3"])
    run(3)
    assert sn.read_files_sink(sink)["payload"].tolist() == [b"m1", b"m2", b"m3"]


def test_the_query_survives_the_broker_restarting(broker, tmp_path):
    src = sn.sources.mqtt(broker.address, "t")
    q = sn.start("SELECT payload FROM m", sources={"m": src}, checkpoint=tmp_path / "cp")
    publish(broker, "t", [b"before"])
    wait_for(src, 1)
    broker.restart()
    publish(broker, "t", [b"after"])  # the session outlived the broker's restart; the query reconnects
    wait_for(src, 2)
    q.process_all_available(timeout=30)
    assert q.is_active
    assert q.result["payload"].tolist() == [b"before", b"after"]


def test_committed_messages_are_let_go_from_the_log_keeping_the_last_ones(broker, tmp_path, monkeypatch):
    monkeypatch.setattr(wal, "SEGMENT_RECORDS", 500)  # small segments, so that some fill and go
    checkpoint = tmp_path / "cp"
    src = sn.sources.mqtt(broker.address, "t")
    q = sn.start("SELECT count(*) AS n FROM m", sources={"m": src}, checkpoint=checkpoint, trigger="manual")
    total = 3 * DEDUP_WINDOW
    publish(broker, "t", [str(i).encode() for i in range(total)])
    wait_for(src, total)
    q.step()
    assert q.result["n"].tolist() == [total]
    first = min(int(p.stem) for p in (checkpoint / "sources" / "0" / "wal").iterdir())
    assert 0 < first <= total - DEDUP_WINDOW  # the segments before were deleted
    q.stop()


def test_a_checkpoint_whose_session_file_is_gone_is_refused_naming_it(broker, tmp_path):
    checkpoint = tmp_path / "cp"
    src = sn.sources.mqtt(broker.address, "t")
    q = sn.start("SELECT payload FROM m", sources={"m": src}, checkpoint=checkpoint)
    publish(broker, "t", [b"a"])
    wait_for(src, 1)
    q.process_all_available(timeout=30)
    q.stop()
    session = checkpoint / "sources" / "0" / "mqtt.json"
    session.unlink()
    with pytest.raises(CheckpointError, match=f"checkpoint file {session} is missing, but .* holds messages"):
        sn.start("SELECT payload FROM m", sources={"m": sn.sources.mqtt(broker.address, "t")},
                 checkpoint=checkpoint)


def test_offsets_are_log_positions_that_read_the_same_messages_after_a_restart(broker, tmp_path):
    checkpoint = tmp_path / "cp"
    src = sn.sources.mqtt(broker.address, "t/#", schema=SCHEMA)
    q = sn.start("SELECT id FROM m", sources={"m": src}, checkpoint=checkpoint, trigger="manual")
    publish(broker, "t/a", [reading(i) for i in range(3)])
    wait_for(src, 3)
    before = src.read(0, 3)
    q.stop()
    again = sn.sources.mqtt(broker.address, "t/#", schema=SCHEMA)
    q = sn.start("SELECT id FROM m", sources={"m": again}, checkpoint=checkpoint, trigger="manual")
    assert again.latest_offset() == 3
    assert again.read(0, 3).equals(before)  # receive times included: they are in the log
    assert again.read(1, 3).equals(before.slice(1))


def test_a_broker_that_refuses_the_login_is_reported_naming_it_and_why(tmp_path):
    with contextmanager(running_broker)(tmp_path / "mosquitto", users={"sensor": "s3cret"}) as broker:
        wrong = sn.sources.mqtt(broker.address, "t", username="sensor", password="guess")
        with pytest.raises(SourceError, match=f"the MQTT broker at {broker.address} did not let .* subscribe: it "
                                              "refused the connection \\(Not authorized\\)"):
            sn.start("SELECT payload FROM m", sources={"m": wrong}, checkpoint=tmp_path / "cp")
        right = sn.sources.mqtt(broker.address, "t", username="sensor", password="s3cret")
        q = sn.start("SELECT payload FROM m", sources={"m": right}, checkpoint=tmp_path / "cp")
        assert "s3cret" not in right.description + repr(right)
        q.stop()


def test_a_single_level_wildcard_reads_the_matching_topics_only_and_cast_payload_as_string_is_its_text(broker,
                                                                                                         tmp_path):
    src = sn.sources.mqtt(broker.address, "sensors/+/temp")
    q = sn.start("SELECT topic, CAST(payload AS STRING) AS text FROM m", sources={"m": src},
                 checkpoint=tmp_path / "cp")
    publish(broker, "sensors/a/temp", ["20.5"])
    publish(broker, "sensors/a/humidity", ["40"])
    publish(broker, "sensors/b/temp", ["caf\u00e9"])
    wait_for(src, 2)
    q.process_all_available(timeout=30)
    assert q.result.values.tolist() == [["sensors/a/temp", "20.5"], ["sensors/b/temp", "caf\u00e9"]]
    q.stop()


@pytest.mark.parametrize("topic", ["sensors/#/temp", "sensors/a#", "sensors/+a/temp"])
def test_a_topic_filter_with_a_misplaced_wildcard_is_refused_naming_the_level(topic):
    with pytest.raises(ValueError, match=re.escape(f"topic filter {topic!r}: level ") + ".* misplaces a wildcard"):
        sn.sources.mqtt("localhost:1883", topic)
