"""Event time as in Spark: windows, watermarks, late rows, eviction, no-data batches, dedup, sessions."""

from datetime import UTC, datetime

import pandas as pd
import pytest

import stream_nb as sn

START = pd.Timestamp("2026-01-01", tz="UTC")


def ts(second: float) -> pd.Timestamp:
    return START + pd.Timedelta(seconds=second)


def at(second: float) -> str:
    return ts(second).isoformat()


@pytest.fixture
def events():
    return sn.sources.memory("ts timestamp, device string, temp double")


def feed(source, query, *rows):
    source.add_data([{"ts": at(s), "device": d, "temp": t} for s, d, t in rows])
    query.process_all_available(timeout=30)


def windows(result, column="w"):
    return [(w["start"], w["end"]) for w in result[column]]


class TestWindows:
    def test_tumbling_windows_are_aligned_to_the_epoch(self, events):
        q = sn.start("SELECT window(ts, '7 seconds') AS w, count(*) AS n FROM events "
                     "GROUP BY window(ts, '7 seconds')", trigger="manual", output_mode="complete")
        feed(events, q, (13.5, "a", 1.0))
        # 2026-01-01 00:00:13.5 is 1,767,225,613.5 s after the epoch; 7-second windows start at multiples of 7.
        start = datetime.fromtimestamp(1_767_225_613.5 // 7 * 7, UTC)
        assert windows(q.result) == [(pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(seconds=7))]

    def test_a_sliding_window_counts_a_row_in_every_window_that_contains_it(self, events):
        q = sn.start("SELECT window(ts, '10 seconds', '5 seconds') AS w, count(*) AS n FROM events "
                     "GROUP BY window(ts, '10 seconds', '5 seconds')", trigger="manual", output_mode="complete")
        feed(events, q, (12, "a", 1.0))
        assert sorted(windows(q.result)) == [(ts(5), ts(15)), (ts(10), ts(20))]

    def test_window_fields_are_usable_in_the_select_and_through_a_subquery(self, events):
        q = sn.start("SELECT s.w.start AS start, s.w.end AS end, n FROM (SELECT window(ts, '10 seconds') AS w, "
                     "count(*) AS n FROM events GROUP BY window(ts, '10 seconds')) s", trigger="manual")
        q2 = sn.start("SELECT window.start AS start, device, count(*) AS n FROM events "
                      "GROUP BY window(ts, '10 seconds'), device", trigger="manual")
        feed(events, q, (3, "a", 1.0))
        q2.process_all_available(timeout=30)
        assert q.result.to_dict("records") == [{"start": ts(0), "end": ts(10), "n": 1}]
        assert q2.result.to_dict("records") == [{"start": ts(0), "device": "a", "n": 1}]

    def test_an_unaliased_window_column_is_called_window_as_in_spark(self, events):
        q = sn.start("SELECT window(ts, '10 seconds'), count(*) FROM events GROUP BY window(ts, '10 seconds')")
        assert q.plan.columns == ["window", "count(1)"]


class TestWatermark:
    SQL = ("SELECT window(ts, '10 seconds') AS w, device, count(*) AS n FROM events "
           "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), device")

    def test_append_emits_a_window_once_when_the_watermark_passes_its_end(self, events):
        q = sn.start(self.SQL, output_mode="append", trigger="manual")
        feed(events, q, (1, "a", 1.0), (12, "a", 1.0))      # watermark -> 12 - 5 = 7
        assert q.result.empty
        feed(events, q, (16, "a", 1.0))                      # watermark -> 11: [0, 10) is final
        assert q.result.to_dict("records") == [{"w": {"start": ts(0), "end": ts(10)}, "device": "a", "n": 1}]
        feed(events, q, (30, "a", 1.0))                      # watermark -> 25: [10, 20) is final
        assert [w["start"] for w in q.result["w"]] == [ts(0), ts(10)]
        assert q.result["n"].tolist() == [1, 2]

    def test_the_watermark_is_computed_after_a_batch_and_used_from_the_next(self, events):
        q = sn.start(self.SQL, output_mode="update", trigger="manual")
        feed(events, q, (20, "a", 1.0), (1, "a", 1.0))        # same batch: 1 s is on time
        assert q.recent_progress[0]["eventTime"]["watermark"] == "1970-01-01T00:00:00.000Z"
        feed(events, q, (2, "a", 1.0))                         # watermark is now 15: [0, 10) is over
        progress = q.recent_progress[-1]
        assert progress["eventTime"]["watermark"] == "2026-01-01T00:00:15.000Z"
        assert progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
        assert progress["eventTime"]["min"] == progress["eventTime"]["max"] == "2026-01-01T00:00:02.000Z"

    def test_update_evicts_state_behind_the_watermark_and_keeps_it_bounded(self, events):
        q = sn.start(self.SQL, output_mode="update", trigger="manual")
        for second in range(0, 300, 3):
            feed(events, q, (second, "a", 1.0), (second, "b", 1.0))
        state = q.last_progress["stateOperators"][0]
        assert state["numRowsTotal"] <= 2 * 2  # two devices x at most two open windows
        assert sum(p["stateOperators"][0]["numRowsRemoved"] for p in q.recent_progress) > 0

    def test_complete_mode_keeps_every_window_and_drops_no_late_row(self, events):
        q = sn.start(self.SQL, output_mode="complete", trigger="manual")
        feed(events, q, (100, "a", 1.0))
        feed(events, q, (1, "a", 1.0))
        assert len(q.result) == 2
        assert q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 0

    def test_a_no_data_batch_runs_when_the_watermark_would_emit(self, events):
        q = sn.start(self.SQL, output_mode="append", trigger="manual")
        feed(events, q, (1, "a", 1.0))
        feed(events, q, (40, "a", 1.0))
        assert q.result["n"].tolist() == [1]
        assert q.last_progress["numInputRows"] == 0  # the batch that emitted [0, 10) read no data

    def test_available_now_runs_the_no_data_batch_too(self, events):
        events.add_data([{"ts": at(1), "device": "a", "temp": 1.0}, {"ts": at(40), "device": "a", "temp": 1.0}])
        q = sn.start(self.SQL, output_mode="append", trigger="available_now")
        assert q.await_termination(timeout=30)
        assert q.result["n"].tolist() == [1]

    def test_the_watermark_option_is_the_same_as_the_clause(self, events):
        sql = self.SQL.replace("WATERMARK ts DELAY OF INTERVAL 5 SECONDS ", "")
        q = sn.start(sql, output_mode="append", trigger="manual", watermark={"events": ("ts", "5 seconds")})
        feed(events, q, (1, "a", 1.0), (16, "a", 1.0))
        feed(events, q, (17, "a", 1.0))
        assert q.result["n"].tolist() == [1]

    def test_the_query_exposes_its_watermark(self, events):
        q = sn.start(self.SQL, trigger="manual")
        feed(events, q, (12, "a", 1.0))
        assert q.watermark == ts(7)


class TestDeduplication:
    def test_distinct_on_keeps_the_first_row_of_each_key(self):
        src = sn.sources.memory("ts timestamp, id bigint, v double")
        q = sn.start("SELECT DISTINCT ON (id) * FROM src", trigger="manual")
        src.add_data([{"ts": at(1), "id": 1, "v": 1.0}, {"ts": at(2), "id": 1, "v": 2.0}])
        q.step()
        src.add_data([{"ts": at(3), "id": 1, "v": 3.0}, {"ts": at(4), "id": 2, "v": 4.0}])
        q.step()
        assert q.result[["id", "v"]].to_dict("records") == [{"id": 1, "v": 1.0}, {"id": 2, "v": 4.0}]

    def test_select_distinct_is_an_aggregation_over_the_selected_columns_as_in_spark(self):
        src = sn.sources.memory("id bigint, v double")
        q = sn.start("SELECT DISTINCT id FROM src", trigger="manual")
        src.add_data([{"id": 1, "v": 1.0}, {"id": 1, "v": 2.0}, {"id": 2, "v": 2.0}])
        q.step()
        assert q.plan.output_mode == "update" and q.plan.aggregate.key_texts == ["src.id"]
        assert q.result["id"].tolist() == [1, 2]

    def test_state_is_bounded_by_the_watermark_when_event_time_is_a_key(self):
        src = sn.sources.memory("ts timestamp, id bigint")
        q = sn.start("SELECT DISTINCT ON (id, ts) * FROM src WATERMARK ts DELAY OF INTERVAL 5 SECONDS",
                     trigger="manual")
        for second in range(0, 60, 2):
            src.add_data([{"ts": at(second), "id": 1}])
            q.process_all_available(timeout=30)
        assert q.last_progress["stateOperators"][0]["numRowsTotal"] <= 4
        src.add_data([{"ts": at(0), "id": 1}])  # a duplicate, but far behind the watermark: late, dropped
        q.process_all_available(timeout=30)
        assert q.last_progress["stateOperators"][0]["numRowsDroppedByWatermark"] == 1
        assert len(q.result) == 30


class TestSessions:
    SQL = ("SELECT session_window(ts, '5 seconds') AS s, device, count(*) AS n FROM events "
           "WATERMARK ts DELAY OF INTERVAL 2 SECONDS GROUP BY session_window(ts, '5 seconds'), device")

    def test_events_closer_than_the_gap_form_one_session(self, events):
        q = sn.start(self.SQL, output_mode="complete", trigger="manual")
        feed(events, q, (1, "a", 1.0), (4, "a", 1.0), (20, "a", 1.0))
        assert sorted(windows(q.result, "s")) == [(ts(1), ts(9)), (ts(20), ts(25))]

    def test_a_row_between_two_sessions_merges_them(self, events):
        q = sn.start(self.SQL.replace("WATERMARK ts DELAY OF INTERVAL 2 SECONDS ", ""), output_mode="complete",
                     trigger="manual")
        feed(events, q, (1, "a", 1.0), (10, "a", 1.0))      # [1, 6) and [10, 15)
        feed(events, q, (5.5, "a", 1.0))                    # [5.5, 10.5) overlaps both
        assert q.result[["n"]].to_dict("records") == [{"n": 3}]
        assert windows(q.result, "s") == [(ts(1), ts(15))]

    def test_append_emits_a_session_when_the_watermark_passes_its_end(self, events):
        q = sn.start(self.SQL, output_mode="append", trigger="manual")
        feed(events, q, (1, "a", 1.0), (3, "a", 1.0))
        assert q.result.empty
        feed(events, q, (20, "a", 1.0))  # watermark 18 > session end 8
        assert windows(q.result, "s") == [(ts(1), ts(8))] and q.result["n"].tolist() == [2]


def test_the_watermark_clause_may_follow_the_streams_alias(events):
    q = sn.start("SELECT window(e.ts, '10 seconds') AS w, count(*) AS n FROM events e "
                 "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(e.ts, '10 seconds')", trigger="manual")
    feed(events, q, (12, "a", 1.0))
    assert q.watermark == ts(7)
