"""Spark functions whose DuckDB namesakes read their arguments otherwise (rewrites.spark_functions)."""

import pytest

import stream_nb as sn
from tests.sql.test_non_ansi import value_of


@pytest.mark.parametrize(("expression", "expected"), [
    ("substring(s, 0, 2)", "ab"),     # Spark's position 0 is the first character, like 1; DuckDB gave 'a'
    ("substring(s, 1, 2)", "ab"),
    ("substr(s, n - 5, 2)", "ab"),    # a computed 0 too
    ("substring(s, -2)", "bc"),
    ("bround(2.5)", 2),               # half to even; DuckDB has no bround
    ("bround(d, 0)", 2.0),
    ("bround(-3.5)", -4),
])
def test_spark_functions_read_their_arguments_as_spark_does(expression, expected):
    value, _ = value_of(expression)
    assert value == expected, f"{expression} gave {value!r}"


@pytest.mark.parametrize(("sql", "mode", "expected"), [
    ("WITH hot AS (SELECT device, temp FROM src WHERE temp > 1) SELECT device, temp FROM hot", "append",
     [{"device": "a", "temp": 2.0}, {"device": "a", "temp": 3.0}]),
    (("WITH e AS (SELECT * FROM src), hot AS (SELECT * FROM e WHERE temp > 1) "
     "SELECT device, count(*) AS n FROM hot GROUP BY device"), "complete", [{"device": "a", "n": 2}]),
    (("WITH names AS (SELECT 'a' AS device, 'first' AS label) "
     "SELECT s.device, n.label FROM src s JOIN names n ON s.device = n.device WHERE s.temp < 3"), "append",
     [{"device": "a", "label": "first"}]),
])
def test_a_cte_runs_as_the_subquery_it_names_as_in_spark(sql, mode, expected):
    src = sn.sources.memory("device string, temp double")
    q = sn.start(sql, sources={"src": src}, output_mode=mode, trigger="manual")
    src.add_data([{"device": "a", "temp": 2.0}, {"device": "b", "temp": 0.5}])
    q.step()
    src.add_data([{"device": "a", "temp": 3.0}])
    q.step()
    assert q.exception is None, q.exception
    assert q.result.to_dict("records") == expected


@pytest.mark.parametrize(("d", "expected"), [
    (1.5e10, "1.5E10"), (1e7, "1.0E7"), (1234567.0, "1234567.0"), (0.001, "0.001"), (1e-4, "1.0E-4"),
    (-2.5e300, "-2.5E300"), (0.1 + 0.2, "0.30000000000000004"), (float("inf"), "Infinity"),
])
def test_a_double_cast_to_a_string_is_written_as_java_writes_it(d, expected):
    value, _ = value_of("cast(d AS string)", d=d)
    assert value == expected
