"""The stream-stream join operator on hand-made batches, batch by batch, as Spark's symmetric hash join runs
them (StreamingJoinSuite's cases): what each batch emits, what it drops as late, what state it keeps.

Times are seconds after 2024-01-01 00:00 UTC; a batch is (impressions rows, clicks rows, watermark) with rows
(ad_id, seconds), the watermark the engine gives the batch (seconds). Late rows are those at or behind the
previous batch's watermark (Spark >= 3.4's watermark for late events); state is evicted by this batch's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.engine.join import JoinOperator
from stream_nb.engine.operator import Operator
from stream_nb.engine.operators import connect, make_operator
from stream_nb.sql import plan_query

T0 = datetime(2024, 1, 1, tzinfo=UTC)
RANGE = "c.ts BETWEEN i.ts AND i.ts + INTERVAL 10 SECONDS"
WATERMARKS = {"impressions": ("ts", "5 seconds"), "clicks": ("ts", "5 seconds")}


def at(seconds: float | None) -> datetime | None:
    return None if seconds is None else T0 + timedelta(seconds=seconds)


def micros(seconds: float) -> int:
    """A watermark ``seconds`` after T0, in µs since the epoch, as the engine passes it."""
    return round((T0.timestamp() + seconds) * 1_000_000)


def rows(pairs) -> pa.Table:
    return pa.table({"ad_id": pa.array([p[0] for p in pairs], pa.int64()),
                     "ts": pa.array([at(p[1]) for p in pairs], pa.timestamp("us", tz="UTC"))})


class Join:
    """One join query's operator, fed batch by batch as the engine feeds it."""

    def __init__(self, sql: str, watermark=WATERMARKS, operator: JoinOperator | None = None):
        imps, clicks = sn.sources.memory("ad_id bigint, ts timestamp"), sn.sources.memory("ad_id bigint, ts timestamp")
        self.plan = plan_query(sql, namespaces=[{"impressions": imps, "clicks": clicks}], watermark=watermark)
        self.op = operator or make_operator(self.plan)
        self.con = connect(self.plan)
        self.output = None

    def batch(self, impressions=(), clicks=(), watermark: float = 0) -> list[tuple]:
        self.output = self.op.process(self.con, {"impressions": rows(impressions), "clicks": rows(clicks)},
                                      micros(watermark))
        self.op.commit(self.output)
        return sorted((tuple(_seconds(v) for v in r.values()) for r in self.output.table.to_pylist()),
                      key=lambda r: tuple((v is None, v) for v in r))


def _seconds(value):
    return (value - T0).total_seconds() if isinstance(value, datetime) else value


SELECT = "SELECT i.ad_id AS ad, i.ts AS shown, c.ts AS clicked FROM impressions i"


def test_the_join_operator_implements_the_whole_operator_protocol():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert isinstance(join.op, JoinOperator) and isinstance(join.op, Operator)
    assert (join.op.name, join.op.stateful) == ("symmetricHashJoin", True)


def test_inner_join_matches_rows_of_either_side_whichever_comes_first():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert join.batch(impressions=[(1, 0), (2, 1)]) == []
    assert join.batch(clicks=[(1, 5), (3, 5)]) == [(1, 0, 5)]               # a click for a stored impression
    assert join.batch(impressions=[(3, 2)], clicks=[(2, 4)]) == [(2, 1, 4), (3, 2, 5)]  # both ways at once
    assert join.batch(impressions=[(4, 6)], clicks=[(4, 7)]) == [(4, 6, 7)]  # a pair within one batch, once


def test_a_join_in_a_subquery_emits_through_the_projection_and_filter_over_it():
    join = Join(f"SELECT x.ad, x.clicked FROM ({SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}) x "
                "WHERE x.ad > 1")
    assert join.batch(impressions=[(1, 0), (2, 1)], clicks=[(1, 2), (2, 3)]) == [(2, 3)]


def test_duplicate_keys_join_every_pair():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 0), (1, 1)])
    assert join.batch(clicks=[(1, 2), (1, 3)]) == [(1, 0, 2), (1, 0, 3), (1, 1, 2), (1, 1, 3)]


def test_null_keys_never_match():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(None, 0), (1, 0)])
    assert join.batch(clicks=[(None, 1), (1, 1)]) == [(1, 0, 1)]


def test_null_keys_never_match_nor_wait_in_state_in_any_batch():
    # the first batch of a side passed on as it is runs its SQL (and checks Arrow's rows against it); later
    # batches are computed in Arrow: the same rows
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 0)], clicks=[(None, 0)])
    join.batch(impressions=[(None, 1), (2, 1)])
    assert join.batch(clicks=[(None, 2), (1, 2), (2, 3)]) == [(1, 0, 2), (2, 1, 3)]
    assert join.op.state_rows == 4


def test_a_side_whose_types_duckdb_changes_keeps_duckdb_s_types_in_every_batch():
    strings = sn.sources.memory("ad_id string, ts timestamp")
    plan = plan_query(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}",
                      namespaces=[{"impressions": strings, "clicks": strings}], watermark=WATERMARKS)
    op, con = make_operator(plan), connect(plan)

    def batch(impressions, clicks):
        table = lambda pairs: pa.table({"ad_id": pa.array([p[0] for p in pairs], pa.large_string()),
                                        "ts": pa.array([at(p[1]) for p in pairs], pa.timestamp("us", tz="UTC"))})
        output = op.process(con, {"impressions": table(impressions), "clicks": table(clicks)}, micros(0))
        op.commit(output)
        return sorted(output.table.to_pylist(), key=lambda r: r["ad"])

    assert batch([("a", 10)], [("b", 11)]) == []
    assert batch([("b", 10)], [("a", 11)]) == [{"ad": "a", "shown": at(10), "clicked": at(11)},
                                               {"ad": "b", "shown": at(10), "clicked": at(11)}]
    assert op.dump().schema.field("left").type.field("ad_id").type == pa.string()  # as DuckDB gives it


def test_null_keys_as_spark_runs_them_filtered_where_it_filters_them_matching_each_other_where_it_does_not():
    # checked against PySpark 4.3: Spark filters NULL keys below the join except on an outer join's preserved
    # sides, and its state compares keys as rows, so there a NULL key meets a NULL key
    both = {"impressions": [(None, 1), (1, 2)], "clicks": [(None, 3), (9, 4)]}
    full = Join(f"{SELECT} FULL JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert full.batch(**both) == [(None, 1, 3)]
    assert full.batch(watermark=60) == [(1, 2, None), (None, None, 4)]
    left = Join(f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert left.batch(**both) == []
    assert left.batch(watermark=60) == [(1, 2, None), (None, 1, None)]
    right = Join(f"{SELECT} RIGHT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert right.batch(**both) == []
    assert right.batch(watermark=60) == [(None, None, 3), (None, None, 4)]


def test_the_range_condition_is_checked_on_each_pair():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 10)])
    assert join.batch(clicks=[(1, 9), (1, 10), (1, 20), (1, 21)]) == [(1, 10, 10), (1, 10, 20)]


def test_late_rows_are_dropped_per_side_by_the_previous_batch_s_watermark():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 20)], clicks=[(9, 30)], watermark=0)
    # this batch runs with watermark 25, but rows are late only at or behind the previous batch's (0)
    assert join.batch(impressions=[(2, 21)], clicks=[(1, 22)], watermark=25) == [(1, 20, 22)]
    assert join.output.late_by_input == {"impressions": 0, "clicks": 0}
    assert join.batch(impressions=[(3, 25), (4, 26)], clicks=[(2, 24), (5, 40)], watermark=25) == []
    assert join.output.late_by_input == {"impressions": 1, "clicks": 1}
    assert join.output.late.num_rows == 2  # for the teaching view: which input each late row came from
    assert join.output.late.column("side").to_pylist() == ["impressions", "clicks"]
    assert join.output.late.column("i.ts").to_pylist()[0] == at(25)


def test_state_stays_bounded_as_the_watermark_passes():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 0), (2, 10)], clicks=[(3, 5), (4, 12)])
    assert join.op.state_rows == 4
    # watermark 11: impressions wait for clicks up to 10 s later (evicted at ts + 10 <= 11 - 0.001: ts 0);
    # clicks wait for impressions at or before them (evicted at ts <= 11 - 0.001: ts 5)
    join.batch(watermark=11)
    assert join.op.state_rows == 2
    assert len(join.output.expired) == 2
    join.batch(watermark=30)
    assert join.op.state_rows == 0


def test_a_no_data_batch_is_due_whenever_the_watermark_moves_as_spark_runs_one():
    join = Join(f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 0)], watermark=3)
    assert not join.op.has_expired(micros(3))   # the watermark the last batch ran with
    assert join.op.has_expired(micros(4))       # moved: Spark runs a batch (it evicts, and judges late rows)
    unbounded = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id", watermark=None)
    unbounded.batch(impressions=[(1, 0)])
    assert not unbounded.op.has_expired(micros(100))  # no state is evicted by the watermark: no batch


def test_left_outer_rows_come_out_null_padded_when_the_watermark_passes_in_a_no_data_batch():
    join = Join(f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert join.batch(impressions=[(1, 0), (2, 0), (3, 5)]) == []
    assert join.batch(clicks=[(1, 3)]) == [(1, 0, 3)]
    assert join.batch(watermark=10) == []                    # 0 + 10 s is not yet behind the watermark
    assert join.batch(watermark=11) == [(2, 0, None)]        # a no-data batch: only the unmatched one
    assert join.batch(watermark=40) == [(3, 5, None)]
    assert join.op.state_rows == 0


def test_right_outer_rows_wait_for_the_right_side_s_state_watermark():
    join = Join(f"{SELECT} RIGHT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert join.batch(impressions=[(1, 0)], clicks=[(1, 2), (2, 3)]) == [(1, 0, 2)]
    assert join.batch(watermark=3) == []                        # a click waits for impressions at or before it
    assert join.batch(watermark=4) == [(None, None, 3)]


def test_full_outer_emits_unmatched_rows_of_both_sides():
    join = Join(f"{SELECT} FULL JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert join.batch(impressions=[(1, 0), (2, 0)], clicks=[(1, 2), (3, 2)]) == [(1, 0, 2)]
    assert join.batch(watermark=30) == [(2, 0, None), (None, None, 2)]


def test_a_preserved_row_failing_its_own_condition_comes_out_at_once():
    join = Join(f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND i.ad_id > 1 AND {RANGE}")
    assert join.batch(impressions=[(1, 0), (2, 0)], clicks=[(1, 1), (2, 1)]) == [(1, 0, None), (2, 0, 1)]
    assert join.op.state_rows == 3  # the impression failing i.ad_id > 1 is never stored


def test_left_semi_emits_each_left_row_once_whichever_side_comes_first():
    join = Join(f"SELECT i.ad_id, i.ts FROM impressions i LEFT SEMI JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert join.batch(impressions=[(1, 0)], clicks=[(2, 1)]) == []
    assert join.batch(clicks=[(1, 1), (1, 2)]) == [(1, 0)]           # two clicks, one row
    assert join.batch(clicks=[(1, 3)]) == []                         # matched before: not again
    assert join.batch(impressions=[(2, 0.5), (2, 0.8)]) == [(2, 0.5), (2, 0.8)]  # matched at once: not stored
    assert join.op.state_rows == 5  # the matched impression (1, 0) and the four clicks


def test_a_window_equality_join_evicts_by_the_window_and_emits_outer_rows_after_its_end():
    join = Join("SELECT x.ad_id, x.w.start AS start, y.n FROM "
                "(SELECT ad_id, window(ts, '10 seconds') AS w FROM impressions) x LEFT JOIN "
                "(SELECT ad_id, ad_id * 10 AS n, window(ts, '10 seconds') AS w FROM clicks) y "
                "ON x.ad_id = y.ad_id AND x.w = y.w")
    assert join.batch(impressions=[(1, 1), (2, 2)], clicks=[(1, 9), (2, 12)]) == [(1, 0, 10)]
    assert join.batch(watermark=9) == []
    assert join.batch(watermark=10) == [(2, 0, None)]   # window [0, 10) ends at the watermark
    assert join.op.state_rows == 1                      # the click in [10, 20)


def test_a_restart_from_the_checkpoint_mid_stream_gives_what_an_uninterrupted_run_gives():
    sql = f"{SELECT} FULL JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}"
    batches = [{"impressions": [(1, 0), (2, 0)], "clicks": [(1, 2)]}, {"clicks": [(1, 4), (3, 5)], "watermark": 3},
               {"impressions": [(3, 1)], "watermark": 6}, {"impressions": [(4, 20)], "clicks": [(3, 9)], "watermark": 12},
               {"watermark": 40}]
    straight = Join(sql)
    expected = [straight.batch(**b) for b in batches]
    first = Join(sql)
    first.op.checkpointed = True
    saved = []  # what the checkpoint keeps: a snapshot, then each batch's delta
    for b in batches[:3]:
        got = first.batch(**b)
        saved.append(first.op.changes(first.output) if saved else first.op.dump())
    resumed = Join(sql, operator=None)
    resumed.op.restore(saved)
    assert resumed.op.state_rows == first.op.state_rows
    assert resumed.op.dump().equals(first.op.dump())
    assert [resumed.batch(**b) for b in batches[3:]] == expected[3:]
    assert got == expected[2]


def test_the_state_view_shows_both_sides_and_their_matched_flags():
    join = Join(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    join.batch(impressions=[(1, 0), (2, 0)], clicks=[(1, 1)])
    view = join.op.state_view()()
    assert view.column("side").to_pylist() == ["impressions", "impressions", "clicks"]
    assert view.column("matched").to_pylist() == [True, False, True]
    assert {"i.ad_id", "i.ts", "c.ad_id", "c.ts"} <= set(view.column_names)
    assert join.op.memory_bytes > 0


@pytest.mark.parametrize("kind", ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
def test_a_batch_without_rows_or_state_emits_nothing(kind):
    assert Join(f"{SELECT} {kind} clicks c ON i.ad_id = c.ad_id AND {RANGE}").batch(watermark=100) == []


def test_a_changed_join_cannot_resume_from_the_old_one_s_checkpoint(tmp_path):
    sources = {"impressions": sn.sources.memory("ad_id bigint, ts timestamp"),
               "clicks": sn.sources.memory("ad_id bigint, ts timestamp")}
    sources["impressions"].add_data([{"ad_id": 1, "ts": at(1)}])
    sn.start(f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}", sources=sources, watermark=WATERMARKS,
             checkpoint=tmp_path, trigger="available_now").await_termination(60)
    for changed, what in [(f"{SELECT} JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}", ("the stateful operator was "
                           "stream-stream LeftOuter join, now stream-stream Inner join")),
                          ((f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND c.ts BETWEEN i.ts AND i.ts + "
                           "INTERVAL 20 SECONDS"), "the state's condition were")]:
        with pytest.raises(sn.CheckpointError, match=what):
            sn.start(changed, sources=sources, watermark=WATERMARKS, checkpoint=tmp_path, trigger="manual")


def test_progress_reports_the_join_as_one_stateful_operator_with_spark_s_fields():
    sources = {"impressions": sn.sources.memory("ad_id bigint, ts timestamp"),
               "clicks": sn.sources.memory("ad_id bigint, ts timestamp")}
    q = sn.start(f"{SELECT} LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}", sources=sources,
                 watermark=WATERMARKS, trigger="manual")
    try:
        sources["impressions"].add_data([{"ad_id": 1, "ts": at(1)}, {"ad_id": 2, "ts": at(30)}])
        sources["clicks"].add_data([{"ad_id": 1, "ts": at(3)}, {"ad_id": 2, "ts": at(31)}])
        q.process_all_available()
        sources["impressions"].add_data([{"ad_id": 3, "ts": at(2)}])  # behind the watermark (31 - 5 = 26)
        q.process_all_available()
        (operator,) = [p["stateOperators"][0] for p in q.recent_progress if p["numInputRows"]][-1:]
        assert operator["operatorName"] == "symmetricHashJoin"
        assert operator["numRowsDroppedByWatermark"] == 1
        assert operator["numRowsTotal"] == q._operator.state_rows and operator["memoryUsedBytes"] > 0
        assert sorted(q.result["ad"]) == [1, 2]
    finally:
        q.stop()
