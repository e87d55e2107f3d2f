"""Partial aggregates of a batch, and what the queries built on them give, as Spark gives it."""

from datetime import UTC, datetime

import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.engine.partials import partial_aggregates
from stream_nb.sql.aggregates import Partial

BIG = 1_700_000_000_000_000_000  # beyond 2^53: no double holds it exactly


def run(sql, batches, schema, mode=None, watermark=None):
    src = sn.sources.memory(schema)
    q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode=mode, watermark=watermark)
    for batch in batches:
        src.add_data(batch)
        q.process_all_available()  # with a watermark, a no-data batch emits what it closed
    result, schema = q.result, q.schema
    q.stop()
    return result, schema


@pytest.mark.parametrize("mode", ["update", "complete"])
def test_case6_avg_of_a_bigint_beyond_2_pow_53_is_a_double_as_in_spark(mode):
    # Spark's avg over a long sums the values cast to double; sum, min and max stay exact longs.
    result, schema = run("SELECT k, avg(x) AS a, sum(x) AS s, min(x) AS lo, max(x) AS hi FROM t GROUP BY k",
                         [[{"k": "a", "x": BIG}], [{"k": "a", "x": 3}]], "k string, x bigint", mode)
    row = result.iloc[0]
    assert row.a == (float(BIG) + 3.0) / 2
    assert (row.s, row.lo, row.hi) == (BIG + 3, 3, BIG)
    assert schema.field("a").type == pa.float64() and schema.field("s").type == pa.int64()


def test_case6_avg_of_a_bigint_beyond_2_pow_53_in_append_mode():
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    result, _ = run("SELECT window(ts, '10 seconds') AS w, avg(x) AS a FROM t GROUP BY window(ts, '10 seconds')",
                    [[{"ts": ts, "x": BIG}, {"ts": ts, "x": -BIG}], [{"ts": ts.replace(minute=5), "x": 1}]],
                    "ts timestamp, x bigint", "append", {"t": ("ts", "0 seconds")})
    assert result["a"].tolist() == [0.0]


def test_sum_of_bigints_wraps_on_overflow_as_spark_does_without_ansi():
    result, _ = run("SELECT sum(x) AS s FROM t", [[{"x": 2**62}, {"x": 2**62}], [{"x": 1}]], "x bigint")
    assert result["s"].tolist() == [-(2**63) + 1]


def test_partial_avg_sum_of_a_bigint_is_the_sum_of_doubles():
    pre = pa.table({"__k0": ["a", "a"], "__x0": pa.array([BIG, 1], pa.int64())})
    partial = partial_aggregates(pre, ["__k0"], [Partial("s", "sum_double", "__x0", "add")])
    assert partial.column("s").to_pylist() == [float(BIG) + 1.0]


def test_count_of_a_column_counts_its_non_null_values_whether_or_not_the_batch_has_nulls():
    # a batch without nulls in x takes count(x) from the row count; one with nulls counts them apart
    counts = [Partial("n", "count", "__x0", "add"), Partial("r", "count_all", None, "add")]
    keys = ["a", "b", "a"]
    full = partial_aggregates(pa.table({"__k0": keys, "__x0": [1.0, float("nan"), 2.0]}), ["__k0"], counts)
    holes = partial_aggregates(pa.table({"__k0": keys, "__x0": [None, None, 2.0]}), ["__k0"], counts)
    assert full.select(["__k0", "n", "r"]).to_pylist() == [{"__k0": "a", "n": 2, "r": 2},
                                                           {"__k0": "b", "n": 1, "r": 1}]
    assert holes.select(["__k0", "n", "r"]).to_pylist() == [{"__k0": "a", "n": 1, "r": 2},
                                                            {"__k0": "b", "n": 0, "r": 1}]
    assert full.schema.field("n").type == holes.schema.field("n").type == pa.int64()


def test_avg_and_stddev_over_batches_with_and_without_nulls_equal_spark_s():
    batches = [[{"k": "a", "x": 1.0}, {"k": "a", "x": 3.0}], [{"k": "a", "x": None}, {"k": "a", "x": 5.0}]]
    result, _ = run("SELECT k, count(x) AS n, avg(x) AS a, stddev_pop(x) AS s FROM t GROUP BY k", batches,
                    "k string, x double", "update")
    row = result.iloc[0]
    assert (row.n, row.a) == (3, 3.0)
    assert row.s == pytest.approx((8 / 3) ** 0.5)


MAXIMUM = [Partial("m", "max", "__x0", "max")]


@pytest.mark.parametrize(("values", "expected"), [
    ([1.0, float("nan"), 2.0], [float("nan"), 5.0]),                          # NaN is the largest double
    ([float("inf"), float("-inf"), 2.0], [float("inf"), 5.0]),              # infinities sum to NaN, hold none
    ([float("inf"), float("nan"), 2.0], [float("nan"), 5.0]),
    ([1e308, 1e308, None], [1e308, 5.0]),                                    # a sum beyond doubles holds no NaN
    ([None, None, None], [None, 5.0]),
])
def test_max_of_doubles_is_nan_where_a_key_has_a_nan_and_infinities_or_overflow_are_not_nan(values, expected):
    pre = pa.table({"__k0": ["a", "a", "a", "b"], "__x0": pa.array([*values, 5.0], pa.float64())})
    got = partial_aggregates(pre, ["__k0"], MAXIMUM).column("m").to_pylist()
    assert [str(v) for v in got] == [str(v) for v in expected]


def test_max_of_floats_is_nan_where_a_key_has_a_nan():
    pre = pa.table({"__k0": ["a", "a", "b"], "__x0": pa.array([1.0, float("nan"), 5.0], pa.float32())})
    assert [str(v) for v in partial_aggregates(pre, ["__k0"], MAXIMUM).column("m").to_pylist()] == ["nan", "5.0"]
