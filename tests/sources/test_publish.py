"""The sensors simulator publishing to MQTT: its rows, each once, as JSON on a topic per device, read back by
the MQTT source exactly as the simulator makes them."""

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from mqtt_broker import running_broker, wait_for

import stream_nb as sn

READINGS = "ts timestamp, device string, temperature double, humidity double"


@pytest.fixture
def broker(tmp_path):
    yield from running_broker(tmp_path / "mosquitto")


def test_published_readings_come_back_through_the_mqtt_source_as_the_simulator_made_them(broker, tmp_path):
    simulator = sn.sources.sensors(devices=3, rows_per_second=10, disorder="2 seconds",
                                   start_time=datetime.now(UTC) - timedelta(seconds=10))
    src = sn.sources.mqtt(broker.address, "sensors/#", schema=READINGS)
    q = sn.start("SELECT topic, ts, device, temperature, humidity FROM readings", sources={"readings": src},
                 checkpoint=tmp_path / "cp")
    publisher = simulator.publish(broker.address, limit=30)
    publisher.join(timeout=60)
    assert (publisher.published, publisher.error) == (30, None)
    wait_for(src, 30)
    q.process_all_available(timeout=30)
    got = q.result
    expected = simulator.read(0, 30).to_pandas()
    assert got[["ts", "device", "temperature", "humidity"]].equals(expected)
    assert (got["topic"] == "sensors/" + got["device"]).all()


def test_publishing_to_an_unreachable_broker_is_an_error_naming_it():
    with pytest.raises(ConnectionError, match="cannot reach the MQTT broker at 127.0.0.1:1 to publish to: .*refused"):
        sn.sources.sensors().publish("127.0.0.1:1")


@pytest.fixture
def kafka_broker(tmp_path):
    from kafka_broker import Tansu

    with Tansu.started(tmp_path / "tansu") as started:
        yield started


def test_published_readings_come_back_through_the_kafka_source_keyed_by_device(kafka_broker):
    kafka_broker.create_topic("sensors", 3)
    simulator = sn.sources.sensors(devices=3, rows_per_second=10, disorder="2 seconds",
                                   start_time=datetime.now(UTC) - timedelta(seconds=10))
    publisher = simulator.publish(kafka_broker, limit=30)
    publisher.join(timeout=60)
    assert (publisher.published, publisher.error) == (30, None)
    src = sn.sources.kafka(kafka_broker.servers, "sensors", schema=READINGS)
    q = sn.start("SELECT key, partition, ts, device, temperature, humidity FROM readings", sources={"readings": src})
    q.process_all_available(timeout=30)
    got = q.result.sort_values(["ts", "device"], ignore_index=True)
    expected = simulator.read(0, 30).to_pandas().sort_values(["ts", "device"], ignore_index=True)
    assert got[["ts", "device", "temperature", "humidity"]].equals(expected)
    assert (got["key"] == got["device"].str.encode("utf-8")).all()
    assert got.groupby("device")["partition"].nunique().eq(1).all()  # one device's readings in one partition
    q.stop()


def test_publishing_to_kafka_by_address_takes_the_kafka_scheme(kafka_broker):
    kafka_broker.create_topic("readings", 1)
    publisher = sn.sources.sensors(devices=2, start_time=datetime.now(UTC) - timedelta(seconds=5)).publish(
        f"kafka://{kafka_broker.servers}", "readings", limit=4)
    publisher.join(timeout=60)
    assert (publisher.published, publisher.error, publisher.protocol) == (4, None, "kafka")


def test_publishing_to_an_unreachable_kafka_broker_is_an_error_naming_it():
    with pytest.raises(ConnectionError, match="cannot reach the Kafka broker at 127.0.0.1:1 to publish to"):
        sn.sources.sensors().publish("kafka://127.0.0.1:1")
