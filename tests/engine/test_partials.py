"""Partial aggregates of a batch, and what the queries built on them give, as Spark gives it."""

import math
from datetime import UTC, datetime

import numpy as np
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


@pytest.mark.parametrize(("values", "expected"), [
    ([1.0, float("nan"), 2.0], [float("nan"), 5.0]),
    ([float("inf"), float("-inf"), 2.0], [float("inf"), 5.0]),
    ([float("inf"), float("nan"), 2.0], [float("nan"), 5.0]),
    ([1e308, 1e308, None], [1e308, 5.0]),
    ([None, None, None], [None, 5.0]),
    ([-0.0, 0.0, -1.0], [-0.0, 5.0]),
])
def test_max_beside_a_sum_of_the_column_finds_nan_from_the_grouped_sums(values, expected):
    """avg(x) and max(x) together: the batch's group sums say whether x held a NaN (no pass over its rows
    first); a NaN, an infinity or an overflow anywhere sends it the way max alone goes, with the same result."""
    pre = pa.table({"__k0": ["a", "a", "a", "b"], "__x0": pa.array([*values, 5.0], pa.float64())})
    both = [Partial("s", "sum_double", "__x0", "add"), *MAXIMUM]
    got = partial_aggregates(pre, ["__k0"], both).column("m").to_pylist()
    alone = partial_aggregates(pre, ["__k0"], MAXIMUM).column("m").to_pylist()
    assert [str(v) for v in got] == [str(v) for v in alone] == [str(v) for v in expected]


def test_max_of_floats_is_nan_where_a_key_has_a_nan():
    pre = pa.table({"__k0": ["a", "a", "b"], "__x0": pa.array([1.0, float("nan"), 5.0], pa.float32())})
    assert [str(v) for v in partial_aggregates(pre, ["__k0"], MAXIMUM).column("m").to_pylist()] == ["nan", "5.0"]


def _fixed_width_cases():
    """String and binary keys of one width (sliced, in several chunks, multi-byte UTF-8), and ones that are not
    (a null, two widths, empty strings): the same partial aggregates either way."""
    import numpy as np

    rng = np.random.default_rng(3)
    names = [f"d{i:04d}" for i in range(300)]

    def column(values, kind=None):
        return pa.array(values, kind or pa.string())

    many = [names[i] for i in rng.integers(0, 300, 20_000)]
    return {
        "one width": pa.chunked_array([column(many)]),
        "sliced, in chunks": pa.chunked_array([column(many).slice(3, 9_000), column(many[:12_000]).slice(7)]),
        "large strings": pa.chunked_array([column(many, pa.large_string())]),
        "binary": pa.chunked_array([column([n.encode() for n in many], pa.binary())]),
        "multi-byte": pa.chunked_array([column([("é" if i % 2 else "ab") + n for i, n in enumerate(many)])]),
        "a null": pa.chunked_array([column(many[:-1] + [None])]),
        "two widths": pa.chunked_array([column(many[:-1] + ["d12345"])]),
        "chunks of two widths": pa.chunked_array([column(many[:10_000]), column([n + "x" for n in many[:10_000]])]),
        "empty strings": pa.chunked_array([column([""] * 20_000)]),
    }


@pytest.mark.parametrize("case", list(_fixed_width_cases()))
@pytest.mark.parametrize("parallel", [False, True])
def test_string_keys_of_one_width_group_as_fixed_width_bytes_into_the_same_partials(monkeypatch, case, parallel):
    """A key of one width is grouped as fixed-size bytes (``_fixed_width``) and comes out with its own type and
    values: every group, count, sum and max as when grouped as strings, whatever the batch's size or threads."""
    from stream_nb.engine import partials

    keys = _fixed_width_cases()[case]
    pre = pa.table({"__k0": keys, "__x0": pa.array([float(i % 97) for i in range(len(keys))])})
    wanted = [Partial("n", "count_all", None, "add"), Partial("s", "sum", "__x0", "add"),
              Partial("m", "max", "__x0", "max")]

    def groups():
        table = partial_aggregates(pre, ["__k0"], wanted, parallel=parallel)
        assert table.schema.field("__k0").type == keys.type
        return sorted(table.to_pylist(), key=lambda row: (row["__k0"] is not None, row["__k0"]))

    monkeypatch.setattr(partials, "FIXED_WIDTH_ROWS", 2**62)
    as_strings = groups()
    monkeypatch.setattr(partials, "FIXED_WIDTH_ROWS", 0)
    assert groups() == as_strings
    assert (partials._fixed_width(keys) is not None) == (case in ("one width", "sliced, in chunks", "large strings",
                                                                  "binary", "multi-byte"))


def test_count_distinct_of_a_fixed_width_string_counts_its_values(monkeypatch):
    from stream_nb.engine import partials

    monkeypatch.setattr(partials, "FIXED_WIDTH_ROWS", 0)
    pre = pa.table({"__k0": ["a", "b", "a", "a"], "__x0": ["xy", "zz", "xy", "zq"]})
    pairs = partials.distinct_pairs(pre, ["__k0"], "__x0")
    assert pairs.schema == pre.schema
    assert sorted(map(tuple, (r.values() for r in pairs.to_pylist()))) == [("a", "xy"), ("a", "zq"), ("b", "zz")]


SHAPE = [Partial("n", "count", "__x0", "moments4"), Partial("m", "mean", "__x0", "moments4"),
         Partial("q", "m2", "__x0", "moments4"), Partial("c", "m3", "__x0", "moments4"),
         Partial("f", "m4", "__x0", "moments4")]


def _central(xs):
    values = np.array(xs, float)
    d = values - values.mean()
    return [len(xs), values.mean(), (d ** 2).sum(), (d ** 3).sum(), (d ** 4).sum()]


@pytest.mark.parametrize("kind", [pa.float64(), pa.int32(), pa.int64()])
def test_m3_and_m4_partials_are_the_sums_of_cubed_and_fourth_power_deviations(kind):
    """From Arrow's population skew and kurtosis (with variance and count): M3 = g1 * M2^1.5 / sqrt(n),
    M4 = (g2 + 3) * M2^2 / n; a constant group and a group of one value have M2 = M3 = M4 = 0 (Arrow's shape
    is NaN there), a group of NULLs only 0 everywhere, and NULLs are skipped."""
    pre = pa.table({"__k0": ["a", "b", "a", "c", "a", "b", "d", "a"],
                    "__x0": pa.array([1, 7, 5, None, 9, 7, 3, 2], kind)})
    rows = {r["__k0"]: r for r in partial_aggregates(pre, ["__k0"], SHAPE).to_pylist()}
    assert [rows["a"][p.name] for p in SHAPE] == pytest.approx(_central([1, 5, 9, 2]), rel=1e-12)
    assert [rows["b"][p.name] for p in SHAPE] == [2, 7.0, 0.0, 0.0, 0.0]
    assert [rows["d"][p.name] for p in SHAPE] == [1, 3.0, 0.0, 0.0, 0.0]
    assert [rows["c"][p.name] for p in SHAPE[2:]] == [0.0, 0.0, 0.0] and rows["c"]["n"] == 0


def test_m3_and_m4_partials_of_a_global_aggregate_and_of_an_empty_batch():
    full = partial_aggregates(pa.table({"__x0": [1.0, 5.0, 9.0, 2.0]}), [], SHAPE).to_pylist()[0]
    assert [full[p.name] for p in SHAPE] == pytest.approx(_central([1, 5, 9, 2]), rel=1e-12)
    empty = partial_aggregates(pa.table({"__x0": pa.array([], pa.float64())}), [], SHAPE).to_pylist()[0]
    assert (empty["n"], empty["c"], empty["f"]) == (0, 0.0, 0.0)


def test_m3_and_m4_of_a_nan_are_nan_as_in_spark():
    pre = pa.table({"__k0": ["a", "a", "b"], "__x0": [1.0, float("nan"), 2.0]})
    rows = {r["__k0"]: r for r in partial_aggregates(pre, ["__k0"], SHAPE).to_pylist()}
    assert math.isnan(rows["a"]["c"]) and math.isnan(rows["a"]["f"]) and rows["b"]["c"] == 0.0


def test_a_null_struct_key_is_its_own_group_apart_from_a_struct_of_nulls_across_batches():
    src = sn.sources.memory("loc struct<lat: double, lon: double>, x double")
    q = sn.start("SELECT loc, count(*) AS n, sum(x) AS s FROM t GROUP BY loc", sources={"t": src},
                 trigger="manual", output_mode="complete")
    try:
        for batch in ([{"loc": {"lat": None, "lon": None}, "x": 1.0}],
                      [{"loc": None, "x": 2.0}, {"loc": {"lat": 1.0, "lon": 2.0}, "x": 4.0}],
                      [{"loc": None, "x": 8.0}, {"loc": {"lat": None, "lon": None}, "x": 16.0}]):
            src.add_data(batch)
            q.step()
        assert sorted(q.sink.table().to_pylist(), key=str) == [
            {"loc": None, "n": 2, "s": 10.0}, {"loc": {"lat": 1.0, "lon": 2.0}, "n": 1, "s": 4.0},
            {"loc": {"lat": None, "lon": None}, "n": 2, "s": 17.0}]
    finally:
        q.stop()


def test_a_struct_key_with_a_field_named_like_the_validity_column_keeps_its_values():
    src = sn.sources.memory("k struct<__valid: boolean, a: int>")
    q = sn.start("SELECT k, count(*) AS n FROM t GROUP BY k", sources={"t": src}, trigger="manual",
                 output_mode="complete")
    try:
        src.add_data([{"k": {"__valid": False, "a": 1}}, {"k": {"__valid": True, "a": 1}}, {"k": None}])
        q.step()
        assert sorted(q.sink.table().to_pylist(), key=str) == [
            {"k": None, "n": 1}, {"k": {"__valid": False, "a": 1}, "n": 1}, {"k": {"__valid": True, "a": 1}, "n": 1}]
    finally:
        q.stop()
