"""The files source's CSV without a header line (Spark's default ``header=false``): columns by position, as the
schema names them; bad lines still name their file and line."""

import re

import pytest

from stream_nb import sources
from stream_nb.sources import SourceError
from tests.sources.test_files import write

SCHEMA = "ts timestamp, device string, temp double"


def test_headerless_csv_reads_columns_by_position_as_the_schema_names_them(tmp_path):
    write(tmp_path, "a.csv", "2024-05-01 12:00:00,a,1.5\n2024-05-01 12:00:01,b,2\n")
    src = sources.files(tmp_path, schema=SCHEMA, header=False)
    assert src.latest_offset() == 1
    rows = src.read(0, 1).to_pylist()
    assert [(r["device"], r["temp"]) for r in rows] == [("a", 1.5), ("b", 2.0)]
    assert str(rows[0]["ts"]) == "2024-05-01 12:00:00+00:00"


def test_the_default_is_still_a_header_line(tmp_path):
    write(tmp_path, "a.csv", "temp,device,ts\n1.5,a,2024-05-01 12:00:00\n")
    src = sources.files(tmp_path, schema=SCHEMA)
    src.latest_offset()
    assert [(r["device"], r["temp"]) for r in src.read(0, 1).to_pylist()] == [("a", 1.5)]


def test_headerless_csv_first_line_is_a_row(tmp_path):
    # a header line read as a row is a bad row: 'temp' is not a double, on line 1
    bad = write(tmp_path, "a.csv", "ts,device,temp\n2024-05-01 12:00:00,a,1.5\n")
    src = sources.files(tmp_path, schema="ts string, device string, temp string", header=False)
    src.latest_offset()
    assert [r["temp"] for r in src.read(0, 1).to_pylist()] == ["temp", "1.5"]
    typed = sources.files(tmp_path, schema=SCHEMA, header=False)
    typed.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(bad)}, line 1: column 'temp' is double but holds 'temp'$"):
        typed.read(0, 1)


@pytest.mark.parametrize("text, line, what", [
    ("2024-05-01 12:00:00,a,1\n2024-05-01 12:00:01,b,hot\n", 2, "column 'temp' is double but holds 'hot'"),
    ("2024-05-01 12:00:00,a,1\n\n2024-05-01 12:00:01,a\n", 3, "Expected 3 columns, got 2"),
    ("2024-05-01 12:00:00,a,1\n2024-05-01 12:00:01,a,1,9\n", 2, "Expected 3 columns, got 4"),
])
def test_headerless_csv_bad_line_names_file_line_and_column(tmp_path, text, line, what):
    bad = write(tmp_path, "a.csv", text)
    src = sources.files(tmp_path, schema=SCHEMA, header=False)
    src.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(bad)}, line {line}: .*{what}") as err:
        src.read(0, 1)
    assert (err.value.file, err.value.line) == (bad, line)


def test_headerless_csv_without_a_schema_names_columns_as_spark(tmp_path):
    write(tmp_path, "a.csv", "1,x\n2,y\n")
    with pytest.warns(UserWarning, match="inferred"):
        src = sources.files(tmp_path, header=False)
    assert src.schema.names == ["_c0", "_c1"]
    src.latest_offset()
    assert src.read(0, 1).to_pylist() == [{"_c0": 1, "_c1": "x"}, {"_c0": 2, "_c1": "y"}]
