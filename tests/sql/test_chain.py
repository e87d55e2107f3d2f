"""Chained stateful operators are planned operator by operator; what Spark refuses is refused, pointing at it."""

import pytest

import stream_nb as sn
from stream_nb.sql import OutputModeError, StreamSQLError, plan_query
from stream_nb.sql.chain import ChainPlan

EVENTS = sn.sources.memory("ts timestamp, device string, temp double")
NAMES = [{"events": EVENTS}]
WATERMARK = "WATERMARK ts DELAY OF INTERVAL 5 SECONDS"
INNER = (f"SELECT window(ts, '10 seconds') AS w, device, count(*) AS n FROM events {WATERMARK} "
         "GROUP BY window(ts, '10 seconds'), device")
OUTER = "SELECT window(window_time(w), '1 minute') AS w2, sum(n) AS total FROM ({}) GROUP BY window(window_time(w), '1 minute')"


def plan(sql, mode=None):
    return plan_query(sql, namespaces=NAMES, output_mode=mode)


def refusal(sql, mode=None) -> StreamSQLError:
    with pytest.raises(StreamSQLError) as caught:
        plan(sql, mode)
    return caught.value


@pytest.mark.parametrize("sql", [
    OUTER.format(INNER),
    f"WITH minute AS ({INNER}) " + OUTER.replace("({})", "minute"),
    # Spark's own form: window() over a window column means window(window_time(w), ...)
    f"SELECT window(w, '1 minute') AS w2, sum(n) AS total FROM ({INNER}) GROUP BY window(w, '1 minute')",
], ids=["subquery", "cte", "window over a window"])
def test_a_window_aggregation_over_a_window_aggregation_is_two_operators_in_append_mode(sql):
    planned = plan(sql)
    assert isinstance(planned.chain, ChainPlan) and planned.output_mode == "append"
    first, second = planned.chain.stages
    assert [k.lower() for k in first.aggregate.key_texts] == ["window(events.ts, '10 seconds')", "events.device"]
    assert first.event_time.column == "ts" and first.event_time.delay_us == 5_000_000
    # the second operator reads window_time(w) = w.end - 1 microsecond, its only event time, with no delay
    assert planned.chain.window_times == [{"__window_time_w": "w"}]
    assert second.event_time.column == "__window_time_w" and second.event_time.delay_us == 0
    assert second.aggregate.event_time_key is not None
    assert planned.columns == ["w2", "total"] and planned.inputs == ["events"]


def test_three_aggregations_are_three_operators():
    inner2 = (f"SELECT window(window_time(w), '1 minute') AS m, sum(n) AS total FROM ({INNER}) "
              "GROUP BY window(window_time(w), '1 minute')")
    planned = plan(f"SELECT window(window_time(m), '1 hour') AS h, max(total) AS peak FROM ({inner2}) "
                   "GROUP BY window(window_time(m), '1 hour')")
    assert len(planned.chain.stages) == 3
    assert planned.chain.window_times == [{"__window_time_w": "w"}, {"__window_time_m": "m"}]
    keys = [s.aggregate.key_texts[0].lower() for s in planned.chain.stages]
    assert keys == ["window(events.ts, '10 seconds')", "window(__stage0.__window_time_w, '1 minute')",
                    "window(__stage1.__window_time_m, '1 hour')"]


def test_a_deduplication_before_an_aggregation_keeps_the_rows_event_time():
    planned = plan(f"SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT DISTINCT ON (device, ts) * "
                   f"FROM events {WATERMARK}) GROUP BY window(ts, '10 seconds')", "append")
    dedup, aggregate = planned.chain.stages
    assert dedup.dedup.event_time_key is not None and dedup.columns == ["ts", "device", "temp"]
    assert aggregate.event_time.column == "ts" and planned.chain.window_times == [{}]


def test_select_distinct_is_an_aggregation_as_in_spark():
    planned = plan(f"SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT DISTINCT device, ts "
                   f"FROM events {WATERMARK}) GROUP BY window(ts, '10 seconds')")
    assert [s.aggregate is not None for s in planned.chain.stages] == [True, True]


def test_a_deduplication_over_an_aggregation_keys_on_window_time():
    planned = plan(f"SELECT DISTINCT ON (n, window_time(w)) w.end AS window_end, n FROM ({INNER})")
    aggregate, dedup = planned.chain.stages
    assert aggregate.aggregate is not None and dedup.dedup.event_time_key is not None
    assert dedup.event_time.column == "__window_time_w"


def test_dedup_before_an_aggregation_runs_in_update_mode_too_as_in_spark():
    planned = plan(f"SELECT device, count(*) AS n FROM (SELECT DISTINCT ON (device, ts) * FROM events {WATERMARK}) "
                   "GROUP BY device")
    assert planned.output_mode == "update"
    # the deduplication emits each new row in any mode: it is planned as the append it is
    assert [s.output_mode for s in planned.chain.stages] == ["append", "update"]


@pytest.mark.parametrize("mode", ["update", "complete"])
def test_an_aggregation_in_update_or_complete_mode_followed_by_an_aggregation_is_refused(mode):
    sql = OUTER.format(INNER)
    error = refusal(sql, mode)
    assert isinstance(error, OutputModeError)
    assert f"an aggregation in {mode} output mode cannot be followed by another stateful operator" in str(error)
    assert "'correctness' issue due to the global watermark" in str(error)
    assert "output_mode='append'" in error.hint
    assert sql[error.start:].startswith("sum(n)")  # the operator that cannot follow


def test_an_aggregation_in_update_mode_followed_by_a_dedup_on_event_time_is_refused():
    sql = f"SELECT DISTINCT ON (n, window_time(w)) n FROM ({INNER})"
    error = refusal(sql, "update")
    assert "(here a deduplication on event time)" in str(error)


def test_an_aggregation_in_update_mode_followed_by_a_dedup_without_event_time_runs_as_in_spark():
    planned = plan(f"SELECT DISTINCT ON (device, n) device, n FROM ({INNER})", "update")
    assert planned.output_mode == "update" and planned.chain.stages[1].dedup.event_time_key is None


def test_an_outer_aggregation_without_an_event_time_key_is_refused_in_append_mode():
    sql = f"SELECT device, sum(n) AS total FROM ({INNER}) GROUP BY device"
    error = refusal(sql)
    assert "needs an event-time column among its GROUP BY keys" in str(error)
    assert "event-time columns are w" in str(error) and "window(window_time(w)" in error.hint
    assert sql[error.start:].startswith("device")  # the outer GROUP BY


def test_chained_aggregations_without_a_watermark_are_refused():
    sql = "SELECT max(c) AS m FROM (SELECT device, count(*) AS c FROM events GROUP BY device) s"
    error = refusal(sql)
    assert "multiple streaming aggregations" in str(error) and "append needs a watermark" in str(error)
    assert sql[error.start:].startswith("max(c)")


@pytest.mark.parametrize(("sql", "message", "points_at"), [
    (OUTER.format(INNER).replace("sum(n)", "sum(nn)"), "unknown column 'nn'", "nn)"),
    (OUTER.format(INNER.replace("count(*)", "count(tmp)")), "unknown column 'tmp'", "tmp)"),
    (OUTER.format(INNER.replace("WATERMARK ts", "WATERMARK tss")), "watermark column 'tss'", "WATERMARK"),
    ((f"WITH m AS ({INNER}) SELECT window(window_time(w), '1 minute') AS w2, sum(x) FROM m "
     "GROUP BY window(window_time(w), '1 minute')"), "unknown column 'x'", "x)"),
], ids=["outer operator", "inner operator", "inner watermark", "cte"])
def test_a_mistake_in_either_operator_points_at_the_query_as_written(sql, message, points_at):
    error = refusal(sql)
    assert message in str(error) and error.sql == sql
    assert sql[error.start:].startswith(points_at), str(error)


def test_explain_shows_each_operator_and_the_watermark_they_share():
    text = plan(OUTER.format(INNER)).explain()
    assert "2 stateful operators, one after another in each batch" in text
    assert "======== Operator 0: aggregation (stateStoreSave), over the stream ========" in text
    assert "Operator 1: aggregation (stateStoreSave), over what operator 0 emits" in text
    assert "__window_time_w is window_time(w): the window's end - 1 microsecond" in text
    assert text.count("watermark  max(") == 1  # only the stream's; the later operators run with the query's


def test_the_teaching_steps_go_operator_by_operator():
    from stream_nb.sql.explain import student_steps

    steps = dict(student_steps(plan(OUTER.format(INNER))))
    assert steps["operator 1 (aggregate): each batch"][0] == "take the rows operator 0 emits in this batch"
    assert "put each row in its window of 60 seconds by window_time(w)" in steps["operator 1 (aggregate): each batch"]
    assert "operator 1 (aggregate): the watermark" not in steps


def test_an_aggregation_over_a_stream_stream_join_in_a_subquery_is_two_operators():
    impressions = sn.sources.memory("ad_id bigint, ts timestamp")
    clicks = sn.sources.memory("ad_id bigint, cts timestamp")
    planned = plan_query(
        "SELECT window(shown, '1 minute') AS w, count(*) AS n FROM (SELECT i.ad_id, i.ts AS shown, c.cts AS clicked "
        "FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id AND c.cts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE) "
        "GROUP BY window(shown, '1 minute')", namespaces=[{"impressions": impressions, "clicks": clicks}],
        watermark={"impressions": ("ts", "10 seconds"), "clicks": ("cts", "10 seconds")}, output_mode="append")
    join, aggregate = planned.chain.stages
    assert join.join.join_type == "Inner" and planned.inputs == ["impressions", "clicks"]
    # both sides' event times pass through the join; the aggregation keys on the one it groups by
    assert aggregate.event_time.column == "shown" and aggregate.aggregate.event_time_key is not None


def test_a_join_and_an_aggregation_in_one_select_are_cut_into_two_operators():
    impressions = sn.sources.memory("ad bigint, ts timestamp, campaign string")
    clicks = sn.sources.memory("ad bigint, ts timestamp, cost double")
    sql = ("SELECT window(i.ts, '10 seconds') AS w, i.campaign, count(*) AS clicks, sum(c.cost) AS spend "
           "FROM impressions i JOIN clicks c ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE "
           "GROUP BY window(i.ts, '10 seconds'), i.campaign")
    planned = plan_query(sql, namespaces=[{"impressions": impressions, "clicks": clicks}], output_mode="append",
                         watermark={"impressions": ("ts", "10 seconds"), "clicks": ("ts", "10 seconds")})
    join, aggregate = planned.chain.stages
    # the join emits every column the aggregation reads, each side's under a name of its own
    assert join.sql.startswith("SELECT i.ts AS __i_ts, i.campaign AS __i_campaign, c.cost AS __c_cost FROM ")
    assert join.join.join_type == "Inner" and aggregate.event_time.column == "__i_ts"
    assert planned.columns == ["w", "campaign", "clicks", "spend"]  # a column shown as it is keeps its name


ADS = {"impressions": sn.sources.memory("ad bigint, ts timestamp, campaign string"),
       "clicks": sn.sources.memory("ad bigint, ts timestamp")}
ADS_WATERMARK = {"impressions": ("ts", "10 seconds"), "clicks": ("ts", "10 seconds")}
JOIN = "FROM impressions i JOIN clicks c ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE"


@pytest.mark.parametrize(("sql", "kinds"), [
    (f"SELECT DISTINCT i.ad, i.ts {JOIN}", ["join", "aggregate"]),
    (f"SELECT DISTINCT ON (i.ad) i.ad, i.ts {JOIN}", ["join", "dedup"]),
], ids=["distinct", "distinct on"])
def test_a_distinct_over_a_join_in_one_select_is_two_operators(sql, kinds):
    planned = plan_query(sql, namespaces=[ADS], watermark=ADS_WATERMARK, output_mode="append")
    found = ["join" if s.join else "aggregate" if s.aggregate else "dedup" for s in planned.chain.stages]
    assert found == kinds and planned.columns == ["ad", "ts"]


def test_an_aggregation_over_a_join_without_an_event_time_key_names_the_columns_as_written():
    sql = f"SELECT i.campaign, count(*) AS n {JOIN} GROUP BY i.campaign"
    with pytest.raises(OutputModeError) as caught:
        plan_query(sql, namespaces=[ADS], watermark=ADS_WATERMARK, output_mode="append")
    assert "whose event-time columns are i.ts, c.ts" in str(caught.value)
    assert "GROUP BY window(i.ts, '1 minute')" in caught.value.hint
    assert sql[caught.value.start:].startswith("i.campaign")


def test_a_join_of_what_aggregations_emit_is_refused_at_the_join():
    sql = ("SELECT x.w, y.ad FROM (SELECT window(ts, '5 seconds') AS w, count(*) AS n FROM impressions "
           "GROUP BY window(ts, '5 seconds')) x JOIN clicks y ON x.w.end = y.ts")
    with pytest.raises(StreamSQLError) as caught:
        plan_query(sql, namespaces=[ADS], watermark=ADS_WATERMARK, output_mode="append")
    assert "a stream-stream join over what an aggregation emits is not supported yet" in str(caught.value)
    assert sql[caught.value.start:].startswith("JOIN clicks")


@pytest.mark.parametrize(("deduplicated", "kind"), [
    ("SELECT DISTINCT ts, ad, campaign FROM impressions", "aggregate"),
    ("SELECT ts, ad FROM impressions GROUP BY ad, ts", "aggregate"),
    ("SELECT DISTINCT ON (ad, ts) * FROM impressions", "dedup"),
], ids=["distinct", "group by", "distinct on"])
def test_a_deduplication_then_a_join_with_the_other_stream_is_two_operators(deduplicated, kind):
    sql = f"SELECT i.ad, i.ts AS shown, c.ts AS clicked FROM ({deduplicated}) i JOIN clicks c ON i.ad = c.ad AND " \
          "c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE"
    planned = plan_query(sql, namespaces=[ADS], watermark=ADS_WATERMARK)
    first, join = planned.chain.stages
    assert ("aggregate" if first.aggregate else "dedup") == kind and first.inputs == ["impressions"]
    # the join reads the deduplication's output by name, its watermark on the same event-time column
    assert planned.chain.joined == "__stage0" and join.inputs == ["__stage0", "clicks"]
    assert join.event_times["__stage0"].column == "ts" and join.join.join_type == "Inner"
    assert planned.inputs == ["impressions", "clicks"] and planned.output_mode == "append"
    assert planned.columns == ["ad", "shown", "clicked"]


def test_a_deduplication_in_a_cte_then_a_join_reads_it_by_the_cte_name():
    sql = ("WITH shown AS (SELECT DISTINCT ts, ad FROM impressions) SELECT i.ad FROM shown i JOIN clicks c ON "
           "i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE")
    planned = plan_query(sql, namespaces=[ADS], watermark=ADS_WATERMARK)
    assert planned.chain.joined == "shown" and planned.chain.stages[1].inputs == ["shown", "clicks"]


def test_a_deduplication_in_update_mode_then_a_join_is_refused_at_the_deduplication():
    sql = ("SELECT i.ad FROM (SELECT DISTINCT ts, ad FROM impressions) i JOIN clicks c ON i.ad = c.ad AND "
           "c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE")
    with pytest.raises(OutputModeError) as caught:
        plan_query(sql, namespaces=[ADS], watermark=ADS_WATERMARK, output_mode="update")
    assert "an aggregation in update output mode cannot be followed by a stream-stream join" in str(caught.value)
    assert sql[caught.value.start:].startswith("SELECT DISTINCT ts, ad")


def test_group_by_the_window_column_is_the_same_window_again_from_its_event_time():
    planned = plan(f"SELECT w, sum(n) AS total FROM ({INNER}) GROUP BY w")
    assert planned.columns == ["w", "total"]
    assert planned.chain.stages[1].aggregate.window[1].size_us == 10_000_000
    assert planned.chain.stages[1].event_time.column == "__window_time_w"


def test_explain_and_the_teaching_steps_of_a_join_then_an_aggregation():
    from stream_nb.sql.explain import student_steps

    planned = plan_query(f"SELECT window(i.ts, '1 minute') AS w, count(*) AS n {JOIN} GROUP BY window(i.ts, '1 minute')",
                         namespaces=[ADS], watermark=ADS_WATERMARK, output_mode="append")
    assert "Operator 0: stream-stream join (symmetricHashJoin), over the stream" in planned.explain()
    steps = dict(student_steps(planned))
    assert steps["operator 0 (join): kept in state"][0].startswith("i's rows, until i.ts is at or behind")
    assert "aggregate the batch's rows per group (window(i.ts, '1 minute')): count(*)" in \
        steps["operator 1 (aggregate): each batch"]


def test_count_distinct_over_another_operators_output_is_refused():
    sql = ("SELECT window(window_time(w), '1 minute') AS w2, count(DISTINCT device) AS devices FROM "
           f"({INNER}) GROUP BY window(window_time(w), '1 minute')")
    error = refusal(sql)
    assert "count(DISTINCT ...) over what another stateful operator emits is not supported" in str(error)
    assert sql[error.start:].startswith("DISTINCT device")
