"""The same query on both engines, on a local two-worker Spark cluster: stream_nb in the kernel and
``sn.start(..., engine="spark")`` get the same input batches and emit the same results (compared after every
batch, as the differential suite compares stream_nb with plain PySpark). Then the handle, and a checkpointed
Spark query stopped and started again."""

from __future__ import annotations

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.spark.sources import feed
from tests.differential import cases, cases_joins
from tests.differential.spark_runner import Case, Emitted, compare, run_stream_nb
from tests.differential.streams import StreamsCase
from tests.differential.streams import run_stream_nb as run_streams_on_stream_nb

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]  # a loaded machine starts Spark slowly
_TIMEOUT_S = 120

_ONE_STREAM = [
    "stateless_filter_project_append",                                               # stateless
    "group_by_device_complete", "two_keys_no_window_update",                         # grouped
    "tumbling_count_append", "tumbling_watermark_clause_append", "tumbling_aggregates_update",  # windowed
    "sliding_count_append", "session_append", "session_complete",                    # sessions
]
_TWO_STREAMS = ["inner_range_between_append", "left_outer_range_append"]            # stream-stream joins

SITES = pd.DataFrame({"device": ["a", "b"], "site": ["north", "south"]})
STREAM_STATIC = Case(
    name="stream_static_join_window_update",
    sql=f"SELECT {cases.TUMBLING} AS w, s.site, count(*) AS n FROM events e JOIN sites s ON e.device = s.device "
        f"GROUP BY {cases.TUMBLING}, s.site",
    output_mode="update", watermark=("ts", "5 seconds"), key=("w", "site"), batches=cases._LATE_TUMBLING,
    why="a stream joined with a static table (a pandas DataFrame), then counted per window and site")


def by_name(table, names):
    found = {case.name: case for case in table}
    return [found[name] for name in names]


def run_on_spark(case: Case, spark, statics=None) -> Emitted:
    """``case`` through ``sn.start(..., engine="spark")``: a memory source fed batch by batch, Spark's
    batches caught up after each."""
    emitted = Emitted("stream_nb on Spark")

    def collect(df: pd.DataFrame, batch_id: int) -> None:
        emitted.add(batch_id, list(df.columns), list(df.itertuples(index=False, name=None)))

    source = sn.sources.memory(case.schema)
    watermark = {case.source: case.watermark} if case.watermark and not case.watermark_in_sql else None
    query = sn.start(case.stream_nb_sql(), sources={case.source: source, **(statics or {})},
                     output_mode=case.output_mode, watermark=watermark, sink=sn.sinks.foreach_batch(collect),
                     engine="spark", spark=spark)
    try:
        for batch in case.batches:
            source.add_data(case.rows(batch))
            query.process_all_available(timeout=_TIMEOUT_S)
            emitted.mark_fed()
    finally:
        query.stop()
    return emitted


def run_streams_on_spark(case: StreamsCase, spark) -> Emitted:
    emitted = Emitted("stream_nb on Spark")

    def collect(df: pd.DataFrame, batch_id: int) -> None:
        emitted.add(batch_id, list(df.columns), list(df.itertuples(index=False, name=None)))

    sources = {i.name: sn.sources.memory(i.schema) for i in case.inputs}
    query = sn.start(case.sql, sources=sources, output_mode=case.output_mode, watermark=case.watermark or None,
                     watermark_policy=case.watermark_policy, sink=sn.sinks.foreach_batch(collect),
                     engine="spark", spark=spark)
    try:
        for batch in case.batches:
            with feed().hold():  # one input batch is one Spark batch, whichever inputs it feeds
                for name, source in sources.items():
                    if batch.get(name):
                        source.add_data(case.rows(batch, name))
            query.process_all_available(timeout=_TIMEOUT_S)
            emitted.mark_fed()
    finally:
        query.stop()
    return emitted


def test_a_dozen_queries_and_more_are_compared():
    assert len(_ONE_STREAM) + len(_TWO_STREAMS) + 1 >= 12


@pytest.mark.parametrize("case", by_name(cases.CASES, _ONE_STREAM), ids=_ONE_STREAM)
def test_the_query_on_spark_emits_what_it_emits_in_the_kernel(case, cluster_spark):
    report = compare(case, run_on_spark(case, cluster_spark), run_stream_nb(case))
    if report:
        pytest.fail(report, pytrace=False)


def test_a_stream_static_join_on_spark_emits_what_it_emits_in_the_kernel(cluster_spark):
    case = STREAM_STATIC
    expected = run_on_spark(case, cluster_spark, statics={"sites": SITES})
    got = Emitted("stream_nb")
    source = sn.sources.memory(case.schema)
    q = sn.start(case.sql, sources={"events": source, "sites": SITES}, output_mode=case.output_mode,
                 watermark={"events": case.watermark}, trigger="manual",
                 sink=sn.sinks.foreach_batch(lambda df, b: got.add(b, list(df.columns),
                                                                   list(df.itertuples(index=False, name=None)))))
    for batch in case.batches:
        source.add_data(case.rows(batch))
        q.process_all_available(timeout=_TIMEOUT_S)
        got.mark_fed()
    q.stop()
    report = compare(case, expected, got)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.mark.parametrize("case", by_name(cases_joins.CASES, _TWO_STREAMS), ids=_TWO_STREAMS)
def test_a_stream_stream_join_on_spark_emits_what_it_emits_in_the_kernel(case, cluster_spark):
    report = compare(case, run_streams_on_spark(case, cluster_spark), run_streams_on_stream_nb(case))
    if report:
        pytest.fail(report, pytrace=False)


# -- the handle and the checkpoint ---------------------------------------------------------------------------

READINGS = "ts timestamp, device string, temp double"


def readings(*rows):
    return [{"ts": cases.t(s), "device": d, "temp": v} for s, d, v in rows]


def test_a_checkpointed_query_stopped_and_started_again_resumes_exactly_once(cluster_spark, tmp_path):
    events = sn.sources.memory(READINGS)
    checkpoint, database = tmp_path / "checkpoint", tmp_path / "out.duckdb"
    sql = "SELECT ts, device, temp FROM events WHERE temp > 0"

    def start():
        return sn.start(sql, sources={"events": events}, checkpoint=str(checkpoint), engine="spark",
                        spark=cluster_spark, sink=sn.sinks.duckdb(database, "hot"), name="hot_on_spark")

    q = start()
    events.add_data(readings((1, "a", 20.0), (2, "b", -1.0), (3, "a", 21.0)))
    q.process_all_available(timeout=_TIMEOUT_S)
    first_id, first_batch = q.id, q.last_progress["batchId"]
    q.stop()
    events.add_data(readings((4, "b", 22.0), (5, "a", 23.0)))   # arrive while the query is stopped
    q = start()
    q.process_all_available(timeout=_TIMEOUT_S)
    assert q.id == first_id                                         # Spark's id, kept in its checkpoint
    assert q.last_progress["batchId"] > first_batch
    q.stop()

    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("SELECT epoch(ts)::int, device, temp FROM hot ORDER BY ts").fetchall()
    start_s = int(cases.t(0).timestamp())
    assert [(ts - start_s, d, v) for ts, d, v in rows] == [
        (1, "a", 20.0), (3, "a", 21.0), (4, "b", 22.0), (5, "a", 23.0)]   # each row once: none lost, none twice


def test_the_spark_query_has_the_handle_of_a_stream_nb_query(cluster_spark, capsys):
    events = sn.sources.memory(READINGS)
    q = sn.start(f"SELECT {cases.TUMBLING} AS w, device, count(*) AS n FROM events "
                 "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY " + cases.TUMBLING + ", device",
                 sources={"events": events}, engine="spark", spark=cluster_spark, name="handle_on_spark")
    try:
        assert sn.get("handle_on_spark") is q and q.state in (sn.QueryState.WAITING, sn.QueryState.RUNNING)
        events.add_data(readings((1, "a", 20.0), (12, "b", 21.0), (4, "a", 22.0)))
        q.process_all_available(timeout=_TIMEOUT_S)
        assert sorted(zip(q.result["device"], q.result["n"])) == [("a", 2), ("b", 1)]
        progress = q.last_progress
        assert type(progress) is dict and progress["eventTime"]["watermark"] == "2024-01-01T00:00:07.000Z"
        assert q.watermark == pd.Timestamp("2024-01-01 00:00:07", tz="UTC")
        assert q.recent_progress[-1] == progress and q.exception is None
        with pytest.raises(NotImplementedError, match="Spark, which cannot pause"):
            q.pause()
        with pytest.raises(NotImplementedError, match="has no step"):
            q.step()
        q.explain()
        assert "StateStoreSave" in capsys.readouterr().out      # Spark's physical plan
        q.to_pyspark()
        program = capsys.readouterr().out
        assert "events = events.withWatermark('ts', '5 seconds')" in program
        assert "WATERMARK" not in program and "writeStream" in program
    finally:
        q.stop()
    assert q.state is sn.QueryState.STOPPED and "handle_on_spark" not in [x.name for x in sn.queries()]


def test_a_manual_trigger_is_refused_on_spark(cluster_spark):
    events = sn.sources.memory(READINGS)
    with pytest.raises(ValueError, match="trigger='manual' cannot run on Spark"):
        sn.start("SELECT * FROM events", sources={"events": events}, trigger="manual", engine="spark",
                 spark=cluster_spark)


def test_an_update_query_started_again_on_its_checkpoint_shows_its_result_before_the_next_batch(cluster_spark,
                                                                                              tmp_path):
    events = sn.sources.memory(READINGS)

    def start():
        return sn.start("SELECT device, count(*) AS n FROM events GROUP BY device", sources={"events": events},
                        output_mode="update", checkpoint=str(tmp_path / "checkpoint"), engine="spark",
                        spark=cluster_spark, name="counts_on_spark")

    q = start()
    events.add_data(readings((1, "a", 20.0), (2, "b", 21.0), (3, "a", 22.0)))
    q.process_all_available(timeout=_TIMEOUT_S)
    before = sorted(q.result.itertuples(index=False, name=None))
    q.stop()
    q = start()
    try:
        assert before == [("a", 2), ("b", 1)]
        assert sorted(q.result.itertuples(index=False, name=None)) == before   # kept beside Spark's files
        events.add_data(readings((4, "b", 23.0)))
        q.process_all_available(timeout=_TIMEOUT_S)
        assert sorted(q.result.itertuples(index=False, name=None)) == [("a", 2), ("b", 2)]
    finally:
        q.stop()


def test_the_teaching_history_on_spark_holds_each_batchs_input_late_rows_state_and_output(cluster_spark):
    events = sn.sources.memory(READINGS)
    q = sn.start(f"SELECT {cases.TUMBLING} AS w, device, count(*) AS n FROM events "
                 "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY " + cases.TUMBLING + ", device",
                 sources={"events": events}, output_mode="update", engine="spark", spark=cluster_spark,
                 name="history_on_spark")
    try:
        events.add_data(readings((1, "a", 20.0), (16, "b", 21.0)))
        q.process_all_available(timeout=_TIMEOUT_S)
        events.add_data(readings((2, "a", 22.0), (14, "b", 23.0)))     # ts 2's window ends behind the watermark
        q.process_all_available(timeout=_TIMEOUT_S)
        traces = {t.batch_id: t for t in q.history}
        with_rows = [t for t in traces.values() if t.num_input_rows]
        assert [t.num_input_rows for t in with_rows] == [2, 2]
        first, second = with_rows
        assert first.input.to_pylist() == events.read(0, 2).to_pylist()            # the rows Spark read
        assert second.watermark == pd.Timestamp("2024-01-01 00:00:11", tz="UTC")  # Spark's, for that batch
        assert second.num_late_rows == 1 and [r["temp"] for r in second.late_input.to_pylist()] == [22.0]
        assert second.num_state_rows == 1 and second.num_output_rows == 1          # Spark's counts
        assert [(r["device"], r["n"]) for r in second.output.to_pylist()] == [("b", 2)]
    finally:
        q.stop()
