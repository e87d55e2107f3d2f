"""applyInPandasWithState programs, written once in plain PySpark, run on real PySpark and on stream_nb.pyspark
(``test_group_state_programs.py`` compares their memory-sink tables after every input batch, as
``test_programs.py`` does for ``programs.py``).

Only what PySpark runs deterministically is here: no-timeout and event-time-timeout programs. Under a
processing-time timeout PySpark runs a batch without data every trigger, so ``processAllAvailable`` never
returns (the harness cannot wait on it), and a timeout firing needs a manual clock, which PySpark lacks:
``test_group_state.py`` pins those against Spark's documented rules (FlatMapGroupsWithStateExec, GroupState).
The functions are module-level so that PySpark's workers get them by value (``cloudpickle``).
"""

from __future__ import annotations

import pandas as pd

from tests.pyspark.programs import EVENT_BATCHES, Program, at, events, memory

PROGRAMS: list[Program] = []


def program(batches):
    def register(fn):
        PROGRAMS.append(Program(fn.__name__, fn, batches))
        return fn
    return register


def grouped(df, keys, func, output, state, mode="update", timeout="NoTimeout"):
    return df.groupBy(*keys).applyInPandasWithState(func, output, state, mode, timeout)


# -- the functions ------------------------------------------------------------------------------------------

def running_count(key, frames, state):
    count, total = state.get if state.exists else (0, 0)
    for frame in frames:
        count, total = count + len(frame), total + int(frame["n"].sum())
    state.update((count, total))
    yield pd.DataFrame({"device": [key[0]], "count": [count], "total": [total]})


def every_row_numbered(key, frames, state):
    seen = state.get[0] if state.exists else 0
    for frame in frames:
        ordered = frame.sort_values(["ts", "n"])
        numbers = list(range(seen + 1, seen + 1 + len(ordered)))
        seen += len(ordered)
        yield pd.DataFrame({"device": [key[0]] * len(ordered), "number": numbers, "n": ordered["n"].tolist()})
    state.update((seen,))


def several_types(key, frames, state):
    count, total, latest, words, hot = state.get if state.exists else (0, 0.0, None, "", False)
    for frame in frames:
        count += len(frame)
        total += float(frame["temp"].fillna(0).sum())
        newest = pd.Timestamp(frame["ts"].max())
        newest = newest.tz_localize("UTC") if newest.tzinfo is None else newest
        latest = newest if latest is None else max(pd.Timestamp(latest, tz="UTC") if pd.Timestamp(latest).tzinfo
                                                    is None else pd.Timestamp(latest), newest)
        words = " ".join(sorted(set((words + " " + " ".join(frame["text"].dropna())).split())))
        hot = hot or bool((frame["temp"].fillna(0) > 24).any())
    state.update((count, total, latest.to_pydatetime(), words, hot))
    yield pd.DataFrame({"device": [key[0]], "count": [count], "total": [total], "latest": [latest],
                        "words": [words], "hot": [hot]})


def remove_at_three(key, frames, state):
    count = state.get[0] if state.exists else 0
    for frame in frames:
        count += len(frame)
    if count >= 3:
        state.remove()
        yield pd.DataFrame({"device": [key[0]], "count": [count], "removed": [True]})
    else:
        state.update((count,))
        yield pd.DataFrame({"device": [key[0]], "count": [count], "removed": [False]})


GAP_MS = 10_000


def session(key, frames, state):
    """Sessions of a device's rows: a session ends once the watermark passes its last row + GAP_MS."""
    if state.hasTimedOut:
        start, end, count = state.get
        state.remove()
        yield pd.DataFrame({"device": [key[0]], "start": [start], "end": [end], "count": [count], "open": [False]})
        return
    start, end, count = state.get if state.exists else (None, None, 0)
    for frame in frames:
        times = [_ms(t) for t in frame["ts"]]
        start = min(times) if start is None else min(start, *times)
        end = max(times) if end is None else max(end, *times)
        count += len(frame)
    state.update((start, end, count))
    state.setTimeoutTimestamp(end + GAP_MS)
    yield pd.DataFrame({"device": [key[0]], "start": [start], "end": [end], "count": [count], "open": [True]})


def session_closed_only(key, frames, state):
    """Append mode: a session is emitted once, when it times out."""
    if state.hasTimedOut:
        start, end, count = state.get
        state.remove()
        yield pd.DataFrame({"device": [key[0]], "start": [start], "end": [end], "count": [count]})
        return
    start, end, count = state.get if state.exists else (None, None, 0)
    for frame in frames:
        times = [_ms(t) for t in frame["ts"]]
        start = min(times) if start is None else min(start, *times)
        end = max(times) if end is None else max(end, *times)
        count += len(frame)
    state.update((start, end, count))
    state.setTimeoutTimestamp(end + GAP_MS)


def watermark_seen(key, frames, state):
    rows = sum(len(f) for f in frames)
    yield pd.DataFrame({"device": [key[0]], "rows": [rows], "watermark": [state.getCurrentWatermarkMs()],
                        "timed_out": [state.hasTimedOut]})


def last_text(key, frames, state):
    """A state field that may hold null, and groups the function emits nothing for."""
    count, text = state.get if state.exists else (0, None)
    for frame in frames:
        ordered = frame.sort_values(["ts", "n"])
        count += len(ordered)
        text = ordered["text"].iloc[-1]
        text = None if pd.isna(text) else str(text).strip()
    state.update((count, text))
    if key[0] != "b":
        yield pd.DataFrame({"device": [key[0]], "count": [count], "text": [text]})


def two_keys(key, frames, state):
    count = (state.get[0] if state.exists else 0) + sum(len(f) for f in frames)
    state.update((count,))
    yield pd.DataFrame({"device": [key[0]], "parity": [int(key[1])], "count": [count]})


def types_per_group(key, frames, state):
    """What PySpark hands the function: naive timestamps, an integer column with nulls as float64 in the groups
    that have one, a null integer key as NaN."""
    for frame in frames:
        yield pd.DataFrame({"k": [None if pd.isna(key[0]) else int(key[0])], "big": [str(frame["big"].dtype)],
                            "n": [str(frame["n"].dtype)], "sum": [float(frame["big"].sum())],
                            "first": [str(frame.sort_values(["ts", "n"])["ts"].iloc[0])]})


def latest_time(key, frames, state):
    """A timestamp key and a timestamp state field, compared with the rows' times (all naive, as in PySpark)."""
    latest = state.get[0] if state.exists else None
    for frame in frames:
        newest = frame["ts"].max()
        latest = newest if latest is None else max(latest, newest)
    state.update((latest,))
    yield pd.DataFrame({"minute": [key[0]], "latest": [latest], "key": [str(key[0])]})


def rows_seen(key, frames, state):
    """Which rows reach the function under an event-time timeout: a row without an event time is not late."""
    if state.hasTimedOut:
        state.remove()
        yield pd.DataFrame({"device": [key[0]], "count": [-1], "ns": ["timed out"]})
        return
    ns = sorted(int(n) for frame in frames for n in frame["n"])
    count = (state.get[0] if state.exists else 0) + len(ns)
    state.update((count,))
    state.setTimeoutTimestamp(state.getCurrentWatermarkMs() + 5000)
    yield pd.DataFrame({"device": [key[0]], "count": [count], "ns": [",".join(map(str, ns))]})


def timeout_set_once(key, frames, state):
    """A timeout set on the first call only: a later call without one clears it (Spark resets it each call);
    oldTimeoutTimestamp is what PySpark's worker gets, NO_TIMESTAMP."""
    n = sum(len(f) for f in frames)
    if state.hasTimedOut:
        state.remove()
        yield pd.DataFrame({"device": [key[0]], "n": [n], "old": [state.oldTimeoutTimestamp], "timed_out": [True]})
        return
    if not state.exists:
        state.setTimeoutTimestamp(max(state.getCurrentWatermarkMs(), 0) + 3000)
    state.update((n,))
    yield pd.DataFrame({"device": [key[0]], "n": [n], "old": [state.oldTimeoutTimestamp], "timed_out": [False]})


def _ms(t) -> int:
    t = pd.Timestamp(t)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return int(t.value // 1_000_000)


# -- the programs -------------------------------------------------------------------------------------------

@program(EVENT_BATCHES)
def gs_running_count_update(spark, F, T, indir):
    df = grouped(events(spark, indir), ["device"], running_count, "device string, count long, total long",
                 "count long, total long")
    return memory(df, "gs_running_count_update", "update")


@program(EVENT_BATCHES)
def gs_running_count_append(spark, F, T, indir):
    df = grouped(events(spark, indir), ["device"], running_count, "device string, count long, total long",
                 "count long, total long", mode="append")
    return memory(df, "gs_running_count_append", "append")


@program(EVENT_BATCHES)
def gs_several_rows_per_group(spark, F, T, indir):
    df = grouped(events(spark, indir), ["device"], every_row_numbered, "device string, number long, n long",
                 "seen long", mode="append")
    return memory(df, "gs_several_rows_per_group", "append")


@program(EVENT_BATCHES)
def gs_state_of_several_types(spark, F, T, indir):
    schema = T.StructType([T.StructField("count", T.LongType()), T.StructField("total", T.DoubleType()),
                           T.StructField("latest", T.TimestampType()), T.StructField("words", T.StringType()),
                           T.StructField("hot", T.BooleanType())])
    df = grouped(events(spark, indir), ["device"], several_types,
                 "device string, count long, total double, latest timestamp, words string, hot boolean", schema)
    return memory(df, "gs_state_of_several_types", "update")


@program(EVENT_BATCHES)
def gs_state_removed_at_three(spark, F, T, indir):
    df = grouped(events(spark, indir), ["device"], remove_at_three, "device string, count long, removed boolean",
                 "count long")
    return memory(df, "gs_state_removed_at_three", "update")


@program(EVENT_BATCHES)
def gs_sessions_event_time_timeout(spark, F, T, indir):
    df = grouped(events(spark, indir).withWatermark("ts", "5 seconds"), ["device"], session,
                 "device string, start long, end long, count long, open boolean", "start long, end long, count long",
                 timeout="EventTimeTimeout")
    return memory(df, "gs_sessions_event_time_timeout", "update")


@program(EVENT_BATCHES)
def gs_sessions_append_when_closed(spark, F, T, indir):
    df = grouped(events(spark, indir).withWatermark("ts", "5 seconds"), ["device"], session_closed_only,
                 "device string, start long, end long, count long", "start long, end long, count long",
                 mode="append", timeout="EventTimeTimeout")
    return memory(df, "gs_sessions_append_when_closed", "append")


@program(EVENT_BATCHES)
def gs_watermark_seen_and_late_rows_kept_without_event_time_timeout(spark, F, T, indir):
    df = grouped(events(spark, indir).withWatermark("ts", "5 seconds"), ["device"], watermark_seen,
                 "device string, rows long, watermark long, timed_out boolean", "seen long")
    return memory(df, "gs_watermark_seen_and_late_rows_kept_without_event_time_timeout", "update")


@program(EVENT_BATCHES)
def gs_null_state_fields_and_groups_without_output(spark, F, T, indir):
    df = grouped(events(spark, indir), ["device"], last_text, "device string, count long, text string",
                 "count long, text string")
    return memory(df, "gs_null_state_fields_and_groups_without_output", "update")


@program(EVENT_BATCHES)
def gs_two_keys_after_a_projection_and_filter(spark, F, T, indir):
    df = events(spark, indir).where("temp IS NOT NULL").withColumn("parity", F.col("n") % 2)
    df = grouped(df, ["device", "parity"], two_keys, "device string, parity long, count long", "count long")
    return memory(df, "gs_two_keys_after_a_projection_and_filter", "update")


@program(EVENT_BATCHES)
def gs_rows_as_pyspark_types_them_per_group(spark, F, T, indir):
    df = events(spark, indir).withColumn("big", F.when(F.col("n") > 3, F.col("n")))
    df = df.withColumn("k", F.when(F.col("device") != "c", F.col("n") % 2))
    df = grouped(df, ["k"], types_per_group, "k long, big string, n string, sum double, first string", "c long",
                 mode="append")
    return memory(df, "gs_rows_as_pyspark_types_them_per_group", "append")


@program(EVENT_BATCHES)
def gs_timestamp_key_and_state(spark, F, T, indir):
    df = events(spark, indir).withColumn("minute", F.date_trunc("minute", "ts"))
    df = grouped(df, ["minute"], latest_time, "minute timestamp, latest timestamp, key string", "latest timestamp")
    return memory(df, "gs_timestamp_key_and_state", "update")


def _row(ts, device, n):
    return {"ts": ts, "device": device, "temp": 1.0, "n": n, "text": None, "payload": None}


NULL_TIME_BATCHES = ((_row(at(1), "a", 1), _row(None, "a", 2), _row(at(20), "b", 3)),
                     (_row(None, "b", 4), _row(at(2), "a", 5)),
                     (_row(at(40), "c", 6),))


@program(NULL_TIME_BATCHES)
def gs_rows_without_event_time_are_not_late(spark, F, T, indir):
    df = grouped(events(spark, indir).withWatermark("ts", "1 second"), ["device"], rows_seen,
                 "device string, count long, ns string", "count long", timeout="EventTimeTimeout")
    return memory(df, "gs_rows_without_event_time_are_not_late", "update")


@program(EVENT_BATCHES)
def gs_timeout_set_on_the_first_call_only(spark, F, T, indir):
    df = grouped(events(spark, indir).withWatermark("ts", "2 seconds"), ["device"], timeout_set_once,
                 "device string, n long, old long, timed_out boolean", "n long", timeout="EventTimeTimeout")
    return memory(df, "gs_timeout_set_on_the_first_call_only", "update")


_ = at  # the input's times are programs.py's
