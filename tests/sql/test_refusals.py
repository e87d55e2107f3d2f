"""Every construct the engine does not run is refused with a message that names it and points at it."""

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.engine import registry
from stream_nb.sql import OutputModeError, StreamSQLError, plan_query

EVENTS = sn.sources.memory("ts timestamp, device string, temp double, n bigint")
OTHER = sn.sources.memory("device string, site string")
DIM = pd.DataFrame({"device": ["a"], "site": ["lab"]})
NAMES = [{"events": EVENTS, "other": OTHER, "dim": DIM}]


def refusal(sql: str, mode: str | None = None) -> StreamSQLError:
    with pytest.raises(StreamSQLError) as caught:
        plan_query(sql, namespaces=NAMES, output_mode=mode)
    return caught.value


@pytest.mark.parametrize(
    ("sql", "mode", "message", "points_at"),
    [
        ("SELECT device, temp FROM events ORDER BY temp", None, "ORDER BY is not supported", "ORDER BY"),
        ("SELECT device, temp FROM events LIMIT 5", "update", "Limits are not supported", "LIMIT"),
        ("SELECT device, count(*) FROM events GROUP BY device ORDER BY device", "update",
         "ORDER BY is not supported", "ORDER BY"),
        ("SELECT * FROM events FULL JOIN other ON events.device = other.device", None,
         "Stream-stream FullOuter join between two streaming DataFrame/Datasets is not supported", "FULL JOIN"),
        ("SELECT device, avg(temp) OVER (PARTITION BY device) FROM events", None,
         "OVER (...) windows are not supported", "OVER"),
        # UNION without ALL is the distinct rows of a UNION ALL (sql/unions.py): of a stream and a static table
        # refused as Spark refuses that union
        ("SELECT device FROM events UNION SELECT device FROM dim", None,
         "a UNION ALL of a stream and a static table is not supported", "dim"),
        ("SELECT device, first(temp) FILTER (WHERE temp > 1) FROM events GROUP BY device", "complete",
         "first() with FILTER (WHERE ...) is not supported yet", "first"),
        # a window over an expression runs (sql/window_time.py), not yet in a SELECT that joins a static table
        (("SELECT window(e.ts + INTERVAL 1 HOUR, '1 day') AS w, count(*) FROM events e JOIN dim d "
          "ON e.device = d.device GROUP BY window(e.ts + INTERVAL 1 HOUR, '1 day')"), "complete",
         "window() over an expression (e.ts + INTERVAL 1 HOUR) is not supported yet", "e.ts + INTERVAL"),
        ("WITH RECURSIVE hot AS (SELECT * FROM events WHERE temp > 30) SELECT * FROM hot", None,
         "WITH (common table expressions) is not supported yet", "WITH"),
        # a CTE read twice reads the stream twice: a stream-stream self-join, refused here as Spark refuses an
        # outer one without watermarks
        ("WITH hot AS (SELECT * FROM events) SELECT a.device FROM hot a LEFT JOIN hot b ON a.device = b.device",
         None, "Stream-stream LeftOuter join", "LEFT JOIN"),
        ("SELECT * FROM events FULL OUTER JOIN dim ON events.device = dim.device", None,
         "FULL OUTER JOIN with a stream is not supported", "JOIN"),
        ("SELECT * FROM dim LEFT JOIN events ON events.device = dim.device", None,
         "LEFT OUTER JOIN must keep the stream's rows", "JOIN"),
        ("SELECT max(c) FROM (SELECT device, count(*) AS c FROM events GROUP BY device) s", None,
         "multiple streaming aggregations", "max"),
        ("SELECT device, mode(temp, true) FROM events GROUP BY device", None,
         "mode() with a deterministic argument is not supported yet", "mode"),
        ("SELECT device, histogram_numeric(temp, 3) AS h FROM events GROUP BY device", None,  # a plain call
         "aggregate histogram_numeric() is not supported", "histogram_numeric"),
        ("SELECT device, count(DISTINCT temp, n) FROM events GROUP BY device", None,
         "count(DISTINCT ...) takes one column", "count"),
        ("SELECT device, temp, count(*) FROM events GROUP BY device", None,
         "column 'temp' is neither in GROUP BY nor inside an aggregate", "temp"),
        ("SELECT device FROM evnts", None, "unknown table 'evnts'", "evnts"),
        ("SELECT devce FROM events", None, "unknown column 'devce'", "devce"),
        ("SELECT device FROM dim", None, "this query reads no stream", "SELECT"),
        ("SELECT device FROM events WHERE", None, "SQL syntax error", None),
        # issue 12 case 5: a second reference to the stream would see one batch, not the stream so far
        # (a self-join is a stream-stream join over the stream so far, as in Spark: sql/joins.py)
        ("SELECT a.device FROM events a LEFT JOIN events b ON a.device = b.device", None,
         "Stream-stream LeftOuter join", "LEFT JOIN"),
        ("SELECT device, n FROM events WHERE n = (SELECT max(n) FROM events)", None,
         "cannot be read in a subquery expression", "events)"),
        ("SELECT device, (SELECT max(n) FROM events) AS top FROM events", None,
         "cannot be read in a subquery expression", "events) AS top"),
        ("SELECT device FROM events WHERE device IN (SELECT device FROM events WHERE temp > 30)", None,
         "cannot be read in a subquery expression", "events WHERE temp"),
        ("SELECT device FROM dim WHERE EXISTS (SELECT 1 FROM events e WHERE e.device = dim.device)", None,
         "cannot be read in a subquery expression", "events e"),
    ],
)
def test_refused_construct_is_named_with_its_position(sql, mode, message, points_at):
    error = refusal(sql, mode)
    assert message in str(error)
    if points_at is not None:
        assert error.start is not None, str(error)
        assert sql[error.start:].lower().startswith(points_at.lower()), str(error)
        assert f"line {error.line}, column {error.column}" in str(error)


def test_case_5_a_subquery_over_a_static_table_and_a_derived_table_over_the_stream_still_plan():
    plan_query("SELECT device FROM events WHERE device IN (SELECT device FROM dim)", namespaces=NAMES)
    plan_query("SELECT s.device, dim.site FROM (SELECT device FROM events) s JOIN dim ON s.device = dim.device",
               namespaces=NAMES)


def test_syntax_error_points_at_the_offending_token():
    error = refusal("SELECT device,\n  temp +* 2\nFROM events")
    assert error.line == 2
    assert "^" in str(error)


def test_unknown_column_suggests_the_close_one():
    assert "did you mean 'device'?" in str(refusal("SELECT devce FROM events"))


def test_unknown_table_suggests_the_close_one():
    assert "did you mean 'events'?" in str(refusal("SELECT device FROM evnts"))


def test_a_name_bound_to_something_else_than_a_table_is_refused():
    with pytest.raises(StreamSQLError, match="'n' is a int, not a table"):
        plan_query("SELECT * FROM n", namespaces=[{"n": 3}])


class TestOutputModes:
    def test_complete_without_aggregation_is_refused(self):
        with pytest.raises(OutputModeError, match="complete output mode needs an aggregation"):
            plan_query("SELECT device FROM events", namespaces=NAMES, output_mode="complete")

    def test_append_with_aggregation_without_watermark_is_refused(self):
        with pytest.raises(OutputModeError, match="append output mode with an aggregation needs a watermark"):
            plan_query("SELECT device, count(*) FROM events GROUP BY device", namespaces=NAMES,
                       output_mode="append")

    def test_unknown_mode_lists_the_modes(self):
        with pytest.raises(OutputModeError, match="use one of: append, update, complete"):
            plan_query("SELECT device FROM events", namespaces=NAMES, output_mode="upsert")

    @pytest.mark.parametrize(("sql", "mode"), [
        ("SELECT device FROM events", "append"),
        ("SELECT device, count(*) FROM events GROUP BY device", "update"),
    ])
    def test_default_mode_is_append_without_aggregation_update_with(self, sql, mode):
        assert plan_query(sql, namespaces=NAMES).output_mode == mode

    def test_order_by_and_limit_are_allowed_over_an_aggregation_in_complete_mode(self):
        plan = plan_query("SELECT device, count(*) AS n FROM events GROUP BY device ORDER BY n DESC LIMIT 3",
                          namespaces=NAMES, output_mode="complete")
        assert "ORDER BY" in plan.aggregate.final_sql and "LIMIT 3" in plan.aggregate.final_sql

    def test_start_refuses_before_running_anything(self):
        with pytest.raises(OutputModeError):
            sn.start("SELECT device FROM events", sources={"events": EVENTS}, output_mode="complete")
        assert sn.queries() == []


class TestEventTimeRefusals:
    def test_session_windows_in_update_mode_are_refused_as_in_spark(self):
        with pytest.raises(OutputModeError, match="session windows are not supported in update output mode"):
            plan_query("SELECT session_window(ts, '5 seconds'), device, count(*) FROM events "
                       "GROUP BY session_window(ts, '5 seconds'), device", namespaces=NAMES, output_mode="update")

    def test_a_global_session_window_is_refused_as_in_spark(self):
        error = refusal("SELECT session_window(ts, '5 seconds'), count(*) FROM events "
                        "GROUP BY session_window(ts, '5 seconds')")
        assert "needs another grouping key besides session_window()" in str(error)

    def test_append_needs_the_watermark_column_among_the_keys(self):
        with pytest.raises(OutputModeError, match=r"needs the watermark's column \(ts\) among the GROUP BY keys"):
            plan_query("SELECT device, count(*) FROM events WATERMARK ts DELAY OF INTERVAL 5 SECONDS "
                       "GROUP BY device", namespaces=NAMES, output_mode="append")

    @pytest.mark.parametrize(("sql", "message", "points_at"), [
        ("SELECT session_window(ts, '5 seconds') AS s, device FROM events", "put it in GROUP BY", "session_window"),
        (("SELECT window(ts, '10 seconds'), window(ts, '5 seconds'), count(*) FROM events "
          "GROUP BY window(ts, '10 seconds'), window(ts, '5 seconds')"), "one window() only", "window(ts, '5"),
        (("SELECT window(ts, '5 seconds', '10 seconds') AS w, count(*) FROM events "
          "GROUP BY window(ts, '5 seconds', '10 seconds')"), "slide must not be longer than its size", "window"),
        ("SELECT window(ts, 'ten seconds') AS w, count(*) FROM events GROUP BY window(ts, 'ten seconds')",
         "window(): cannot read 'ten seconds'", "'ten"),
        ("SELECT device FROM events WATERMARK device DELAY OF INTERVAL 5 SECONDS",
         "watermark column 'device' must be a timestamp", "WATERMARK"),
        ("SELECT device FROM events WATERMARK tss DELAY OF INTERVAL 5 SECONDS",
         "watermark column 'tss' is not a column of 'events'", "WATERMARK"),
        ("SELECT device FROM events WATERMARK ts DELAY 5 SECONDS", "expected OF in the WATERMARK clause", "5"),
        # SELECT DISTINCT is an aggregation (as in Spark): two chained ones need append mode and a watermark
        ("SELECT count(*) FROM (SELECT DISTINCT device FROM events) d", "multiple streaming aggregations", "count"),
        ("SELECT DISTINCT device, count(*) FROM events GROUP BY device", "two stateful operators", "DISTINCT"),
    ])
    def test_event_time_mistakes_are_named_with_their_position(self, sql, message, points_at):
        error = refusal(sql)
        assert message in str(error)
        assert sql[error.start:].startswith(points_at), str(error)


def test_case_5_a_self_join_joins_the_stream_so_far_not_each_batch_alone():
    ev = sn.sources.memory("k bigint, n bigint")
    plan = plan_query("SELECT a.k, b.n FROM ev a JOIN ev b ON a.k = b.k", namespaces=[{"ev": ev}])
    assert plan.inputs == ["ev"] and plan.join.inputs == ("ev", "ev")  # each side keeps its own state


class TestCase18Messages:
    """Issue 12 case 18: each message says what is wrong and where."""

    def test_an_ambiguous_column_names_the_tables_that_have_it(self):
        error = refusal("SELECT device FROM events e JOIN dim d ON e.device = d.device")
        assert str(error).startswith("column 'device' is ambiguous: e and d both have it (line 1, column 8)")
        assert error.hint == "say which one: e.device or d.device"

    def test_watermark_on_the_rate_sources_timestamp_column_is_accepted(self):
        rate = sn.sources.rate(1)
        plan = plan_query("SELECT window(timestamp, '10 seconds') AS w, count(*) AS n FROM r "
                          "WATERMARK timestamp DELAY OF INTERVAL 5 SECONDS GROUP BY window(timestamp, '10 seconds')",
                          namespaces=[{"r": rate}], output_mode="append")
        assert plan.event_time.column == "timestamp" and plan.event_time.delay_us == 5_000_000

    def test_watermark_without_a_column_still_says_it_needs_one(self):
        error = refusal("SELECT device FROM events WATERMARK DELAY OF INTERVAL 5 SECONDS")
        assert "WATERMARK needs the event-time column" in str(error)

    @pytest.mark.parametrize(("sql", "says", "points_at"), [
        ("SELECT * FROM read_csv('/etc/passwd')", "FROM read_csv(...) is a table function", "read_csv"),
        ("SELECT * FROM events JOIN range(10) r ON r.id = events.n", "FROM range(...) is a table function",
         "range"),
        ("SELECT * FROM json.`/tmp/in`", "FROM json.`/tmp/in` reads files in Spark", "json"),
    ])
    def test_a_table_function_or_a_file_path_in_from_is_refused_by_name(self, sql, says, points_at):
        error = refusal(sql)
        assert str(error).startswith(says) and "unknown table ''" not in str(error)
        assert sql[error.start:].startswith(points_at), str(error)
        assert "sn.sources.files" in error.hint

    def test_the_unknown_table_hint_lists_running_queries_not_ipython_history(self):
        names = {"events": EVENTS, "_": DIM, "__": DIM, "_2": DIM, "dim": DIM}
        q = sn.start("SELECT device FROM events", name="hot_devices", sources={"events": EVENTS})
        try:
            with pytest.raises(StreamSQLError) as caught:
                plan_query("SELECT * FROM zzz", namespaces=[names, registry.namespace()])
        finally:
            q.stop()
        assert caught.value.hint == "known tables: dim, events; running queries: hot_devices"
