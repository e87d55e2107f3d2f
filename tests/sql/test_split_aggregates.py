"""The final projection over state rows (sql/split_aggregates.py): which columns show a key or an aggregate as
it is (taken from the state rows in Arrow) and which DuckDB computes. That both give what the whole final
query gives in DuckDB is tests/engine/test_aggregate_queries.py's."""

from __future__ import annotations

import pytest

import stream_nb as sn
from stream_nb.sql import plan_query

EVENTS = sn.sources.memory("ts timestamp, device string, temp double")
NAMES = [{"events": EVENTS}]


def aggregate_plan(sql: str, mode: str = "update"):
    return plan_query(sql, namespaces=NAMES, output_mode=mode).aggregate


def test_keys_and_aggregates_shown_as_they_are_need_no_duckdb():
    agg = aggregate_plan("SELECT device, count(*) AS n, avg(temp) AS t, max(temp) AS hot FROM events "
                         "GROUP BY device")
    pick = agg.final_pick
    assert pick.sql is None
    assert dict(pick.columns) == {"device": "__k0", "n": "__a0_n", "t": ("__a1_s", "__a1_n"),
                                  "hot": "__a2_v", "__k0": "__k0"}


def test_only_computed_columns_go_to_duckdb_over_the_state_columns_they_read():
    agg = aggregate_plan("SELECT device, round(avg(temp), 1) AS t, count(*) AS n FROM events GROUP BY device")
    assert [name for name, source in agg.final_pick.columns if source is None] == ["t"]
    assert agg.final_pick.inputs == ["__a0"]  # the finished avg (aggregate_queries.with_means)


@pytest.mark.parametrize("sql, mode", [
    ("SELECT device, count(*) AS n FROM events GROUP BY device HAVING count(*) > 1", "update"),
    ("SELECT device, count(*) AS n FROM events GROUP BY device ORDER BY n DESC", "complete"),
    ("SELECT device, n * 2 AS m FROM (SELECT device, count(*) AS n FROM events GROUP BY device)", "update"),
    ("SELECT device, 1 AS one FROM events GROUP BY device", "update"),
    ("SELECT device, explode(array(count(*), 1)) AS e FROM events GROUP BY device", "update"),
])
def test_a_final_query_that_is_not_row_by_row_runs_whole_in_duckdb(sql, mode):
    assert aggregate_plan(sql, mode).final_pick is None


@pytest.mark.parametrize("key", ["window(eventTime, '10 seconds')", "eventTime"])
def test_a_camel_case_event_time_column_is_the_group_key_the_watermark_follows(key):
    # Spark resolves names case-insensitively, and the planner lowercases them: the watermark's column as
    # written (eventTime) is still found among the GROUP BY keys, so append mode is allowed.
    readings = sn.sources.memory("eventTime timestamp, word string")
    plan = plan_query(f"SELECT {key} AS k, word, count(*) AS n FROM readings GROUP BY {key}, word",
                      namespaces=[{"readings": readings}], output_mode="append",
                      watermark=("eventTime", "5 seconds"))
    assert plan.aggregate.event_time_key.index == 0
