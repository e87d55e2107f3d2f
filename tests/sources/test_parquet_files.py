"""Reading a parquet file for the files source: the same table whichever way its strings are decoded."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stream_nb import sources
from stream_nb.sources.parquet_files import dictionary_columns, read_parquet
from stream_nb.types import SchemaError


def _plain(path) -> pa.Table:
    with pq.ParquetFile(path) as parquet:
        return parquet.read()


def _devices(rows: int) -> pa.Table:
    device = pa.array([None if i % 97 == 0 else "" if i % 89 == 0 else f"d{i % 300:04d}" for i in range(rows)])
    return pa.table({"device": device, "temp": pa.array([i / 7 for i in range(rows)]),
                     "label": pa.array([f"x{i % 3}" for i in range(rows)], pa.large_string())})


def _metadata(path):
    with pq.ParquetFile(path) as parquet:
        return parquet.metadata, parquet.schema_arrow


def test_a_few_distinct_strings_are_read_through_their_dictionary_as_the_plain_read_gives_them(tmp_path):
    table = _devices(60_000)
    path = tmp_path / "a.parquet"
    pq.write_table(table, path, row_group_size=25_000)  # several row groups, each with its own dictionary
    metadata, schema = _metadata(path)
    assert dictionary_columns(metadata, schema) == ["device", "label"]
    for threads in (True, False):
        read = read_parquet(str(path), ["device", "temp", "label"], threads=threads)
        assert read.schema == table.schema  # string stays string, large_string stays large_string
        assert read.equals(_plain(path))
        assert read.column("device").null_count == table.column("device").null_count


def test_strings_whose_writer_gave_up_the_dictionary_are_read_plain(tmp_path):
    # every value distinct: the dictionary page fills up (1 MB) and the writer goes on with plain pages
    table = pa.table({"id": [f"id-{i:012d}-{i * 7919 % 1_000_003}" for i in range(60_000)]})
    path = tmp_path / "a.parquet"
    pq.write_table(table, path)
    assert dictionary_columns(*_metadata(path)) == []
    assert read_parquet(str(path), ["id"]).equals(table)


def test_strings_written_without_a_dictionary_are_read_plain(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(_devices(1_000), path, use_dictionary=False)
    assert dictionary_columns(*_metadata(path)) == []
    assert read_parquet(str(path), ["device", "temp", "label"]).equals(_plain(path))


def test_only_the_named_columns_are_read(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(_devices(100), path)
    assert read_parquet(str(path), ["temp", "device", "absent"]).column_names == ["device", "temp"]


def test_a_file_whose_names_repeat_or_hold_a_dot_is_read_whole(tmp_path):
    dotted = pa.table({"a.b": ["x", "y"], "a": ["p", "q"], "n": [1, 2]})
    path = tmp_path / "dotted.parquet"
    pq.write_table(dotted, path)
    assert read_parquet(str(path), ["a.b"]).equals(dotted)
    repeated = pa.Table.from_arrays([pa.array(["x", "y"]), pa.array(["p", "q"]), pa.array([1, 2])],
                                    names=["s", "s", "n"])
    path = tmp_path / "repeated.parquet"
    pq.write_table(repeated, path)
    assert read_parquet(str(path), ["n"]).equals(repeated)
    with pytest.raises(SchemaError, match="column 's' is ambiguous: the file has 's', 's'"):  # as Spark's reader
        read_parquet(str(path), ["s"])


def test_the_files_source_gives_the_same_rows_read_ahead_or_not(tmp_path):
    for index in range(3):
        pq.write_table(_devices(5_000).slice(index * 100), tmp_path / f"part-{index}.parquet")
    src = sources.files(tmp_path, format="parquet", schema="device string, label string, temp double",
                        max_files_per_trigger=1)
    assert src.latest_offset() == 3
    batches = [src.read(i, i + 1) for i in range(3)]  # the second and third were read ahead (no threads)
    src.close()
    for index, batch in enumerate(batches):
        expected = _devices(5_000).slice(index * 100)
        assert batch.schema == pa.schema([("device", pa.string()), ("label", pa.string()), ("temp", pa.float64())])
        assert batch.column("device").equals(expected.column("device"))
        assert batch.column("label").to_pylist() == expected.column("label").to_pylist()
