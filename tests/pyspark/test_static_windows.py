"""window() and session_window() over a static DataFrame, as Spark answers them over a bounded table
(sql/static_windows.py); the expected rows are PySpark 4's."""

import datetime as dt

import pytest

from stream_nb.pyspark.sql import functions as F

SECONDS = (1, 2, 5, 7, 12, 17, 18, 25, 31, 40)


def at(second: int) -> dt.datetime:  # collected as PySpark does: naive, in the session's time zone (UTC)
    return dt.datetime(2024, 1, 1, 0, 0, second)


def before(second: int) -> dt.datetime:  # in the last minute of 2023
    return dt.datetime(2023, 12, 31, 23, 59, 60 - second)


@pytest.fixture
def events(spark):
    rows = [(at(s), "ab"[s % 2], float(s), f"2024-01-01 00:00:{s:02d}") for s in SECONDS]
    df = spark.createDataFrame([*rows, (None, "a", 0.0, None)], "ts timestamp, device string, temp double, s string")
    df.createOrReplaceTempView("ev")
    return df


def windows(df, column: str = "w") -> list[tuple]:
    return [(row[column]["start"], row[column]["end"], *row[1:]) for row in df.collect()]


def test_a_tumbling_window_groups_each_row_with_a_time_once_and_drops_a_row_without(spark, events):
    df = events.groupBy(F.window("ts", "10 seconds"), "device").agg(F.count("*").alias("n")).orderBy("window", "device")
    assert df.columns == ["window", "device", "n"]
    assert windows(df, "window") == [(at(0), at(10), "a", 1), (at(0), at(10), "b", 3), (at(10), at(20), "a", 2),
                                     (at(10), at(20), "b", 1), (at(20), at(30), "b", 1), (at(30), at(40), "b", 1),
                                     (at(40), at(50), "a", 1)]
    assert [f.name for f in df.schema["window"].dataType.fields] == ["start", "end"]


def test_a_sliding_window_counts_a_row_in_every_window_that_holds_it_after_the_where(spark, events):
    df = spark.sql("SELECT window(ts, '10 seconds', '5 seconds') AS w, avg(temp) FROM ev WHERE device = 'a' "
                   "GROUP BY w ORDER BY w")
    assert windows(df) == [(before(5), at(5), 2.0), (at(0), at(10), 2.0), (at(5), at(15), 12.0),
                           (at(10), at(20), 15.0), (at(15), at(25), 18.0), (at(35), at(45), 40.0),
                           (at(40), at(50), 40.0)]


def test_window_start_names_the_field_of_the_group_bys_window_with_a_start_offset(spark, events):
    df = spark.sql("SELECT window.start, window.end, max(temp) AS m FROM ev WHERE device = 'b' "
                   "GROUP BY window(ts, '10 seconds', '4 seconds', '1 second') ORDER BY 1")
    assert df.columns == ["start", "end", "m"]
    assert [tuple(r) for r in df.collect()][:3] == [(before(7), at(3), 1.0), (before(3), at(7), 5.0),
                                                    (at(1), at(11), 7.0)]


def test_a_window_of_a_time_expression_and_of_a_timestamp_ntz(spark, events):
    df = spark.sql("SELECT window(CAST(s AS timestamp), '15 seconds') AS w, count(*) FROM ev GROUP BY w ORDER BY w")
    assert windows(df) == [(at(0), at(15), 5), (at(15), at(30), 3), (at(30), at(45), 2)]
    ntz = spark.sql("SELECT window(CAST(ts AS timestamp_ntz), '10 seconds') AS w, count(*) FROM ev GROUP BY w")
    assert ntz.schema.simpleString() == \
        "struct<w:struct<start:timestamp_ntz,end:timestamp_ntz>,count(1):bigint>"


def test_a_window_without_aggregation_is_each_rows_own(spark, events):
    df = events.where("temp < 6").select("ts", F.window("ts", "10 seconds").start.alias("ws")).orderBy("ts")
    assert [r.ws for r in df.collect()] == [at(0)] * 3


def test_sessions_merge_rows_a_gap_apart_per_key_and_end_a_gap_after_their_last_row(spark, events):
    df = events.groupBy("device", F.session_window("ts", "3 seconds")).agg(F.max("temp").alias("m")) \
        .orderBy("device", "session_window")
    assert [(r.device, r.session_window.start, r.session_window.end, r.m) for r in df.collect()] == [
        ("a", at(2), at(5), 2.0), ("a", at(12), at(15), 12.0), ("a", at(18), at(21), 18.0),
        ("a", at(40), at(43), 40.0), ("b", at(1), at(4), 1.0), ("b", at(5), at(10), 7.0),
        ("b", at(17), at(20), 17.0), ("b", at(25), at(28), 25.0), ("b", at(31), at(34), 31.0)]


def test_sessions_that_touch_merge_and_a_where_comes_before_the_sessions(spark, events):
    df = spark.sql("SELECT session_window(ts, '5 seconds'), count(*) FROM ev WHERE temp > 4 GROUP BY 1 ORDER BY 1")
    assert windows(df, "session_window") == [(at(5), at(23), 5), (at(25), at(30), 1), (at(31), at(36), 1),
                                             (at(40), at(45), 1)]


def test_a_session_window_outside_the_group_by_is_refused_with_its_position(spark, events):
    with pytest.raises(Exception, match="GROUP BY") as err:
        spark.sql("SELECT session_window(ts, '5 seconds') AS s FROM ev").collect()
    assert "line 1" in str(err.value)


def test_show_vertical_writes_a_record_per_row_as_spark(spark, capsys):
    df = spark.createDataFrame([(1, "a long long long long string value", None), (2, "b", 2.5)],
                               "a_rather_long_name int, s string, x double")
    df.show(1, vertical=True)
    df.where("x > 5").show(vertical=True)
    assert capsys.readouterr().out == (
        "-RECORD 0----------------------------------\n"
        " a_rather_long_name | 1                    \n"
        " s                  | a long long long ... \n"
        " x                  | NULL                 \n"
        "only showing top 1 row\n"
        "(0 rows)\n")


def test_a_string_time_is_cast_to_a_timestamp_as_spark_casts_it(spark, events):
    df = events.groupBy(F.window("s", "20 seconds")).count().orderBy("window")
    assert windows(df, "window") == [(at(0), at(20), 7), (at(20), at(40), 2), (at(40), dt.datetime(2024, 1, 1, 0, 1), 1)]
    sessions = events.groupBy(F.session_window("s", "6 seconds")).count().orderBy("session_window")
    assert windows(sessions, "session_window")[0] == (at(1), at(24), 7)
