"""Kafka messages as Spark's Kafka columns: keys and values past Arrow's 32-bit offsets go out as binary chunks
(the limit lowered here, so the chunk boundaries are met with a few bytes instead of 2 GB)."""

import numpy as np
import pyarrow as pa
import pytest

from stream_nb.sources import formats, kafka_records
from stream_nb.sources.errors import SourceError
from stream_nb.sources.kafka_records import Chunk, to_table


def chunk(values, keys, first_offset):
    n = len(values)
    return Chunk(["t"], np.zeros(n, np.int32), np.zeros(n, np.int32), np.arange(first_offset, first_offset + n),
                 np.full(n, 1_700_000_000_000, np.int64), np.ones(n, np.int32), pa.array(keys, pa.large_binary()),
                 pa.array(values, pa.large_binary()))


@pytest.mark.parametrize("limit", [1, 5, 7, 12, 1000])
def test_keys_and_values_past_the_binary_limit_come_as_chunks_none_over_it(monkeypatch, limit):
    monkeypatch.setattr(kafka_records, "BINARY_CHUNK_BYTES", limit)
    values = [b"abc", None, b"", b"defgh", b"ij", None, b"klmnopq", b"r"]  # a tombstone is null, b"" empty
    keys = [b"k0", b"k1", None, b"", b"k4", b"k5", None, b"k7"]
    runs = [(("t", 0), chunk(values[:3], keys[:3], 10)), (("t", 0), chunk(values[3:], keys[3:], 13))]
    table = to_table([(tp, c.slice(1, len(c)) if k else c) for k, (tp, c) in enumerate(runs)], None)
    kept = [0, 1, 2, 4, 5, 6, 7]  # the second run read from its second message on
    assert table.column("value").to_pylist() == [values[k] for k in kept]
    assert table.column("key").to_pylist() == [keys[k] for k in kept]
    assert table.column("offset").to_pylist() == [10, 11, 12, 14, 15, 16, 17]
    for name in ("key", "value"):
        column = table.column(name)
        assert column.type == pa.binary()
        for piece in column.chunks:  # each under the limit, unless one value alone is longer
            size = sum(len(v) for v in piece.to_pylist() if v is not None)
            assert size <= limit or len(piece) == 1
        if sum(len(v or b"") for v in table.column(name).to_pylist()) > limit:
            assert column.num_chunks > 1


def test_values_past_the_binary_limit_still_parse_with_a_schema(monkeypatch):
    monkeypatch.setattr(kafka_records, "BINARY_CHUNK_BYTES", 16)
    values = [f'{{"n": {k}, "s": "{"x" * k}"}}'.encode() for k in range(12)]
    table = to_table([(("t", 0), chunk(values, [None] * 12, 0))], pa.schema([("n", pa.int64()), ("s", pa.string())]))
    assert table.column("value").num_chunks > 1
    assert table.column("n").to_pylist() == list(range(12))
    assert table.column("s").to_pylist() == ["x" * k for k in range(12)]
    assert table.column("value").to_pylist() == values


def test_timestamp_types_map_as_confluent_kafka_counts_them_and_none_keeps_kafkas_minus_one_ms_as_spark():
    # confluent-kafka (and librdkafka's rd_kafka_message_timestamp, which the bulk consumer asks) give
    # (0 NOT_AVAILABLE, -1) where a message has no timestamp, 1 CreateTime, 2 LogAppendTime
    c = chunk([b"a", b"b", b"c"], [None] * 3, 0)
    c.times[:], c.kinds[:] = [-1, 1_700_000_000_123, 1_700_000_000_124], [0, 1, 2]
    table = to_table([(("t", 0), c)], None)
    assert table.column("timestampType").to_pylist() == [-1, 0, 1]
    stamps = table.column("timestamp").to_pylist()
    # Spark's Kafka source makes a java.sql.Timestamp of the -1: one millisecond before the epoch
    assert [s.timestamp() for s in stamps] == [-0.001, 1_700_000_000.123, 1_700_000_000.124]


VALUE_SCHEMA = pa.schema([("n", pa.int64()), ("s", pa.string())])


def where(k):
    return ("t", 0, 100 + k)


@pytest.mark.parametrize("kind", [pa.binary(), pa.large_binary()])
def test_values_parse_one_object_each_whatever_whitespace_and_line_breaks_they_hold(kind):
    values = [b' {"n": 1, "s": "a"}', b'{"n":\n2,\r\n"s": "b"}\n', b'\r{"n": 3}\t', None, b'{"s": "\xc3\xa9"} ']
    table = kafka_records.parse_values(pa.array([b"x", *values], kind).slice(1), VALUE_SCHEMA, where)
    assert table.column("n").to_pylist() == [1, 2, 3, None, None]  # a tombstone (null value) gives nulls
    assert table.column("s").to_pylist() == ["a", "b", None, None, "é"]


@pytest.mark.parametrize(("values", "bad", "says"), [
    ([b'{"n": 1}', b'{"n": 2}', b""], 2, "the value is empty"),
    ([b"", b'{"n": 1}'], 0, "the value is empty"),
    ([b'{"n": 1}', b"  \n ", b'{"n": 3}'], 1, "the value is empty"),
    ([b'{"n": 1}', b'{"n": "two"}'], 1, "column 'n'"),
    ([b'{"n": 1}', b'{"n": 2', b'{"n": 3}'], 1, "malformed JSON value"),
    ([b'{"n": 1}', b'{"s": "\xff"}'], 1, "not UTF-8"),
    # two objects in one value: the JSON reader would make a row of each, and every later row would move up one
    ([b'{"n": 1}', b'{"n": 2}', b'{"n": 3} {"n": 4}', b'{"n": 5}'], 2, "holds more than one JSON object"),
    ([b'{"n": 1}\n{"n": 2}', b'{"n": 3}'], 0, "holds more than one JSON object"),
    ([b'{"n": 1}', b'{"n": 2}{"n": 3}'], 1, "holds more than one JSON object"),
])
def test_a_bad_value_is_refused_naming_its_offset(values, bad, says):
    with pytest.raises(SourceError, match=rf"topic 't', partition 0, offset {100 + bad}: .*{says}"):
        kafka_records.parse_values(pa.array(values, pa.large_binary()), VALUE_SCHEMA, where)


def test_parsed_values_are_those_of_the_files_sources_json_reader():
    values = [f'{{"n": {k}, "s": "{"x" * (k % 7)}"}}'.encode() for k in range(2_000)]
    data = b"".join(v + b"\n" for v in values)
    expected = formats._parse_json(data, VALUE_SCHEMA)
    assert kafka_records.parse_values(pa.array(values, pa.large_binary()), VALUE_SCHEMA, where).equals(expected)
