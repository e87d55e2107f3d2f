"""The MQTT source: messages of an MQTT topic (a filter like ``sensors/#``) as a stream, exactly once with a
checkpoint.

With a checkpoint it is Spark's reliable receiver with a write-ahead log: a persistent MQTT 5 session (clean
start false, a client id kept in the checkpoint, QoS 1), each message appended to a log inside the checkpoint
(``sources/<i>/wal/``) and fsynced before it is acknowledged to the broker and before its offset can be
planned. Offsets are positions in that log, so a batch reads the same messages after any crash, and a
message the broker did not hear acknowledged is delivered again (while the query was down, the broker queued
what was published). A redelivery of a message that the log already holds (the broker marks it ``dup``, with
the packet id it had) is recognised and acknowledged without a second record: nothing lost, nothing twice.

Without a checkpoint, messages are acknowledged as they arrive and kept in memory only: at most once.
"""

from __future__ import annotations

import collections
import struct
import threading
import time
import uuid
import warnings
import zlib
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from stream_nb.checkpoint.files import CheckpointError, read_json, write_json
from stream_nb.sources.errors import SourceError, check_offsets
from stream_nb.sources.formats import parse_json_values
from stream_nb.sources.kafka_records import SEVERAL, first_of_several
from stream_nb.sources.wal import MemoryLog, WriteAheadLog
from stream_nb.types import TIMESTAMP, parse_schema

COLUMNS = pa.schema([pa.field("topic", pa.string()), pa.field("payload", pa.binary()),
                     pa.field("qos", pa.int32()), pa.field("timestamp", TIMESTAMP)])
# The broker sends at most this many QoS 1 messages not yet acknowledged (MQTT 5's Receive Maximum), so a
# message it delivers again after a crash is among the log's last RECEIVE_MAXIMUM records: the log keeps
# DEDUP_WINDOW records (ten times that) to recognise it.
RECEIVE_MAXIMUM = 100
DEDUP_WINDOW = 10 * RECEIVE_MAXIMUM
_RECORD = struct.Struct("<qBHH")  # receive time (µs), qos, packet id, topic length; then topic, payload
_NEVER_EXPIRES = 0xFFFFFFFF       # MQTT 5 session expiry interval: the broker keeps the session
synced_hook = None  # called with the log's durable end after each sync, before the acknowledgements (tests)


class MqttSource:
    """Messages of ``topic`` on ``broker`` (see ``mqtt``). One query at a time reads it."""

    capabilities = frozenset({"checkpoint_dir", "attach", "commit", "close", "push"})

    def __init__(self, broker: str, topic: str, *, qos: int = 1, schema: str | Mapping[str, str] | None = None,
                 connect_timeout: float = 5.0, username: str | None = None, password: str | None = None):
        _paho()  # missing, said now rather than when the query starts
        self.host, self.port = _address(broker)
        self.broker = f"{self.host}:{self.port}"
        if qos not in (0, 1):
            raise ValueError(f"qos must be 0 or 1, not {qos!r}: QoS 1 with the write-ahead log gives exactly "
                             "once (QoS 2 adds nothing to it)")
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"topic is an MQTT topic filter like 'sensors/#', not {topic!r}")
        levels = topic.split("/")
        misplaced = [level for k, level in enumerate(levels) if ("#" in level and (level != "#" or k < len(levels) - 1))
                     or ("+" in level and level != "+")]
        if misplaced:  # the broker would close the connection on it (MQTT 3.1.1, 4.7.1)
            raise ValueError(f"topic filter {topic!r}: level {misplaced[0]!r} misplaces a wildcard; '+' is a whole "
                             "level ('sensors/+/temp'), '#' the whole last level ('sensors/#')")
        self.topic, self.qos, self.connect_timeout = topic, qos, connect_timeout
        self._credentials = (username, password)  # never in the description, the progress or the checkpoint
        self.payload_schema = None if schema is None else parse_schema(schema)
        clash = [f.name for f in self.payload_schema or [] if f.name in COLUMNS.names]
        if clash:
            raise ValueError(f"schema= column {clash[0]!r} clashes with the MQTT source's own column of that "
                             f"name ({', '.join(COLUMNS.names)}); rename it in the schema")
        extra = list(self.payload_schema) if self.payload_schema is not None else []
        self.schema = pa.schema([*COLUMNS, *extra])
        self.description = f"MqttSource[{self.broker}, topic={topic}, qos={qos}]"
        self._log: WriteAheadLog | MemoryLog | None = None
        self._client = None  # a paho.mqtt.client.Client while attached
        self._client_id: str | None = None
        self._tail: collections.deque = collections.deque(maxlen=DEDUP_WINDOW)  # (packet id, topic, crc)
        self._pending: list[tuple[int, int]] = []  # written, to acknowledge once synced
        self._wake = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._closing = False
        self._ready = threading.Event()
        self._refused: str | None = None
        self._error: Exception | None = None  # what stopped the receiving thread, said by the next batch
        self.duplicates = 0  # redeliveries recognised and not written again

    # -- the checkpoint: the write-ahead log and the session's client id ---------------------------------

    def open_checkpoint(self, directory: Path) -> None:
        """Open the write-ahead log in ``directory`` (``<checkpoint>/sources/<i>/``) and the session's id."""
        if self._client is not None:
            raise SourceError(f"{self.description} is already read by a running query; give each query its own "
                              "sn.sources.mqtt(...)")
        session = directory / "mqtt.json"
        if session.exists():
            self._client_id = read_json(session)["clientId"]
        elif any((directory / "wal").glob("*.wal")):  # a new session would not get what the broker queued
            raise CheckpointError(
                f"checkpoint file {session} is missing, but {directory / 'wal'} holds messages: the MQTT session "
                "they came from (its client id, with what the broker queued for it) is unknown. Restore the file "
                "from a backup, or start over with a new checkpoint directory")
        else:
            self._client_id = f"stream_nb-{uuid.uuid4().hex}"
            write_json(session, {"clientId": self._client_id})
        self._log = WriteAheadLog(directory / "wal")
        end = self._log.end
        self._tail.clear()
        for record in self._log.read(max(self._log.start, end - DEDUP_WINDOW), end):
            self._tail.append(_fingerprint(record))

    @property
    def durable(self) -> bool:
        """Whether messages go through the write-ahead log (a checkpointed query), or memory (at most once)."""
        return isinstance(self._log, WriteAheadLog)

    # -- connecting ----------------------------------------------------------------------------------------

    def attach(self) -> None:
        """Connect and subscribe; a SourceError naming the broker if that fails within ``connect_timeout``."""
        if self._client is not None:
            raise SourceError(f"{self.description} is already read by a running query; give each query its own "
                              "sn.sources.mqtt(...)")
        at_most_once = self._log is None
        if at_most_once:
            self._log, self._client_id = MemoryLog(), f"stream_nb-{uuid.uuid4().hex}"
        self._closing, self._refused, self._error = False, None, None
        self._ready.clear()
        paho, Properties, PacketTypes, SubscribeOptions = _paho()
        self._options = SubscribeOptions(qos=self.qos, retainHandling=1)
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self._client_id,
                             protocol=paho.MQTTv5, manual_ack=self.durable)
        client.on_connect, client.on_subscribe, client.on_message = self._connected, self._subscribed, self._message
        client.reconnect_delay_set(1, 5)  # back soon after a broker restarts
        if self._credentials[0] is not None:
            client.username_pw_set(*self._credentials)
        client.connect_timeout = self.connect_timeout
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = _NEVER_EXPIRES if self.durable else 0
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        try:
            client.connect(self.host, self.port, keepalive=30, clean_start=not self.durable, properties=properties)
        except (OSError, ValueError) as err:
            self.close()  # a later start opens its log again
            raise SourceError(f"cannot reach the MQTT broker at {self.broker}: {err}") from None
        self._client = client
        if self.durable:
            self._flusher = threading.Thread(target=self._flush, args=(client,), name=f"mqtt-wal {self.topic}",
                                             daemon=True)
            self._flusher.start()
        client.loop_start()
        if not self._ready.wait(self.connect_timeout) or self._refused:
            why = self._refused or f"no answer within {self.connect_timeout:g} s"
            self.close()
            raise SourceError(f"the MQTT broker at {self.broker} did not let {self.description} subscribe: {why}")
        if at_most_once:
            warnings.warn(f"{self.description} without a checkpoint delivers at most once: messages are "
                          "acknowledged on arrival and kept in memory only. Give the query a checkpoint= for "
                          "exactly once", stacklevel=2)

    def _connected(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self._refused = f"it refused the connection ({reason})"
            self._ready.set()
            return
        # Subscribed again at every connection (a broker that lost the session forgot it); retained messages
        # come only with a new subscription (MQTT 5 retain handling 1), not at each reconnection.
        client.subscribe(self.topic, options=self._options)

    def _subscribed(self, client, userdata, mid, reasons, properties) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            self._refused = f"it refused the subscription to {self.topic!r} ({failed[0]})"
        self._ready.set()

    # -- receiving: write, sync, then acknowledge --------------------------------------------------------

    def _message(self, client, userdata, message) -> None:
        try:
            self._receive(message)
        except Exception as err:  # noqa: BLE001 - paho's thread would end silently: the next batch says it
            self._error = err
            client.disconnect()  # nothing more is acknowledged; the broker keeps what was not

    def _receive(self, message) -> None:
        topic, payload = message.topic, message.payload
        key = (message.mid, topic, len(payload), zlib.crc32(payload))
        if message.dup and self._redelivered(key):
            self.duplicates += 1
            self._queue_ack(message)  # held already (and synced): the broker only needs the acknowledgement
            return
        encoded = topic.encode()
        record = _RECORD.pack(time.time_ns() // 1000, message.qos, message.mid, len(encoded)) + encoded + payload
        self._log.append(record)
        self._tail.append(key)
        self._queue_ack(message)

    def _redelivered(self, key: tuple) -> bool:
        """Whether the last record with this packet id is this message (the broker keeps a resent message's
        packet id, and uses one for one message in flight at a time). The one case taken wrongly: a broker
        that gives a new message the packet id of the one before it (mosquitto counts them up) with the very
        same topic and payload, resent after a crash before it reached the log."""
        for held in reversed(self._tail):
            if held[0] == key[0]:
                return held == key
        return False

    def _queue_ack(self, message) -> None:
        if not self.durable:
            with self._wake:
                self._wake.notify_all()  # readable now: a continuous query waiting for it wakes
            return  # acknowledged by paho on arrival
        with self._wake:
            self._pending.append((message.mid, message.qos))
            self._wake.notify()

    def _flush(self, client) -> None:
        """Group commit: one fsync for every message written since the last, then their acknowledgements."""
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending or self._closing)
                pending, self._pending = self._pending, []
                if not pending and self._closing:
                    return
            try:
                synced = self._log.sync()
            except OSError as err:  # a full disk: nothing is acknowledged, the next batch says why
                self._error = err
                return
            if synced_hook is not None:  # the crash tests die here: synced, not yet acknowledged
                synced_hook(synced)
            with self._wake:
                self._wake.notify_all()  # durable, so readable: a continuous query waiting for it wakes
            for mid, qos in pending:
                client.ack(mid, qos)

    # -- the Source protocol ---------------------------------------------------------------------------

    def latest_offset(self) -> int:
        """The end of the messages held durably (synced to the log), as a log position."""
        if self._error is not None:
            raise SourceError(f"{self.description} stopped receiving: could not write a message to the log "
                              f"({type(self._error).__name__}: {self._error}); the broker keeps what was not "
                              "acknowledged") from self._error
        return 0 if self._log is None else self._log.durable

    def wait_for_data(self, offset: int, timeout: float) -> tuple[int, None]:
        """Block until a message after log position ``offset`` is durable (at most ``timeout`` s): continuous
        processing reads a message once it is in the write-ahead log, never before. The latest offset, and
        None for its arrival (the time is in the record, which only a read unpacks)."""
        with self._wake:
            self._wake.wait_for(lambda: self.latest_offset() > offset or self._closing, timeout)
        return self.latest_offset(), None

    def read(self, start: int, end: int) -> pa.Table:
        """The messages at log positions ``[start, end)``, as they were received."""
        check_offsets(start, end, self.latest_offset(), self.description)
        if end == start:
            return self.schema.empty_table()
        try:
            records = self._log.read(start, end)
        except ValueError as err:
            raise SourceError(f"{self.description}: {err}") from None
        received, qos, topics, payloads = [], [], [], []
        for record in records:
            at_us, level, _, length = _RECORD.unpack_from(record)
            received.append(at_us)
            qos.append(level)
            topics.append(record[_RECORD.size:_RECORD.size + length].decode())
            payloads.append(record[_RECORD.size + length:])
        columns = [pa.array(topics, pa.string()), pa.array(payloads, pa.binary()), pa.array(qos, pa.int32()),
                   pa.array(received, pa.int64()).cast(TIMESTAMP)]
        if self.payload_schema is not None:
            columns += self._parse(payloads, topics, start).columns
        return pa.Table.from_arrays(columns, schema=self.schema)

    def _parse(self, payloads: list[bytes], topics: list[str], start: int) -> pa.Table:
        """The payloads (from log position ``start``) as rows of ``payload_schema``; one that is not one JSON
        object of it fails the batch, naming its topic and log position."""
        try:
            parsed = parse_json_values(payloads, self.payload_schema)
            if parsed.num_rows == len(payloads):
                return parsed
            # a payload holding several objects ({"a": 1} {"a": 2}) makes a row of each
            line = 1 + first_of_several(payloads, lambda some: parse_json_values(some, self.payload_schema).num_rows)
            what = f"it {SEVERAL}"
        except SourceError as err:
            line, what = err.line, str(err).rstrip(".")
        where = f"in {self._log.directory}" if self.durable else "in memory"
        place = (f"MQTT topic {topics[line - 1]!r}, WAL position {start + line - 1}" if line is not None
                 else f"MQTT WAL positions {start} to {start + len(payloads) - 1}")
        raise SourceError(f"{place} ({where}): the payload does not fit schema=: {what}. It stays in the log; read "
                          "the payload column without schema= to see it") from None

    def commit(self, end: int) -> None:
        """Batches before ``end`` are committed: delete the log's segments behind them (keeping the last
        ``DEDUP_WINDOW`` records, which recognise a redelivery)."""
        if self._log is not None:
            self._log.delete_before(min(end, self._log.end - DEDUP_WINDOW))

    def detach(self) -> None:
        """Disconnect (the persistent session stays with the broker, which queues what is published)."""
        client, self._client = self._client, None
        if client is None:
            return
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._flusher is not None:
            self._flusher.join()  # the last messages synced and acknowledged
            self._flusher = None
        client.disconnect()
        client.loop_stop()

    def close(self) -> None:
        self.detach()
        if self._log is not None:
            self._log.close()
            self._log = None  # a later query opens its own checkpoint's log

    def __repr__(self) -> str:
        return f"{self.description} ({'write-ahead log' if self.durable else 'at most once'})"


def _paho():
    """paho-mqtt's client and MQTT 5 pieces, imported when a query first connects (the ``mqtt`` extra)."""
    try:
        from paho.mqtt import client
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        from paho.mqtt.subscribeoptions import SubscribeOptions
    except ImportError:
        raise ImportError("the MQTT source needs paho-mqtt: pip install 'stream_nb[mqtt]' (or pip install "
                          "paho-mqtt)") from None
    return client, Properties, PacketTypes, SubscribeOptions


def _fingerprint(record: bytes) -> tuple:
    _, _, mid, length = _RECORD.unpack_from(record)
    payload = record[_RECORD.size + length:]
    return mid, record[_RECORD.size:_RECORD.size + length].decode(), len(payload), zlib.crc32(payload)


def _address(broker: str) -> tuple[str, int]:
    """``host[:port]`` or ``mqtt://host[:port]`` as (host, port); the port defaults to MQTT's 1883.

    >>> _address("mqtt://localhost"), _address("127.0.0.1:1884")
    (('localhost', 1883), ('127.0.0.1', 1884))
    """
    text = broker.removeprefix("mqtt://").rstrip("/") if isinstance(broker, str) else ""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    if not host or not port.isdigit():
        raise ValueError(f"broker is 'host:port' (or 'mqtt://host:port'), not {broker!r}")
    return host, int(port)


def mqtt(broker: str, topic: str, *, qos: int = 1, schema: str | Mapping[str, str] | None = None,
         connect_timeout: float = 5.0, username: str | None = None, password: str | None = None) -> MqttSource:
    """Messages of an MQTT topic: ``topic`` (string), ``payload`` (binary), ``qos`` (int), ``timestamp`` (when
    it was received, UTC); with ``schema=``, each payload's JSON object parsed into those columns too.

    Exactly once with a checkpoint (``sn.start(..., checkpoint=DIR)``): messages are written to a log in the
    checkpoint and synced before the broker hears them acknowledged, in a persistent session that the broker
    keeps while the query is down. Without a checkpoint, delivery is AT MOST ONCE (a warning says so): what
    arrived but was not processed when the process ends is gone. The query connects when it starts; a broker
    out of reach refuses the start within ``connect_timeout`` seconds, naming it; once running, the query
    reconnects after the broker restarts.

    Args:
        broker: ``"host:port"`` (or ``"mqtt://host:port"``; the port defaults to 1883).
        topic: a topic filter, e.g. ``"sensors/#"``.
        qos: the subscription's QoS, 1 (default) or 0 (the broker does not resend; at most once).
        schema: the payload's JSON fields, a Spark DDL string like ``"ts timestamp, temperature double"``
            or ``{"col": "type"}``. A payload that does not fit fails the batch, naming its topic and log
            position (it stays in the log).
        connect_timeout: seconds to wait for the broker at start.
        username, password: for a broker that asks for them.

    >>> src = mqtt("localhost:1883", "sensors/#", schema="device string, temperature double")
    >>> src.schema.names
    ['topic', 'payload', 'qos', 'timestamp', 'device', 'temperature']
    """
    return MqttSource(broker, topic, qos=qos, schema=schema, connect_timeout=connect_timeout, username=username,
                      password=password)
