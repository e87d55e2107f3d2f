"""A simulator's rows published to an MQTT broker as they come due, so that a notebook can show a whole IoT
pipeline on one machine: ``sn.sources.sensors(...).publish(broker.address)`` is the devices, a broker carries
their readings, and ``sn.sources.mqtt`` reads them back as a stream.
"""

from __future__ import annotations

import json
import threading

import pyarrow as pa

from stream_nb.sources.mqtt import _address, _paho

_POLL_SECONDS = 0.02  # how often the publisher looks for rows that have come due


class Publisher:
    """A thread publishing ``source``'s rows, each as a JSON object, to ``topic`` (``{column}`` placeholders
    take the row's values, e.g. ``sensors/{device}``), from row 0 on, each once its time has come."""

    def __init__(self, source, broker: str, topic: str, *, qos: int = 1, limit: int | None = None):
        host, port = _address(broker)
        placeholders = [name for name in source.schema.names if "{" + name + "}" in topic]
        self.source, self.topic, self.qos, self.limit = source, topic, qos, limit
        self.published = 0
        self._placeholders = placeholders
        self._stop = threading.Event()
        self._unacknowledged: list = []  # paho's MQTTMessageInfo of each message the broker has not acknowledged
        self.error: Exception | None = None
        paho = _paho()[0]
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.max_inflight_messages_set(1000)
        try:
            self._client.connect(host, port)
        except OSError as err:
            raise ConnectionError(f"cannot reach the MQTT broker at {host}:{port} to publish to: {err}") from None
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name=f"publish {topic}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                due = self.source.latest_offset()
                if self.limit is not None:
                    due = min(due, self.limit)
                if due > self.published:
                    self._send(self.source.read(self.published, due))
                    self.published = due
                if self.limit is not None and self.published >= self.limit:
                    break
                self._stop.wait(_POLL_SECONDS)
        except Exception as err:  # noqa: BLE001 - kept for the notebook to see (publisher.error)
            self.error = err
        finally:
            for info in self._unacknowledged:  # what was handed to the client reaches the broker first
                info.wait_for_publish(timeout=10)
            self._client.disconnect()
            self._client.loop_stop()

    def _send(self, rows: pa.Table) -> None:
        times = {f.name for f in rows.schema if pa.types.is_timestamp(f.type)}
        for row in rows.to_pylist():
            message = {k: v.isoformat() if k in times and v is not None else v for k, v in row.items()}
            topic = self.topic.format(**{k: row[k] for k in self._placeholders}) if self._placeholders else self.topic
            self._unacknowledged.append(self._client.publish(topic, json.dumps(message), qos=self.qos))
        self._unacknowledged = [info for info in self._unacknowledged if not info.is_published()]

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
        return f"<Publisher to {self.topic!r}: {self.published} rows sent, {state}>"
