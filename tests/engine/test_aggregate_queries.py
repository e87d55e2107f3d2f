"""Running an aggregation plan's queries around its state (engine/aggregate_queries.py): columns that show a
key or an aggregate as it is are taken from the state rows in Arrow, the rest computed by DuckDB — with the
same result, and the same types, as running the whole final query in DuckDB."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.engine import duck
from stream_nb.engine.aggregate_queries import finish, pre, with_means
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
    duck.register(con, STATE, with_means(agg, rows))  # avg is finished before the final SQL, which reads it
    return duck.query(con, agg.final_sql)


def test_a_pre_that_only_picks_columns_is_an_arrow_selection_named_as_the_plan_says():
    agg = aggregate_plan("SELECT Device, max(temp) AS hot FROM events GROUP BY device")
    batch = pa.table({"ts": pa.array([None], TIMESTAMP), "device": ["a"], "temp": [1.5]})
    assert agg.pre_projection == {"__k0": "device", "__x0": "temp"}
    assert pre(duck.connect(), agg, batch).to_pylist() == [{"__k0": "a", "__x0": 1.5}]


def test_a_pre_that_computes_runs_its_sql_over_the_batch():
    agg = aggregate_plan("SELECT upper(device) AS d, count(*) AS n FROM events WHERE temp > 1 GROUP BY upper(device)")
    batch = pa.table({"ts": pa.array([None, None], TIMESTAMP), "device": ["a", "b"], "temp": [1.5, 0.5]})
    assert agg.pre_projection is None
    assert pre(duck.connect(), agg, batch).to_pylist() == [{"__k0": "A"}]


def test_finishing_in_arrow_gives_what_duckdb_gives_values_and_types():
    agg = aggregate_plan(
        "SELECT window(ts, '10 seconds') AS w, window(ts, '10 seconds').end AS w_end, device, count(*) AS n, "
        "avg(temp) AS t, round(avg(temp), 1) AS t1, min(temp) AS cold, first(temp) AS f FROM events "
        "GROUP BY window(ts, '10 seconds'), device")
    starts = pa.array([0, 10_000_000, 20_000_000], TIMESTAMP)
    counts = pa.array([3, 1, 0], pa.int64())  # the last key saw only nulls: its avg is null
    partials = {p.name: counts if p.name.endswith("_n") else pa.array([7.5, -1.0, None]) for p in agg.partials}
    rows = pa.table({"__k0": windows(starts, 10_000_000), "__k1": ["a", "b", None], **partials})
    picked = finish(duck.connect(), agg, rows)
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


def run(sql: str, rows: list[dict]) -> list[tuple]:
    """The query's result after one batch of ``rows``, as sorted tuples (window start seconds, ...)."""
    events = sn.sources.memory("ts timestamp, device string, temp double")
    q = sn.start(sql, sources={"events": events}, trigger="manual")
    try:
        events.add_data(rows)
        q.step()
        return sorted(tuple(value["start"].second if isinstance(value, dict) else value for value in row)
                      for row in q.result.itertuples(index=False))
    finally:
        q.stop()


ROWS = [{"ts": datetime(2024, 1, 1, 0, 0, 3), "device": "a", "temp": 1.0},
        {"ts": datetime(2024, 1, 1, 0, 0, 7), "device": "a", "temp": 1.0},
        {"ts": None, "device": "b", "temp": 1.0}]
SLIDING = "window(ts, '10 seconds', '5 seconds')"


@pytest.mark.parametrize("sql", [
    f"SELECT {SLIDING} AS w, count(*) AS n FROM events GROUP BY {SLIDING}",
    f"SELECT {SLIDING} AS w, count(*) AS n FROM events WHERE temp > 0 GROUP BY {SLIDING}",
    f"SELECT {SLIDING} AS w, count(*) AS n FROM (SELECT * FROM events) e GROUP BY {SLIDING}",
    f"SELECT {SLIDING} AS w, count(*) AS n FROM (SELECT * FROM events WHERE temp > 0) e GROUP BY {SLIDING}",
    f"SELECT w, count(*) AS n FROM (SELECT {SLIDING} AS w FROM events) e GROUP BY w",
])
def test_each_row_counts_once_in_each_sliding_window_that_holds_it(sql):
    # 03 is in [-5, 5) and [0, 10), 07 in [0, 10) and [5, 15); a row without a time is in no window. A pre
    # query that is not a plain column pick used to repeat each row per window before Arrow did it again.
    assert run(sql, ROWS) == [(0, 2), (5, 1), (55, 1)]


def test_a_window_over_a_subquery_runs_as_in_spark():
    # the leftover bug: the window's NOT NULL filter went into the subquery, where its alias is unknown
    sql = "SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM (SELECT * FROM events) e " \
          "GROUP BY window(ts, '10 seconds')"
    assert run(sql, ROWS) == [(0, 2)]


def test_a_window_computed_over_a_subquery_without_aggregation_runs():
    sql = f"SELECT {SLIDING} AS w, device FROM (SELECT * FROM events) e"
    assert run(sql, ROWS) == [(0, "a"), (0, "a"), (5, "a"), (55, "a")]
