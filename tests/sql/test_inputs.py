"""Several inputs per query (interfaces §1): every stream a query reads, each input's watermark, and a
UNION ALL of streams planned as stateless SQL over each input's own batch table."""

import duckdb
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.sql import StreamSQLError, plan_query
from stream_nb.sql.tree import batch_table

IMPRESSIONS = sn.sources.memory("ts timestamp, ad string, cost double")
CLICKS = sn.sources.memory("ts timestamp, ad string, user_id string")
NAMES = [{"impressions": IMPRESSIONS, "clicks": CLICKS}]
UNION = "SELECT ts, ad FROM impressions UNION ALL SELECT ts, ad FROM clicks"


def plan(sql: str, **options):
    return plan_query(sql, namespaces=NAMES, **options)


def refusal(sql: str, **options) -> StreamSQLError:
    with pytest.raises(StreamSQLError) as caught:
        plan(sql, **options)
    return caught.value


def test_bindings_list_every_stream_in_the_order_the_sql_names_them():
    bindings = plan("SELECT ts, ad FROM clicks UNION ALL SELECT ts, ad FROM impressions").bindings
    assert list(bindings.streams) == ["clicks", "impressions"]
    assert set(bindings.schema()) == {"clicks", "impressions"}


def test_the_one_stream_of_a_multi_input_query_is_refused_not_picked():
    bindings = plan(UNION).bindings
    with pytest.raises(ValueError, match="reads 2 streams"):
        _ = bindings.stream


def test_a_single_input_plan_keeps_its_stream_its_event_time_and_the_batch_table():
    single = plan("SELECT ad FROM clicks WATERMARK ts DELAY OF INTERVAL 5 SECONDS WHERE user_id = 'u'")
    assert single.inputs == ["clicks"] and single.stream.name == "clicks"
    assert single.event_times == {"clicks": single.event_time}
    assert single.event_time.max_sql == "SELECT MAX(clicks.ts) FROM __batch AS clicks WHERE clicks.user_id = 'u'"
    assert single.batch_table("clicks") == "__batch" == batch_table()
    assert "FROM __batch AS clicks" in single.stateless_sql
    assert single.watermark_policy == "min" and single.join is None and single.chain is None


def test_a_union_all_of_two_streams_reads_each_input_from_its_own_batch_table():
    union = plan(UNION)
    assert union.inputs == ["impressions", "clicks"]
    assert union.stateless_sql == ("SELECT impressions.ts AS ts, impressions.ad AS ad FROM __batch_impressions AS "
                                   "impressions UNION ALL SELECT clicks.ts AS ts, clicks.ad AS ad FROM "
                                   "__batch_clicks AS clicks")
    assert [union.batch_table(name) for name in union.inputs] == ["__batch_impressions", "__batch_clicks"]
    assert union.columns == ["ts", "ad"] and union.output_mode == "append" and union.event_time is None


def test_the_union_sql_runs_over_the_two_batch_tables():
    union = plan("SELECT ad, cost AS x FROM impressions WHERE cost > 1 UNION ALL SELECT ad, 0.5 FROM clicks")
    con = duckdb.connect()
    con.register(union.batch_table("impressions"),
                 pa.table({"ts": pa.array([None, None], pa.timestamp("us")), "ad": ["a", "b"], "cost": [2.0, 0.5]}))
    con.register(union.batch_table("clicks"),
                 pa.table({"ts": pa.array([None], pa.timestamp("us")), "ad": ["c"], "user_id": ["u"]}))
    rows = con.execute(union.stateless_sql).fetchall()
    assert sorted(rows) == [("a", 2.0), ("c", 0.5)]


def test_a_self_union_is_one_input_read_from_the_single_batch_table():
    union = plan("SELECT ad FROM clicks WHERE user_id = 'a' UNION ALL SELECT ad FROM clicks WHERE user_id = 'b'")
    assert union.inputs == ["clicks"] and union.stream.name == "clicks"
    assert union.stateless_sql.count("FROM __batch AS clicks") == 2


def test_each_input_has_its_own_watermark_from_the_sql():
    union = plan("SELECT ts, ad FROM impressions WATERMARK ts DELAY OF INTERVAL 10 SECONDS UNION ALL "
                 "SELECT ts, ad FROM clicks c WATERMARK ts DELAY OF INTERVAL 20 SECONDS WHERE c.user_id = 'u'")
    assert {name: t.delay_us for name, t in union.event_times.items()} == \
        {"impressions": 10_000_000, "clicks": 20_000_000}
    # a stream's own filters apply before its watermark, over its own batch table
    assert union.event_times["clicks"].max_sql == \
        "SELECT MAX(c.ts) FROM __batch_clicks AS c WHERE c.user_id = 'u'"
    assert union.event_times["impressions"].max_sql is None


def test_each_input_has_its_own_watermark_from_the_option_by_name_or_alias():
    union = plan("SELECT ts, ad FROM impressions i UNION ALL SELECT ts, ad FROM clicks",
                 watermark={"i": ("ts", "10 seconds"), "clicks": ("ts", "20 seconds")})
    assert {name: t.delay_us for name, t in union.event_times.items()} == \
        {"impressions": 10_000_000, "clicks": 20_000_000}


def test_an_input_without_a_watermark_has_none():
    union = plan(UNION, watermark={"clicks": ("ts", "20 seconds")})
    assert list(union.event_times) == ["clicks"]


def test_a_watermark_pair_applies_to_the_one_input_of_a_single_input_query():
    assert plan("SELECT ad FROM clicks", watermark=("ts", "3 seconds")).event_time.delay_us == 3_000_000


def test_a_watermark_pair_on_a_multi_input_query_asks_which_input():
    error = refusal(UNION, watermark=("ts", "3 seconds"))
    assert "say which one the watermark is on" in str(error)
    assert error.hint == "watermark={'impressions': ('ts', '3 seconds'), ...}"


@pytest.mark.parametrize("policy", ["min", "max", "MAX"])
def test_the_watermark_policy_is_min_or_max(policy):
    assert plan(UNION, watermark_policy=policy).watermark_policy == policy.lower()


def test_an_unknown_watermark_policy_is_refused():
    assert "unknown watermark policy 'avg'" in str(refusal(UNION, watermark_policy="avg"))


def test_two_watermarks_on_one_input_are_refused_at_the_second():
    sql = ("SELECT ts, ad FROM clicks WATERMARK ts DELAY OF INTERVAL 10 SECONDS UNION ALL "
           "SELECT ts, ad FROM clicks WATERMARK ts DELAY OF INTERVAL 20 SECONDS")
    error = refusal(sql)
    assert "the stream 'clicks' has two different watermarks" in str(error)
    assert error.start == sql.rindex("WATERMARK")


@pytest.mark.parametrize(("sql", "message", "points_at"), [
    ("SELECT ad FROM impressions UNION SELECT ad FROM clicks UNION ALL SELECT ad FROM impressions",
     "UNION (without ALL) of streams is not supported yet", "UNION"),
    ("SELECT ad FROM impressions INTERSECT SELECT ad FROM clicks", "INTERSECT of streams", "INTERSECT"),
    ("SELECT ad FROM impressions EXCEPT SELECT ad FROM clicks", "EXCEPT of streams", "EXCEPT"),
    ("SELECT ad FROM impressions UNION ALL SELECT ad FROM dim", "a UNION ALL of a stream and a static table",
     "dim"),
    ("SELECT ad, count(*) FROM impressions GROUP BY ad UNION ALL SELECT ad, 1 FROM clicks",
     "an aggregation or DISTINCT inside a UNION ALL", "count"),
    ("SELECT ts, ad FROM impressions UNION ALL SELECT ad FROM clicks", "the same number of columns", "UNION"),
    ("SELECT i.ad FROM impressions i JOIN clicks c ON i.ad < c.ad",
     "Stream-stream join without equality predicate is not supported", "JOIN"),
    ("SELECT ad FROM impressions UNION ALL SELECT ad FROM clicks ORDER BY ad", "ORDER BY is not supported",
     "ORDER BY"),
    ("SELECT ad FROM impressions UNION ALL SELECT ad FROM clicks WATERMARK ad DELAY OF INTERVAL 1 SECOND",
     "watermark column 'ad' must be a timestamp", "WATERMARK"),
])
def test_what_a_union_of_streams_cannot_have_is_refused_where_it_is_written(sql, message, points_at):
    with pytest.raises(StreamSQLError) as caught:
        plan_query(sql, namespaces=[{**NAMES[0], "dim": pa.table({"ad": ["a"]})}])
    assert message in str(caught.value)
    assert sql[caught.value.start:].startswith(points_at), str(caught.value)


def test_a_watermark_on_a_static_table_names_the_streams():
    error = refusal(UNION, watermark={"dim": ("ts", "1 second")})
    assert "a watermark goes on a stream ('impressions', 'clicks'), not on 'dim'" in str(error)
