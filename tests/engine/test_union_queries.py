"""A UNION ALL of streams as the input of a stateful operator, run: each batch the union's rows of every
input's new rows, one aggregation or deduplication over them, the watermark each stream's combined by the
policy, late rows of either stream dropped and counted, progress per source, and a restart exact."""

import pandas as pd
import pytest

import stream_nb as sn

BOTH = "(SELECT ts, device, temp FROM a UNION ALL SELECT ts, device, temp FROM b)"
TEN = "window(ts, '10 seconds')"
MARKS = {"a": ("ts", "5 seconds"), "b": ("ts", "5 seconds")}


@pytest.fixture
def a():
    return sn.sources.memory("ts timestamp, device string, temp double")


@pytest.fixture
def b():
    return sn.sources.memory("ts timestamp, device string, temp double")


def rows(*readings):
    """(seconds, device, temp) -> rows at 2026-01-01 00:00:<seconds>."""
    return [{"ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(seconds=s), "device": d, "temp": v}
            for s, d, v in readings]


def start(a, b, sql, **options):
    options.setdefault("trigger", "manual")
    return sn.start(sql, sources={"a": a, "b": b}, **options)


def table(q, *columns):
    return sorted(q.result[list(columns)].itertuples(index=False, name=None))


def test_an_aggregation_over_two_streams_merges_their_rows_into_one_state(a, b):
    q = start(a, b, f"SELECT device, count(*) AS n, sum(temp) AS total FROM {BOTH} GROUP BY device")
    a.add_data(rows((1, "d1", 1.0), (2, "d2", 2.0)))
    b.add_data(rows((3, "d1", 10.0)))
    progress = q.step()
    assert [(s["startOffset"], s["endOffset"], s["numInputRows"]) for s in progress["sources"]] == [(0, 2, 2),
                                                                                                   (0, 1, 1)]
    assert progress["numInputRows"] == 3 and progress["stateOperators"][0]["operatorName"] == "stateStoreSave"
    b.add_data(rows((4, "d2", 20.0), (5, "d3", 30.0)))
    progress = q.step()
    assert [s["numInputRows"] for s in progress["sources"]] == [0, 2]
    assert progress["stateOperators"][0]["numRowsTotal"] == 3 and progress["stateOperators"][0]["numRowsUpdated"] == 2
    assert table(q, "device", "n", "total") == [("d1", 2, 11.0), ("d2", 2, 22.0), ("d3", 1, 30.0)]
    q.stop()


def test_windows_close_on_the_slowest_streams_watermark_and_late_rows_of_either_are_dropped(a, b):
    q = start(a, b, f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}", output_mode="append",
              watermark=MARKS)
    a.add_data(rows((1, "d1", 1.0), (32, "d1", 1.0)))
    b.add_data(rows((2, "d2", 1.0), (14, "d2", 1.0)))
    q.step()  # watermarks: a 27, b 9; the query's 9
    assert q.watermark.second == 9 and {k: v.second for k, v in q.input_watermarks.items()} == {"a": 27, "b": 9}
    assert q.result.empty
    a.add_data(rows((3, "d1", 1.0)))   # on time: its window [0, 10) ends after the watermark (9)
    b.add_data(rows((25, "d2", 1.0)))  # b: 20, the query's 20: [0, 10) and [10, 20) close after this batch
    q.step()
    assert q.watermark.second == 20
    a.add_data(rows((8, "d1", 1.0)))   # late: its window ended at 10 <= 20
    b.add_data(rows((19, "d2", 1.0)))  # late too
    progress = q.step()
    assert progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 2
    assert q.history[-1].num_late_rows == 2 and q.history[-1].num_input_rows == 2
    assert sorted((w["start"].second, n) for w, n in q.result[["w", "n"]].itertuples(index=False)) == [(0, 3),
                                                                                                      (10, 1)]
    q.stop()


def test_max_policy_follows_the_fastest_stream(a, b):
    q = start(a, b, f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}", output_mode="append",
              watermark=MARKS, watermark_policy="max")
    a.add_data(rows((40, "d1", 1.0)))
    b.add_data(rows((2, "d2", 1.0)))
    q.step()
    assert q.watermark.second == 35
    q.stop()


def test_a_deduplication_over_the_union_emits_each_key_once_across_the_streams(a, b):
    q = start(a, b, f"SELECT DISTINCT ON (device) device, temp FROM {BOTH}")
    a.add_data(rows((1, "d1", 1.0)))
    b.add_data(rows((2, "d1", 2.0), (3, "d2", 3.0)))
    q.step()
    b.add_data(rows((4, "d2", 4.0), (5, "d3", 5.0)))
    q.step()
    assert sorted(q.result["device"]) == ["d1", "d2", "d3"]
    assert q.last_progress["stateOperators"][0]["operatorName"] == "dedupe"
    q.stop()


def test_union_without_all_is_the_distinct_rows_of_both_streams(a, b):
    q = start(a, b, "SELECT device FROM a UNION SELECT device FROM b", output_mode="complete")
    a.add_data(rows((1, "d1", 1.0), (2, "d2", 1.0)))
    b.add_data(rows((3, "d1", 1.0), (4, "d3", 1.0)))
    q.step()
    assert sorted(q.result["device"]) == ["d1", "d2", "d3"]
    q.stop()


def test_one_stream_twice_is_one_source_whose_rows_count_once_per_select(a, b):
    q = sn.start("SELECT device, count(*) AS n FROM (SELECT device FROM a UNION ALL SELECT device FROM a "
                 "WHERE temp > 1) GROUP BY device", sources={"a": a}, trigger="manual")
    a.add_data(rows((1, "d1", 1.0), (2, "d1", 2.0)))
    progress = q.step()
    assert len(progress["sources"]) == 1 and progress["numInputRows"] == 2
    assert table(q, "device", "n") == [("d1", 3)]
    q.stop()


def test_a_restart_from_the_checkpoint_goes_on_with_the_state_offsets_and_watermarks(a, b, tmp_path):
    sql = f"SELECT {TEN} AS w, count(*) AS n, sum(temp) AS total FROM {BOTH} GROUP BY {TEN}"
    options = {"output_mode": "update", "watermark": MARKS, "checkpoint": str(tmp_path / "cp")}
    q = start(a, b, sql, **options)
    a.add_data(rows((1, "d1", 1.0), (22, "d1", 2.0)))
    b.add_data(rows((3, "d2", 4.0), (16, "d2", 8.0)))
    q.step()
    q.stop()
    again = start(a, b, sql, **options)
    assert {k: v.second for k, v in again.input_watermarks.items()} == {"a": 17, "b": 11}
    a.add_data(rows((5, "d1", 16.0)))   # late: [0, 10) ended before the watermark (11)
    b.add_data(rows((12, "d2", 32.0)))
    progress = again.step()
    assert [(s["startOffset"], s["endOffset"]) for s in progress["sources"]] == [(2, 3), (2, 3)]
    assert progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
    got = {w["start"].second: (n, total) for w, n, total in again.result.itertuples(index=False, name=None)}
    assert got[10] == (2, 40.0)  # 16 s from before the restart, 12 s after
    again.stop()


def test_a_union_joined_with_a_third_stream_reads_all_three_as_sources(a, b):
    c = sn.sources.memory("ts timestamp, device string, temp double")
    q = sn.start(f"SELECT u.device, u.ts AS t1, c.ts AS t2 FROM {BOTH} u JOIN c ON u.device = c.device AND "
                 "c.ts BETWEEN u.ts AND u.ts + INTERVAL 5 SECONDS", sources={"a": a, "b": b, "c": c},
                 watermark={**MARKS, "c": ("ts", "5 seconds")}, trigger="manual")
    a.add_data(rows((1, "d1", 1.0)))
    b.add_data(rows((2, "d1", 2.0), (3, "d2", 3.0)))
    c.add_data(rows((4, "d1", 4.0)))
    progress = q.step()
    assert [s["numInputRows"] for s in progress["sources"]] == [1, 2, 1]
    assert sorted((d, t1.second) for d, t1, _ in q.result.itertuples(index=False, name=None)) == [("d1", 1),
                                                                                                   ("d1", 2)]
    q.stop()


def test_a_watermark_on_the_union_follows_the_latest_row_of_either_stream(a, b):
    q = start(a, b, f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} u WATERMARK ts DELAY OF INTERVAL 5 SECONDS "
                    f"GROUP BY {TEN}", output_mode="append")
    a.add_data(rows((1, "d1", 1.0), (31, "d1", 1.0)))
    b.add_data(rows((2, "d2", 1.0)))
    q.step()
    assert q.watermark.second == 26  # one node: 31 - 5, though b has seen only 2 s
    q.step()  # the no-data batch the watermark made due: [0, 10) is final
    assert [(w["start"].second, n) for w, n in q.result[["w", "n"]].itertuples(index=False)] == [(0, 2)]
    q.stop()
