"""Spark's non-ANSI answers where DuckDB would raise: NULL for a zero divisor or a string that does not parse,
integers that wrap around (issue 12, case 8). Date functions: test_spark_dates.py."""

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sql import plan_query

SCHEMA = "n int, b bigint, t tinyint, d double, s string, day string, ts timestamp"
ROW = {"n": 5, "b": 2**62, "t": 100, "d": 1.5, "s": "abc", "day": "2024-01-31",
       "ts": pd.Timestamp("2024-01-02 00:00:10.750", tz="UTC")}


def value_of(expression: str, **row):
    """``expression`` over one row of the stream, as ``q.result`` holds it after one batch."""
    src = sn.sources.memory(SCHEMA)
    q = sn.start(f"SELECT {expression} AS x FROM src", sources={"src": src}, trigger="manual")
    src.add_data([{**ROW, **row}])
    q.step()
    assert q.exception is None, q.exception
    result = q.result
    q.stop()
    return result["x"].iloc[0], result["x"].dtype


@pytest.mark.parametrize("expression", [
    "n % 0", "mod(n, 0)", "n DIV 0", "d % 0", "b % 0", "n % (n - 5)", "pmod(n, 0)",
    "to_timestamp('garbage')", "to_timestamp(s, 'yyyy-MM-dd')", "int(s)", "double(s)", "bigint(s)",
    "timestamp(s)", "date(s)", "unix_timestamp('2024-01-02')", "unix_timestamp(s, 'yyyy-MM-dd')",
    "to_unix_timestamp(s)", "int('1e3')", "int('0x10')", "int('1_000')", "int('99999999999')",
    "double('1_0')", "cast('1_0' AS decimal(10, 2))", "int('')", "int('-')", "double('1e')",
    # DuckDB's strptime reads these as dates: 'infinity' then broke q.result, 'epoch' was 1970
    "to_timestamp('infinity', 'yyyy-MM-dd')", "to_date('-infinity', 'yyyy-MM-dd')", "unix_timestamp('epoch')",
])
def test_case_8_runtime_errors_are_null_as_in_spark(expression):
    value, _ = value_of(expression)
    assert pd.isna(value), f"{expression} gave {value!r}, Spark gives NULL"


@pytest.mark.parametrize(("expression", "row", "expected"), [
    ("n + 2147483647", {"n": 5}, -2147483644),
    ("n * n", {"n": 2147483647}, 1),
    ("n - 1", {"n": -2147483648}, 2147483647),
    ("-n", {"n": -2147483648}, -2147483648),
    ("b * 2", {"b": 2**62}, -(2**63)),
    ("b + b + b", {"b": 2**62}, -(2**62)),
    ("t + t", {"t": 100}, -56),            # tinyint + tinyint is a tinyint in Spark, and wraps at 8 bits
    ("t + 100", {"t": 100}, 200),          # tinyint + int is an int
    ("n + b", {"n": 1, "b": 2**63 - 1}, -(2**63)),
    ("n + 2147483648", {"n": 5}, 2147483653),      # a literal beyond int's range is a bigint
    ("(n + 2147483648) * 2", {"n": 5}, 4294967306),
    ("n + -2147483648", {"n": -1}, 2147483647),
    ("int(b)", {"b": 3000000000}, -1294967296),    # a narrowing cast wraps, as the JVM's (int) long does
    ("cast(n AS tinyint)", {"n": 300}, 44),
    ("int(d * 1e10)", {"d": 1.5}, 2147483647),       # a fraction beyond the range saturates
    ("int(d * 1e10)", {"d": -1.5}, -2147483648),
    ("int(double('NaN'))", {}, 0),
    ("bigint(d * 1e20)", {"d": 1.5}, 2**63 - 1),        # a long's bound too (a double rounds it up past it)
    ("bigint(double('Infinity'))", {}, 2**63 - 1),
    ("bigint(double('-Infinity'))", {}, -(2**63)),
    ("cast(d * 1e4 AS smallint)", {"d": 4.00007}, -25536),   # smallint, tinyint: the int's low bits
    ("cast(d * 1e4 AS tinyint)", {"d": 4.00007}, 64),
    ("cast(d * 1e12 AS smallint)", {"d": 1.5}, -1),            # Int.MaxValue.toShort
    ("cast(d AS tinyint)", {"d": -3.7}, -3),
    ("bigint(d * 1.8)", {"d": 1.5}, 2),            # Spark's cast functions truncate as the casts do (not 3)
    ("smallint(d * -1.8)", {"d": 1.5}, -2),
    ("abs(n)", {"n": -2147483648}, -2147483648),   # Math.abs of the smallest int is itself on the JVM
    ("abs(b)", {"b": -(2**63)}, -(2**63)),
    ("abs(n)", {"n": -7}, 7),
    ("negative(n)", {"n": -2147483648}, -2147483648),
    ("positive(n)", {"n": -5}, -5),
])
def test_case_8_integer_overflow_wraps_as_in_spark(expression, row, expected):
    value, _ = value_of(expression, **row)
    assert value == expected


@pytest.mark.parametrize(("expression", "expected"), [
    ("unix_timestamp('2024-01-02 00:00:10')", 1704153610),
    ("unix_timestamp(ts)", 1704153610),  # floored, as Spark does, not rounded
    ("int('12')", 12),
    ("int(' 42 ')", 42),
    ("int('1.5')", 1),                   # Spark cuts the fraction off; DuckDB would round to 2
    ("bigint('-1.9')", -1),
    ("int('.5')", 0),                    # Spark reads a bare fraction as 0
    ("int('-.5')", 0),
    ("int('5.')", 5),
    ("double('1d')", 1.0),               # Java's Double.parseDouble takes a d or f suffix
    ("double(' 2.5F ')", 2.5),
    ("cast(' true ' AS boolean)", True),  # trimmed, as Spark does
    ("n % 3", 2),
    ("n DIV 2", 2),
    ("pmod(-n, 3)", 1),
    ("pmod(n, -3)", 2),
])
def test_case_8_valid_input_keeps_its_value(expression, expected):
    value, _ = value_of(expression)
    assert value == expected


def test_the_plan_says_what_duckdb_runs():
    src = sn.sources.memory("n int, s string")
    plan = plan_query("SELECT n DIV 0 AS q, double(s) AS f, n + 1 AS m FROM t", namespaces=[{"t": src}])
    assert plan.stateless_sql == (
        "SELECT t.n // NULLIF(0, 0) AS q, TRY_CAST(CASE WHEN CONTAINS(TRIM(t.s), '_') THEN NULL "
        "ELSE REGEXP_REPLACE(TRIM(t.s), '([0-9.])[dDfF]$', '\\1', 'g') END AS DOUBLE) AS f, "
        "CAST(((CAST(t.n AS BIGINT) + CAST(1 AS BIGINT) + 2147483648) & 4294967295) - 2147483648 AS INT) AS m "
        "FROM __batch AS t")


def test_integer_arithmetic_inside_an_aggregate_wraps_too():
    src = sn.sources.memory("k string, n int")
    q = sn.start("SELECT k, sum(n + 2147483647) AS total, count(*) * 2 AS twice FROM src GROUP BY k",
                 sources={"src": src}, trigger="manual")
    src.add_data([{"k": "a", "n": 1}, {"k": "a", "n": 2}])
    q.step()
    assert q.result.to_dict("records") == [{"k": "a", "total": -2147483648 - 2147483647, "twice": 4}]
