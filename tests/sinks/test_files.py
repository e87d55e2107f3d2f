"""The files sink: a manifest per batch of each query, so readers see committed batches, each run's once."""

import json
import math

import pandas as pd
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.sinks.files import files


def run(out, values, *, checkpoint=None):
    src = sn.sources.memory("x bigint")
    q = sn.start("SELECT x FROM src", sources={"src": src}, sink=sn.sinks.files(out), trigger="manual",
                 checkpoint=checkpoint)
    for v in values:
        src.add_data([{"x": v}])
        q.step()
    q.stop()
    return q


def test_case_1_a_second_run_into_the_same_folder_adds_its_batches(tmp_path):
    run(tmp_path / "out", [1, 2, 3])
    run(tmp_path / "out", [10, 20, 30])
    assert sn.read_files_sink(tmp_path / "out")["x"].tolist() == [1, 2, 3, 10, 20, 30]


def test_case_1_a_replayed_batch_of_the_same_query_writes_nothing(tmp_path):
    q = run(tmp_path / "out", [1, 2], checkpoint=tmp_path / "cp")
    sink = files(tmp_path / "out")
    sink.bind(q.schema, "append")
    sink.open(q.id)
    sink.add_batch(1, pa.table({"x": [2]}))
    assert sn.read_files_sink(tmp_path / "out")["x"].tolist() == [1, 2]


def test_a_folder_written_before_manifests_were_kept_per_query_still_reads(tmp_path):
    out = tmp_path / "out"
    run(out, [1, 2])
    # as older versions wrote it: _manifest/N for one run, no query id
    (query,) = (out / "_manifest").iterdir()
    for manifest in sorted(query.iterdir()):
        new = json.loads(manifest.read_text().rsplit("crc32 ", 1)[0])
        (out / "_manifest" / manifest.name).write_text(json.dumps({k: new[k] for k in (
            "batchId", "files", "numRows", "format", "outputMode", "schema")}))
        manifest.unlink()
    query.rmdir()
    run(out, [3])
    assert sn.read_files_sink(out)["x"].tolist() == [1, 2, 3]


def test_case_1_in_complete_mode_the_folder_holds_the_last_runs_last_table(tmp_path):
    for values in ([1, 2], [5]):
        src = sn.sources.memory("x bigint")
        q = sn.start("SELECT count(*) AS n, sum(x) AS total FROM src", sources={"src": src}, output_mode="complete",
                     sink=sn.sinks.files(tmp_path / "out"), trigger="manual")
        for v in values:
            src.add_data([{"x": v}])
            q.step()
        q.stop()
    assert sn.read_files_sink(tmp_path / "out").to_dict("records") == [{"n": 1, "total": 5}]


def test_reading_a_folder_no_files_sink_wrote_is_an_error_not_an_empty_result(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_files_sink: '.*/typo' is not a folder"):
        sn.read_files_sink(tmp_path / "typo")


def test_a_committed_data_file_that_is_gone_is_named_with_its_batch(tmp_path):
    run(tmp_path / "out", [1, 2])
    (part,) = [p for p in (tmp_path / "out").iterdir() if p.name.startswith("part-00001-")]
    part.unlink()
    with pytest.raises(FileNotFoundError, match=rf"{part} is missing: batch 1 of query .* committed it \(1 rows\)"):
        sn.read_files_sink(tmp_path / "out")


def test_runs_whose_columns_do_not_fit_together_say_so_with_each_runs_schema(tmp_path):
    run(tmp_path / "out", [1])
    src = sn.sources.memory("x bigint")
    q = sn.start("SELECT CAST(x AS string) AS x FROM src", sources={"src": src}, sink=sn.sinks.files(tmp_path / "out"),
                 trigger="manual")
    src.add_data([{"x": 2}])
    q.step()
    q.stop()
    with pytest.raises(ValueError, match=r"runs written to .*out have columns that do not fit together .*: "
                                         r"x bigint / x string"):
        sn.read_files_sink(tmp_path / "out")


def test_json_files_keep_every_double_exactly_and_nan_and_infinity_apart_from_null(tmp_path):
    """pandas' to_json wrote 10 digits (0.30000000000000004 came back 0.3) and NaN and Infinity as null."""
    values = [0.1 + 0.2, 1234.5678901234567, 1e-300, float("nan"), float("inf"), float("-inf"), None]
    src = sn.sources.memory("d double")
    q = sn.start("SELECT d FROM src", sources={"src": src}, sink=sn.sinks.files(tmp_path / "out", format="json"),
                 trigger="manual")
    src.add_data([{"d": v} for v in values])
    q.step()
    q.stop()
    (part,) = (tmp_path / "out").glob("part-*.json")
    assert part.read_text().splitlines()[3:] == ['{"d":NaN}', '{"d":Infinity}', '{"d":-Infinity}', '{"d":null}']
    back = sn.read_files_sink(tmp_path / "out")["d"].tolist()
    assert back[:3] == values[:3] and math.isnan(back[3]) and back[4:6] == values[4:6]


@pytest.mark.parametrize("column_type, values", [("string", ["a", None, "", "b"]), ("bigint", [1, None, 3])])
def test_a_csv_row_whose_only_column_is_null_reads_back(tmp_path, column_type, values):
    """A one-column NULL row is a blank line in CSV: the reader of the sink's files keeps it, in its place."""
    src = sn.sources.memory(f"x {column_type}")
    q = sn.start("SELECT x FROM src", sources={"src": src}, sink=sn.sinks.files(tmp_path, format="csv"),
                 trigger="manual")
    src.add_data([{"x": v} for v in values])
    q.step()
    q.stop()
    back = sn.read_files_sink(tmp_path)["x"].tolist()
    assert [None if pd.isna(v) else v for v in back] == values
