"""Aggregates over decimals as Spark computes them (issue 12 case 9): exact values, Spark's result types
(sum: decimal(p + 10, s); avg: decimal(p + 4, s + 4), rounded half up), NULL on overflow."""

from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stream_nb as sn
from stream_nb.engine import decimals

D = Decimal
BATCHES = [[{"k": "a", "x": D("1.50")}, {"k": "a", "x": None}, {"k": "b", "x": D("-2.25")}],
           [{"k": "a", "x": D("2.00")}, {"k": "a", "x": D("1.00")}, {"k": "b", "x": D("0.01")}]]


def run(sql, batches=BATCHES, schema="k string, x decimal(10,2)", mode="update", **options):
    src = sn.sources.memory(schema)
    q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode=mode, **options)
    for batch in batches:
        src.add_data(batch)
        q.process_all_available()
    result, schema = q.result, q.schema
    q.stop()
    return sorted(result.to_dict("records"), key=lambda r: str(r.get("k"))), schema


@pytest.mark.parametrize("mode", ["update", "complete"])
def test_case9_sum_of_decimals_is_exact_and_widened_by_ten_digits(mode):
    rows, schema = run("SELECT k, sum(x) AS s FROM t GROUP BY k", mode=mode)
    assert rows == [{"k": "a", "s": D("4.50")}, {"k": "b", "s": D("-2.24")}]
    assert schema.field("s").type == pa.decimal128(20, 2)


def test_case9_avg_of_decimals_is_a_decimal_rounded_half_up():
    batches = [[{"k": "a", "x": D("1.00")}, {"k": "a", "x": D("2.00")}], [{"k": "a", "x": D("2.00")}],
               [{"k": "b", "x": D("0.01")}, {"k": "b", "x": D("0.00")}, {"k": "b", "x": None}]]
    rows, schema = run("SELECT k, avg(x) AS a FROM t GROUP BY k", batches)
    # 5.00 / 3 = 1.6666666... -> 1.666667; 0.01 / 2 = 0.005 -> 0.005000 (nulls are not counted)
    assert rows == [{"k": "a", "a": D("1.666667")}, {"k": "b", "a": D("0.005000")}]
    assert schema.field("a").type == pa.decimal128(14, 6)


def test_case9_avg_of_decimals_inside_expressions_and_having_stays_exact():
    rows, schema = run("SELECT k, avg(x) * 2 AS twice, sum(x) + 1 AS more FROM t GROUP BY k HAVING avg(x) > 0")
    assert rows == [{"k": "a", "twice": D("3.000000"), "more": D("5.50")}]  # 4.50 / 3 = 1.5, b's avg < 0
    assert pa.types.is_decimal(schema.field("twice").type)


def test_case9_first_and_last_of_decimals_follow_arrival_order():
    rows, _ = run("SELECT k, first(x) AS f, last(x) AS l, first(x, true) AS fn, last(x, true) AS ln, "
                  "min(x) AS lo, max(x) AS hi FROM t GROUP BY k",
                  [[{"k": "a", "x": None}, {"k": "a", "x": D("1.50")}], [{"k": "a", "x": D("3.00")},
                                                                          {"k": "a", "x": None}]])
    assert rows == [{"k": "a", "f": None, "l": None, "fn": D("1.50"), "ln": D("3.00"), "lo": D("1.50"),
                     "hi": D("3.00")}]


def test_case9_stddev_variance_and_count_distinct_of_decimals():
    rows, schema = run("SELECT k, count(DISTINCT x) AS d, var_pop(x) AS v, avg(x) AS a FROM t GROUP BY k",
                       [[{"k": "a", "x": D("1.00")}, {"k": "a", "x": D("3.00")}], [{"k": "a", "x": D("1.00")}]])
    assert rows == [{"k": "a", "d": 2, "v": pytest.approx(8 / 9), "a": D("1.666667")}]
    assert schema.field("v").type == pa.float64()  # Spark's variance works in doubles


def test_case9_decimal_sum_that_overflows_its_type_is_null_as_spark_without_ansi():
    big = D("9" * 28 + ".99")  # decimal(30,2): the sum is decimal(38,2), which holds 36 integer digits
    rows, schema = run("SELECT sum(x) AS s FROM t", [[{"x": big}] * 5, [{"x": big}] * 5], "x decimal(30,2)")
    assert schema.field("s").type == pa.decimal128(38, 2)
    assert rows == [{"s": D("9" * 29 + ".90")}]
    over = D("9" * 36 + ".99")
    rows, _ = run("SELECT sum(x) AS s FROM t", [[{"x": over}], [{"x": over}]], "x decimal(38,2)")
    assert rows == [{"s": None}]


def test_case9_decimal_state_survives_a_restart_on_its_checkpoint(tmp_path):
    src = sn.sources.memory("k string, x decimal(10,2)")
    for batch in BATCHES:
        q = sn.start("SELECT k, sum(x) AS s, avg(x) AS a, first(x) AS f FROM t GROUP BY k", sources={"t": src},
                     trigger="manual", checkpoint=str(tmp_path))
        src.add_data(batch)
        q.process_all_available()
        q.stop()
    assert sorted(q.result.to_dict("records"), key=lambda r: r["k"]) == [
        {"k": "a", "s": D("4.50"), "a": D("1.500000"), "f": D("1.50")},
        {"k": "b", "s": D("-2.24"), "a": D("-1.120000"), "f": D("-2.25")}]


@pytest.mark.parametrize("format", ["parquet", "csv", "json"])
def test_case9_read_files_sink_reads_back_decimal_columns(tmp_path, format):
    # the files sink's manifest names each column's type in DDL, which now says decimal(p,s)
    src = sn.sources.memory("k string, x decimal(30,10)")
    q = sn.start("SELECT k, x, sum(x) AS s FROM t GROUP BY k, x", sources={"t": src}, trigger="manual",
                 output_mode="complete", sink=sn.sinks.files(str(tmp_path), format=format))
    src.add_data([{"k": "a", "x": D("12345678901234567890.0123456789")}])
    q.process_all_available()
    q.stop()
    assert sn.read_files_sink(str(tmp_path)).to_dict("records") == [
        {"k": "a", "x": D("12345678901234567890.0123456789"), "s": D("12345678901234567890.0123456789")}]


def test_types_follow_sparks_decimal_rules_capped_at_38():
    assert decimals.sum_type(pa.decimal128(30, 5)) == pa.decimal128(38, 5)
    assert decimals.mean_type(decimals.sum_type(pa.decimal128(10, 0))) == pa.decimal128(14, 4)
    assert decimals.mean_type(decimals.sum_type(pa.decimal128(38, 36))) == pa.decimal128(38, 38)


def test_case9_avg_of_decimals_under_a_function_next_to_columns_shown_as_they_are():
    # the final projection computes round(avg) in DuckDB over the finished avg, and picks sum as it is
    rows, schema = run("SELECT k, round(avg(x), 1) AS r, sum(x) AS s, avg(x) AS a FROM t GROUP BY k")
    assert rows == [{"k": "a", "r": D("1.5"), "s": D("4.50"), "a": D("1.500000")},
                    {"k": "b", "r": D("-1.1"), "s": D("-2.24"), "a": D("-1.120000")}]
    assert pa.types.is_decimal(schema.field("r").type)


_AMOUNTS = st.one_of(st.none(), st.integers(-10**8, 10**8).map(lambda cents: D(cents).scaleb(-2)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.sampled_from(["a", "b"]), _AMOUNTS), max_size=8), min_size=1, max_size=4))
def test_case9_decimal_sum_and_avg_over_batches_equal_exact_arithmetic_over_all_rows(batches):
    src = sn.sources.memory("k string, x decimal(10,2)")
    q = sn.start("SELECT k, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(x) AS hi FROM t GROUP BY k",
                 sources={"t": src}, trigger="manual", output_mode="update")
    try:
        for batch in batches:
            src.add_data([{"k": k, "x": x} for k, x in batch])
            q.step()
        got = {r["k"]: (r["s"], r["a"], r["lo"], r["hi"]) for r in q.result.to_dict("records")}
    finally:
        q.stop()
    values = {}
    for k, x in (row for batch in batches for row in batch):
        values.setdefault(k, [])
        if x is not None:
            values[k].append(x)
    expected = {k: (sum(xs), (sum(xs) / len(xs)).quantize(D("0.000001"), rounding=ROUND_HALF_UP), min(xs), max(xs))
                if xs else (None, None, None, None) for k, xs in values.items()}
    assert got == expected
