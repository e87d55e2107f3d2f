"""The sensors source: simulated IoT readings, a pure function of (seed, offset)."""

import datetime

import numpy as np
import pyarrow as pa
import pytest

from stream_nb import sources
from stream_nb.sources.sensors import DEFAULT_SEED
from stream_nb.types import TIMESTAMP

START = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
START_US = int(START.timestamp()) * 1_000_000


def micros(table):
    return table.column("ts").cast(pa.int64()).to_numpy()


def nominal_us(n, rows_per_second):
    return START_US + np.floor(np.arange(n) * 1e6 / rows_per_second).astype(np.int64)


def test_sensors_schema_is_ts_device_temperature_humidity():
    src = sources.sensors(start_time=START)
    assert src.schema == pa.schema([("ts", TIMESTAMP), ("device", pa.string()),
                                    ("temperature", pa.float64()), ("humidity", pa.float64())])
    assert src.read(0, 0).schema == src.schema == src.read(0, 100).schema


def test_sensors_rows_are_a_pure_function_of_seed_and_offset():
    src = sources.sensors(disorder="2 seconds", late_fraction=0.1, seed=7, start_time=START)
    whole = src.read(0, 10)
    assert whole.equals(pa.concat_tables([src.read(0, 4), src.read(4, 10)]).combine_chunks())
    assert src.read(3, 6).equals(whole.slice(3, 3))
    again = sources.sensors(disorder="2 seconds", late_fraction=0.1, seed=7, start_time=START)
    assert again.read(0, 10).equals(whole)
    other_seed = sources.sensors(disorder="2 seconds", late_fraction=0.1, seed=8, start_time=START)
    assert not other_seed.read(0, 10).equals(whole)


def test_sensors_seed_none_is_the_fixed_default_seed():
    assert sources.sensors(start_time=START).read(0, 50).equals(
        sources.sensors(seed=DEFAULT_SEED, start_time=START).read(0, 50))
    assert "seed=42" in sources.sensors().description


def test_sensors_device_is_the_offset_modulo_devices():
    table = sources.sensors(devices=12, start_time=START).read(10, 15)
    expected = ["sensor-11", "sensor-12", "sensor-01", "sensor-02", "sensor-03"]
    assert table.column("device").to_pylist() == expected


def test_sensors_without_disorder_event_time_is_the_nominal_time():
    table = sources.sensors(rows_per_second=20, start_time=START).read(0, 100)
    assert (micros(table) == nominal_us(100, 20)).all()


def test_sensors_out_of_order_within_the_disorder_bound():
    n, disorder_us = 5000, 2_000_000
    ts = micros(sources.sensors(rows_per_second=50, disorder="2 seconds", start_time=START).read(0, n))
    behind = nominal_us(n, 50) - ts
    assert behind.min() >= 0 and behind.max() < disorder_us
    assert (np.diff(ts) < 0).any()  # really out of order
    # No row is as much as `disorder` behind the latest event time seen before it: a watermark of that delay
    # drops nothing.
    latest_before = np.maximum.accumulate(ts)[:-1]
    assert (latest_before - ts[1:]).max() < disorder_us


def test_sensors_late_fraction_roughly_matches():
    n = 20_000
    src = sources.sensors(rows_per_second=100, disorder="2 seconds", late_fraction=0.1, start_time=START)
    behind = nominal_us(n, 100) - micros(src.read(0, n))
    late = behind >= 2_000_000
    assert 0.085 < late.mean() < 0.115
    # Late rows fall far behind: at least 30 s (twice the disorder is less), at most 2.5 times that.
    assert behind[late].min() >= 30_000_000 and behind[late].max() <= 75_000_000


def test_sensors_lateness_scales_with_a_large_disorder():
    n = 2000
    src = sources.sensors(rows_per_second=10, disorder="1 minute", late_fraction=0.5, start_time=START)
    behind = nominal_us(n, 10) - micros(src.read(0, n))
    late = behind[behind >= 60_000_000]
    assert late.min() >= 120_000_000 and late.max() <= 300_000_000  # between 2 and 5 times the disorder


def test_sensors_readings_are_plausible_and_drift_smoothly_per_device():
    table = sources.sensors(devices=3, rows_per_second=30, start_time=START).read(0, 30 * 600).to_pandas()
    assert table.temperature.between(15, 30).all() and table.humidity.between(0, 100).all()
    for _, device in table.groupby("device"):
        assert device.temperature.diff().abs().max() < 1.0  # one reading a tenth of a second later
        assert device.temperature.max() - device.temperature.min() > 1.0  # but it does drift
    assert table.groupby("device").temperature.mean().nunique() == 3


def test_sensors_latest_offset_follows_the_clock():
    now = [START.timestamp()]
    src = sources.sensors(rows_per_second=20, start_time=START, clock=lambda: now[0])
    assert src.latest_offset() == 0
    now[0] += 10
    assert src.latest_offset() == 200


def test_sensors_default_start_time_is_creation_time_on_the_clock():
    src = sources.sensors(clock=lambda: START.timestamp() + 0.5)
    assert src.start_time == START + datetime.timedelta(seconds=0.5)
    assert src.latest_offset() == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"devices": 0}, "devices must be a positive int"),
    ({"late_fraction": 1.5}, "late_fraction is a share of rows between 0 and 1"),
    ({"disorder": "two seconds"}, "cannot read 'two seconds' as a duration"),
])
def test_sensors_rejects_bad_arguments_saying_what_to_give(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sources.sensors(**kwargs)
