"""The watermark's rules, as a query lives them: advance at the end of a batch, late at or behind it,
expired when an end is at or behind it (engine/watermark.py; its doctests pin each function)."""

import pytest

import stream_nb as sn
from stream_nb.engine.watermark import Watermarks

WATERMARK = "WATERMARK ts DELAY OF INTERVAL 5 SECONDS"


def rows(*seconds, device="a"):
    return [{"ts": f"2026-01-01T00:00:{s:02d}", "device": device} for s in seconds]


def start(sql, mode):
    events = sn.sources.memory("ts timestamp, device string")
    return events, sn.start(sql, sources={"events": events}, output_mode=mode, trigger="manual")


def test_the_watermark_moves_at_the_end_of_a_batch_and_never_back():
    events, q = start(f"SELECT device, ts FROM events {WATERMARK}", "append")
    events.add_data(rows(15))
    q.step()
    assert q.last_progress["eventTime"]["watermark"] == "1970-01-01T00:00:00.000Z"  # the batch ran at the epoch
    assert q.watermark.isoformat() == "2026-01-01T00:00:10+00:00"                   # the next one runs at 15 - 5
    events.add_data(rows(3))
    q.step()
    assert q.watermark.isoformat() == "2026-01-01T00:00:10+00:00"
    q.stop()


def test_a_window_ending_at_the_watermark_is_emitted_and_its_rows_are_late():
    events, q = start(f"SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM events {WATERMARK} "
                      "GROUP BY window(ts, '10 seconds')", "append")
    events.add_data(rows(1, 15))
    q.process_all_available()  # watermark 10: window [0, 10) ends at it, so it is final
    assert [(w["start"].second, n) for w, n in zip(q.result["w"], q.result["n"])] == [(0, 1)]
    events.add_data(rows(9, 10))  # 9 falls in [0, 10), expired: late; 10 opens [10, 20)
    q.process_all_available()
    assert q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
    q.stop()


def test_a_deduplicated_row_at_the_watermark_is_late_and_one_after_it_is_not():
    events, q = start(f"SELECT DISTINCT ON (device, ts) device, ts FROM events {WATERMARK}", "append")
    events.add_data(rows(15))
    q.process_all_available()
    events.add_data(rows(10, 11))  # watermark 10: the row at 10 is late, the row at 11 is kept
    q.process_all_available()
    assert [t.second for t in q.result["ts"]] == [15, 11]
    q.stop()


def test_several_inputs_hold_the_query_at_the_slowest_by_default_or_the_fastest_if_asked():
    for policy, expected in (("min", 2_000_000), ("max", 7_000_000)):
        marks = Watermarks({"clicks": 5_000_000, "views": 1_000_000}, policy=policy)
        assert marks.advance({"clicks": 12_000_000, "views": 3_000_000}) == expected
    with pytest.raises(ValueError, match="unknown watermark policy 'avg'; use one of: min, max"):
        Watermarks({"clicks": 0}, policy="avg")


def test_an_input_without_event_time_yet_counts_as_the_epoch_as_in_sparks_tracker():
    slowest = Watermarks({"clicks": 5_000_000, "views": 1_000_000})
    assert slowest.advance({"clicks": 12_000_000, "views": None}) == 0
    fastest = Watermarks({"clicks": 5_000_000, "views": 1_000_000}, policy="max")
    assert fastest.advance({"clicks": 12_000_000, "views": None}) == 7_000_000
    assert fastest.per_input_us == {"clicks": 7_000_000, "views": None}


def test_the_query_watermark_never_goes_back_even_when_an_input_starts_behind_it():
    marks = Watermarks({"clicks": 5_000_000, "views": 1_000_000}, policy="max")
    marks.advance({"clicks": 12_000_000, "views": None})
    assert marks.advance({"clicks": None, "views": 3_000_000}) == 7_000_000
    assert marks.per_input_us["views"] == 2_000_000  # its own first watermark, behind the query's


def test_a_restart_resumes_each_inputs_watermark_or_one_inputs_from_the_querys():
    resumed = Watermarks({"clicks": 5_000_000, "views": 1_000_000}, current_us=2_000_000,
                         per_input_us={"clicks": 7_000_000, "views": 2_000_000})
    assert resumed.advance({"clicks": None, "views": 9_000_000}) == 7_000_000
    one = Watermarks({"events": 5_000_000}, current_us=7_000_000)  # a log of one input keeps only the query's
    assert one.per_input_us == {"events": 7_000_000} and one.advance({"events": 10_000_000}) == 7_000_000
