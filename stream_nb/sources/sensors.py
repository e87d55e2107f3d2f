"""The sensors source: simulated IoT readings for teaching event time, disorder and late data.

Every value is a pure function of (seed, offset): a counter-based hash (SplitMix64 of the seed, a stream
number and the row index) replaces a sequential random generator, so row i is the same whichever batches
read it.
"""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa

from stream_nb.intervals import parse_interval
from stream_nb.sources.errors import check_offsets
from stream_nb.sources.rate import Clock, Schedule, Scheduled, timestamp_array
from stream_nb.types import TIMESTAMP

DEFAULT_SEED = 42
# Late rows fall this far behind their nominal time: between LATE_LOW and 2.5 x LATE_LOW, where
# LATE_LOW = max(2 x disorder, 30 s), so a watermark with a delay of `disorder` drops them.
_MIN_LATENESS_US = 30_000_000

# One hash stream per random quantity, so that they are independent of each other.
_DISORDER, _LATE, _LATENESS, _NOISE_T, _NOISE_T2, _NOISE_H = range(6)
_BASE_T, _BASE_H, _PERIOD, _PHASE, _SWING = range(10, 15)

_U64 = np.uint64


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps around, as the algorithm intends
        z = x + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _uniform(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Floats in [0, 1), one per index: the same index always gives the same number."""
    key = _splitmix64(np.array([seed ^ (stream << 56)], dtype=np.uint64))
    with np.errstate(over="ignore"):
        bits = _splitmix64(key + index.astype(np.uint64) * _U64(0xD1B54A32D192ED03))
    return (bits >> _U64(11)).astype(np.float64) * 2.0**-53


class SensorsSource(Scheduled):
    """Simulated readings from ``devices`` sensors; offsets are row numbers (see ``sensors``)."""

    def __init__(self, devices: int = 5, rows_per_second: float = 20, *, disorder="0 seconds",
                 late_fraction: float = 0.0, seed: int | None = None, start_time=None,
                 clock: Clock | None = None):
        if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
            raise ValueError(f"devices must be a positive int, not {devices!r}")
        if not 0.0 <= late_fraction <= 1.0:
            raise ValueError(f"late_fraction is a share of rows between 0 and 1, not {late_fraction!r}")
        self.disorder = parse_interval(disorder)
        if self.disorder < datetime.timedelta(0):
            raise ValueError(f"disorder must not be negative, not {disorder!r}")
        self.devices, self.rows_per_second, self.late_fraction = devices, rows_per_second, late_fraction
        self.seed = DEFAULT_SEED if seed is None else int(seed) % 2**64
        self._schedule = Schedule(rows_per_second, None, start_time, clock)
        self.start_time = self._schedule.start_time
        self.schema = pa.schema([
            pa.field("ts", TIMESTAMP), pa.field("device", pa.string()),
            pa.field("temperature", pa.float64()), pa.field("humidity", pa.float64()),
        ])
        self.description = (
            f"SensorsSource[devices={devices}, rowsPerSecond={rows_per_second:g}, "
            f"disorder={self.disorder.total_seconds():g} seconds, lateFraction={late_fraction:g}, "
            f"seed={self.seed}]"
        )
        width = max(2, len(str(devices)))
        self._names = pa.array([f"sensor-{d + 1:0{width}d}" for d in range(devices)], type=pa.string())

    def latest_offset(self) -> int:
        """Rows whose nominal time has passed on the wall clock (or on ``clock``)."""
        return self._schedule.due()

    def read(self, start: int, end: int) -> pa.Table:
        """Rows ``start`` to ``end`` (exclusive): a pure function of the seed and the offsets."""
        check_offsets(start, end, None, self.description)
        index = np.arange(start, end, dtype=np.int64)
        device = index % self.devices
        ts_us = self._event_times_us(index)
        temperature, humidity = self._readings(device, ts_us / 1e6, index)
        columns = [
            timestamp_array(ts_us), self._names.take(pa.array(device)),
            pa.array(temperature, type=pa.float64()), pa.array(humidity, type=pa.float64()),
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _event_times_us(self, index: np.ndarray) -> np.ndarray:
        """Nominal time, shifted back uniformly within ``disorder``, or far back for the late rows."""
        disorder_us = self.disorder // datetime.timedelta(microseconds=1)
        shift = np.floor(_uniform(self.seed, _DISORDER, index) * disorder_us)
        late_low = max(2 * disorder_us, _MIN_LATENESS_US)
        lateness = late_low * (1 + 1.5 * _uniform(self.seed, _LATENESS, index))
        late = _uniform(self.seed, _LATE, index) < self.late_fraction
        return self._schedule.timestamps_us(index) - np.where(late, lateness, shift).astype(np.int64)

    def _readings(self, device: np.ndarray, seconds: np.ndarray, index: np.ndarray):
        """Temperature (°C) and humidity (%): a per-device base, a slow wave over event time, small noise."""
        seed = self.seed
        base_t = 18 + 8 * _uniform(seed, _BASE_T, device)
        base_h = 30 + 40 * _uniform(seed, _BASE_H, device)
        period = 120 + 240 * _uniform(seed, _PERIOD, device)  # seconds: a few minutes, visible in a notebook
        wave = np.sin(2 * np.pi * (seconds / period + _uniform(seed, _PHASE, device)))
        swing = 1 + _uniform(seed, _SWING, device)
        # Triangular noise (sum of two uniforms) looks more like a sensor than flat noise.
        noise = _uniform(seed, _NOISE_T, index) + _uniform(seed, _NOISE_T2, index) - 1
        temperature = base_t + swing * wave + 0.3 * noise
        # Warmer air holds more water, so relative humidity falls when temperature rises.
        humidity = base_h - 4 * swing * wave + 2 * (_uniform(seed, _NOISE_H, index) - 0.5)
        return np.round(temperature, 2), np.round(np.clip(humidity, 0, 100), 1)

    def publish(self, broker, topic: str | None = None, *, qos: int = 1, limit: int | None = None,
                key: str | None = "device", options: dict | None = None):
        """Publish these readings as they come due, each a JSON object, from a thread; returns the ``Publisher``
        (``stop()``, ``published``, ``error``). ``limit``: stop after that many rows.

        To MQTT: ``broker`` is ``"host:port"`` (or ``"mqtt://host:port"``, or ``sn.sources.mqtt_broker()``
        itself); ``topic`` defaults to one per device, ``"sensors/{device}"``, published with ``qos``.
        To Kafka: ``broker`` is ``"kafka://host:port[,...]"`` (or ``sn.sources.kafka_broker()`` itself);
        ``topic`` defaults to ``"sensors"`` (it must exist, or the broker create topics), each message keyed by
        its ``key`` column (the device: one device's readings stay in order in one partition); ``options`` are
        librdkafka producer settings. For a whole IoT pipeline on one machine, read them back with
        ``sn.sources.mqtt(broker.address, "sensors/#", schema=...)`` or ``sn.sources.kafka(broker.servers,
        "sensors", schema=...)``."""
        # paho-mqtt or confluent-kafka: imported only by those who publish
        from stream_nb.sources.publish import Publisher

        if isinstance(broker, str) and broker.startswith("kafka://"):
            protocol, broker = "kafka", broker.removeprefix("kafka://")
        elif not isinstance(broker, str) and hasattr(broker, "servers"):  # a Kafka broker object (Tansu)
            protocol, broker = "kafka", broker.servers
        else:
            protocol, broker = "mqtt", getattr(broker, "address", broker)
        if topic is None:
            topic = "sensors" if protocol == "kafka" else "sensors/{device}"
        return Publisher(self, broker, topic, qos=qos, limit=limit, protocol=protocol,
                         key=key if protocol == "kafka" else None, options=options)

    def __repr__(self) -> str:
        return f"{self.description} from {self.start_time.isoformat()}"


def sensors(devices: int = 5, rows_per_second: float = 20, *, disorder="0 seconds",
            late_fraction: float = 0.0, seed: int | None = None, start_time=None,
            clock: Clock | None = None) -> SensorsSource:
    """Simulated IoT readings: ``ts``, ``device`` ("sensor-01"...), ``temperature`` (°C), ``humidity`` (%).

    Row i comes from device ``i % devices`` and is due at its nominal time
    ``start_time + i / rows_per_second``.
    Its event time ``ts`` is that time shifted back by a uniform random amount below ``disorder``, so rows
    arrive out of order by less than ``disorder`` (a watermark with that delay drops none of them). A
    ``late_fraction`` of the rows is shifted much further back, between L and 2.5 L where
    L = max(2 x disorder, 30 seconds): late data for a watermark to drop. Temperatures drift smoothly around a
    per-device base of 18-26 °C, humidity around 30-70 %.

    Args:
        devices: how many sensors.
        rows_per_second: readings per second, over all devices.
        disorder: a duration like ``"2 seconds"``: the bound on out-of-order event times.
        late_fraction: share of rows (0 to 1) that arrive late.
        seed: any int; None means ``DEFAULT_SEED`` (42), so a notebook shows the same data every run.
        start_time: nominal time of row 0: a datetime or ISO 8601 string (naive means UTC); default: now.
        clock: seconds since the epoch, instead of ``time.time`` (for tests and replays).

    >>> src = sensors(devices=2, rows_per_second=4, start_time="2024-05-01 12:00:00")
    >>> src.read(0, 3).to_pandas()
                                 ts     device  temperature  humidity
    0 2024-05-01 12:00:00.000+00:00  sensor-01        22.12      54.4
    1 2024-05-01 12:00:00.250+00:00  sensor-02        21.93      49.6
    2 2024-05-01 12:00:00.500+00:00  sensor-01        22.41      55.5
    """
    return SensorsSource(devices, rows_per_second, disorder=disorder, late_fraction=late_fraction, seed=seed,
                         start_time=start_time, clock=clock)
