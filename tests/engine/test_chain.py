"""Chained stateful operators emit what Spark emits, batch by batch.

The cases are Spark's MultiStatefulOperatorsSuite (an event time of ``value`` seconds, a 0-second watermark
unless said), written in SQL; each expectation was checked against PySpark 4.3 (the batch ids too: a window
the first operator emits reaches the second one, and is emitted by it, in the same no-data batch).
"""

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.engine.chain import ChainOperator
from stream_nb.engine.operator import Operator

SCHEMA = "value bigint, ts timestamp"


def seconds(*values):
    return [{"value": v, "ts": datetime.fromtimestamp(v, UTC)} for v in values]


def window_agg(size, name="w", delay="0"):
    return (f"SELECT window(ts, '{size} seconds') AS {name}, count(*) AS n FROM events "
            f"WATERMARK ts DELAY OF INTERVAL {delay} SECONDS GROUP BY window(ts, '{size} seconds')")


class Run:
    """A query over a memory stream: feed it, then read each batch's new rows and each operator's progress."""

    def __init__(self, sql, tmp_path=None, mode=None, events=None):
        self.events = events or sn.sources.memory(SCHEMA)
        self.emitted = []
        self.q = sn.start(sql, sources={"events": self.events}, output_mode=mode, trigger="manual",
                          checkpoint=None if tmp_path is None else str(tmp_path / "checkpoint"),
                          sink=sn.sinks.foreach_batch(lambda df, batch: self.emitted.append((batch, df))))

    def add(self, *values):
        """The rows each batch emitted (batch id → rows as tuples), once these values are processed."""
        self.emitted.clear()
        self.events.add_data(seconds(*values))
        self.q.process_all_available()
        return {batch: [tuple(_plain(v) for v in row) for row in df.itertuples(index=False)]
                for batch, df in self.emitted if len(df)}

    def operators(self, field):
        """One number per operator, first operator first (progress lists the last one first, as Spark)."""
        return [entry[field] for entry in reversed(self.q.last_progress["stateOperators"])]


def _plain(value):
    if isinstance(value, dict):  # a window: its start and end in seconds
        return tuple(int(t.timestamp()) for t in value.values())
    return int(value.timestamp()) if hasattr(value, "timestamp") else value


def test_a_window_aggregation_over_a_window_aggregation():
    """Spark: "window agg -> window agg, append mode"."""
    run = Run(f"SELECT window(w, '10 seconds') AS w2, count(*) AS count, sum(n) AS sum FROM ({window_agg(5)}) "
              "GROUP BY window(w, '10 seconds')")
    assert run.q.plan.output_mode == "append" and isinstance(run.q._operator, ChainOperator)
    # [10, 15) and [15, 20) leave the first operator at watermark 21 and meet in [10, 20) of the second
    assert run.add(*range(10, 22)) == {1: [((10, 20), 2, 10)]}
    assert run.operators("numRowsTotal") == [1, 0]
    # at watermark 21, 10..19 are late for the first operator; [20, 25) goes on to wait in the second's [20, 30)
    assert run.add(*range(10, 30)) == {}
    assert run.operators("numRowsTotal") == [1, 1]
    # Spark drops late rows after the partial aggregation: it counts the 2 late windows, not the 10 rows
    assert [entry["numRowsDroppedByWatermark"] for entry in run.q.recent_progress[-2]["stateOperators"]] == [0, 2]
    assert run.add(30, 31) == {5: [((20, 30), 2, 12)]}
    assert run.operators("numRowsTotal") == [1, 0]
    run.q.stop()


def test_three_window_aggregations_cascade_in_one_batch():
    """Spark: "agg -> agg -> agg, append mode", with window_time() as Spark writes it."""
    second = (f"SELECT window(window_time(w), '10 seconds') AS w2, count(*) AS c2, sum(n) AS s2 "
              f"FROM ({window_agg(5)}) GROUP BY window(window_time(w), '10 seconds')")
    run = Run(f"SELECT window(window_time(w2), '20 seconds') AS w3, count(*) AS c3, sum(s2) AS s3 FROM ({second}) "
              "GROUP BY window(window_time(w2), '20 seconds')")
    assert run.add(*range(38)) == {1: [((0, 20), 2, 20)]}
    assert run.operators("numRowsTotal") == [1, 1, 1]
    emitted = run.add(*range(30, 61))
    assert {batch: sorted(rows) for batch, rows in emitted.items()} == {3: [((20, 40), 2, 23), ((40, 60), 2, 20)]}
    assert run.operators("numRowsTotal") == [1, 0, 0]
    # 30..34 were late for the first operator (its [30, 35) had gone at watermark 37): 35..37 still counted;
    # Spark counts the late groups (one window), not the rows
    assert [e["numRowsDroppedByWatermark"] for e in run.q.recent_progress[-2]["stateOperators"]] == [0, 0, 1]
    run.q.stop()


def test_a_deduplication_before_a_window_aggregation():
    """Spark: "stream deduplication -> aggregation, append mode" (a 10-second watermark)."""
    run = Run("SELECT window(ts, '5 seconds') AS w, count(*) AS count FROM (SELECT DISTINCT ON (value, ts) * "
              "FROM events WATERMARK ts DELAY OF INTERVAL 10 SECONDS) GROUP BY window(ts, '5 seconds')",
              mode="append")
    assert run.add(*range(1, 16)) == {1: [((0, 5), 4)]}
    assert run.operators("numRowsTotal") == [10, 3]  # keys 1..5 evicted at watermark 5
    assert run.operators("operatorName") == ["dedupe", "stateStoreSave"]
    assert run.add(3, 16) == {}  # 3 is behind the watermark: late for the deduplication
    assert run.operators("numRowsDroppedByWatermark") == [0, 0]  # the no-data batch after it
    assert [e["numRowsDroppedByWatermark"] for e in run.q.recent_progress[-2]["stateOperators"]] == [0, 1]
    run.q.stop()


def test_a_deduplication_on_window_time_after_an_aggregation():
    """Spark: "aggregation -> stream deduplication, append mode", the case with the event time."""
    run = Run(f"SELECT DISTINCT ON (n, window_time(w)) w.end AS window_end, unix_micros(window_time(w)) AS wt, n "
              f"FROM ({window_agg(5)})")
    assert sorted(run.add(1, 5, 10, 15)[1]) == [(5, 4_999_999, 1), (10, 9_999_999, 1), (15, 14_999_999, 1)]
    assert run.operators("numRowsTotal") == [1, 0]  # the deduplication's keys are behind the watermark: gone
    run.q.stop()


def test_select_distinct_then_aggregate_is_two_aggregations():
    run = Run("SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT DISTINCT value, ts FROM events "
              "WATERMARK ts DELAY OF INTERVAL 5 SECONDS) GROUP BY window(ts, '10 seconds')")
    assert run.add(1, 2, 2, 15) == {1: [((0, 10), 2)]}  # the second 2 is a duplicate: one group
    run.q.stop()


def test_a_restart_goes_on_with_every_operators_state_and_the_late_row_watermark(tmp_path):
    sql = (f"SELECT window(w, '10 seconds') AS w2, count(*) AS count, sum(n) AS sum FROM ({window_agg(5)}) "
           "GROUP BY window(w, '10 seconds')")
    events = sn.sources.memory(SCHEMA)
    first = Run(sql, tmp_path, events=events)
    assert first.add(*range(10, 22)) == {1: [((10, 20), 2, 10)]}
    assert first.add(*range(10, 30)) == {}
    first.q.stop()
    again = Run(sql, tmp_path, events=events)
    assert again.q.id == first.q.id
    assert [op.state_rows for op in again.q._operator.operators] == [1, 1]
    assert again.q._operator._ran_with_us == 29_000_000  # the next batch's late rows are judged by it
    assert again.add(30, 31) == {5: [((20, 30), 2, 12)]}
    again.q.stop()


def test_the_state_of_every_operator_is_one_table_that_restores():
    run = Run(f"SELECT window(w, '10 seconds') AS w2, count(*) AS count FROM ({window_agg(5)}) "
              "GROUP BY window(w, '10 seconds')")
    run.add(*range(10, 22))
    run.add(27)
    operator = run.q._operator
    table = operator.dump()
    assert table.column_names == ["__operator", "operator0", "operator1"]
    assert pa.types.is_struct(table.schema.field("operator0").type)
    assert table.column("__operator").to_pylist() == [0, 1]  # [25, 30) in the first; [20, 30) in the second
    fresh = ChainOperator(run.q.plan)
    assert isinstance(fresh, Operator)
    fresh.restore([table])
    assert [op.state_rows for op in fresh.operators] == [1, 1] and fresh._ran_with_us == operator._ran_with_us
    view = operator.state_view()()
    assert view.column("operator").to_pylist() == ["0: stateStoreSave", "1: stateStoreSave"]
    run.q.stop()


@pytest.mark.parametrize("mode", ["update", "complete"])
def test_a_dedup_then_aggregation_keeps_its_result_table_across_a_restart(mode, tmp_path):
    sql = ("SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT DISTINCT ON (value) * FROM events "
           "WATERMARK ts DELAY OF INTERVAL 5 SECONDS) GROUP BY window(ts, '10 seconds')")
    events = sn.sources.memory(SCHEMA)
    first = sn.start(sql, sources={"events": events}, output_mode=mode, trigger="manual",
                     checkpoint=str(tmp_path / "cp"))
    events.add_data(seconds(1, 2, 2, 11))
    first.process_all_available()
    first.stop()
    again = sn.start(sql, sources={"events": events}, output_mode=mode, trigger="manual",
                     checkpoint=str(tmp_path / "cp"))
    events.add_data(seconds(7, 1))  # 1 is a duplicate value (7: ahead of the watermark, 6; a row behind it
                                    # is late for the deduplication, as in Spark, ts a key or not)
    again.process_all_available()
    counts = sorted((int(w["start"].timestamp()), n) for w, n in again.result.itertuples(index=False))
    assert counts == [(0, 3), (10, 1)]
    again.stop()


def test_a_restart_with_another_chain_is_refused_as_an_incompatible_change(tmp_path):
    sql = (f"SELECT window(w, '10 seconds') AS w2, count(*) AS count FROM ({window_agg(5)}) "
           "GROUP BY window(w, '10 seconds')")
    events = sn.sources.memory(SCHEMA)
    first = Run(sql, tmp_path, events=events)
    first.add(1, 2, 12)
    first.q.stop()
    with pytest.raises(Exception, match=r"the state's keys were .*'5 seconds'.*now .*'6 seconds'"):
        Run(sql.replace("'5 seconds'", "'6 seconds'"), tmp_path, events=events)


class TestAggregationAfterAStreamStreamJoin:
    """Spark's "join -> window agg" cases: the join's output is the aggregation's input, with the watermark
    the join can still emit behind (the least of its sides' state watermarks). (Lowercase event-time names:
    a mixed-case one is not found among the GROUP BY keys, a planner bug of its own.)"""

    def start(self, sql, left_schema, right_schema, watermarks):
        self.left, self.right = sn.sources.memory(left_schema), sn.sources.memory(right_schema)
        self.emitted = []
        self.q = sn.start(sql, sources={"s1": self.left, "s2": self.right}, watermark=watermarks,
                          output_mode="append", trigger="manual",
                          sink=sn.sinks.foreach_batch(lambda df, batch: self.emitted.append(df)))

    def add(self, left, right):
        self.emitted.clear()
        self.left.add_data(left)
        self.right.add_data(right)
        self.q.process_all_available()
        return sorted(tuple(row) for df in self.emitted for row in df.itertuples(index=False))

    @pytest.mark.parametrize("sql", [
        ("SELECT window(time1, '5 seconds').start AS start, count(*) AS count FROM (SELECT * FROM s1 JOIN s2 "
        "ON s1.time1 = s2.time2) GROUP BY window(time1, '5 seconds')"),
        ("SELECT window(s1.time1, '5 seconds').start AS start, count(*) AS count FROM s1 JOIN s2 "
        "ON s1.time1 = s2.time2 GROUP BY window(s1.time1, '5 seconds')"),
    ], ids=["join in a subquery", "join and aggregation in one SELECT"])
    def test_an_inner_join_on_event_time_then_a_window_aggregation(self, sql):
        self.start(sql, "value1 bigint, time1 timestamp", "value2 bigint, time2 timestamp",
                   {"s1": ("time1", "0 seconds"), "s2": ("time2", "0 seconds")})
        rows = [{"v": v, "t": datetime.fromtimestamp(v, UTC)} for v in range(1, 6)]
        assert self.add([{"value1": r["v"], "time1": r["t"]} for r in rows[:4]],
                        [{"value2": r["v"], "time2": r["t"]} for r in rows[:4]]) == []
        names = [e["operatorName"] for e in self.q.last_progress["stateOperators"]]
        assert names == ["stateStoreSave", "symmetricHashJoin"]
        assert [e["numRowsTotal"] for e in self.q.last_progress["stateOperators"]] == [1, 0]
        emitted = self.add([{"value1": 5, "time1": rows[4]["t"]}], [{"value2": 5, "time2": rows[4]["t"]}])
        assert [(int(start.timestamp()), n) for start, n in emitted] == [(0, 4)]
        assert [e["numRowsTotal"] for e in self.q.last_progress["stateOperators"]] == [1, 0]
        self.q.stop()

    def test_a_left_outer_join_with_a_time_range_then_a_window_aggregation(self):
        """The outer row ("2", 01:00:30) comes out when the join's state watermark passes it, and reaches its
        window in the aggregation, whose watermark is the join's state watermark (an hour behind)."""
        self.start("SELECT CAST(window.start AS STRING) AS window_start, CAST(window.end AS STRING) AS window_end, "
                   "cnt FROM (SELECT window(timestamp1, '10 minutes') AS window, count(*) AS cnt FROM (SELECT * "
                   "FROM s1 LEFT JOIN s2 ON s1.id1 = s2.id2 AND (s1.timestamp1 BETWEEN s2.timestamp2 - INTERVAL 1 "
                   "hour AND s2.timestamp2 + INTERVAL 1 hour)) GROUP BY window(timestamp1, '10 minutes'))",
                   "id1 string, timestamp1 timestamp", "id2 string, timestamp2 timestamp",
                   {"s1": ("timestamp1", "0 seconds"), "s2": ("timestamp2", "0 seconds")})

        def at(minutes, seconds=0):
            return datetime(2023, 1, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes, seconds=seconds)

        assert self.add([{"id1": "1", "timestamp1": at(0, 10)}, {"id1": "2", "timestamp1": at(0, 30)}],
                        [{"id2": "1", "timestamp2": at(0, 20)}]) == []
        # the aggregation's watermark: the query's (01:00:20) less the hour a left row waits, less 1 ms
        assert self.q._operator._committed.watermarks[1] == \
            int(datetime(2023, 1, 1, 0, 0, 19, 999000, tzinfo=UTC).timestamp() * 1_000_000)
        assert self.add([{"id1": "5", "timestamp1": at(15)}], [{"id2": "6", "timestamp2": at(15)}]) == []
        assert self.add([{"id1": "5", "timestamp1": at(76)}], [{"id2": "6", "timestamp2": at(76)}]) == [
            ("2023-01-01 01:00:00", "2023-01-01 01:10:00", 2)]
        assert [e["numRowsTotal"] for e in self.q.last_progress["stateOperators"]] == [1, 2]
        self.q.stop()


def test_window_time_is_the_windows_end_less_a_microsecond_in_any_query():
    run = Run(f"SELECT window_time(w) AS wt, n FROM ({window_agg(10)})", mode="append")  # one operator
    assert run.add(1, 2, 31) == {1: [(9, 2)]}
    emitted = next(df for _, df in run.emitted if len(df))
    assert emitted["wt"][0] == datetime(1970, 1, 1, 0, 0, 9, 999_999, tzinfo=UTC)
    run.q.stop()


def test_grouping_by_the_window_column_itself_as_spark_allows():
    """PySpark 4.3 emits each 10-second window's total once, keyed by the first operator's own window."""
    run = Run(f"SELECT w, sum(n) AS total FROM ({window_agg(10, delay='5')}) GROUP BY w")
    assert run.add(1, 2, 1, 15) == {1: [((0, 10), 3)]}
    assert run.add(25, 5) == {3: [((10, 20), 1)]}
    run.q.stop()


def test_a_join_then_aggregation_restarts_with_both_operators_state(tmp_path):
    """The join's two sides and the aggregation's windows share the chain's one state table: a run stopped
    half way and started again on its checkpoint emits what an uninterrupted run does."""
    sql = ("SELECT window(i.ts, '10 seconds') AS w, count(*) AS n FROM impressions i JOIN clicks c "
           "ON i.ad = c.ad AND c.cts BETWEEN i.ts AND i.ts + INTERVAL 5 SECONDS GROUP BY window(i.ts, '10 seconds')")
    steps = [([(1, 1), (2, 3)], [(1, 2)]), ([(3, 12)], [(2, 6), (3, 14)]), ([(4, 30)], [(4, 31)]),
             ([(5, 60)], [(5, 61)])]

    def run(checkpoint, sources, batches):
        emitted = []
        q = sn.start(sql, sources=sources, output_mode="append", trigger="manual", checkpoint=str(checkpoint),
                     watermark={"impressions": ("ts", "2 seconds"), "clicks": ("cts", "2 seconds")},
                     sink=sn.sinks.foreach_batch(lambda df, batch: emitted.extend(
                         (int(w["start"].timestamp()), n) for w, n in df.itertuples(index=False))))
        for shown, clicked in batches:
            sources["impressions"].add_data(seconds_of("ad", "ts", shown))
            sources["clicks"].add_data(seconds_of("ad", "cts", clicked))
            q.process_all_available()
        q.stop()
        return emitted

    def streams():
        return {"impressions": sn.sources.memory("ad bigint, ts timestamp"),
                "clicks": sn.sources.memory("ad bigint, cts timestamp")}

    assert run(tmp_path / "whole", streams(), steps) == [(0, 2), (10, 1), (30, 1)]
    cut = streams()
    assert run(tmp_path / "cut", cut, steps[:2]) + run(tmp_path / "cut", cut, steps[2:]) == [(0, 2), (10, 1), (30, 1)]


def seconds_of(key, time, rows):
    return [{key: k, time: datetime.fromtimestamp(s, UTC)} for k, s in rows]


def test_a_dedup_then_aggregation_in_update_mode_upserts_a_duckdb_table_by_its_keys(tmp_path):
    database = tmp_path / "out.duckdb"
    events = sn.sources.memory(SCHEMA)
    q = sn.start("SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT DISTINCT ON (value) * FROM events "
                 "WATERMARK ts DELAY OF INTERVAL 5 SECONDS) GROUP BY window(ts, '10 seconds')",
                 sources={"events": events}, output_mode="update", trigger="manual",
                 sink=sn.sinks.duckdb(str(database), "counts"))
    for values in ((1, 2), (2, 3), (11,)):
        events.add_data(seconds(*values))
        q.process_all_available()
    q.stop()
    with duckdb.connect(str(database), read_only=True) as con:
        assert sorted(con.sql("SELECT epoch(w['start'])::int, n FROM counts").fetchall()) == [(0, 3), (10, 1)]
