"""The final projection over state rows (sql/split_aggregates.py): columns that show a key or an aggregate as
it is are taken from the state rows in Arrow, the rest computed by DuckDB — with the same result, and the
same types, as running the whole final query in DuckDB."""

from __future__ import annotations

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.engine import duck
from stream_nb.engine.windowing import windows
from stream_nb.sql import plan_query
from stream_nb.sql.tree import STATE
from stream_nb.types import TIMESTAMP

EVENTS = sn.sources.memory("ts timestamp, device string, temp double")
NAMES = [{"events": EVENTS}]


def aggregate_plan(sql: str, mode: str = "update"):
    return plan_query(sql, namespaces=NAMES, output_mode=mode).aggregate


def whole_in_duckdb(agg, rows: pa.Table) -> pa.Table:
    con = duck.connect()
    duck.register(con, STATE, agg.with_means(rows))  # avg is finished before the final SQL, which reads it
    return duck.query(con, agg.final_sql)


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
    assert agg.final_pick.inputs == ["__a0"]  # the finished avg (AggregatePlan.with_means)


@pytest.mark.parametrize("sql, mode", [
    ("SELECT device, count(*) AS n FROM events GROUP BY device HAVING count(*) > 1", "update"),
    ("SELECT device, count(*) AS n FROM events GROUP BY device ORDER BY n DESC", "complete"),
    ("SELECT device, n * 2 AS m FROM (SELECT device, count(*) AS n FROM events GROUP BY device)", "update"),
    ("SELECT device, 1 AS one FROM events GROUP BY device", "update"),
    ("SELECT device, explode(array(count(*), 1)) AS e FROM events GROUP BY device", "update"),
])
def test_a_final_query_that_is_not_row_by_row_runs_whole_in_duckdb(sql, mode):
    assert aggregate_plan(sql, mode).final_pick is None


def test_finishing_in_arrow_gives_what_duckdb_gives_values_and_types():
    agg = aggregate_plan(
        "SELECT window(ts, '10 seconds') AS w, window(ts, '10 seconds').end AS w_end, device, count(*) AS n, "
        "avg(temp) AS t, round(avg(temp), 1) AS t1, min(temp) AS cold, first(temp) AS f FROM events "
        "GROUP BY window(ts, '10 seconds'), device")
    starts = pa.array([0, 10_000_000, 20_000_000], TIMESTAMP)
    counts = pa.array([3, 1, 0], pa.int64())  # the last key saw only nulls: its avg is null
    partials = {p.name: counts if p.name.endswith("_n") else pa.array([7.5, -1.0, None]) for p in agg.partials}
    rows = pa.table({"__k0": windows(starts, 10_000_000), "__k1": ["a", "b", None], **partials})
    picked = agg.finish(duck.connect(), rows)
    assert picked.schema == whole_in_duckdb(agg, rows).schema
    assert picked.to_pylist() == whole_in_duckdb(agg, rows).to_pylist()
    assert picked.column("t").to_pylist() == [2.5, -1.0, None]


def test_a_generator_over_aggregates_gives_its_rows_for_each_group():
    events = sn.sources.memory("device string, temp double")
    q = sn.start("SELECT device, explode(CASE WHEN count(*) > 1 THEN array(1, 2) ELSE array() END) AS e "
                 "FROM events GROUP BY device", sources={"events": events}, output_mode="update", trigger="manual")
    events.add_data([{"device": "a", "temp": 1.0}, {"device": "a", "temp": 2.0}, {"device": "b", "temp": 3.0}])
    q.step()
    assert sorted(map(tuple, q.result.to_numpy().tolist())) == [("a", 1), ("a", 2)]
    q.stop()
