"""applyInPandasWithState on stream_nb: Spark's semantics (FlatMapGroupsWithStateExec, GroupState) case by case.

The cases PySpark itself runs the same way are in ``group_state_programs.py`` (compared with real PySpark);
here are those that need a manual clock (processing-time timeouts), restarts, and the errors.
"""

from __future__ import annotations

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.engine.clock import ManualClock
from stream_nb.pyspark.errors import AnalysisException, PySparkNotImplementedError, PySparkValueError
from stream_nb.pyspark.sql.streaming.state import GroupState, GroupStateTimeout
from tests.pyspark.conftest import at

SCHEMA = "ts timestamp, user string, n bigint"


@pytest.fixture(autouse=True)
def _forget_failed_queries(spark):
    yield
    spark.streams.resetTerminated()  # the session is shared: a query failed on purpose here fails no later test


@pytest.fixture
def clicks():
    return sn.sources.memory(SCHEMA)


def rows(*items):
    return [{"ts": at(s), "user": u, "n": n} for s, u, n in items]


def table(spark, name):
    frame = spark.sql(f"SELECT * FROM {name}").toPandas()
    return sorted(tuple(r) for r in frame.itertuples(index=False))


def running_count(key, frames, state):
    total = state.get[0] if state.exists else 0
    for frame in frames:
        total += len(frame)
    state.update((total,))
    yield pd.DataFrame({"user": [key[0]], "count": [total]})


def start(df, func, mode="update", timeout=GroupStateTimeout.NoTimeout, name="out", clock=None,
          output="user string, count bigint", state="count bigint", checkpoint=None):
    writer = (df.groupBy("user").applyInPandasWithState(func, output, state, mode, timeout)
              .writeStream.outputMode(mode).format("memory").queryName(name))
    if clock is not None:
        writer = writer.option("stream_nb.clock", clock)
    if checkpoint is not None:
        writer = writer.option("checkpointLocation", checkpoint)
    return writer.start()


def test_a_running_count_per_key_sees_each_batchs_rows_once(spark, clicks):
    q = start(spark.readStream.load(clicks), running_count)
    clicks.add_data(rows((1, "a", 1), (2, "b", 1), (3, "a", 1)))
    q.processAllAvailable()
    clicks.add_data(rows((4, "a", 1)))
    q.processAllAvailable()
    q.stop()
    assert table(spark, "out") == [("a", 2), ("a", 3), ("b", 1)]
    assert q.lastProgress["stateOperators"][0]["operatorName"] == "applyInPandasWithState"


def test_the_key_is_a_tuple_and_the_rows_come_as_pandas_frames_with_every_column(spark, clicks):
    seen = []

    def look(key, frames, state):
        frames = list(frames)
        seen.append((key, [list(f.columns) for f in frames], sum(len(f) for f in frames)))
        return iter([])

    q = start(spark.readStream.load(clicks), look)
    clicks.add_data(rows((1, "a", 1), (2, "a", 5)))
    q.processAllAvailable()
    q.stop()
    assert seen == [(("a",), [["ts", "user", "n"]], 2)]


def processing_timeout(key, frames, state):
    if state.hasTimedOut:
        count = state.get[0]
        state.remove()
        yield pd.DataFrame({"user": [key[0]], "count": [-count]})
        return
    count = (state.get[0] if state.exists else 0) + sum(len(f) for f in frames)
    state.update((count,))
    state.setTimeoutDuration(10_000)
    yield pd.DataFrame({"user": [key[0]], "count": [count]})


def test_a_processing_time_timeout_fires_once_the_clock_passes_it_and_not_before(spark, clicks):
    clock = ManualClock(1_000_000)
    q = start(spark.readStream.load(clicks), processing_timeout, timeout=GroupStateTimeout.ProcessingTimeTimeout,
              clock=clock)
    clicks.add_data(rows((1, "a", 1), (2, "b", 1)))
    q.processAllAvailable()
    clock.advance(5_000)
    clicks.add_data(rows((3, "b", 1)))       # b's timeout moves to 1_015_000; a's stays at 1_010_000
    q.processAllAvailable()
    clock.advance(5_000)                     # now 1_010_000: not past a's timeout (Spark: timeout < now)
    q.processAllAvailable()
    assert table(spark, "out") == [("a", 1), ("b", 1), ("b", 2)]
    clock.advance(1)                         # a times out, in a batch without data
    q.processAllAvailable()
    assert table(spark, "out") == [("a", -1), ("a", 1), ("b", 1), ("b", 2)]
    clock.advance(10_000)
    q.processAllAvailable()
    q.stop()
    assert table(spark, "out") == [("a", -1), ("a", 1), ("b", -2), ("b", 1), ("b", 2)]
    assert q.lastProgress["stateOperators"][0]["numRowsTotal"] == 0


def test_the_processing_time_is_the_batchs_and_the_same_for_every_group(spark, clicks):
    clock = ManualClock(42_000)
    seen = []

    def stamp(key, frames, state):
        seen.append((key[0], state.getCurrentProcessingTimeMs()))
        return iter([])

    q = start(spark.readStream.load(clicks), stamp, clock=clock)
    clicks.add_data(rows((1, "a", 1), (2, "b", 1)))
    q.processAllAvailable()
    q.stop()
    assert seen == [("a", 42_000), ("b", 42_000)]


def test_a_timeout_duration_without_processing_time_timeout_stops_the_query_with_sparks_error(spark, clicks):
    def wrong(key, frames, state):
        state.setTimeoutDuration(1000)
        return iter([])

    q = start(spark.readStream.load(clicks), wrong)
    clicks.add_data(rows((1, "a", 1)))
    with pytest.raises(Exception, match=r"(?s)batch 0.*function test_.*wrong for key \('a',\).*"
                                        r"CANNOT_WITHOUT.*processing time timeout"):
        q.processAllAvailable()


def test_state_rules_are_pysparks():
    state = GroupState(None, batch_ms=1000, watermark_ms=5000, timeout=GroupStateTimeout.EventTimeTimeout,
                       timed_out=False, watermark_present=True)
    with pytest.raises(PySparkValueError, match="STATE_NOT_EXISTS"):
        _ = state.get  # a property in PySpark, raising when there is no state
    with pytest.raises(PySparkValueError, match="INVALID_TIMEOUT_TIMESTAMP.*4999.*5000"):
        state.setTimeoutTimestamp(4999)
    with pytest.raises(RuntimeError, match="CANNOT_WITHOUT.*timeout duration"):
        state.setTimeoutDuration(10)
    with pytest.raises(TypeError, match="CANNOT_BE_NONE"):
        state.update(None)
    state.setTimeoutTimestamp(5000)
    assert state.timeout_ms == 5000 and state.getCurrentWatermarkMs() == 5000
    plain = GroupState((1,), batch_ms=1000, watermark_ms=0, timeout=GroupStateTimeout.NoTimeout,
                       timed_out=False, watermark_present=False)
    with pytest.raises(RuntimeError, match="CANNOT_WITHOUT.*watermark"):
        plain.getCurrentWatermarkMs()
    with pytest.raises(RuntimeError, match="CANNOT_WITHOUT"):
        plain.setTimeoutTimestamp(10)
    plain.remove()
    assert not plain.exists and plain.getOption is None and plain.removed


def test_a_timeout_duration_reads_interval_text_as_sparks_scala_api():
    state = GroupState(None, batch_ms=1000, watermark_ms=0, timeout=GroupStateTimeout.ProcessingTimeTimeout,
                       timed_out=False, watermark_present=False)
    state.setTimeoutDuration("1 minute")
    assert state.timeout_ms == 61_000
    with pytest.raises(ValueError, match="VALUE_NOT_POSITIVE"):
        state.setTimeoutDuration(0)


def test_a_returned_frame_that_lacks_an_output_column_names_it(spark, clicks):
    def short(key, frames, state):
        yield pd.DataFrame({"user": [key[0]]})

    q = start(spark.readStream.load(clicks), short)
    clicks.add_data(rows((1, "a", 1)))
    with pytest.raises(Exception, match=r"(?s)function test_.*short for key \('a',\).*outputStructType.*'count'"):
        q.processAllAvailable()


def test_an_exception_in_the_function_names_the_function_the_batch_and_the_key(spark, clicks):
    def broken(key, frames, state):
        if key[0] == "b":
            raise ZeroDivisionError("boom")
        return iter([])

    q = start(spark.readStream.load(clicks), broken)
    clicks.add_data(rows((1, "a", 1)))
    q.processAllAvailable()
    clicks.add_data(rows((2, "b", 1)))
    with pytest.raises(Exception, match=r"(?s)failed in batch 1.*broken for key \('b',\) raised ZeroDivisionError: "
                                        "boom"):
        q.processAllAvailable()


def test_a_state_value_that_does_not_fit_the_state_schema_names_the_field(spark, clicks):
    def wrong_state(key, frames, state):
        state.update(("many",))
        return iter([])

    q = start(spark.readStream.load(clicks), wrong_state)
    clicks.add_data(rows((1, "a", 1)))
    with pytest.raises(Exception, match=r"(?s)wrong_state for key \('a',\).*field 'count'"):
        q.processAllAvailable()


def test_the_function_output_mode_must_be_the_querys_as_in_spark(spark, clicks):
    out = spark.readStream.load(clicks).groupBy("user").applyInPandasWithState(
        running_count, "user string, count bigint", "count bigint", "update", GroupStateTimeout.NoTimeout)
    with pytest.raises(AnalysisException, match="applyInPandasWithState in update mode is not supported with "
                                                "Append output mode"):
        out.writeStream.format("memory").queryName("wrong_mode").start()


def test_an_event_time_timeout_needs_a_watermark_as_in_spark(spark, clicks):
    out = spark.readStream.load(clicks).groupBy("user").applyInPandasWithState(
        running_count, "user string, count bigint", "count bigint", "update", GroupStateTimeout.EventTimeTimeout)
    with pytest.raises(AnalysisException, match="Watermark must be specified"):
        out.writeStream.outputMode("update").format("memory").queryName("no_watermark").start()


def test_a_transformation_after_it_is_refused_by_name(spark, clicks):
    out = spark.readStream.load(clicks).groupBy("user").applyInPandasWithState(
        running_count, "user string, count bigint", "count bigint", "update", GroupStateTimeout.NoTimeout)
    assert out.columns == ["user", "count"]
    with pytest.raises(PySparkNotImplementedError, match="a transformation after applyInPandasWithState"):
        out.filter("count > 1")


def test_state_survives_a_restart_on_the_checkpoint(spark, clicks, tmp_path):
    checkpoint, df = str(tmp_path / "ckpt"), spark.readStream.load(clicks)
    q = start(df, running_count, checkpoint=checkpoint, name="before")
    clicks.add_data(rows((1, "a", 1), (2, "b", 1)))
    q.processAllAvailable()
    q.stop()
    q = start(df, running_count, checkpoint=checkpoint, name="after")
    clicks.add_data(rows((3, "a", 1)))
    q.processAllAvailable()
    q.stop()
    assert table(spark, "after") == [("a", 2)]


def test_a_restart_with_another_state_schema_is_refused(spark, clicks, tmp_path):
    checkpoint, df = str(tmp_path / "ckpt"), spark.readStream.load(clicks)
    q = start(df, running_count, checkpoint=checkpoint, name="first")
    clicks.add_data(rows((1, "a", 1)))
    q.processAllAvailable()
    q.stop()
    with pytest.raises(Exception, match="cannot resume from checkpoint.*the state's aggregates"):
        start(df, running_count, checkpoint=checkpoint, name="second", state="count bigint, seen bigint")


def test_explain_shows_the_per_batch_sql_and_the_function_on_top(spark, clicks):
    q = start(spark.readStream.load(clicks).where("n > 0"), running_count, name="explained")
    text = sn.get("explained").plan.explain()
    q.stop()
    assert "== 1. Stateless, per batch (DuckDB)" in text and "WHERE" in text
    assert "applyInPandasWithState: running_count(key, rows, state) per group of (user)" in text
    assert "state      one row per group: count bigint; a group never times out" in text


def rows_seen(key, frames, state):
    yield pd.DataFrame({"user": [key[0]], "count": [sum(len(f) for f in frames)]})


@pytest.mark.parametrize(("timeout", "counted"), [(GroupStateTimeout.EventTimeTimeout, 1),
                                                  (GroupStateTimeout.NoTimeout, 2)])
def test_late_rows_are_dropped_under_an_event_time_timeout_only_as_in_spark(spark, clicks, timeout, counted):
    df = spark.readStream.load(clicks).withWatermark("ts", "5 seconds")
    q = start(df, rows_seen, timeout=timeout, name="late")
    clicks.add_data(rows((20, "a", 1)))        # the watermark becomes 15 s
    q.processAllAvailable()
    clicks.add_data(rows((10, "b", 1), (30, "b", 1)))  # 10 s is late
    q.processAllAvailable()
    q.stop()
    assert table(spark, "late") == [("a", 1), ("b", counted)]
    assert q.lastProgress["stateOperators"][0]["numRowsDroppedByWatermark"] == 2 - counted


def test_the_teaching_view_shows_each_groups_key_state_and_timeout(spark, clicks):
    clock = ManualClock(1_000)
    q = start(spark.readStream.load(clicks), processing_timeout, timeout=GroupStateTimeout.ProcessingTimeTimeout,
              clock=clock, name="taught")
    clicks.add_data(rows((1, "a", 1), (2, "a", 1)))
    q.processAllAvailable()
    q.stop()
    shown = q._q.history[-1].state_source()
    assert shown.column_names == ["user", "count", "timeout_ms"]
    assert shown.to_pylist() == [{"user": "a", "count": 2, "timeout_ms": 11_000}]


def frame_and_state_types(key, frames, state):
    seen = state.get[0] if state.exists else None
    for frame in frames:
        latest = frame["ts"].max()
        seen = latest if seen is None else max(seen, latest)  # state and rows both naive: they compare
        state.update((seen,))
        yield pd.DataFrame({"user": [key[0]], "ts": [str(frame["ts"].dtype)], "n": [str(frame["n"].dtype)],
                            "state": [f"{type(state.get[0]).__name__} {state.get[0].tzinfo}"]})


def test_the_function_gets_rows_and_state_as_pyspark_hands_them(spark, clicks):
    # PySpark: timestamps naive datetime64[ns] in the session time zone; an integer column with nulls float64,
    # each group converted on its own (a group without a null keeps int64); a timestamp state field naive
    q = start(spark.readStream.load(clicks), frame_and_state_types, mode="append",
              output="user string, ts string, n string, state string", state="seen timestamp")
    clicks.add_data(rows((1, "a", 1), (2, "b", None), (3, "b", 2)))
    q.processAllAvailable()
    clicks.add_data(rows((4, "a", 3)))
    q.processAllAvailable()
    assert table(spark, "out") == [("a", "datetime64[ns]", "int64", "datetime None"),
                                   ("a", "datetime64[ns]", "int64", "datetime None"),
                                   ("b", "datetime64[ns]", "float64", "datetime None")]
    q.stop()


def count_per_minute(key, frames, state):
    count = (state.get[0] if state.exists else 0) + sum(len(f) for f in frames)
    state.update((count,))
    yield pd.DataFrame({"minute": [key[0]], "count": [count]})


def test_a_timestamp_key_finds_its_state_after_a_restart(spark, clicks, tmp_path):
    checkpoint = str(tmp_path / "ckpt")
    df = spark.readStream.load(clicks).selectExpr("date_trunc('minute', ts) AS minute", "user")
    writer = (df.groupBy("minute").applyInPandasWithState(count_per_minute, "minute timestamp, count bigint",
                                                          "count bigint", "update", GroupStateTimeout.NoTimeout)
              .writeStream.outputMode("update").format("memory").option("checkpointLocation", checkpoint))
    q = writer.queryName("minutes_before").start()
    clicks.add_data(rows((1, "a", 1)))
    q.processAllAvailable()
    q.stop()
    q = writer.queryName("minutes_after").start()
    clicks.add_data(rows((5, "b", 2)))  # the same minute: the restored group, not a new one
    q.processAllAvailable()
    assert [c for _, c in table(spark, "minutes_after")] == [2]
    assert q.lastProgress["stateOperators"][0]["numRowsTotal"] == 1
    q.stop()
