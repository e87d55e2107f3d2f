"""The memory source: rows added by hand, read back by offsets."""

import threading

import pandas as pd
import pyarrow as pa
import pytest

from stream_nb import sources
from stream_nb.sources import Source, SourceError
from stream_nb.types import TIMESTAMP, SchemaError

SCHEMA = "ts timestamp, device string, temp double"


def rows(start, stop):
    return [{"ts": f"2024-05-01 12:00:{i % 60:02d}", "device": f"d{i}", "temp": float(i)}
            for i in range(start, stop)]


def test_memory_is_a_source_with_the_given_schema():
    src = sources.memory(SCHEMA)
    assert isinstance(src, Source)
    assert src.schema == pa.schema([("ts", TIMESTAMP), ("device", pa.string()), ("temp", pa.float64())])
    assert src.latest_offset() == 0
    assert src.read(0, 0).schema == src.schema


def test_memory_add_data_returns_the_new_end_offset():
    src = sources.memory(SCHEMA)
    assert src.add_data(rows(0, 3)) == 3
    assert src.add_data([]) == 3
    assert src.add_data(pd.DataFrame(rows(3, 5))) == 5
    assert src.latest_offset() == 5


def test_memory_read_is_deterministic_slice():
    src = sources.memory(SCHEMA)
    for start, stop in [(0, 3), (3, 4), (4, 9), (9, 10)]:  # four chunks of uneven sizes
        src.add_data(rows(start, stop))
    devices = [f"d{i}" for i in range(10)]
    for start in range(11):
        for end in range(start, 11):
            table = src.read(start, end)
            assert table.schema == src.schema
            assert table.column("device").to_pylist() == devices[start:end]
    assert src.read(2, 7).equals(src.read(2, 7))


def test_memory_timestamps_are_utc_and_naive_ones_are_taken_as_utc():
    src = sources.memory(SCHEMA)
    naive = pd.to_datetime(["2024-05-01 12:00:00"])
    src.add_data(pd.DataFrame({"ts": naive, "device": ["a"], "temp": [1.0]}))
    src.add_data([{"ts": "2024-05-01T14:00:01+02:00", "device": "b", "temp": 2.0}])
    ts = src.read(0, 2).column("ts")
    assert ts.type == TIMESTAMP
    assert [t.isoformat() for t in ts.to_pylist()] == ["2024-05-01T12:00:00+00:00",
                                                       "2024-05-01T12:00:01+00:00"]


def test_memory_wrong_type_in_add_data_names_the_column():
    src = sources.memory(SCHEMA)
    with pytest.raises(SchemaError, match="'temp'"):
        src.add_data([{"ts": "2024-05-01 12:00:00", "device": "a", "temp": "hot"}])
    assert src.latest_offset() == 0  # nothing half-added


def test_memory_read_past_the_latest_offset_is_an_error():
    src = sources.memory(SCHEMA)
    src.add_data(rows(0, 2))
    with pytest.raises(SourceError, match="only 2 are available"):
        src.read(0, 3)
    with pytest.raises(SourceError, match="0 <= start <= end"):
        src.read(2, 1)


def test_memory_add_data_from_the_notebook_while_the_engine_reads():
    src = sources.memory("n bigint")
    batches, size = 200, 50

    def notebook():
        for b in range(batches):
            src.add_data([{"n": b * size + i} for i in range(size)])

    writer = threading.Thread(target=notebook)
    writer.start()
    seen, offset = [], 0
    while offset < batches * size:
        end = src.latest_offset()
        seen.extend(src.read(offset, end).column("n").to_pylist())
        offset = end
    writer.join()
    assert seen == list(range(batches * size))


def test_memory_repr_and_description_say_schema_and_rows():
    src = sources.memory(SCHEMA)
    src.add_data(rows(0, 2))
    assert src.description == "MemorySource[ts, device, temp]"
    assert repr(src) == "MemorySource('ts timestamp, device string, temp double', rows=2)"


def test_memory_add_data_takes_ordinary_pandas_timestamps_truncated_to_microseconds():
    """Issue 11.7 / 12.16: pandas makes nanoseconds (naive, or in any zone); the stream keeps Spark's microseconds."""
    import stream_nb as sn

    src = sources.memory(SCHEMA)
    start = pd.Timestamp("2024-05-01 12:00:00.000000999")  # naive: UTC, the session zone
    src.add_data(pd.DataFrame({"ts": [start, start + pd.Timedelta("10s")], "device": ["a", "a"], "temp": [1.0, 2.0]}))
    src.add_data(pd.DataFrame({"ts": [pd.Timestamp("2024-05-01 14:00:05.5000009", tz="Europe/Paris")],
                               "device": ["b"], "temp": [3.0]}))
    q = sn.start("SELECT device, window(ts, '10 seconds') AS w, count(*) AS n, min(ts) AS first "
                 "FROM src GROUP BY device, window(ts, '10 seconds')",
                 sources={"src": src}, output_mode="complete", trigger="manual")
    try:
        q.step()
        result = q.result.sort_values(["device", "first"]).reset_index(drop=True)
    finally:
        q.stop()
    assert [(row.device, row.w["start"].isoformat(), row.n, row.first.isoformat()) for row in result.itertuples()] \
        == [("a", "2024-05-01T12:00:00+00:00", 1, "2024-05-01T12:00:00+00:00"),
            ("a", "2024-05-01T12:00:10+00:00", 1, "2024-05-01T12:00:10+00:00"),
            ("b", "2024-05-01T12:00:00+00:00", 1, "2024-05-01T12:00:05.500000+00:00")]


def test_memory_nan_from_pandas_stays_nan_and_none_in_dicts_is_null():
    src = sources.memory("k string, d double")
    src.add_data(pd.DataFrame({"k": ["pandas"], "d": [float("nan")]}))
    src.add_data([{"k": "dicts", "d": float("nan")}, {"k": "none", "d": None}])
    column = src.read(0, 3).column("d")
    assert column.null_count == 1 and column.is_nan().to_pylist() == [True, True, None]


def test_memory_add_data_none_is_refused_and_adds_nothing():
    src = sources.memory(SCHEMA)
    with pytest.raises(TypeError, match="rows are a pandas DataFrame, a list of dicts or an Arrow table, not NoneType"):
        src.add_data(None)
    with pytest.raises(SchemaError, match="column 'temp' holds the int 1180591620717411303424"):
        src.add_data([{"ts": "2024-05-01 12:00:00", "device": "a", "temp": 2**70}])
    assert src.latest_offset() == 0


def test_memory_add_data_keeps_an_arrow_table_of_its_schema_as_it_is_and_casts_any_other():
    src = sources.memory("device string, temp double")
    exact = pa.table({"device": ["a"], "temp": [1.5]}, schema=src.schema)
    src.add_data(exact)
    def address(table):
        return table.column("temp").chunk(0).buffers()[1].address

    assert address(src.read(0, 1)) == address(exact)  # the table itself: no copy
    src.add_data(pa.table({"device": ["b"], "temp": pa.array([2], pa.int64())}))  # cast, as before
    tagged = exact.replace_schema_metadata({"from": "elsewhere"})  # another schema's metadata is not taken
    src.add_data(tagged)
    assert src.read(1, 3).schema.equals(src.schema, check_metadata=True)
    assert src.read(0, 3).to_pylist() == [{"device": "a", "temp": 1.5}, {"device": "b", "temp": 2.0},
                                          {"device": "a", "temp": 1.5}]
    with pytest.raises(SchemaError, match="temp"):
        src.add_data(pa.table({"device": ["c"], "temp": ["warm"]}))
