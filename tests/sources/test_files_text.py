"""The files source's text format (Spark's text source): every file, a row per line in one string column."""

import pytest

import stream_nb as sn


def test_each_line_of_any_file_is_a_row_of_value_ends_of_line_as_spark_splits_them(tmp_path):
    (tmp_path / "a.log").write_bytes(b"first line\r\nsecond\rthird\n\nlast")
    (tmp_path / "b").write_bytes(b"no extension\n")
    src = sn.sources.files(tmp_path, format="text")
    assert src.schema.names == ["value"]
    assert src.read(0, src.latest_offset()).column("value").to_pylist() == [
        "first line", "second", "third", "", "last", "no extension"]


def test_a_text_stream_runs_a_word_count(tmp_path):
    (tmp_path / "in.txt").write_text("to be\nor not to be\n")
    q = sn.start("SELECT word, count(*) AS n FROM (SELECT explode(split(value, ' ')) AS word FROM lines) "
                 "GROUP BY word", sources={"lines": sn.sources.files(tmp_path, format="text")},
                 output_mode="complete", trigger="available_now")
    q.await_termination()
    assert dict(zip(q.result["word"], q.result["n"])) == {"to": 2, "be": 2, "or": 1, "not": 1}


def test_a_text_schema_of_other_than_one_string_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="the text format reads one string column"):
        sn.sources.files(tmp_path, format="text", schema="value string, n int")
