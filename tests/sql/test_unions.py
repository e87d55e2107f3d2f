"""A UNION ALL of streams read as a table (sql/unions.py): the union planned over each input's batch table, the
rest of the query over its rows as one stream, the watermark's column the first SELECT's; and what stays
refused, pointing at the query as written."""

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sql import OutputModeError, StreamSQLError, plan_query

A = sn.sources.memory("ts timestamp, device string, temp double")
B = sn.sources.memory("ts timestamp, device string, temp double")
C = sn.sources.memory("ts timestamp, device string, temp double")
DIM = pd.DataFrame({"device": ["d1"], "site": ["lab"]})
NAMES = [{"a": A, "b": B, "c": C, "dim": DIM}]
BOTH = "(SELECT ts, device, temp FROM a UNION ALL SELECT ts, device, temp FROM b)"
TEN = "window(ts, '10 seconds')"
MARKS = {"a": ("ts", "5 seconds"), "b": ("ts", "10 seconds")}


def plan(sql: str, **options):
    return plan_query(sql, namespaces=NAMES, **options)


def refusal(sql: str, **options) -> StreamSQLError:
    with pytest.raises(StreamSQLError) as caught:
        plan(sql, **options)
    return caught.value


def test_an_aggregation_over_a_union_reads_both_streams_and_aggregates_the_unions_rows():
    p = plan(f"SELECT device, count(*) AS n FROM {BOTH} u GROUP BY device")
    assert p.inputs == ["a", "b"] and list(p.bindings.streams) == ["a", "b"]
    assert p.union.sql == ("SELECT a.ts AS ts, a.device AS device, a.temp AS temp FROM __batch_a AS a UNION ALL "
                           "SELECT b.ts AS ts, b.device AS device, b.temp AS temp FROM __batch_b AS b")
    assert p.aggregate is not None and p.output_mode == "update" and p.columns == ["device", "n"]
    assert p.aggregate.pre_sql.endswith("FROM __batch AS u")  # the operator reads the union's rows as its batch


def test_each_stream_keeps_its_own_watermark_and_the_unions_ts_carries_event_time():
    p = plan(f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}", output_mode="append", watermark=MARKS)
    assert {name: e.delay_us for name, e in p.event_times.items()} == {"a": 5_000_000, "b": 10_000_000}
    assert p.union.event_time == "ts" and p.aggregate.event_time_key is not None
    assert p.watermark_policy == "min" and p.event_time is None  # several inputs: no single one's


def test_the_watermark_clause_inside_each_select_and_the_max_policy():
    p = plan(f"SELECT {TEN} AS w, count(*) AS n FROM (SELECT ts, device FROM a WATERMARK ts DELAY OF INTERVAL 5 "
             f"SECONDS UNION ALL SELECT ts, device FROM b WATERMARK ts DELAY OF INTERVAL 2 SECONDS) GROUP BY {TEN}",
             output_mode="append", watermark_policy="max")
    assert set(p.event_times) == {"a", "b"} and p.watermark_policy == "max"


def test_the_event_time_column_is_the_one_the_first_select_reads_the_watermarked_column_into():
    p = plan("SELECT window(t, '10 seconds') AS w, count(*) AS n FROM (SELECT ts AS t FROM a UNION ALL "
             "SELECT ts FROM b) GROUP BY window(t, '10 seconds')", output_mode="append", watermark=MARKS)
    assert p.union.event_time == "t"


def test_the_event_time_column_is_followed_through_the_subqueries_the_first_select_reads():
    # as PySpark writes a filtered stream: SELECT * FROM (SELECT ... FROM s WHERE ...)
    p = plan("SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT * FROM (SELECT ts, device FROM a "
             "WHERE temp > 1) UNION ALL SELECT ts, device FROM b) GROUP BY window(ts, '10 seconds')",
             output_mode="append", watermark=MARKS)
    assert p.union.event_time == "ts" and p.aggregate.event_time_key is not None


def test_a_watermark_on_the_union_itself_is_one_node_over_all_its_rows():
    # as Spark's withWatermark above a union: each stream's column read into the union's carries the delay, and
    # the query runs on the largest of their watermarks (the latest event time of any row, minus the delay)
    p = plan("SELECT window(t, '10 seconds') AS w, count(*) AS n FROM (SELECT ts AS t FROM a WHERE temp > 1 "
             "UNION ALL SELECT * FROM (SELECT ts FROM b)) u WATERMARK t DELAY OF INTERVAL 5 SECONDS "
             "GROUP BY window(t, '10 seconds')", output_mode="append")
    assert {k: (e.column, e.delay_us) for k, e in p.event_times.items()} == {"a": ("ts", 5_000_000),
                                                                             "b": ("ts", 5_000_000)}
    assert p.watermark_policy == "max" and p.union.event_time == "t" and "temp > 1" in p.event_times["a"].max_sql
    same = plan(f"SELECT count(*) AS n FROM {BOTH} u", watermark={"u": ("ts", "5 seconds")})
    assert set(same.event_times) == {"a", "b"} and same.watermark_policy == "max"


def test_append_with_the_watermark_on_the_second_stream_only_is_refused_as_spark_does():
    # the union's columns carry the first SELECT's metadata: its ts has no watermark
    with pytest.raises(OutputModeError, match="its first SELECT's column") as caught:
        plan(f"SELECT {TEN} AS w, count(*) AS n FROM {BOTH} GROUP BY {TEN}", output_mode="append",
             watermark={"b": ("ts", "5 seconds")})
    assert "declare the watermark on 'a' too" in str(caught.value)


def test_the_where_of_one_select_is_pushed_below_its_streams_watermark():
    p = plan(f"SELECT {TEN} AS w, count(*) AS n FROM (SELECT ts FROM a WHERE temp > 20 UNION ALL SELECT ts FROM b) "
             f"GROUP BY {TEN}", output_mode="append", watermark=MARKS)
    assert "temp > 20" in p.event_times["a"].max_sql and p.event_times["b"].max_sql is None


def test_a_deduplication_and_a_stateless_query_over_a_union():
    dedup = plan(f"SELECT DISTINCT ON (device) device, ts FROM {BOTH}")
    assert dedup.dedup is not None and dedup.inputs == ["a", "b"]
    stateless = plan(f"SELECT device, temp * 2 AS t2 FROM {BOTH} WHERE temp > 20")
    assert stateless.stateless_sql is not None and stateless.union is not None and stateless.output_mode == "append"


def test_three_selects_and_a_stream_read_twice_are_one_input_each():
    p = plan("SELECT count(*) AS n FROM (SELECT ts FROM a UNION ALL SELECT ts FROM b UNION ALL SELECT ts FROM a)")
    assert p.inputs == ["a", "b"] and p.union.sql.count("__batch_a") == 2
    same = plan("SELECT device, count(*) AS n FROM (SELECT device FROM a UNION ALL SELECT device FROM a) "
                "GROUP BY device")
    assert same.inputs == ["a"] and same.batch_table("a") == "__batch" and same.stream.name == "a"


def test_the_union_as_a_cte():
    p = plan("WITH u AS (SELECT ts, device FROM a UNION ALL SELECT ts, device FROM b) "
             "SELECT device, count(*) AS n FROM u GROUP BY device")
    assert p.inputs == ["a", "b"] and p.aggregate.pre_sql.endswith("FROM __batch AS u")


def test_a_static_table_joined_to_the_union_is_bound():
    p = plan(f"SELECT dim.site, count(*) AS n FROM {BOTH} u JOIN dim ON u.device = dim.device GROUP BY dim.site")
    assert list(p.bindings.statics) == ["dim"] and p.inputs == ["a", "b"]


def test_a_union_joined_with_another_stream_is_one_side_of_a_stream_stream_join():
    p = plan(f"SELECT u.device, c.temp FROM {BOTH} u JOIN c ON u.device = c.device AND c.ts BETWEEN u.ts AND "
             "u.ts + INTERVAL 5 SECONDS", output_mode="append", watermark={**MARKS, "c": ("ts", "1 second")})
    assert p.inputs == ["a", "b", "c"] and p.union.beside == ("c",) and p.join.left.input == p.union.name
    assert {name: e.delay_us for name, e in p.event_times.items()} == {"a": 5_000_000, "b": 10_000_000,
                                                                       "c": 1_000_000}
    assert p.union.tables == {"a": "__batch_a", "b": "__batch_b"} and p.batch_table("c") == "__batch_c"
    assert "stream     __union0 (u): the UNION ALL of a, b" in p.explain()


def test_explain_shows_the_union_before_the_operator():
    text = plan(f"SELECT device, count(*) AS n FROM {BOTH} GROUP BY device").explain()
    assert "== 0. Per batch (DuckDB): the UNION ALL of a, b" in text
    assert text.index("== 0.") < text.index("== 1.") and "FROM __batch_b AS b" in text


def test_an_error_in_the_outer_query_points_at_the_query_as_written():
    sql = f"SELECT devce, count(*) AS n FROM {BOTH} GROUP BY devce"
    error = refusal(sql)
    assert "unknown column 'devce'" in str(error) and sql[error.start:].startswith("devce")


@pytest.mark.parametrize(("sql", "message", "points_at"), [
    ("SELECT device, count(*) AS n FROM (SELECT device FROM a UNION ALL SELECT device FROM dim) GROUP BY device",
     "a UNION ALL of a stream and a static table is not supported (as in Spark)", "dim)"),
    ("SELECT device, count(*) AS n FROM (SELECT device FROM a INTERSECT SELECT device FROM b) GROUP BY device",
     "INTERSECT of streams is not supported", "INTERSECT"),
    ("SELECT device, count(*) AS n FROM (SELECT device FROM a EXCEPT SELECT device FROM b) GROUP BY device",
     "EXCEPT of streams is not supported", "EXCEPT"),
    (f"SELECT u.device FROM {BOTH} u JOIN a ON u.device = a.device AND u.ts = a.ts",
     "the stream 'a' read both in a UNION ALL of streams and beside it is not supported yet", "a ON"),
    (("SELECT count(*) AS n FROM (SELECT ts FROM a UNION ALL SELECT ts + INTERVAL 1 SECOND FROM b) u WATERMARK ts "
      "DELAY OF INTERVAL 5 SECONDS"), "the watermark column 'ts' of the union is not a column each SELECT reads",
     "WATERMARK"),
    (("SELECT count(*) AS n FROM (SELECT ts FROM a WATERMARK ts DELAY OF INTERVAL 1 SECOND UNION ALL SELECT ts "
      "FROM b) u WATERMARK ts DELAY OF INTERVAL 5 SECONDS"), "a watermark on a UNION ALL of streams and on its streams too",
     "WATERMARK ts DELAY OF INTERVAL 5"),
    ("SELECT device FROM a WHERE device IN (SELECT device FROM b UNION ALL SELECT device FROM c)",
     "cannot be read in a subquery expression", "b UNION"),
    ("SELECT device, n FROM (SELECT device, count(*) AS n FROM a GROUP BY device UNION ALL SELECT device, 1 FROM b)",
     "an aggregation or DISTINCT inside a UNION ALL of streams is not supported yet", "count"),
])
def test_what_stays_refused_is_named_and_pointed_at(sql, message, points_at):
    error = refusal(sql)
    assert message in str(error), str(error)
    assert error.start is not None and sql[error.start:].startswith(points_at), str(error)
