"""The Kafka sink: each output row becomes one message of a topic (Spark's Kafka sink).

At least once, as Spark's Kafka sink: Kafka has no way to say "batch N of this query is already written", so a
batch that was being written when the query died is written again when it restarts, and its messages can be
there twice. (The producer is idempotent, so a retry inside one batch never repeats a message.) Read such a topic
with that in mind: give each row an id and drop duplicates downstream (``SELECT DISTINCT ON (id) ...``).

Values are the row as a JSON object, or, if the output has a ``value`` column (string or binary), that column as
it is (as Spark writes it). ``key=`` names a column whose value becomes each message's key; without it, an
output of Spark's shape (a ``value`` column and a ``key`` column) has its ``key`` column as the key, as in Spark,
and a ``headers`` column beside ``value`` (``array<struct<key: string, value: binary>>``, as the source's
``include_headers`` gives it) the messages' headers.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import logging
import math

import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.sinks._protocol import BIND, CLOSE

__all__ = ["KafkaSink", "SinkError", "kafka"]

DELIVERY_SECONDS = 60  # how long a batch's messages may take to be acknowledged before the query fails
CONNECT_SECONDS = 5    # how long the broker may take to answer at the query's start before it is refused
_LOG = logging.getLogger("stream_nb.sinks.kafka.librdkafka")  # librdkafka's own log, never printed
_LOG.addHandler(logging.NullHandler())


class SinkError(RuntimeError):
    """A sink could not write a batch (the Kafka broker refused a message: its message is in the text)."""


class KafkaSink:
    capabilities = frozenset({BIND, CLOSE})

    def __init__(self, servers: str, topic: str, *, key: str | None = None, options: dict | None = None):
        from stream_nb.sources.kafka import _client

        if not isinstance(servers, str) or not servers.strip():
            raise ValueError(f"kafka sink: servers is the brokers' 'host:port[,host:port]', not {servers!r}")
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"kafka sink: topic is a topic's name, not {topic!r}")
        self._kafka = _client()
        self.servers, self.topic, self.key = servers, topic, key
        self.description = f"KafkaSink[{topic}]"
        self._config = {"bootstrap.servers": servers, "enable.idempotence": True, "acks": "all",
                        "message.timeout.ms": DELIVERY_SECONDS * 1000,
                        **{k.removeprefix("kafka."): v for k, v in (options or {}).items()}}
        try:  # a setting librdkafka does not take is refused here, naming it, not at the first batch
            self._producer = self._kafka.Producer(self._config, logger=_LOG)
        except self._kafka.KafkaException as err:
            raise ValueError(f"kafka sink: options: {err.args[0].str()} (options are librdkafka producer "
                             "settings)") from None
        self._as_is = False
        self._headers = False  # whether the output's headers column holds the messages' headers
        self._key = key  # the column of the messages' keys

    def bind(self, schema: pa.Schema, output_mode: str, key_columns=None) -> None:
        """Check the output's columns: the key column is there, a ``value`` column is text or bytes (and, as in
        Spark, a ``key`` column beside it is the messages' key when ``key=`` names none)."""
        if self.key is not None and self.key not in schema.names:
            raise ValueError(f"kafka sink: key={self.key!r} is not a column of the query's output "
                             f"({', '.join(schema.names)})")
        for name in {self.key, "key" if "value" in schema.names else None} & set(schema.names):
            if pa.types.is_nested(schema.field(name).type):  # (a number, a date... is written as its text)
                raise ValueError(f"kafka sink: the key column {name!r} is {schema.field(name).type}; a message's "
                                 f"key is text or bytes: write CAST({name} AS STRING), or to_json({name})")
        if "value" in schema.names:
            kind = schema.field("value").type
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_binary(kind)):
                raise ValueError(f"kafka sink: the output's 'value' column is written as the message as it is, "
                                 f"so it must be a string or binary, not {kind}; cast it, or name it otherwise to "
                                 "have the row written as JSON")
            self._as_is = True
            if self.key is None and "key" in schema.names:  # Spark's shape: SELECT ... AS key, ... AS value
                self._key = "key"
            self._headers = False
            if "headers" in schema.names:  # Spark's shape with headers: array<struct<key: string, value: binary>>
                kind = schema.field("headers").type
                fields = {f.name: f.type for f in kind.value_type} if pa.types.is_list(kind) and \
                    pa.types.is_struct(kind.value_type) else {}
                if set(fields) != {"key", "value"} or not pa.types.is_string(fields["key"]) or not (
                        _is_binary(fields["value"]) or pa.types.is_string(fields["value"])):
                    raise ValueError(f"kafka sink: the output's 'headers' column is written as the messages' "
                                     f"headers, so it must be array<struct<key: string, value: binary>>, not {kind}")
                self._headers = True
        self._reach()

    def _reach(self) -> None:
        """Ask the broker for its topics, so that a broker out of reach refuses the query's start within
        ``CONNECT_SECONDS``, naming its address (not a first batch failing a minute later, its messages timed
        out). Not the topic's own metadata: that would create it on a broker that creates topics when asked."""
        if self._producer is None:
            self._producer = self._kafka.Producer(self._config, logger=_LOG)
        try:
            self._producer.list_topics(timeout=CONNECT_SECONDS)
        except self._kafka.KafkaException as err:
            raise SinkError(f"kafka sink: cannot reach the Kafka broker at {self.servers} (waited "
                            f"{CONNECT_SECONDS} s): {err.args[0].str()}. Is it running, and is that its "
                            "host:port?") from None

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        """Every row as one message; returns once the broker acknowledged them all, or raises its error."""
        if self._producer is None:
            self._producer = self._kafka.Producer(self._config, logger=_LOG)
        values = _bytes(table.column("value")) if self._as_is else json_rows(table)
        message_keys = _bytes(table.column(self._key)) if self._key is not None else [None] * len(values)
        headers = [None if row is None else [(h["key"], h["value"]) for h in row]
                   for row in table.column("headers").to_pylist()] if self._headers else [None] * len(values)
        failed = []

        def delivered(err, message) -> None:
            if err is not None:
                failed.append(err)

        for value, key, header in zip(values, message_keys, headers, strict=True):
            while True:
                try:
                    self._producer.produce(self.topic, value=value, key=key, headers=header, on_delivery=delivered)
                    break
                except BufferError:  # the producer's queue is full: let it send
                    self._producer.poll(0.1)
                except self._kafka.KafkaException as err:  # refused at once (the topic known to be unusable)
                    failed.append(err.args[0])
                    break
            if failed:
                break
        left = self._producer.flush(DELIVERY_SECONDS + 5)
        if failed:
            timed_out = failed[0].code() == self._kafka.KafkaError._MSG_TIMED_OUT
            raise SinkError(f"kafka sink: the broker at {self.servers} did not take batch {batch_id}'s messages "
                            f"to topic {self.topic!r}: {failed[0].str()}"
                            + (f" (not acknowledged within {DELIVERY_SECONDS} s: is the broker still running?)"
                               if timed_out else ""))
        if left:
            raise SinkError(f"kafka sink: {left} messages of batch {batch_id} to topic {self.topic!r} were not "
                            f"acknowledged by the broker at {self.servers} within {DELIVERY_SECONDS} s")

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(5)


def _is_binary(kind: pa.DataType) -> bool:
    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind)


def _bytes(column: pa.ChunkedArray) -> list[bytes | None]:
    """A key or value column as each message's bytes: bytes as they are, anything else as its text in UTF-8."""
    if not _is_binary(column.type):
        column = pc.cast(column, pa.string())
    return [v.encode() if isinstance(v, str) else v for v in column.to_pylist()]


def json_rows(table: pa.Table) -> list[bytes]:
    """Each row as one JSON object, as Spark's ``to_json`` writes it: timestamps ISO 8601 in UTC, structs (a
    window) and maps as objects, binary as base64, doubles exact (NaN as "NaN"); a null is written as null.

    >>> json_rows(pa.table({"n": [1], "w": [{"start": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}]}))
    [b'{"n":1,"w":{"start":"2026-01-01T00:00:00.000Z"}}']
    """
    names = table.column_names
    columns = (pa.chunked_array([_floats_as_written(chunk) for chunk in c.chunks], _widened(c.type))
               .to_pylist(maps_as_pydicts="strict") for c in table.columns)  # a map as an object, as Spark
    return [_json(dict(zip(names, row, strict=True))).encode() for row in zip(*columns)]


def _widened(kind: pa.DataType) -> pa.DataType:
    """``kind`` with its float (32-bit) columns and struct fields as doubles."""
    if pa.types.is_float32(kind):
        return pa.float64()
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_widened(field.type)) for field in kind])
    return kind


def _floats_as_written(array: pa.Array) -> pa.Array:
    """Floats (32-bit) as the doubles their shortest text names, so that 0.1 is written 0.1 as Spark's to_json
    writes a float (Java's Float.toString), not 0.10000000149011612 (the float's exact value); in a column or a
    struct's field (a float in an array or a map is written as its exact value).

    >>> json_rows(pa.table({"f": pa.array([0.1], pa.float32()), "s": [{"g": 2.5}]},
    ...                    schema=pa.schema([("f", pa.float32()), ("s", pa.struct([("g", pa.float32())]))])))
    [b'{"f":0.1,"s":{"g":2.5}}']
    """
    kind = array.type
    if _widened(kind) == kind:
        return array
    if pa.types.is_float32(kind):
        return pc.cast(pc.cast(array, pa.string()), pa.float64())
    fields = [_floats_as_written(field) for field in array.flatten()]
    return pa.StructArray.from_arrays(fields, fields=list(_widened(kind)), mask=array.is_null())


def _json(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _json(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else {"nan": '"NaN"', "inf": '"Infinity"'}.get(
            repr(value), '"-Infinity"')  # as Spark's to_json writes them
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):  # as Spark's to_json writes a timestamp (UTC, milliseconds)
        # (a time without a zone is UTC here, not the kernel's local time)
        utc = value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value.astimezone(datetime.UTC)
        return f'"{utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]}Z"'
    if isinstance(value, datetime.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, bytes):  # base64, as Spark's to_json writes a binary (bytes need not be text)
        return f'"{base64.b64encode(value).decode()}"'
    return json.dumps(value, ensure_ascii=False, default=str)


def kafka(servers: str, topic: str, *, key: str | None = None, options: dict | None = None) -> KafkaSink:
    """A sink writing each output row as one message of ``topic``: at least once, as Spark's Kafka sink (a
    batch replayed after a crash is written again; see the module's docstring).

    Args:
        servers: the brokers, ``"host:port[,host:port]"``.
        topic: the topic to write to.
        key: a column whose value is each message's key (as text); None: no key, unless the output has a
            ``value`` column and a ``key`` column (Spark's Kafka sink's columns): then that ``key``.
        options: librdkafka settings for the producer (``"kafka."`` in front, as Spark writes them, is dropped).
    """
    return KafkaSink(servers, topic, key=key, options=options)
