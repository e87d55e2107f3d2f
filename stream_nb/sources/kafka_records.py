"""Kafka messages as Spark's Kafka columns, and their JSON values parsed into a schema's columns.

Spark's Kafka source gives ``key`` and ``value`` as binary, ``topic``, ``partition``, ``offset``,
``timestamp`` and ``timestampType`` (0 CreateTime, 1 LogAppendTime, -1 none). With ``schema=`` each value is
read as one JSON object into the schema's columns too, by the files source's JSON reader (the same types and
the same messages); a value that is not such an object stops the batch with an error naming its topic,
partition and offset.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pyarrow as pa

from stream_nb.sources.errors import SourceError
from stream_nb.sources.formats import _BAD_DATA, _explain, _first_bad_line, _json_number, _parse_json
from stream_nb.types import TIMESTAMP

KAFKA_SCHEMA = pa.schema([
    ("key", pa.binary()), ("value", pa.binary()), ("topic", pa.string()), ("partition", pa.int32()),
    ("offset", pa.int64()), ("timestamp", TIMESTAMP), ("timestampType", pa.int32()),
])


def source_schema(schema: pa.Schema | None) -> pa.Schema:
    """Spark's Kafka columns, then the parsed value's columns (which must not reuse a Kafka column's name)."""
    if schema is None:
        return KAFKA_SCHEMA
    clash = [name for name in schema.names if name in KAFKA_SCHEMA.names]
    if clash:
        raise ValueError(f"kafka source: the value's schema has a column named {clash[0]!r}, which is one of the "
                         f"Kafka columns ({', '.join(KAFKA_SCHEMA.names)}); rename it in schema= and in the JSON, "
                         "or read the value yourself with from_json")
    return pa.schema([*KAFKA_SCHEMA, *schema])


def to_table(fetched, schema: pa.Schema | None) -> pa.Table:
    """What ``kafka_reader.RangeReader.fetch`` read (confluent_kafka messages, their topics, partitions and
    offsets, in topic, partition then offset order) as the source's table."""
    messages = fetched.messages
    Message = type(messages[0]) if messages else None  # confluent_kafka's, imported only with the client
    # map over the method, and no per-message Python beyond it: this is what a batch from Kafka costs
    values = list(map(Message.value, messages))
    keys = list(map(Message.key, messages))
    # (type, milliseconds) pairs straight into one array, without a list of tuples kept alive in between
    n = len(messages)
    times = np.fromiter(chain.from_iterable(map(Message.timestamp, messages)), np.int64, 2 * n).reshape(n, 2)
    # confluent_kafka counts its timestamp types from 1 (0: none), Kafka's Java client from 0 (-1: none)
    kinds = times[:, 0]
    columns = [
        # pyarrow converts a list of nothing but None slowly (0.3 s for 50,000): the common unkeyed topic
        pa.nulls(n, pa.binary()) if keys.count(None) == n else pa.array(keys, pa.binary()),
        pa.array(values, pa.binary()),
        _topics(fetched.topics),
        pa.array(fetched.partitions, pa.int32()),
        pa.array(fetched.offsets, pa.int64()),
        pa.array(times[:, 1] * 1000, TIMESTAMP, mask=kinds == 0),
        pa.array((kinds - 1).astype(np.int32), pa.int32()),
    ]
    table = pa.Table.from_arrays(columns, schema=KAFKA_SCHEMA)
    if schema is None:
        return table
    parsed = parse_values(messages, values, schema)
    for field in schema:
        table = table.append_column(field, parsed.column(field.name))
    return table


def _topics(runs: list[tuple[str, int]]) -> pa.Array:
    """The topic column from (topic, how many rows in a row) runs: one topic repeated, the common case."""
    if len(runs) <= 1:
        return pa.repeat(pa.scalar(runs[0][0] if runs else "", pa.string()), runs[0][1] if runs else 0)
    return pa.array(np.repeat(np.array([t for t, _ in runs], object), [n for _, n in runs]), pa.string())


def parse_values(messages: list, values: list[bytes | None], schema: pa.Schema) -> pa.Table:
    """Each value as one JSON object with ``schema``'s columns (a null value, a tombstone, gives nulls, as
    Spark's ``from_json(null)``); a value that is not one raises a SourceError naming where it is."""
    if not values:
        return schema.empty_table()
    if None in values:
        values = [b"{}" if v is None else v for v in values]
    data = b"\n".join(values) + b"\n"
    if data.count(b"\n") != len(values) or b"\r" in data:
        # One value a line: a raw line break in JSON is only ever whitespace between tokens, so it can go.
        values = [v.replace(b"\r", b" ").replace(b"\n", b" ") for v in values]
        data = b"\n".join(values) + b"\n"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _at(messages[data.count(b"\n", 0, err.start)], "the value is not UTF-8 text "
                  f"(byte 0x{data[err.start]:02x}); JSON values are UTF-8") from None
    try:
        parsed = _parse_json(data, schema)
    except _BAD_DATA as err:
        _refuse_blank(messages, values)
        line = _first_bad_line(data, _parse_json, schema, header=False)
        if line is None:
            where = sorted({(m.topic(), m.partition()) for m in messages})
            raise SourceError(f"kafka source: the values of (topic, partition) {where} do not parse as JSON "
                              f"with the schema: {_explain(err)}") from None
        what = _json_number(err, values[line - 1], schema) or _explain(err)
        raise _at(messages[line - 1], what) from None
    if parsed.num_rows != len(values):  # the JSON reader skips a blank line, moving every later row up one
        _refuse_blank(messages, values)
    return parsed


def _refuse_blank(messages: list, values: list[bytes]) -> None:
    for k, value in enumerate(values):
        if not value.strip():
            raise _at(messages[k], "the value is empty, not a JSON object")


def _at(message, what: str) -> SourceError:
    shown = message.value()[:120] if message.value() is not None else None
    return SourceError(f"kafka source: topic {message.topic()!r}, partition {message.partition()}, offset "
                       f"{message.offset()}: malformed JSON value {shown!r}: {what}")
