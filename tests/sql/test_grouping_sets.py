"""GROUP BY ROLLUP, CUBE and GROUPING SETS (sql/grouping_sets.py): a row per grouping set as Spark expands
them, subtotals kept incrementally across batches, grouping() and grouping_id() as Spark numbers them; what is
not supported yet is refused at its place in the SQL. (Spark's answers on the same rows:
tests/differential/cases_grouping.py.)"""

import re

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sql import plan_query
from stream_nb.sql.errors import StreamSQLError

SCHEMA = "ts timestamp, city string, device string, temp double"
BATCHES = [
    [{"ts": "2026-01-01 10:00:01", "city": "a", "device": "x", "temp": 1.0},
     {"ts": "2026-01-01 10:00:02", "city": "a", "device": "y", "temp": 2.0}],
    [{"ts": "2026-01-01 10:00:03", "city": "b", "device": "x", "temp": 3.0},
     {"ts": "2026-01-01 10:00:04", "city": "b", "device": None, "temp": 4.0}],
]


def result_of(sql: str, mode: str = "complete") -> set[tuple]:
    return set(rows_of(sql, mode))


def rows_of(sql: str, mode: str = "complete") -> list[tuple]:
    src = sn.sources.memory(SCHEMA)
    q = sn.start(sql, sources={"s": src}, output_mode=mode, trigger="manual")
    try:
        for batch in BATCHES:
            src.add_data(batch)
            q.step()
        return [tuple(row.values()) for row in q.sink.table().to_pylist()]
    finally:
        q.stop()


def test_rollup_gives_each_prefix_and_a_grand_total_over_every_batch():
    assert result_of("SELECT city, device, count(*) AS n, sum(temp) AS s, grouping_id() AS g "
                     "FROM s GROUP BY ROLLUP(city, device)") == {
        ("a", "x", 1, 1.0, 0), ("a", "y", 1, 2.0, 0), ("b", "x", 1, 3.0, 0), ("b", None, 1, 4.0, 0),
        ("a", None, 2, 3.0, 1), ("b", None, 2, 7.0, 1),
        (None, None, 4, 10.0, 3)}


def test_cube_adds_the_sets_without_the_first_key_and_grouping_tells_a_subtotal_from_a_null():
    rows = result_of("SELECT city, device, grouping(city) AS gc, grouping(device) AS gd, count(*) AS n "
                     "FROM s GROUP BY CUBE(city, device)")
    assert {r for r in rows if r[2] == 1} == {(None, "x", 1, 0, 2), (None, "y", 1, 0, 1), (None, None, 1, 0, 1),
                                               (None, None, 1, 1, 4)}
    assert ("b", None, 0, 0, 1) in rows and ("b", None, 0, 1, 2) in rows   # b's NULL device, and b's subtotal


def test_grouping_sets_with_where_and_having():
    rows = result_of("SELECT city, count(device) AS devices FROM s WHERE temp > 1 "
                     "GROUP BY GROUPING SETS ((city), ()) HAVING count(*) > 1")
    assert rows == {("b", 1), (None, 2)}   # a filtered out by HAVING; b's NULL device is not counted


def test_a_plain_key_is_in_every_set_and_the_window_stays_a_window():
    rows = result_of("SELECT window.start AS start, city, device, count(*) AS n "
                     "FROM s GROUP BY window(ts, '1 minute'), city, ROLLUP(device)", mode="update")
    assert {r[1:] for r in rows} == {("a", "x", 1), ("a", "y", 1), ("a", None, 2), ("b", "x", 1), ("b", None, 1),
                                     ("b", None, 2)}


def test_a_key_may_name_a_select_items_alias_and_be_an_expression():
    assert result_of("SELECT upper(city) AS u, count(*) AS n FROM s GROUP BY ROLLUP(u)") == {
        ("A", 2), ("B", 2), (None, 4)}
    assert result_of("SELECT upper(city), count(*) AS n FROM s GROUP BY CUBE(upper(city))") == {
        ("A", 2), ("B", 2), (None, 4)}


def test_rollup_over_a_stream_static_join():
    kinds = pd.DataFrame({"device": ["x", "y"], "kind": ["thermo", "hygro"]})
    src = sn.sources.memory(SCHEMA)
    q = sn.start("SELECT k.kind, s.city, count(*) AS n FROM s JOIN kinds k ON s.device = k.device "
                 "GROUP BY ROLLUP(k.kind, s.city)", sources={"s": src, "kinds": kinds}, output_mode="complete",
                 trigger="manual")
    try:
        for batch in BATCHES:
            src.add_data(batch)
            q.step()
        assert {tuple(r.values()) for r in q.sink.table().to_pylist()} == {
            ("thermo", "a", 1), ("thermo", "b", 1), ("hygro", "a", 1), ("thermo", None, 2), ("hygro", None, 1),
            (None, None, 3)}
    finally:
        q.stop()


def test_an_aggregate_reads_each_rows_own_values_also_under_filter_and_product():
    assert result_of("SELECT city, count(*) FILTER (WHERE device = 'x') AS nx, product(temp) AS p "
                     "FROM s GROUP BY ROLLUP(city)") == {("a", 1, 2.0), ("b", 1, 12.0), (None, 2, 24.0)}


def test_hives_grouping_sets_after_the_keys_and_ordinals():
    assert result_of("SELECT city, device, count(*) AS n, grouping_id() AS g FROM s "
                     "GROUP BY city, device GROUPING SETS ((device), ())") == {
        (None, "x", 2, 2), (None, "y", 1, 2), (None, None, 1, 2), (None, None, 4, 3)}
    assert result_of("SELECT city, count(*) AS n FROM s GROUP BY ROLLUP(1)") == {("a", 2), ("b", 2), (None, 4)}


def test_a_key_naming_a_column_and_an_alias_is_the_column_as_in_spark():
    assert result_of("SELECT upper(city) AS city, grouping(city) AS g, count(*) AS n FROM s "
                     "GROUP BY ROLLUP(city)") == {("A", 0, 2), ("B", 0, 2), (None, 1, 4)}


def test_with_rollup_and_spark_names_for_unaliased_items():
    src = sn.sources.memory(SCHEMA)
    q = sn.start("SELECT upper(city), count(*) FROM s GROUP BY city WITH ROLLUP", sources={"s": src},
                 output_mode="complete", trigger="manual")
    try:
        src.add_data(BATCHES[0])
        q.step()
        assert q.sink.table().column_names == ["upper(city)", "count(1)"]
    finally:
        q.stop()


def test_a_set_listed_twice_gives_its_rows_twice_as_in_spark():
    assert sorted(rows_of("SELECT city, count(*) AS n, grouping_id() AS g FROM s "
                            "GROUP BY GROUPING SETS ((city), (city), ())"), key=str) == sorted(
        [("a", 2, 0), ("a", 2, 0), ("b", 2, 0), ("b", 2, 0), (None, 4, 1)], key=str)


@pytest.mark.parametrize(("sql", "says", "at"), [
    ("SELECT city, count(*) FROM s GROUP BY ROLLUP(window(ts, '1 minute'), city)",
     "window() inside ROLLUP, CUBE or GROUPING SETS is not supported yet", "window(ts"),
    ("SELECT city, grouping(device) FROM s GROUP BY ROLLUP(city)", "device is not a grouping column", "device)"),
    ("SELECT window(ts, '1 minute') AS w, count(*) FROM s GROUP BY ROLLUP(w, city)",
     "window() inside ROLLUP, CUBE or GROUPING SETS is not supported yet", "window(ts"),
    ("SELECT city, count(*) AS n FROM s GROUP BY ROLLUP(city, n)", "a grouping key cannot be an aggregate",
     "count(*)"),
])
def test_what_is_not_supported_yet_is_refused_where_it_is_written(sql, says, at):
    src = sn.sources.memory(SCHEMA)
    with pytest.raises(StreamSQLError, match=re.escape(says)) as refused:
        sn.start(sql, sources={"s": src}, output_mode="complete", trigger="manual")
    assert refused.value.start == sql.index(at)


JOINED = {"impressions": sn.sources.memory("ts timestamp, ad string, campaign string"),
          "clicks": sn.sources.memory("ts timestamp, ad string")}


@pytest.mark.parametrize("sql", [
    # over a stream-stream join: the join, then the expansion in the aggregation above it
    ("SELECT i.campaign, count(*) AS n FROM impressions i WATERMARK ts DELAY OF INTERVAL 5 SECONDS "
    "JOIN clicks c WATERMARK ts DELAY OF INTERVAL 5 SECONDS ON i.ad = c.ad AND c.ts BETWEEN i.ts AND "
    "i.ts + INTERVAL 10 SECONDS GROUP BY window(i.ts, '1 minute'), ROLLUP(i.campaign)"),
    # the outer aggregation of a chain
    ("SELECT window(window_time(w), '1 minute') AS w2, campaign, sum(n) AS n FROM (SELECT window(ts, "
    "'10 seconds') AS w, campaign, count(*) AS n FROM impressions WATERMARK ts DELAY OF INTERVAL 5 SECONDS "
    "GROUP BY window(ts, '10 seconds'), campaign) GROUP BY window(window_time(w), '1 minute'), ROLLUP(campaign)"),
])
def test_grouping_sets_plan_over_a_stream_stream_join_and_at_the_end_of_a_chain(sql):
    plan = plan_query(sql, namespaces=[JOINED], output_mode="append")
    last = plan.chain.stages[-1].aggregate   # the chain plans each stage from its own text, the sets' too
    assert last.key_texts[-1] == "__grouping_sets.__spark_grouping_set" and last.window is not None


def test_a_restart_over_the_checkpoint_goes_on_with_every_sets_groups(tmp_path):
    sql = ("SELECT city, device, count(*) AS n, grouping_id() AS g FROM s GROUP BY CUBE(city, device) "
           "HAVING grouping(city) = 1 OR grouping(device) = 1")
    src = sn.sources.memory(SCHEMA)
    for batch in BATCHES:  # a query a batch, each started again on the checkpoint of the one before
        q = sn.start(sql, sources={"s": src}, output_mode="complete", trigger="manual", checkpoint=str(tmp_path))
        src.add_data(batch)
        q.process_all_available()
        q.stop()
    assert {tuple(row.values()) for row in q.sink.table().to_pylist()} == {
        ("a", None, 2, 1), ("b", None, 2, 1), (None, "x", 2, 2), (None, "y", 1, 2), (None, None, 1, 2),
        (None, None, 4, 3)}
