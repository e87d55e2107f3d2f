"""Python functions in a query's SQL (``sn.udf``): each result equals the same expression written with DuckDB's
built-ins and run once over the same rows; the function works wherever an expression does; a failure stops
the query cleanly, names the function, the batch and the row, and a restart runs the batch again."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.engine import duck
from stream_nb.types import to_arrow, to_pandas
from stream_nb.udfs import unregister

SCHEMA = "ts timestamp, device string, temp double, n bigint"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ROWS = [
    {"ts": T0, "device": "a", "temp": 20.5, "n": 1},
    {"ts": T0 + dt.timedelta(seconds=4), "device": "b", "temp": None, "n": None},
    {"ts": T0 + dt.timedelta(seconds=12), "device": "a", "temp": -3.25, "n": 7},
    {"ts": None, "device": None, "temp": 100.0, "n": -2},
]


def _none_or(f):
    return lambda *args: None if any(a is None for a in args) else f(*args)


SCALAR = {  # name: (function, return type, the same expression with DuckDB's built-ins)
    "fahrenheit": (_none_or(lambda c: c * 9 / 5 + 32), "double", "temp * 9 / 5 + 32"),
    "plus_one": (_none_or(lambda n: n + 1), "bigint", "n + 1"),
    "shout": (_none_or(lambda s: s.upper() + "!"), "string", "upper(device) || '!'"),
    "next_hour": (_none_or(lambda t: t + dt.timedelta(hours=1)), "timestamp", "ts + INTERVAL 1 HOUR"),
    "pair": (_none_or(lambda n: [n, n * 2]), "array<bigint>", "CASE WHEN n IS NOT NULL THEN [n, n * 2] END"),
    "boxed": (lambda s, n: {"s": s, "n": n}, "struct<s:string,n:bigint>", "{'s': device, 'n': n}"),
    "is_missing": (lambda v: v is None, "boolean", "temp IS NULL"),  # NULL reaches the function as None
}
VECTORIZED = {
    "scale": (lambda s: s * 2.0, "double", "temp * 2.0"),
    "v_shout": (lambda s: s.str.upper(), "string", "upper(device)"),
    "v_minute_later": (lambda t: t + pd.Timedelta(minutes=1), "timestamp", "ts + INTERVAL 1 MINUTE"),
    "v_boxed": (lambda s, n: pd.DataFrame({"s": s, "n": n}), "struct<s:string,n:bigint>",  # as Spark's pandas_udf
                "{'s': device, 'n': n}"),
}
ARGUMENTS = {"fahrenheit": "temp", "plus_one": "n", "shout": "device", "next_hour": "ts", "pair": "n",
             "boxed": "device, n", "is_missing": "temp", "scale": "temp", "v_shout": "device",
             "v_minute_later": "ts", "v_boxed": "device, n"}


@pytest.fixture
def src():
    return sn.sources.memory(SCHEMA)


@pytest.fixture(autouse=True)
def _registered():
    for name, (fn, rtype, _) in SCALAR.items():
        sn.udf(name, fn, rtype)
    for name, (fn, rtype, _) in VECTORIZED.items():
        sn.udf(name, fn, rtype, vectorized=True)
    yield
    for name in [*SCALAR, *VECTORIZED, "hot", "flaky", "short", "wrong_type", "ticket", "broken"]:
        unregister(name)


def one_shot(sql: str, rows: list[dict]) -> pd.DataFrame:
    """The same query run once by DuckDB over all the rows, with built-ins only."""
    con = duck.connect()
    duck.register(con, "src", to_arrow(rows, sn.sources.memory(SCHEMA).schema))
    return to_pandas(duck.query(con, sql))


@pytest.mark.parametrize("name", [*SCALAR, *VECTORIZED])
def test_a_function_gives_what_the_same_builtin_expression_gives(src, name):
    builtin = {**SCALAR, **VECTORIZED}[name][2]
    q = sn.start(f"SELECT device, {name}({ARGUMENTS[name]}) AS out FROM src", sources={"src": src},
                 trigger="manual")
    src.add_data(ROWS[:2])
    q.step()
    src.add_data(ROWS[2:])
    q.step()
    expected = one_shot(f"SELECT device, {builtin} AS out FROM src", ROWS)
    pd.testing.assert_frame_equal(q.result.reset_index(drop=True), expected, check_dtype=False)


def test_functions_filter_group_and_aggregate_in_a_windowed_aggregation(src):
    sql = ("SELECT window(ts, '10 seconds') AS w, shout(device) AS who, avg(fahrenheit(temp)) AS f, count(*) AS c "
           "FROM src WHERE NOT is_missing(temp) AND ts IS NOT NULL GROUP BY window(ts, '10 seconds'), shout(device)")
    q = sn.start(sql, sources={"src": src}, trigger="manual", output_mode="complete")
    src.add_data(ROWS)
    q.step()
    got = q.result.sort_values(["who", "f"]).reset_index(drop=True)
    expected = one_shot("SELECT window_start AS w_start, upper(device) || '!' AS who, avg(temp * 9 / 5 + 32) AS f, "
                        "count(*) AS c FROM (SELECT *, time_bucket(INTERVAL 10 SECOND, ts) AS window_start FROM src) "
                        "WHERE temp IS NOT NULL AND ts IS NOT NULL GROUP BY ALL", ROWS)
    expected = expected.sort_values(["who", "f"]).reset_index(drop=True)
    assert [w["start"] for w in got["w"]] == expected["w_start"].tolist()
    pd.testing.assert_frame_equal(got[["who", "f", "c"]], expected[["who", "f", "c"]], check_dtype=False)


def test_a_function_in_a_filter_over_a_watermarked_stream_runs_once_a_row(src):
    """A filter Spark pushes below the watermark (rows it drops never move it) is not run a second time for the
    watermark when it calls Python: an alert would be sent twice. Nondeterministic, so each row is a call."""
    seen = []
    sn.udf("ticket", lambda temp: seen.append(temp) or temp is not None and temp > 0, "boolean", deterministic=False)
    q = sn.start("SELECT window(ts, '10 seconds') AS w, count(*) AS n FROM src WATERMARK ts DELAY OF INTERVAL 5 SECONDS "
                 "WHERE ticket(temp) GROUP BY window(ts, '10 seconds')", sources={"src": src}, trigger="manual")
    try:
        src.add_data(ROWS)
        q.step()
        assert sorted(seen, key=str) == sorted((r["temp"] for r in ROWS), key=str)
    finally:
        q.stop()


def test_a_function_in_a_stream_static_join_condition(src):
    names = pd.DataFrame({"code": ["A!", "B!"], "label": ["first", "second"]})
    q = sn.start("SELECT s.device, k.label FROM src s JOIN names k ON shout(s.device) = k.code",
                 sources={"src": src, "names": names}, trigger="manual")
    src.add_data(ROWS)
    q.step()
    assert sorted(q.result.itertuples(index=False, name=None)) == [("a", "first"), ("a", "first"),
                                                                   ("b", "second")]


def test_a_query_keeps_the_functions_registered_when_it_started(src):
    sn.udf("flaky", lambda c: 1.0, "double")
    q = sn.start("SELECT flaky(temp) AS v FROM src", sources={"src": src}, trigger="manual")
    sn.udf("flaky", lambda c: 2.0, "double")  # replaces it for the queries started from now on
    later = sn.start("SELECT flaky(temp) AS v FROM src", sources={"src": src}, trigger="manual")
    src.add_data(ROWS[:1])
    q.step()
    later.step()
    assert q.result["v"].tolist() == [1.0] and later.result["v"].tolist() == [2.0]


def test_an_unknown_function_is_refused_where_it_is_called(src):
    with pytest.raises(sn.StreamSQLError) as err:
        sn.start("SELECT device,\n       celsius(temp) AS c FROM src", sources={"src": src})
    assert err.value.message == "no function celsius: register it with sn.udf(...)"
    assert (err.value.line, err.value.column) == (2, 8)


def _hot(c):
    if c is not None and c > 50:
        raise ValueError(f"{c} is too hot")
    return c


def test_an_error_in_a_function_stops_the_query_naming_function_batch_and_row(src):
    sn.udf("hot", _hot, "double")
    q = sn.start("SELECT hot(temp) AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data(ROWS[:3])
    q.step()
    src.add_data(ROWS[3:])
    with pytest.raises(sn.StreamingQueryException) as err:
        q.step()
    message = str(err.value)
    assert "failed in batch 1" in message and "the Python function hot raised ValueError: 100.0 is too hot" in message
    assert "arguments: (100.0)" in message
    assert isinstance(err.value.__cause__, sn.UdfError) and isinstance(err.value.__cause__.__cause__, ValueError)
    assert err.value.__cause__.__cause__.__traceback__ is not None  # the function's own traceback, chained
    assert q.exception is err.value and not q.is_active
    assert q.result["t"].fillna(0).tolist() == [20.5, 0, -3.25]  # batch 0 stays committed, batch 1 wrote nothing


def test_a_vectorized_function_returning_the_wrong_length_says_so(src):
    sn.udf("short", lambda s: s.iloc[:1], "double", vectorized=True)
    q = sn.start("SELECT short(temp) AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data(ROWS)
    with pytest.raises(sn.StreamingQueryException, match=r"the Python function short returned 1 values for 4 rows"):
        q.step()


@pytest.mark.parametrize(("vectorized", "fn", "rtype"), [
    (False, lambda c: f"{c}x", "double"),
    (False, lambda c: c / 7, "bigint"),  # 20.5 / 7 is not a whole number: not truncated to 2
    (True, lambda s: s.astype(str) + "x", "double"),
    (True, lambda s: s / 7, "bigint"),
])
def test_a_function_returning_values_its_type_cannot_hold_says_so(src, vectorized, fn, rtype):
    sn.udf("wrong_type", fn, rtype, vectorized=vectorized)
    q = sn.start("SELECT wrong_type(temp) AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data(ROWS[:1])
    with pytest.raises(sn.StreamingQueryException) as err:
        q.step()
    assert "the Python function wrong_type returned" in str(err.value)
    assert f"{rtype} (its return type)" in str(err.value)


def test_a_restart_after_a_failing_function_runs_the_batch_again_exactly_once(src, tmp_path):
    sn.udf("hot", _hot, "double")
    sql, db = "SELECT device, hot(temp) AS t FROM src", tmp_path / "out.db"
    options = {"sources": {"src": src}, "trigger": "manual", "checkpoint": str(tmp_path / "cp")}
    q = sn.start(sql, sink=sn.sinks.duckdb(db, "out"), **options)
    src.add_data(ROWS[:3])
    q.step()
    src.add_data(ROWS[3:])
    with pytest.raises(sn.StreamingQueryException, match="hot raised ValueError"):
        q.step()
    sn.udf("hot", lambda c: c, "double")  # the fix, registered before the query starts again
    again = sn.start(sql, sink=sn.sinks.duckdb(db, "out"), **options)
    again.process_all_available(timeout=30)
    again.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.sql("SELECT device, t FROM out ORDER BY t NULLS FIRST").fetchall()
    assert got == [("b", None), ("a", -3.25), ("a", 20.5), (None, 100.0)]


def test_a_function_over_an_aggregate_shows_in_the_teaching_views_state(src):
    q = sn.start("SELECT device, fahrenheit(avg(temp)) AS f FROM src GROUP BY device", sources={"src": src},
                 trigger="manual")
    src.add_data(ROWS[:1])
    q.step()
    state = q.history[-1].state  # the final projection, run again on a connection of the view's own
    assert state.column("f").to_pylist() == [20.5 * 9 / 5 + 32]


def test_functions_run_in_every_stage_of_chained_aggregations(src):
    inner = ("SELECT window(ts, '10 seconds') AS w, shout(device) AS who, count(*) AS n FROM src "
             "WATERMARK ts DELAY OF INTERVAL 0 SECONDS GROUP BY window(ts, '10 seconds'), shout(device)")
    q = sn.start(f"SELECT plus_one(count(*)) AS groups_plus_one, fahrenheit(sum(n)) AS f FROM ({inner}) "
                 "GROUP BY window(window_time(w), '1 minute')", sources={"src": src}, trigger="manual",
                 output_mode="append")
    src.add_data(ROWS[:3])
    q.step()
    src.add_data([{**ROWS[0], "ts": T0 + dt.timedelta(minutes=5)}])  # moves the watermark past both windows
    q.step()
    q.step()
    assert q.result.to_dict("records") == [{"groups_plus_one": 4, "f": 3 * 9 / 5 + 32}]
    states = [trace.state for trace in q.history]  # each stage's state, its functions run again for the view
    assert any(state is not None and state.num_rows for state in states)


def test_a_function_in_a_continuous_query(src):
    q = sn.start("SELECT device, fahrenheit(temp) AS f FROM src WHERE fahrenheit(temp) > 60", sources={"src": src},
                 trigger="continuous")
    src.add_data(ROWS)
    q.process_all_available(timeout=30)
    assert sorted(q.result["f"]) == [20.5 * 9 / 5 + 32, 100.0 * 9 / 5 + 32]


def test_a_function_without_arguments_is_called_once_a_row(src):
    # Spark calls a UDF without arguments for each row (it never folds a Python function into a constant)
    tickets = iter(range(100))
    sn.udf("ticket", lambda: next(tickets), "bigint")
    sn.udf("broken", lambda: 1 / 0, "double")
    q = sn.start("SELECT device, ticket() AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data(ROWS)
    q.step()
    assert sorted(q.result["t"].tolist()) == list(range(len(ROWS)))
    failing = sn.start("SELECT broken() AS b FROM src", sources={"src": src}, trigger="manual")
    with pytest.raises(sn.StreamingQueryException) as err:
        failing.step()
    assert "the Python function broken raised ZeroDivisionError" in str(err.value)


# A vector whose argument tuples repeat: Spark lets a deterministic function's duplicate calls be eliminated
REPEATED = [dict(row, n=None if row["n"] is None else row["n"] + i % 3) for i in range(75) for row in ROWS]


@pytest.mark.parametrize("name", [*SCALAR])
def test_a_function_over_repeated_arguments_gives_each_row_what_the_builtin_gives(src, name):
    q = sn.start(f"SELECT device, {name}({ARGUMENTS[name]}) AS out FROM src", sources={"src": src},
                 trigger="manual")
    src.add_data(REPEATED)
    q.step()
    expected = one_shot(f"SELECT device, {SCALAR[name][2]} AS out FROM src", REPEATED)
    pd.testing.assert_frame_equal(q.result.reset_index(drop=True), expected, check_dtype=False)


def _counting(calls: list, f):
    def fn(*args):
        calls.append(args)
        return f(*args)
    return fn


def test_a_deterministic_function_is_called_once_per_distinct_arguments_of_a_vector(src):
    calls = []
    sn.udf("ticket", _counting(calls, lambda d, n: f"{d}:{n}"), "string")
    q = sn.start("SELECT ticket(device, n) AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data(REPEATED)
    q.step()
    distinct = {(r["device"], r["n"]) for r in REPEATED}
    assert sorted(calls, key=repr) == sorted(distinct, key=repr)  # (None, -2..0) too: NULL reaches it as None
    assert q.result["t"].tolist() == [f"{r['device']}:{r['n']}" for r in REPEATED]


def test_a_nondeterministic_function_is_called_once_a_row(src):
    calls = []
    sn.udf("ticket", _counting(calls, lambda d: d), "string", deterministic=False)
    q = sn.start("SELECT ticket(device) AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data(REPEATED)
    q.step()
    assert len(calls) == len(REPEATED)


def test_floats_equal_in_python_but_not_to_the_function_each_reach_it(src):
    # -0.0 == 0.0 in Python, yet str() tells them apart: float arguments are never merged
    sn.udf("ticket", str, "string")
    q = sn.start("SELECT ticket(temp) AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data([dict(ROWS[0], temp=-0.0 if i % 2 else 0.0) for i in range(200)])
    q.step()
    assert q.result["t"].tolist() == ["0.0", "-0.0"] * 100


def test_a_failing_function_over_repeated_arguments_names_the_first_row_that_fails(src):
    sn.udf("broken", lambda n: 1 / (n - 2) if n > 1 else 1 / (n + 2), "double")  # fails on n = 2, then on -2
    q = sn.start("SELECT broken(n) AS b FROM src", sources={"src": src}, trigger="manual")
    src.add_data([dict(ROWS[0], n=n) for n in [0, 1, 2, -2] * 50])
    with pytest.raises(sn.StreamingQueryException) as err:
        q.step()
    assert "the Python function broken raised ZeroDivisionError" in str(err.value)
    assert "arguments: (2)" in str(err.value)
