"""partitionBy for the files sink (sinks/partitions.py): Spark's Hive-style ``col=value/`` folders, the data files
without the partition columns, read back whole by ``sn.read_files_sink`` (partition columns last, as Spark)."""

import pandas as pd
import pyarrow.parquet as pq
import pytest

import stream_nb as sn


def at(seconds):
    return pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=seconds)


def run(out, batches, partition_by, format="parquet"):
    src = sn.sources.memory("ts timestamp, device string, n bigint")
    q = sn.start("SELECT device, ts, n FROM src", sources={"src": src}, trigger="manual",
                 sink=sn.sinks.files(out, format=format, partition_by=partition_by))
    for rows in batches:
        src.add_data(rows)
        q.step()
    q.stop()


def data_files(out):
    return sorted(str(p.relative_to(out)).rsplit("/", 1)[0] for p in out.rglob("part-*"))


def test_each_partition_is_a_col_equals_value_folder_whose_files_hold_the_other_columns(tmp_path):
    out = tmp_path / "out"
    run(out, [[{"ts": at(1), "device": "a", "n": 1}, {"ts": at(2), "device": "b", "n": 2}],
              [{"ts": at(3), "device": "a", "n": 3}]], ["device"])
    assert data_files(out) == ["device=a", "device=a", "device=b"]
    assert pq.read_table(next((out / "device=b").glob("*.parquet"))).column_names == ["ts", "n"]
    back = sn.read_files_sink(out)
    assert list(back.columns) == ["ts", "n", "device"]
    assert sorted(zip(back["device"], back["n"])) == [("a", 1), ("a", 3), ("b", 2)]


def test_values_are_written_as_spark_casts_them_escaped_null_as_the_hive_default_and_read_back_typed(tmp_path):
    out = tmp_path / "out"
    run(out, [[{"ts": at(5), "device": "x/y", "n": 1}, {"ts": at(5), "device": None, "n": 2}]],
        ["device", "ts"])
    assert data_files(out) == ["device=__HIVE_DEFAULT_PARTITION__/ts=2024-01-01 00%3A00%3A05",
                               "device=x%2Fy/ts=2024-01-01 00%3A00%3A05"]
    back = sn.read_files_sink(out).sort_values("n")
    assert back["ts"].tolist() == [at(5), at(5)]
    assert back["device"].iloc[0] == "x/y" and pd.isna(back["device"].iloc[1])


@pytest.mark.parametrize("format", ["csv", "json"])
def test_text_formats_are_partitioned_and_read_back_alike(tmp_path, format):
    out = tmp_path / "out"
    run(out, [[{"ts": at(1), "device": "a", "n": 7}]], ["n"], format)
    assert data_files(out) == ["n=7"]
    assert sn.read_files_sink(out).to_dict("records") == [{"ts": at(1), "device": "a", "n": 7}]


def test_a_partition_column_the_output_lacks_is_refused_naming_it_and_the_columns(tmp_path):
    with pytest.raises(ValueError, match=r"partition column 'room' is not a column of the query's output "
                                         r"\(columns: device, ts, n\)"):
        run(tmp_path / "out", [], ["room"])


def test_every_column_a_partition_column_is_refused_as_spark_refuses_it(tmp_path):
    with pytest.raises(ValueError, match="cannot use all columns for partition columns"):
        run(tmp_path / "out", [], ["device", "ts", "n"])
