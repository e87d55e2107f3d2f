"""A stream seen through a stateless query (``sources/derived.py``): computed columns, the source's offsets."""

from __future__ import annotations

import json

import pytest

import stream_nb as sn
from stream_nb.sources.derived import derived

SQL = "SELECT to_timestamp(t) AS ts, device, from_json(payload, 'v double').v AS v FROM raw WHERE device <> 'x'"
WINDOWED = ("SELECT window(ts, '10 seconds') AS w, device, sum(v) AS v FROM s "
            "GROUP BY window(ts, '10 seconds'), device")


def _write(folder, index, rows):
    (folder / f"{index:03d}.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _row(second, device, v):
    return {"t": f"2024-01-01 00:00:{second:02d}", "device": device, "payload": json.dumps({"v": v})}


def _files(folder):
    return sn.sources.files(str(folder), format="json", schema="t string, device string, payload string",
                            max_files_per_trigger=1)


def test_a_derived_stream_has_the_querys_columns_and_the_sources_capabilities(tmp_path):
    stream = derived(_files(tmp_path), SQL, "raw")
    assert stream.schema.names == ["ts", "device", "v"]
    assert str(stream.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert {"max_per_trigger", "checkpoint_log"} <= stream.capabilities and "encoded_reads" not in stream.capabilities
    assert stream.max_per_trigger == 1


def test_a_watermark_on_a_computed_column_drops_late_rows_and_resumes_from_the_checkpoint(tmp_path):
    inbox, checkpoint = tmp_path / "in", tmp_path / "cp"
    inbox.mkdir()
    _write(inbox, 0, [_row(1, "a", 1.0), _row(3, "x", 100.0)])  # x: filtered before the watermark sees it
    _write(inbox, 1, [_row(30, "a", 2.0)])

    def start():
        return sn.start(WINDOWED, sources={"s": derived(_files(inbox), SQL, "raw")}, output_mode="append",
                        watermark={"s": ("ts", "5 seconds")}, checkpoint=str(checkpoint), trigger="manual")

    q = start()
    q.process_all_available()
    assert q.last_progress["eventTime"]["watermark"] == "2024-01-01T00:00:25.000Z"
    assert q.result[["device", "v"]].values.tolist() == [["a", 1.0]]
    q.stop()
    _write(inbox, 2, [_row(2, "a", 50.0), _row(45, "a", 3.0)])  # 00:02 is behind the watermark: dropped
    q = start()  # a new query over new readers: the checkpoint's offsets and watermark
    q.process_all_available()
    batches = q.recent_progress
    assert sum(p["numInputRows"] for p in batches) == 2  # the source's rows after the query's filter
    assert sum(p["stateOperators"][0]["numRowsDroppedByWatermark"] for p in batches) == 1
    assert q.result[["device", "v"]].values.tolist() == [["a", 2.0]]  # 00:30's window, once the watermark passed it
    q.stop()


def test_a_query_with_state_is_not_a_derived_stream(tmp_path):
    with pytest.raises(ValueError, match="stateless query over 'raw'"):
        derived(_files(tmp_path), "SELECT device, count(*) AS n FROM raw GROUP BY device", "raw")
