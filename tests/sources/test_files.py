"""The files source: new files in a directory are new input; offsets count files."""

import datetime
import gzip
import math
import os
import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stream_nb import sources
from stream_nb.sources import SourceError
from stream_nb.types import TIMESTAMP

SCHEMA = "ts timestamp, device string, temp double"
UTC = datetime.UTC
HEADER = "ts,device,temp\n"


def write(folder, name, text, mtime=None):
    """Write a file, with a chosen modification time so that the order of files is certain."""
    path = folder / name
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def csv_rows(*rows):
    lines = [f"2024-05-01 12:00:{i:02d},{device},{temp}\n" for i, (device, temp) in enumerate(rows)]
    return HEADER + "".join(lines)


def test_files_offsets_count_files_in_modification_time_order(tmp_path):
    b = write(tmp_path, "b.csv", csv_rows(("b", 1)), mtime=1000)
    a = write(tmp_path, "a.csv", csv_rows(("a", 1)), mtime=2000)
    c = write(tmp_path, "c.csv", csv_rows(("c", 1)), mtime=2000)  # same time as a.csv: then by name
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 3
    assert src.seen_files == [b, a, c]
    assert src.read(0, 3).column("device").to_pylist() == ["b", "a", "c"]


def test_files_new_files_come_after_the_files_seen(tmp_path):
    write(tmp_path, "b.csv", csv_rows(("b", 1)), mtime=2000)
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 1
    write(tmp_path, "a.csv", csv_rows(("a", 1)), mtime=1000)  # older, but arrives later
    assert src.latest_offset() == 2
    assert src.read(1, 2).column("device").to_pylist() == ["a"]
    assert src.read(0, 2).column("device").to_pylist() == ["b", "a"]


def test_files_read_returns_exactly_the_schema_with_utc_timestamps(tmp_path):
    write(tmp_path, "a.csv", "temp,extra,ts,device\n"
                             "1.5,x,2024-05-01 12:00:00,a\n"
                             "2,y,2024-05-01T14:00:01+02:00,b\n"
                             ",z,2024-05-01T12:00:02Z,\n")
    src = sources.files(tmp_path, schema=SCHEMA)
    src.latest_offset()
    table = src.read(0, 1)
    assert table.schema == src.schema and table.schema.field("ts").type == TIMESTAMP
    assert table.to_pylist() == [
        {"ts": datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "device": "a", "temp": 1.5},
        {"ts": datetime.datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC), "device": "b", "temp": 2.0},
        {"ts": datetime.datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC), "device": None, "temp": None},
    ]


def test_files_json_lines_ignore_unknown_fields_and_null_missing_ones(tmp_path):
    write(tmp_path, "a.json", '{"ts": "2024-05-01 12:00:00", "device": "a", "temp": 1, "extra": [1]}\n'
                              '\n'
                              '{"ts": "2024-05-01T12:00:01Z", "device": "b"}\n')
    src = sources.files(tmp_path, format="json", schema=SCHEMA)
    assert src.latest_offset() == 1
    assert src.read(0, 1).to_pylist() == [
        {"ts": datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "device": "a", "temp": 1.0},
        {"ts": datetime.datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC), "device": "b", "temp": None},
    ]


def test_files_parquet_uses_the_file_schema_with_utc_timestamps(tmp_path, recwarn):
    frame = pd.DataFrame({"ts": pd.to_datetime(["2024-05-01 12:00:00"]), "device": ["a"], "temp": [1.5]})
    frame.to_parquet(tmp_path / "a.parquet")
    src = sources.files(tmp_path, format="parquet")
    assert not recwarn.list  # the file's own schema: nothing to warn about
    assert src.schema == pa.schema([("ts", TIMESTAMP), ("device", pa.string()), ("temp", pa.float64())])
    src.latest_offset()
    assert src.read(0, 1).to_pylist() == [
        {"ts": datetime.datetime(2024, 5, 1, 12, tzinfo=UTC), "device": "a", "temp": 1.5}]


def test_files_parquet_with_a_given_schema_casts_to_it(tmp_path):
    pq.write_table(pa.table({"n": pa.array([1, 2], pa.int32()), "other": ["x", "y"]}), tmp_path / "a.parquet")
    src = sources.files(tmp_path, format="parquet", schema="n bigint")
    src.latest_offset()
    assert src.read(0, 1) == pa.table({"n": pa.array([1, 2], pa.int64())})


def test_files_infers_a_csv_schema_from_the_first_file_with_a_warning(tmp_path):
    first = write(tmp_path, "a.csv", csv_rows(("a", 1.5)), mtime=1000)
    write(tmp_path, "b.csv", "other\n1\n", mtime=2000)
    inferred = f"inferred from {re.escape(first)}: ts timestamp, device string, temp double"
    with pytest.warns(UserWarning, match=inferred):
        src = sources.files(tmp_path)
    assert src.schema == pa.schema([("ts", TIMESTAMP), ("device", pa.string()), ("temp", pa.float64())])


def test_files_without_schema_or_files_to_infer_from_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="no schema given, and no csv file"):
        sources.files(tmp_path)


def test_files_malformed_csv_row_names_file_and_line(tmp_path):
    bad = write(tmp_path, "a.csv", HEADER + "2024-05-01 12:00:00,a,1.5\n\n2024-05-01 12:00:01,b,hot\n")
    src = sources.files(tmp_path, schema=SCHEMA)
    src.latest_offset()
    message = f"^file: {re.escape(bad)}, line 4: column 'temp' is double but holds 'hot'$"
    with pytest.raises(SourceError, match=message) as err:
        src.read(0, 1)
    assert (err.value.file, err.value.line) == (bad, 4)


@pytest.mark.parametrize("name, text, line, what", [
    ("short.csv", HEADER + "2024-05-01 12:00:00,a,1\n2024-05-01 12:00:01,a\n", 3,
     "Expected 3 columns, got 2"),
    ("time.csv", HEADER + "2024-05-01 12:00:00,a,1\nyesterday,a,1\n", 3,
     "column 'ts' is a timestamp but holds 'yesterday'; write ISO 8601"),
    ("header.csv", "ts,device\n2024-05-01 12:00:00,a\n", 1, r"lack column\(s\) \['temp'\]"),
    ("type.json", '{"temp": 1}\n{"temp": "hot"}\n', 2, "column 'temp': expected a number, found a string"),
    ("broken.json", '{"temp": 1}\n{"temp": 2,\n', 2, "JSON parse error"),
    ("time.json", '{"ts": "2024-05-01 12:00:00"}\n{"ts": "never"}\n', 2,
     "column 'ts' is a timestamp but holds 'never'; write ISO 8601"),
])
def test_files_malformed_file_names_file_line_and_what(tmp_path, name, text, line, what):
    path = write(tmp_path, name, text)
    src = sources.files(tmp_path, format=name.split(".")[1], schema=SCHEMA)
    src.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(path)}, line {line}: .*{what}"):
        src.read(0, 1)


def test_files_malformed_file_is_never_skipped(tmp_path):
    write(tmp_path, "a.csv", csv_rows(("a", 1)), mtime=1000)
    write(tmp_path, "b.csv", HEADER + "oops\n", mtime=2000)
    write(tmp_path, "c.csv", csv_rows(("c", 1)), mtime=3000)
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 3
    assert src.read(0, 1).num_rows == 1
    for _ in range(2):  # a retry fails again: the batch cannot silently lose b.csv
        with pytest.raises(SourceError, match="b.csv, line 2"):
            src.read(0, 3)


def test_files_parquet_columns_match_in_any_case_and_a_missing_one_is_null(tmp_path):
    """As Spark's parquet reader (PySpark 4, spark.sql.caseSensitive off): `Device` is the stream's `device`, and a
    file written before column `a` existed reads it as NULL: [Row(device='z', a=5, b=3), Row(device='x', a=None,
    b=1), ...]."""
    pq.write_table(pa.table({"Device": ["x", "y"], "b": pa.array([1, 2], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"device": ["z"], "a": pa.array([5], pa.int32()), "b": pa.array([3], pa.int32())}),
                   tmp_path / "b.parquet")
    src = sources.files(tmp_path, format="parquet", schema="device string, a int, b int")
    assert src.latest_offset() == 2
    assert sorted(src.read(0, 2).to_pylist(), key=lambda row: row["device"]) == [
        {"device": "x", "a": None, "b": 1}, {"device": "y", "a": None, "b": 2}, {"device": "z", "a": 5, "b": 3}]


def test_files_parquet_columns_differing_only_in_case_are_ambiguous(tmp_path):
    path = str(tmp_path / "a.parquet")
    pq.write_table(pa.table({"A": [1], "a": [2]}), path)
    src = sources.files(tmp_path, format="parquet", schema="a bigint")
    src.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(path)}: column 'a' is ambiguous: the file has 'A', 'a'"):
        src.read(0, 1)


def test_files_corrupt_parquet_names_the_file(tmp_path):
    path = write(tmp_path, "a.parquet", b"not parquet at all")
    src = sources.files(tmp_path, format="parquet", schema="n bigint")
    src.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(path)}: .*magic bytes"):
        src.read(0, 1)


def test_files_max_files_per_trigger(tmp_path):
    for i in range(5):
        write(tmp_path, f"{i}.csv", csv_rows((f"d{i}", i)), mtime=1000 + i)
    src = sources.files(tmp_path, schema=SCHEMA, max_files_per_trigger=2)
    assert src.max_per_trigger == 2
    assert src.latest_offset() == 5  # the engine caps each batch at max_per_trigger offsets
    assert src.read(0, 2).column("device").to_pylist() == ["d0", "d1"]
    assert sources.files(tmp_path, schema=SCHEMA).max_per_trigger is None
    with pytest.raises(ValueError, match="max_files_per_trigger must be a positive int"):
        sources.files(tmp_path, schema=SCHEMA, max_files_per_trigger=0)


def test_files_ignores_hidden_files_and_other_extensions(tmp_path):
    keep = write(tmp_path, "a.csv", csv_rows(("a", 1)))
    for name in [".a.csv", "_temporary.csv", "a.csv.tmp", "notes.txt", "b.json"]:
        write(tmp_path, name, "junk")
    (tmp_path / "sub.csv").mkdir()
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 1 and src.seen_files == [keep]


def test_files_path_may_be_a_glob_that_matches_nothing_yet(tmp_path):
    src = sources.files(tmp_path / "day-*" / "*.csv", schema=SCHEMA)
    assert src.latest_offset() == 0
    (tmp_path / "day-1").mkdir()
    write(tmp_path / "day-1", "a.csv", csv_rows(("a", 1)))
    write(tmp_path / "day-1", "a.json", "{}")
    assert src.latest_offset() == 1


def test_files_plain_path_must_exist(tmp_path):
    with pytest.raises(SourceError, match="does not exist; create the directory first"):
        sources.files(tmp_path / "missing", schema=SCHEMA)


def test_files_seen_files_can_be_restored(tmp_path):
    a = write(tmp_path, "a.csv", csv_rows(("a", 1)), mtime=1000)
    first = sources.files(tmp_path, schema=SCHEMA)
    first.latest_offset()
    write(tmp_path, "b.csv", csv_rows(("b", 1)), mtime=2000)
    restored = sources.files(tmp_path, schema=SCHEMA)
    restored.seen_files = first.seen_files  # as a checkpoint would
    assert restored.latest_offset() == 2
    assert restored.seen_files == [a, str(tmp_path / "b.csv")]
    assert restored.read(1, 2).column("device").to_pylist() == ["b"]


def test_files_empty_files_and_gzip(tmp_path):
    write(tmp_path, "a.csv", "", mtime=1000)
    write(tmp_path, "b.csv.gz", gzip.compress(csv_rows(("b", 1)).encode()), mtime=2000)
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.latest_offset() == 2
    assert src.read(0, 1).num_rows == 0
    assert src.read(0, 2).column("device").to_pylist() == ["b"]


def test_files_read_past_the_files_seen_is_an_error(tmp_path):
    src = sources.files(tmp_path, schema=SCHEMA)
    assert src.read(0, 0).schema == src.schema
    with pytest.raises(SourceError, match="only 0 are available"):
        src.read(0, 1)


def read_one(folder, name, text, schema):
    """The rows of one file, read by a files source over ``folder`` (holding only that file)."""
    write(folder, name, text)
    src = sources.files(folder, format=name.split(".")[1], schema=schema)
    assert src.latest_offset() == 1
    return src.read(0, 1)


@pytest.mark.parametrize("name, text", [
    ("a.csv", "ts\n2024-05-01 12:00:00.1234567\n2024-05-01T12:00:00.123456789Z\n2024-05-01T14:00:00.12345678+02:00\n"),
    ("a.json", ('{"ts": "2024-05-01 12:00:00.1234567"}\n{"ts": "2024-05-01T12:00:00.123456789Z"}\n'
                '{"ts": "2024-05-01T14:00:00.12345678+02:00"}\n')),
])
def test_files_iso_timestamps_with_seven_to_nine_fractional_digits_are_truncated_to_microseconds(tmp_path, name, text):
    table = read_one(tmp_path, name, text, "ts timestamp")
    assert table.column("ts").to_pylist() == [datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)] * 3


def test_files_json_date_strings_fill_a_date_column(tmp_path):
    table = read_one(tmp_path, "a.json", '{"day": "2024-05-01", "n": 1}\n{"day": null, "n": 2}\n', "day date, n int")
    assert table.to_pylist() == [{"day": datetime.date(2024, 5, 1), "n": 1}, {"day": None, "n": 2}]
    bad = write(tmp_path, "b.json", '{"day": "2024-05-01"}\n{"day": "May 1st"}\n')
    src = sources.files(tmp_path, format="json", schema="day date")
    src.seen_files = [bad]
    with pytest.raises(SourceError, match=f"^file: {re.escape(bad)}, line 2: column 'day' is a date but holds "
                                          "'May 1st'; write ISO 8601 like '2024-05-01'$"):
        src.read(0, 1)


def test_files_nanosecond_parquet_is_truncated_to_microseconds_as_every_other_path(tmp_path):
    """Documented in files(): all paths drop the digits past the microsecond, also before 1970."""
    nanos = [1_714_564_800_123_456_789, -1]  # 2024-05-01 12:00:00.123456789 and 1969-12-31 23:59:59.999999999
    pq.write_table(pa.table({"ts": pa.array(nanos, pa.timestamp("ns"))}), tmp_path / "a.parquet")
    src = sources.files(tmp_path, format="parquet", schema="ts timestamp")
    src.latest_offset()
    from_parquet = src.read(0, 1).column("ts")
    (tmp_path / "csv").mkdir()
    from_csv = read_one(tmp_path / "csv", "a.csv",
                        "ts\n2024-05-01 12:00:00.123456789\n1969-12-31 23:59:59.999999999\n", "ts timestamp")
    memory = sources.memory("ts timestamp")
    memory.add_data(pd.DataFrame({"ts": pd.to_datetime(nanos, unit="ns")}))
    expected = [datetime.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
                datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    assert from_parquet.type == TIMESTAMP
    assert from_parquet.to_pylist() == from_csv.column("ts").to_pylist() == \
        memory.read(0, 2).column("ts").to_pylist() == expected


@pytest.mark.parametrize("name, text, line, column", [
    ("a.json", b'{"name": "ok"}\n{"name": "caf\xe9"}\n', 2, 14),
    ("a.csv", b"name\nok\ncaf\xe9\n", 3, 4),
])
def test_files_invalid_utf8_is_refused_with_file_and_line(tmp_path, name, text, line, column):
    path = write(tmp_path, name, text)
    src = sources.files(tmp_path, format=name.split(".")[1], schema="name string")
    src.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(path)}, line {line}: invalid UTF-8 \\(byte 0xe9 at "
                                          f"byte {column} of the line\\); text files must be UTF-8$") as err:
        src.read(0, 1)
    assert (err.value.file, err.value.line) == (path, line)


@pytest.mark.parametrize("name, text", [
    ("a.json", '{"s": "short"}\n{"s": "' + "x" * 5_000_000 + '"}\n'),
    ("a.csv", "s\nshort\n" + "x" * 5_000_000 + "\n"),
])
def test_files_line_over_4_mb_is_read_whole(tmp_path, name, text):
    table = read_one(tmp_path, name, text, "s string")
    assert [len(s) for s in table.column("s").to_pylist()] == [5, 5_000_000]


@pytest.mark.parametrize("value, what", [
    ("2.7", ("column 'n' is int but holds 2.7 \\(an int column takes numbers written without a fraction or "
             "exponent; declare it double\\)")),
    ("1180591620717411303424", ("column 'n' is int but holds 1180591620717411303424 \\(outside int's range; "
                                "declare it double\\)")),
])
def test_files_json_number_that_does_not_fit_an_int_column_names_the_column(tmp_path, value, what):
    """Spark's PERMISSIVE JSON reader would make it NULL; a file is never half-read here, so it is refused."""
    path = write(tmp_path, "a.json", f'{{"n": 1, "s": "{value}"}}\n{{"s": "{value}", "n": {value}}}\n')
    src = sources.files(tmp_path, format="json", schema="s string, n int")
    src.latest_offset()
    with pytest.raises(SourceError, match=f"^file: {re.escape(path)}, line 2: {what}$"):
        src.read(0, 1)


def test_files_read_ahead_thread_ends_when_its_query_stops(tmp_path):
    """Issue 12 case 13: the read-ahead thread of each files source outlived its query."""
    import threading

    import stream_nb as sn

    for i in range(4):
        write(tmp_path, f"{i}.csv", csv_rows((f"d{i}", i)), mtime=1000 + i)
    src = sources.files(tmp_path, schema=SCHEMA, max_files_per_trigger=1)
    q = sn.start("SELECT device FROM src", sources={"src": src}, trigger="manual")

    others = set(threading.enumerate())  # other tests' sources, read without a query, may keep theirs

    def readers():
        return [t for t in threading.enumerate() if t.name.startswith("stream_nb-files") and t not in others]

    try:
        q.step()
        assert readers()  # the next batch's file is being read ahead
    finally:
        q.stop()
    assert readers() == []
    assert src.read(1, 3).column("device").to_pylist() == ["d1", "d2"]  # still readable (by another query)
    src.close()


def test_files_invalid_utf8_json_fails_its_batch_naming_the_file_and_commits_nothing_of_it(tmp_path):
    """Issue 12 case 15: the bytes went on into q.result (UnicodeDecodeError) and upper() (a DuckDB INTERNAL
    error), and a files sink committed them."""
    import stream_nb as sn

    write(tmp_path, "a.json", '{"name": "ok"}\n', mtime=1000)
    bad = write(tmp_path, "b.json", b'{"name": "ok"}\n{"name": "caf\xe9"}\n', mtime=2000)
    src = sources.files(tmp_path, format="json", schema="name string", max_files_per_trigger=1)
    q = sn.start("SELECT upper(name) AS name FROM src", sources={"src": src}, trigger="manual")
    try:
        q.step()
        with pytest.raises(sn.StreamingQueryException, match=f"file: {re.escape(bad)}, line 2: invalid UTF-8"):
            q.step()
    finally:
        q.stop()
    assert q.result["name"].tolist() == ["OK"]


def test_files_json_double_takes_nan_and_infinity_as_spark_writes_them_quoted_or_bare(tmp_path):
    text = ('{"d": "NaN", "s": "NaN"}\n{"d": "Infinity", "s": "x"}\n{"d":"-Infinity","s":null}\n'
            '{"d": -Infinity, "s": "Infinity"}\n{"d": 1.5, "s": "y"}\n{"d": null, "s": "z"}\n')
    table = read_one(tmp_path, "a.json", text, "d double, s string")
    d = table.column("d").to_pylist()
    assert math.isnan(d[0]) and d[1:] == [math.inf, -math.inf, -math.inf, 1.5, None]
    assert table.column("s").to_pylist() == ["NaN", "x", None, "Infinity", "y", "z"]  # strings stay strings


def test_files_json_string_column_takes_other_json_values_as_their_text_as_spark(tmp_path):
    text = ('{"id": 17, "meta": {"a": [1, true]}, "n": 1}\n{"id": "d2", "meta": false, "n": 2}\n'
            '{"id": 2.5, "meta": null, "n": 3}\n')
    table = read_one(tmp_path, "a.json", text, "id string, meta string, n int")
    assert table.to_pylist() == [{"id": "17", "meta": '{"a":[1,true]}', "n": 1},
                                 {"id": "d2", "meta": "false", "n": 2}, {"id": "2.5", "meta": None, "n": 3}]


def test_files_json_map_column_holds_objects_and_is_null_where_spark_gives_null(tmp_path):
    """As PySpark 4.3 reads these lines with the schema (checked there): a value of the wrong type makes the
    map NULL, the rest of the row stays."""
    text = ('{"id": 1, "m": {"a": 1.5, "b": 2}}\n{"id": 2, "m": null}\n{"id": 3}\n{"id": 4, "m": {"a": "bad"}}\n'
            '{"id": 5, "m": {}}\n')
    table = read_one(tmp_path, "a.json", text, "id int, m map<string, double>")
    assert table.column("m").to_pylist() == [[("a", 1.5), ("b", 2.0)], None, None, None, []]
    assert table.column("id").to_pylist() == [1, 2, 3, 4, 5]


def test_files_json_a_string_where_a_number_belongs_is_still_refused_naming_the_column(tmp_path):
    with pytest.raises(sources.SourceError, match=r"column 'n': expected a number, found a string"):
        read_one(tmp_path, "a.json", '{"id": 17, "n": "x"}\n', "id string, n int")


def test_files_csv_sep_splits_on_another_character_and_a_bad_line_still_names_its_column(tmp_path):
    (tmp_path / "a.csv").write_text("n\tname\n1\tann\n")
    src = sources.files(tmp_path, schema="n int, name string", sep="\t")
    assert src.read(0, src.latest_offset()).to_pylist() == [{"n": 1, "name": "ann"}]
    (tmp_path / "b.csv").write_text("n\tname\nx\tbob\n")
    with pytest.raises(sources.SourceError, match=r"b\.csv.*line 2.*'n'"):
        src.read(1, src.latest_offset())
    with pytest.raises(ValueError, match="sep is one character"):
        sources.files(tmp_path, schema="n int", sep=";;")


def test_files_in_partition_directories_are_read_with_their_partition_columns_as_spark(tmp_path):
    """Spark's layout of partitionBy (key=value directories, values URL-escaped, NULL as
    __HIVE_DEFAULT_PARTITION__): each file's rows get its directories' values; a key the schema lacks is added
    after it, as a string."""
    for directory, value in (("date=2024-01-01", 1), ("date=2024-01-02/device=a%2Fb", 2),
                             ("date=__HIVE_DEFAULT_PARTITION__", 3)):
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / "part-0.json").write_text(f'{{"v": {value}}}\n')
    src = sources.files(tmp_path, format="json", schema="v int, date date")
    assert src.schema.names == ["v", "date", "device"]
    rows = sorted(src.read(0, src.latest_offset()).to_pylist(), key=lambda r: r["v"])
    assert rows == [{"v": 1, "date": datetime.date(2024, 1, 1), "device": None},
                    {"v": 2, "date": datetime.date(2024, 1, 2), "device": "a/b"},
                    {"v": 3, "date": None, "device": None}]
    (tmp_path / "date=2024-01-03").mkdir()
    (tmp_path / "date=2024-01-03" / "part-0.json").write_text('{"v": 4}\n')
    assert src.read(3, src.latest_offset()).to_pylist() == [{"v": 4, "date": datetime.date(2024, 1, 3),
                                                             "device": None}]


def test_files_partition_directories_count_below_the_source_only_and_a_header_to_skip_may_follow_blank_lines(
        tmp_path):
    inner = tmp_path / "x=parent" / "in"
    inner.mkdir(parents=True)
    (inner / "a.csv").write_text("x,v\n7,1\n")
    for path in (str(inner), str(inner / "*.csv")):
        src = sources.files(path, schema="x string, v int")
        assert src.read(0, src.latest_offset()).to_pylist() == [{"x": "7", "v": 1}]
    (inner / "b.csv").write_text("\n\nb,a\n2,1\n")
    src = sources.files(str(inner / "b.csv"), schema="a int, b string", header="skip")
    assert src.read(0, src.latest_offset()).to_pylist() == [{"a": 2, "b": "1"}]
