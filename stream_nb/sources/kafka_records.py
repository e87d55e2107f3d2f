"""Kafka messages as Spark's Kafka columns, and their JSON values parsed into a schema's columns.

Spark's Kafka source gives ``key`` and ``value`` as binary, ``topic``, ``partition``, ``offset``,
``timestamp`` and ``timestampType`` (0 CreateTime, 1 LogAppendTime, -1 none). With ``schema=`` each value is
read as one JSON object into the schema's columns too, by the files source's JSON reader (the same types and
the same messages); a value that is not such an object stops the batch with an error naming its topic,
partition and offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.sources.errors import SourceError
from stream_nb.sources.formats import _BAD_DATA, _explain, _first_bad_line, _json_number, _parse_json
from stream_nb.types import TIMESTAMP

# Arrow's binary type cuts values at 32-bit offsets: a batch's keys or values past this many bytes (a big backlog
# read without maxOffsetsPerTrigger) go out as several binary chunks of one column, none longer (a test lowers it)
BINARY_CHUNK_BYTES = 2**31 - 1

_EMPTY, _NEWLINE = pa.scalar(b"", pa.large_binary()), pa.scalar(b"\n", pa.large_binary())

KAFKA_SCHEMA = pa.schema([
    ("key", pa.binary()), ("value", pa.binary()), ("topic", pa.string()), ("partition", pa.int32()),
    ("offset", pa.int64()), ("timestamp", TIMESTAMP), ("timestampType", pa.int32()),
])
# Spark's includeHeaders column: each message's headers in order (a key may repeat), NULL for a message without
HEADERS = pa.field("headers", pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())])))


def source_schema(schema: pa.Schema | None, headers: bool = False) -> pa.Schema:
    """Spark's Kafka columns (and ``headers`` with ``includeHeaders``), then the parsed value's columns (which
    must not reuse a Kafka column's name)."""
    kafka = pa.schema([*KAFKA_SCHEMA, HEADERS]) if headers else KAFKA_SCHEMA
    if schema is None:
        return kafka
    clash = [name for name in schema.names if name in kafka.names]
    if clash:
        raise ValueError(f"kafka source: the value's schema has a column named {clash[0]!r}, which is one of the "
                         f"Kafka columns ({', '.join(kafka.names)}); rename it in schema= and in the JSON, "
                         "or read the value yourself with from_json")
    return pa.schema([*kafka, *schema])


@dataclass
class Chunk:
    """Consumed messages as columns: their topics (codes into ``topics``), partitions, offsets, timestamps
    (milliseconds, and confluent-kafka's type codes: 0 none, 1 CreateTime, 2 LogAppendTime), keys and values
    (large_binary, null where a message has none)."""

    topics: list
    codes: np.ndarray
    partitions: np.ndarray
    offsets: np.ndarray
    times: np.ndarray
    kinds: np.ndarray
    keys: pa.Array
    values: pa.Array
    headers: pa.Array | None = None   # read only for includeHeaders (HEADERS' type)

    def __len__(self) -> int:
        return len(self.offsets)

    def slice(self, start: int, stop: int) -> Chunk:
        return Chunk(self.topics, self.codes[start:stop], self.partitions[start:stop], self.offsets[start:stop],
                     self.times[start:stop], self.kinds[start:stop], self.keys[start:stop], self.values[start:stop],
                     None if self.headers is None else self.headers[start:stop])

    @staticmethod
    def empty(headers: bool = False) -> Chunk:
        return chunk_from_messages([], headers)


def binary_array(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray) -> pa.Array:
    """A large_binary array over ``data`` cut at ``offsets`` (int64, one more than rows), null where not
    ``valid``."""
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.large_binary(), len(valid), [validity, pa.py_buffer(offsets),
                                                                  pa.py_buffer(data)])


def chunk_from_messages(messages: list, headers: bool = False) -> Chunk:
    """confluent-kafka's Message objects (no errors among them) as a Chunk; with ``headers``, theirs too."""
    Message = type(messages[0]) if messages else None  # confluent_kafka's, imported only with the client
    n = len(messages)
    # map over the method, and no per-message Python beyond it: this is what a batch from Kafka costs
    keys = list(map(Message.key, messages)) if n else []
    # (type, milliseconds) pairs straight into one array, without a list of tuples kept alive in between
    times = (np.fromiter(chain.from_iterable(map(Message.timestamp, messages)), np.int64, 2 * n).reshape(n, 2)
             if n else np.empty((0, 2), np.int64))
    codes: dict[str, int] = {}
    topics = np.fromiter((codes.setdefault(t, len(codes)) for t in map(Message.topic, messages)), np.int32, n) \
        if n else np.empty(0, np.int32)
    return Chunk(list(codes), topics,
                 np.fromiter(map(Message.partition, messages), np.int32, n) if n else np.empty(0, np.int32),
                 np.fromiter(map(Message.offset, messages), np.int64, n) if n else np.empty(0, np.int64),
                 times[:, 1].copy(), times[:, 0].astype(np.int32),
                 # pyarrow converts a list of nothing but None slowly (0.3 s for 50,000): the common unkeyed topic
                 pa.nulls(n, pa.large_binary()) if keys.count(None) == n else pa.array(keys, pa.large_binary()),
                 pa.array(list(map(Message.value, messages)) if n else [], pa.large_binary()),
                 _headers(messages) if headers else None)


def _headers(messages: list) -> pa.Array:
    """Each message's headers as Spark gives them: [{key, value}, ...] in order, NULL where it has none."""
    rows = [[{"key": k, "value": v} for k, v in found] if (found := m.headers()) else None for m in messages]
    return pa.array(rows, HEADERS.type)


def to_table(runs: list, schema: pa.Schema | None, headers: bool = False) -> pa.Table:
    """What ``kafka_reader.RangeReader.fetch`` read (runs of one partition's messages, ``((topic, partition),
    Chunk)``, in topic, partition then offset order) as the source's table; ``headers``: with Spark's
    ``headers`` column."""
    runs = [(tp, chunk) for tp, chunk in runs if len(chunk)]
    n = sum(len(chunk) for _, chunk in runs)
    if not runs:
        return source_schema(schema, headers).empty_table()
    times = np.concatenate([chunk.times for _, chunk in runs])
    # confluent_kafka counts its timestamp types from 1 (0: none), Kafka's Java client from 0 (-1: none)
    kinds = np.concatenate([chunk.kinds for _, chunk in runs])
    partitions = np.concatenate([np.full(len(chunk), tp[1], np.int32) for tp, chunk in runs])
    offsets = np.concatenate([chunk.offsets for _, chunk in runs])
    keys = pa.concat_arrays([chunk.keys for _, chunk in runs])
    values = pa.concat_arrays([chunk.values for _, chunk in runs])
    topics: list[tuple[str, int]] = []
    for (t, _), chunk in runs:
        if topics and topics[-1][0] == t:
            topics[-1] = (t, topics[-1][1] + len(chunk))
        else:
            topics.append((t, len(chunk)))
    columns = [
        pa.nulls(n, pa.binary()) if keys.null_count == n else binary_column(keys),
        binary_column(values),
        _topics(topics),
        pa.array(partitions, pa.int32()),
        pa.array(offsets, pa.int64()),
        # a message without one (type -1) has Kafka's -1 ms, which Spark shows as 1969-12-31 23:59:59.999 too
        pa.array(times * 1000, TIMESTAMP),
        pa.array(kinds - 1, pa.int32()),
    ]
    table = pa.Table.from_arrays(columns, schema=KAFKA_SCHEMA)
    if headers:
        table = table.append_column(HEADERS, pa.concat_arrays([chunk.headers for _, chunk in runs]))
    if schema is None:
        return table
    ends = np.cumsum([count for _, count in topics])

    def where(k: int) -> tuple[str, int, int]:  # (only asked when a value is refused)
        return topics[int(np.searchsorted(ends, k, side="right"))][0], int(partitions[k]), int(offsets[k])

    parsed = parse_values(values, schema, where)
    for field in schema:
        table = table.append_column(field, parsed.column(field.name))
    return table


def binary_column(values: pa.Array) -> pa.Array | pa.ChunkedArray:
    """A large_binary array as binary: one array, or chunks of at most ``BINARY_CHUNK_BYTES`` bytes each where
    it holds more (a single value longer than that, which Kafka's int32 sizes keep under 2 GiB, is a chunk of its
    own)."""
    offsets = np.frombuffer(values.buffers()[1], np.int64, len(values) + 1, values.offset * 8)
    if offsets[-1] - offsets[0] <= BINARY_CHUNK_BYTES:
        return values.cast(pa.binary())
    chunks, start = [], 0
    while start < len(values):
        stop = int(np.searchsorted(offsets, offsets[start] + BINARY_CHUNK_BYTES, side="right")) - 1
        stop = min(max(stop, start + 1), len(values))
        chunks.append(_binary_slice(values, offsets, start, stop))
        start = stop
    return pa.chunked_array(chunks, pa.binary())


def _binary_slice(values: pa.Array, offsets: np.ndarray, start: int, stop: int) -> pa.Array:
    """Rows ``[start, stop)`` of a large_binary array as a binary array of its own, offsets counted from its first
    byte (a cast of the slice could still see the whole array's 64-bit offsets)."""
    first, n = int(offsets[start]), stop - start
    cut = pa.py_buffer((offsets[start:stop + 1] - first).astype(np.int32))
    data = values.buffers()[2].slice(first, int(offsets[stop]) - first)
    valid = values.slice(start, n).is_valid().to_numpy(zero_copy_only=False)
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.binary(), n, [validity, cut, data])


def _topics(runs: list[tuple[str, int]]) -> pa.Array:
    """The topic column from (topic, how many rows in a row) runs: one topic repeated, the common case."""
    if len(runs) <= 1:
        return pa.repeat(pa.scalar(runs[0][0] if runs else "", pa.string()), runs[0][1] if runs else 0)
    return pa.array(np.repeat(np.array([t for t, _ in runs], object), [n for _, n in runs]), pa.string())


def parse_values(values: pa.Array, schema: pa.Schema, where) -> pa.Table:
    """Each value (a binary array) as one JSON object with ``schema``'s columns (a null value, a tombstone,
    gives nulls, as Spark's ``from_json(null)``); a value that is not one raises a SourceError naming where it
    is: ``where(k)`` is row k's (topic, partition, offset)."""
    n = len(values)
    if not n:
        return schema.empty_table()
    values = values.fill_null(b"{}") if values.null_count else values
    data = _lines(values)
    if np.count_nonzero(np.frombuffer(data, np.uint8) == 10) != n - 1 or b"\r" in data:
        # One value a line: a raw line break in JSON is only ever whitespace between tokens, so it can go.
        data = _one_a_line(values.to_pylist())
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        k = data.count(b"\n", 0, err.start)
        raise _at(where(k), values[k].as_py(), "the value is not UTF-8 text "
                  f"(byte 0x{data[err.start]:02x}); JSON values are UTF-8") from None
    try:
        parsed = _parse_json(data, schema)
    except _BAD_DATA as err:
        _refuse_blank(values, where)
        line = _first_bad_line(data, _parse_json, schema, header=False)
        if line is None:
            places = sorted({where(k)[:2] for k in range(n)})
            raise SourceError(f"kafka source: the values of (topic, partition) {places} do not parse as JSON "
                              f"with the schema: {_explain(err)}") from None
        value = values[line - 1].as_py()
        what = _json_number(err, value, schema) or _explain(err)
        raise _at(where(line - 1), value, what) from None
    if parsed.num_rows != n:  # the JSON reader skips a blank line, and makes a row of each object on a line
        _refuse_blank(values, where)
        k = first_of_several(values.to_pylist(), lambda some: _parse_json(_one_a_line(some), schema).num_rows)
        raise _at(where(k), values[k].as_py(), f"the value {SEVERAL}")
    return parsed


SEVERAL = "holds more than one JSON object; one message is one object (one row)"


def first_of_several(values: list[bytes], rows: Callable[[list[bytes]], int]) -> int:
    """The index of the first value that parses into more than one row (``{"a": 1} {"a": 2}``: the JSON reader
    makes a row of each object), ``rows(values[:m])`` being how many rows the first m make; by bisection, so a
    large batch is parsed ~log2(n) times, only once it is known to hold such a value.

    >>> first_of_several([b"{}", b"{} {}", b"{}"], lambda some: sum(v.count(b"{") for v in some))
    1
    """
    low, high = 1, len(values)  # the first high values make more rows than values
    while low < high:
        middle = (low + high) // 2
        if rows(values[:middle]) > middle:
            high = middle
        else:
            low = middle + 1
    return low - 1


def _one_a_line(values: list[bytes]) -> bytes:
    """Values one a line, their own line breaks (whitespace between JSON tokens) made spaces."""
    return b"\n".join(v.replace(b"\r", b" ").replace(b"\n", b" ") for v in values)


def _lines(values: pa.Array) -> bytes:
    """The values one a line, a line break between two (none after the last: no whitespace around the whole, so
    the JSON reader's emptiness check strips nothing and copies nothing). One Arrow call that writes each value
    and its line break; no Python object per value (a list join of the values cost ~5x as much)."""
    ended = pc.binary_join_element_wise(values.cast(pa.large_binary()), _EMPTY, _NEWLINE)
    offsets = np.frombuffer(ended.buffers()[1], np.int64, len(ended) + 1, ended.offset * 8)
    return ended.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]) - 1).to_pybytes()


def _refuse_blank(values: pa.Array, where) -> None:
    for k, value in enumerate(values.to_pylist()):
        if not value.strip():
            raise _at(where(k), value, "the value is empty, not a JSON object")


def _at(place: tuple[str, int, int], value: bytes | None, what: str) -> SourceError:
    topic, partition, offset = place
    shown = value[:120] if value is not None else None
    return SourceError(f"kafka source: topic {topic!r}, partition {partition}, offset {offset}: malformed JSON "
                       f"value {shown!r}: {what}")
