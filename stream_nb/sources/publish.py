"""A simulator's rows published to an MQTT broker or a Kafka topic as they come due, so that a notebook can show
a whole IoT pipeline on one machine: ``sn.sources.sensors(...).publish(broker)`` is the devices, a broker carries
their readings, and ``sn.sources.mqtt`` (or ``sn.sources.kafka``) reads them back as a stream.
"""

from __future__ import annotations

import json
import threading

import pyarrow as pa

_POLL_SECONDS = 0.02  # how often the publisher looks for rows that have come due


class _Mqtt:
    """Each message published with ``qos``; ``finish`` returns once the broker acknowledged what was sent."""

    def __init__(self, broker: str, qos: int):
        from stream_nb.sources.mqtt import _address, _paho  # paho-mqtt, only for those who publish to MQTT

        host, port = _address(broker)
        self.qos = qos
        self._unacknowledged: list = []  # paho's MQTTMessageInfo of each message the broker has not acknowledged
        paho = _paho()[0]
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.max_inflight_messages_set(1000)
        try:
            self._client.connect(host, port)
        except OSError as err:
            raise ConnectionError(f"cannot reach the MQTT broker at {host}:{port} to publish to: {err}") from None
        self._client.loop_start()

    def send(self, messages: list[tuple[str, bytes, bytes | None]]) -> None:
        for topic, payload, _ in messages:
            self._unacknowledged.append(self._client.publish(topic, payload, qos=self.qos))
        self._unacknowledged = [info for info in self._unacknowledged if not info.is_published()]

    def finish(self) -> None:
        for info in self._unacknowledged:  # what was handed to the client reaches the broker first
            info.wait_for_publish(timeout=10)
        self._client.disconnect()
        self._client.loop_stop()


class _Kafka:
    """Each message produced by an idempotent producer and flushed before the next: a Kafka-protocol broker may
    show a partition's end as the first offset of its last batch plus one (Tansu 0.6 does), which would hide a
    batch's newer readings from a reader until more came; a simulator's rate makes one round trip each cheap."""

    DELIVERY_SECONDS = 30

    def __init__(self, servers: str, options: dict | None):
        from stream_nb.sources.kafka import _LOG, _client

        kafka = _client()
        self._producer = kafka.Producer({"bootstrap.servers": servers, "enable.idempotence": True, "linger.ms": 0,
                                         "message.timeout.ms": self.DELIVERY_SECONDS * 1000,
                                         **{k.removeprefix("kafka."): v for k, v in (options or {}).items()}},
                                        logger=_LOG)
        self.servers = servers
        try:  # an unreachable broker is said now, as for MQTT, not after the first message's timeout
            self._producer.list_topics(timeout=5)
        except kafka.KafkaException as err:
            raise ConnectionError(f"cannot reach the Kafka broker at {servers} to publish to: "
                                  f"{err.args[0].str()}") from None

    def send(self, messages: list[tuple[str, bytes, bytes | None]]) -> None:
        failed = []

        def delivered(err, message) -> None:
            if err is not None:
                failed.append(err)

        for topic, payload, key in messages:
            self._producer.produce(topic, value=payload, key=key, on_delivery=delivered)
            left = self._producer.flush(self.DELIVERY_SECONDS + 5)
            if failed or left:
                raise ConnectionError(f"the Kafka broker at {self.servers} did not take a reading for topic "
                                      f"{topic!r}: {failed[0].str() if failed else 'no acknowledgement'}")

    def finish(self) -> None:
        self._producer.flush(10)


class Publisher:
    """A thread publishing ``source``'s rows, each as a JSON object, to ``topic`` (``{column}`` placeholders
    take the row's values, e.g. ``sensors/{device}``), from row 0 on, each once its time has come. ``protocol``
    is ``"mqtt"`` (``broker`` is ``host:port``, with ``qos``) or ``"kafka"`` (``broker`` is the bootstrap
    servers; ``key`` names the column whose value keys each message, ``options`` are librdkafka settings)."""

    def __init__(self, source, broker: str, topic: str, *, qos: int = 1, limit: int | None = None,
                 protocol: str = "mqtt", key: str | None = None, options: dict | None = None):
        names = source.schema.names
        if protocol not in ("mqtt", "kafka"):
            raise ValueError(f"publish: protocol is 'mqtt' or 'kafka', not {protocol!r}")
        if key is not None and key not in names:
            raise ValueError(f"publish: key={key!r} is not a column of the rows ({', '.join(names)})")
        self.source, self.topic, self.limit, self.protocol, self.key = source, topic, limit, protocol, key
        self.published = 0
        self._placeholders = [name for name in names if "{" + name + "}" in topic]
        self._stop = threading.Event()
        self.error: Exception | None = None
        self._transport = _Mqtt(broker, qos) if protocol == "mqtt" else _Kafka(broker, options)
        self._thread = threading.Thread(target=self._run, name=f"publish {topic}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                due = self.source.latest_offset()
                if self.limit is not None:
                    due = min(due, self.limit)
                if due > self.published:
                    self._transport.send(self._messages(self.source.read(self.published, due)))
                    self.published = due
                if self.limit is not None and self.published >= self.limit:
                    break
                self._stop.wait(_POLL_SECONDS)
        except Exception as err:  # noqa: BLE001 - kept for the notebook to see (publisher.error)
            self.error = err
        finally:
            self._transport.finish()

    def _messages(self, rows: pa.Table) -> list[tuple[str, bytes, bytes | None]]:
        """(topic, JSON payload, key) of each row; timestamps as ISO 8601 text."""
        times = {f.name for f in rows.schema if pa.types.is_timestamp(f.type)}
        messages = []
        for row in rows.to_pylist():
            message = {k: v.isoformat() if k in times and v is not None else v for k, v in row.items()}
            topic = self.topic.format(**{k: row[k] for k in self._placeholders}) if self._placeholders else self.topic
            key = None if self.key is None or row[self.key] is None else str(row[self.key]).encode()
            messages.append((topic, json.dumps(message).encode(), key))
        return messages

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the publisher has sent its ``limit`` rows (or was stopped)."""
        self._thread.join(timeout)

    def stop(self) -> None:
        """Stop publishing; returns once the broker has every row published so far (``published``)."""
        self._stop.set()
        self._thread.join()

    def __repr__(self) -> str:
        state = "publishing" if self.is_alive else "stopped"
        return f"<Publisher to {self.protocol} {self.topic!r}: {self.published} rows sent, {state}>"
