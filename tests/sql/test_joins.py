"""Planning stream-stream joins as Spark plans them: the ON condition's split, each side's state eviction (the
state watermark Spark derives from the range condition), and every query Spark refuses, refused with its
reason at the JOIN. Refusals and acceptances were checked against PySpark 4.3 (``writeStream.start()``)."""

from __future__ import annotations

import pytest

import stream_nb as sn
from stream_nb.sql import OutputModeError, StreamSQLError, plan_query
from stream_nb.sql.join_watermark import ValueBound, state_watermark_ms

IMPRESSIONS = sn.sources.memory("ad_id bigint, ts timestamp, campaign string")
CLICKS = sn.sources.memory("ad_id bigint, ts timestamp, user string")
NAMES = [{"impressions": IMPRESSIONS, "clicks": CLICKS}]
BOTH = {"impressions": ("ts", "10 seconds"), "clicks": ("ts", "20 seconds")}
RANGE = "c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE"


def plan(sql: str, watermark=BOTH, mode: str | None = None):
    return plan_query(sql, namespaces=NAMES, watermark=watermark, output_mode=mode)


def join(sql: str, watermark=BOTH, mode: str | None = None):
    return plan(sql, watermark, mode).join


def refusal(sql: str, watermark=BOTH, mode: str | None = None) -> StreamSQLError:
    with pytest.raises(StreamSQLError) as caught:
        plan(sql, watermark, mode)
    return caught.value


@pytest.mark.parametrize(("written", "kind"), [
    ("JOIN", "Inner"), ("INNER JOIN", "Inner"), ("LEFT JOIN", "LeftOuter"), ("LEFT OUTER JOIN", "LeftOuter"),
    ("RIGHT JOIN", "RightOuter"), ("RIGHT OUTER JOIN", "RightOuter"), ("FULL JOIN", "FullOuter"),
    ("FULL OUTER JOIN", "FullOuter"), ("LEFT SEMI JOIN", "LeftSemi"),
])
def test_each_join_type_plans_under_spark_s_name(written, kind):
    planned = plan(f"SELECT i.ad_id FROM impressions i {written} clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert planned.join.join_type == kind
    assert planned.inputs == ["impressions", "clicks"]
    assert planned.output_mode == "append"
    assert planned.join.outer_needs_watermark == (kind in ("LeftOuter", "RightOuter", "FullOuter"))


def test_the_on_condition_splits_into_keys_pre_join_filters_and_a_post_join_condition():
    planned = join("SELECT i.ad_id FROM impressions i LEFT JOIN clicks c ON c.ad_id = i.ad_id AND "
                   "i.campaign = 'spring' AND c.user <> 'bot' AND c.ts > i.ts AND c.ts < i.ts + INTERVAL 1 MINUTE")
    assert planned.key_texts == ("i.ad_id = c.ad_id",)  # oriented left = right, whichever way it was written
    assert "i.ad_id AS __k0" in planned.left.pre_sql and "c.ad_id AS __k0" in planned.right.pre_sql
    assert "COALESCE(i.campaign = 'spring', FALSE) AS __pass" in planned.left.pre_sql
    assert """COALESCE(c."user" <> 'bot', FALSE) AS __pass""" in planned.right.pre_sql
    assert planned.condition_text == "c.ts > i.ts AND c.ts < i.ts + INTERVAL '1' MINUTE"


def test_a_range_condition_gives_each_side_a_state_watermark_as_spark_derives_it():
    planned = join(f"SELECT * FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    # an impression can match clicks up to a minute later: it is kept until the watermark passes ts + 1 min
    assert planned.left.eviction == "value" and planned.left.event_time == "ts"
    assert state_watermark_ms(planned.left.bounds, 100_000) == 100_000 - 60_000 - 1  # <=: one ms less
    # a click matches impressions at or before it: kept until the watermark passes it
    assert state_watermark_ms(planned.right.bounds, 100_000) == 100_000 - 1


def test_strict_comparisons_evict_through_the_bound_itself():
    planned = join("SELECT * FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id "
                   "AND c.ts > i.ts - INTERVAL 5 SECONDS AND c.ts < i.ts + INTERVAL 10 SECONDS")
    assert planned.left.bounds == (ValueBound(1, -10_000_000.0, False),)
    assert planned.right.bounds == (ValueBound(1, -5_000_000.0, False),)


def test_a_side_without_a_bound_from_the_range_keeps_its_state():
    planned = join("SELECT * FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id AND c.ts >= i.ts")
    assert planned.left.eviction is None      # c.ts >= i.ts bounds impressions from above only
    assert planned.right.eviction == "value"  # clicks: c.ts >= i.ts > watermark


def test_a_side_without_a_watermark_keeps_its_state_and_drops_no_late_rows():
    planned = join(f"SELECT * FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}",
                   watermark={"clicks": ("ts", "20 seconds")})
    assert planned.left.eviction is None and planned.left.event_time is None
    assert planned.right.eviction is None     # its bound needs the impressions' watermark


def test_a_window_equality_written_in_subqueries_evicts_by_the_window_key():
    planned = join("SELECT x.ad_id, x.w FROM (SELECT ad_id, window(ts, '10 seconds') AS w FROM impressions) x "
                   "LEFT JOIN (SELECT ad_id, window(ts, '10 seconds') AS w FROM clicks) y "
                   "ON x.ad_id = y.ad_id AND x.w = y.w")
    assert planned.key_eviction == 1
    assert (planned.left.eviction, planned.right.eviction) == ("key", "key")
    assert (planned.left.event_time, planned.left.event_time_field) == ("w", "end")
    assert "__batch_impressions" in planned.left.pre_sql and "__batch_clicks" in planned.right.pre_sql


def test_an_event_time_equality_key_evicts_both_sides_by_the_key():
    planned = join("SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND i.ts = c.ts",
                   watermark={"impressions": ("ts", "10 seconds")})
    assert planned.key_eviction == 1 and planned.right.eviction == "key"


def test_a_side_s_own_filters_move_its_watermark_as_spark_pushes_them():
    planned = plan("SELECT * FROM impressions i JOIN (SELECT * FROM clicks WHERE user <> 'bot') c "
                   f"ON i.ad_id = c.ad_id AND {RANGE} WHERE i.campaign = 'spring'")
    assert """WHERE clicks."user" <> 'bot'""" in planned.event_times["clicks"].max_sql
    # an inner join's NULL keys are filtered below the join too (Spark infers IS NOT NULL from the key)
    assert planned.event_times["impressions"].max_sql == (
        "SELECT MAX(i.ts) FROM __batch_impressions AS i WHERE NOT i.ad_id IS NULL AND i.campaign = 'spring'")


def test_an_outer_join_filters_null_keys_and_its_own_conditions_on_the_null_supplying_side_only():
    planned = plan(f"SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND c.user <> 'bot' "
                   f"AND i.campaign = 'spring' AND {RANGE}")
    assert "WHERE" not in planned.join.left.pre_sql  # the preserved side keeps every row, to emit it NULL-padded
    assert planned.join.right.pre_sql.endswith("""WHERE NOT c.ad_id IS NULL AND c."user" <> 'bot'""")
    assert planned.event_times["impressions"].max_sql is None
    assert planned.event_times["clicks"].max_sql == (
        """SELECT MAX(c.ts) FROM __batch_clicks AS c WHERE NOT c.ad_id IS NULL AND c."user" <> 'bot'""")
    full = join(f"SELECT * FROM impressions i FULL JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}")
    assert "WHERE" not in full.left.pre_sql and "WHERE" not in full.right.pre_sql


def test_the_output_is_the_select_over_the_pairs_with_where_after_the_join():
    planned = join(f"SELECT i.ad_id, c.ts AS clicked FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id "
                   f"AND {RANGE} WHERE c.user IS NOT NULL")
    assert planned.output_sql == (
        "SELECT i.ad_id AS ad_id, c.ts AS clicked FROM __join_left AS i POSITIONAL JOIN __join_right AS c "
        'WHERE NOT c."user" IS NULL')  # a DuckDB keyword, quoted


def test_an_inner_join_runs_in_update_mode_as_spark_4_allows():
    assert plan("SELECT * FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id", mode="update").output_mode == \
        "update"


def test_a_left_semi_join_selects_the_left_side_only():
    assert plan(f"SELECT * FROM impressions i LEFT SEMI JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}").columns \
        == ["ad_id", "ts", "campaign"]


def test_an_outer_join_needs_the_range_only_in_the_needed_direction():
    join("SELECT * FROM impressions i RIGHT JOIN clicks c ON i.ad_id = c.ad_id AND c.ts >= i.ts")
    join("SELECT * FROM impressions i FULL JOIN clicks c ON i.ad_id = c.ad_id AND c.ts >= i.ts")
    join("SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND c.ts <= i.ts")


@pytest.mark.parametrize(("sql", "watermark", "mode", "message", "points_at"), [
    (f"SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}", BOTH, "update",
     ("LeftOuter join between two streaming DataFrames/Datasets is not supported in Update output mode, only in "
     "Append output mode"), "LEFT JOIN"),
    ("SELECT * FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id", BOTH, "complete",
     "complete output mode needs an aggregation", None),
    ("SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id", BOTH, None,
     ("Stream-stream LeftOuter join between two streaming DataFrame/Datasets is not supported without a watermark "
     "in the join keys, or a watermark on the nullable side and an appropriate range condition"), "LEFT JOIN"),
    (f"SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}",
     {"impressions": ("ts", "10 seconds")}, None, "Stream-stream LeftOuter join", "LEFT JOIN"),
    ("SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND c.ts >= i.ts", BOTH, None,
     "Stream-stream LeftOuter join", "LEFT JOIN"),
    ("SELECT * FROM impressions i RIGHT JOIN clicks c ON i.ad_id = c.ad_id AND c.ts <= i.ts", BOTH, None,
     "Stream-stream RightOuter join", "RIGHT JOIN"),
    ("SELECT * FROM impressions i LEFT SEMI JOIN clicks c ON i.ad_id = c.ad_id", BOTH, None,
     "Stream-stream LeftSemi join", "LEFT SEMI JOIN"),
    ("SELECT * FROM impressions i FULL OUTER JOIN clicks c ON i.ad_id = c.ad_id", BOTH, None,
     "Stream-stream FullOuter join", "FULL OUTER JOIN"),
    (f"SELECT * FROM impressions i LEFT ANTI JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}", BOTH, None,
     "LeftAnti joins with a streaming DataFrame/Dataset on the right are not supported", "LEFT ANTI JOIN"),
    ("SELECT * FROM impressions i JOIN clicks c ON i.ad_id < c.ad_id", BOTH, None,
     "Stream-stream join without equality predicate is not supported", "JOIN"),
    (f"SELECT * FROM impressions i JOIN clicks c ON {RANGE}", BOTH, None,
     "Stream-stream join without equality predicate is not supported", "JOIN"),
    ("SELECT * FROM impressions i CROSS JOIN clicks c", BOTH, None,
     "Stream-stream join without equality predicate is not supported", "CROSS JOIN"),
    (("SELECT i.ad_id FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id AND window(i.ts, '10 seconds') = "
     "window(c.ts, '10 seconds')"), BOTH, None, "compute the window in each side's subquery", "JOIN"),
    (("SELECT * FROM (SELECT ad_id, ts, window(ts, '10 seconds') AS w FROM impressions) x JOIN clicks c "
     "ON x.ad_id = c.ad_id"), BOTH, None, "More than one event time columns are available", "(SELECT"),
])
def test_what_spark_refuses_is_refused_with_its_reason_at_the_join(sql, watermark, mode, message, points_at):
    error = refusal(sql, watermark, mode)
    assert message in str(error)
    if points_at is not None:
        assert sql[error.start:].startswith(points_at), str(error)


def test_an_outer_join_refusal_says_what_to_add():
    error = refusal(f"SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}",
                    watermark={"impressions": ("ts", "10 seconds")})
    assert "a watermark on 'clicks'" in error.hint
    assert "c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE" in error.hint
    error = refusal("SELECT * FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id")
    assert "watermark on" not in error.hint and "a time-range condition" in error.hint


def test_an_update_mode_outer_join_is_an_output_mode_error():
    with pytest.raises(OutputModeError):
        plan(f"SELECT * FROM impressions i FULL JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}", mode="update")


def test_explain_shows_both_inputs_each_side_s_state_rule_and_when_outer_rows_come():
    text = plan(f"SELECT i.ad_id, c.ts FROM impressions i LEFT JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}") \
        .explain()
    assert "stream     impressions (i)" in text and "stream     clicks (c)" in text
    assert "watermark  clicks: max(ts) seen - 20 seconds" in text
    assert "== Stream-stream join: LeftOuter" in text and "keys       i.ad_id = c.ad_id" in text
    assert "a row is evicted when i.ts is at or behind the watermark - 60 seconds" in text
    assert "the left side's rows that never matched, NULL-padded, when the watermark evicts them" in text


def test_a_using_join_joins_on_the_named_columns_as_spark_does():
    planned = plan("SELECT * FROM impressions i JOIN clicks c USING (ad_id)")
    assert planned.join.key_texts == ("i.ad_id = c.ad_id",)
    assert planned.columns == ["ad_id", "ts", "campaign", "ts", "user"]  # the key once, as in Spark


def test_a_subquery_side_s_pushed_filters_reach_its_stream_s_watermark_through_its_projection():
    planned = plan("SELECT * FROM impressions i JOIN (SELECT ad_id AS ad, user AS who, ts FROM clicks "
                   "WHERE user <> 'bot') c ON i.ad_id = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE")
    assert planned.event_times["clicks"].max_sql == (
        "SELECT MAX(clicks.ts) FROM __batch_clicks AS clicks "
        """WHERE clicks."user" <> 'bot' AND NOT clicks.ad_id IS NULL""")


def test_event_time_columns_are_found_whatever_their_case_as_spark_resolves_names():
    impressions = sn.sources.memory("adId bigint, impressionTime timestamp")
    clicks = sn.sources.memory("adId bigint, clickTime timestamp")
    watermark = {"impressions": ("impressionTime", "10 seconds"), "clicks": ("clickTime", "20 seconds")}
    planned = plan_query("SELECT * FROM (SELECT adId, window(impressionTime, '10 seconds') AS w FROM impressions) x "
                         "LEFT JOIN (SELECT adId, window(clickTime, '10 seconds') AS w FROM clicks) y "
                         "ON x.adId = y.adId AND x.w = y.w",
                         namespaces=[{"impressions": impressions, "clicks": clicks}], watermark=watermark).join
    assert (planned.left.event_time, planned.key_eviction, planned.left.eviction) == ("w", 1, "key")


def test_a_join_in_a_subquery_runs_with_the_projections_and_filters_over_it():
    planned = plan(f"SELECT x.ad, x.clicked FROM (SELECT i.ad_id AS ad, c.ts AS clicked FROM impressions i "
                   f"JOIN clicks c ON i.ad_id = c.ad_id AND {RANGE}) x WHERE x.ad > 0")
    assert planned.columns == ["ad", "clicked"]
    assert planned.join.output_sql == (
        "SELECT x.ad AS ad, x.clicked AS clicked FROM (SELECT i.ad_id AS ad, c.ts AS clicked FROM __join_left AS "
        "i POSITIONAL JOIN __join_right AS c) AS x WHERE x.ad > 0")


@pytest.mark.parametrize(("written", "points_at"), [("ORDER BY i.ad_id", "ORDER BY"), ("LIMIT 3", "LIMIT")])
def test_order_by_and_limit_over_a_join_are_refused(written, points_at):
    sql = f"SELECT i.ad_id FROM impressions i JOIN clicks c ON i.ad_id = c.ad_id {written}"
    error = refusal(sql)
    assert f"{points_at} is not supported over a stream-stream join" in str(error)
    assert sql[error.start:].startswith(points_at)


def test_a_deduplication_on_the_joined_side_is_refused_rather_than_run_per_batch():
    # A DISTINCT inside the JOIN's subquery would deduplicate each batch alone, not the stream: refused, with
    # the form that runs (the deduplicated stream in FROM, a chain of two operators)
    err = refusal(f"SELECT i.ad_id, c.ts FROM impressions i JOIN (SELECT DISTINCT ad_id, ts FROM clicks) c "
                  f"ON i.ad_id = c.ad_id AND {RANGE}")
    assert "SELECT DISTINCT" in str(err) and "FROM (SELECT DISTINCT ...) c JOIN" in err.hint
