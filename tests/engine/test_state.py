"""Keyed state: partial aggregates merged batch by batch equal the aggregate over all rows at once."""

import math
import statistics

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import parse_one

import stream_nb as sn
from stream_nb.engine.state import KeyedState
from stream_nb.sql.aggregates import Partial, make_aggregate


def run(sql, batches, schema="k string, x double, s string", mode=None):
    src = sn.sources.memory(schema)
    q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode=mode)
    for batch in batches:
        src.add_data(batch)
        q.step()
    result = q.result.sort_values(list(q.result.columns[:1])).reset_index(drop=True)
    q.stop()
    return result


BATCHES = [
    [{"k": "a", "x": 1.0, "s": "m"}, {"k": "a", "x": None, "s": None}, {"k": "b", "x": 4.0, "s": "z"}],
    [{"k": "a", "x": 5.0, "s": "c"}, {"k": "c", "x": None, "s": "q"}],
    [{"k": "b", "x": -2.0, "s": "a"}, {"k": "a", "x": 9.5, "s": "x"}],
]
ALL = [row for batch in BATCHES for row in batch]


def values(key, column="x"):
    return [r[column] for r in ALL if r["k"] == key and r[column] is not None]


def test_sum_min_max_of_numbers_and_strings_merge_across_batches():
    result = run("SELECT k, sum(x) AS s, min(x) AS lo, max(x) AS hi, min(s) AS first_s, max(s) AS last_s "
                 "FROM t GROUP BY k", BATCHES)
    a = result.iloc[0]
    assert a.s == sum(values("a")) and a.lo == min(values("a")) and a.hi == max(values("a"))
    assert a.first_s == min(values("a", "s")) and a.last_s == max(values("a", "s"))
    c = result.iloc[2]
    assert math.isnan(c.s) and math.isnan(c.lo)  # only nulls: sum and min are null, as in Spark


def test_variance_and_stddev_merge_with_chans_formula():
    result = run("SELECT k, variance(x) AS v, stddev(x) AS sd, var_pop(x) AS vp, stddev_pop(x) AS sdp "
                 "FROM t GROUP BY k", BATCHES)
    a = result.iloc[0]
    assert a.v == pytest.approx(statistics.variance(values("a")))
    assert a.sd == pytest.approx(statistics.stdev(values("a")))
    assert a.vp == pytest.approx(statistics.pvariance(values("a")))
    assert a.sdp == pytest.approx(statistics.pstdev(values("a")))


def _shape(xs):
    """Spark's skewness and kurtosis of a list (population moments): sqrt(n) M3 / M2^1.5, n M4 / M2^2 - 3."""
    n, mean = len(xs), sum(xs) / len(xs)
    m2, m3, m4 = (sum((x - mean) ** k for x in xs) for k in (2, 3, 4))
    return math.sqrt(n) * m3 / m2 ** 1.5, n * m4 / m2 ** 2 - 3.0


SHAPE_SQL = "SELECT k, skewness(x) AS s, kurtosis(x) AS ku, stddev(x) AS sd FROM t GROUP BY k"
SHAPE_BATCHES = BATCHES + [[{"k": "b", "x": 7.5, "s": None}, {"k": "d", "x": 3.0, "s": None}],
                           [{"k": "a", "x": -4.0, "s": None}, {"k": "d", "x": 3.0, "s": None}]]


def _shape_rows(q):
    """The sink's rows from its Arrow table (a NULL stays None there, where pandas makes it NaN)."""
    return {r["k"]: r for r in q.sink.table().to_pylist()}


def test_skewness_and_kurtosis_merge_with_pebays_formulas_and_are_null_without_spread():
    src = sn.sources.memory("k string, x double, s string")
    q = sn.start(SHAPE_SQL, sources={"t": src}, trigger="manual", output_mode="complete")
    for batch in SHAPE_BATCHES:
        src.add_data(batch)
        q.step()
    rows = _shape_rows(q)
    q.stop()
    every = [r for batch in SHAPE_BATCHES for r in batch]
    for key in ("a", "b"):
        xs = [r["x"] for r in every if r["k"] == key and r["x"] is not None]
        assert (rows[key]["s"], rows[key]["ku"]) == pytest.approx(_shape(xs), rel=1e-9)
    assert (rows["c"]["s"], rows["c"]["ku"]) == (None, None)  # no value
    assert (rows["d"]["s"], rows["d"]["ku"], rows["d"]["sd"]) == (None, None, 0.0)  # M2 = 0: Spark 3.5's NULL


CO_SQL = ("SELECT k, corr(x, x * x) AS c, covar_samp(x, x * x) AS cs, regr_slope(x * x, x) AS slope, "
          "regr_count(x, x) AS n FROM t GROUP BY k")


@pytest.mark.parametrize("sql", [SHAPE_SQL, CO_SQL], ids=["skewness_kurtosis", "covariance_correlation"])
def test_moment_state_restores_from_the_checkpoint(tmp_path, sql):
    """Five state columns an aggregate for skewness and kurtosis (count, mean, M2, M3, M4), six for corr, covar
    and regr (count, two means, the co-moment, two spreads), checkpointed with the others: a restart after
    every batch gives what one uninterrupted run gives."""
    src = sn.sources.memory("k string, x double, s string")
    for batch in SHAPE_BATCHES:
        q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode="complete", checkpoint=str(tmp_path))
        src.add_data(batch)
        q.process_all_available()
        restarted = _shape_rows(q)
        q.stop()
    fresh = sn.sources.memory("k string, x double, s string")
    q = sn.start(sql, sources={"t": fresh}, trigger="manual", output_mode="complete")
    for batch in SHAPE_BATCHES:
        fresh.add_data(batch)
        q.step()
    _assert_close(restarted, _shape_rows(q))
    assert all(value is not None for value in restarted["a"].values())  # a's values are numbers, not NULLs
    q.stop()


def _assert_close(a, b):
    assert a.keys() == b.keys()
    for key in a:
        for column, value in a[key].items():
            other = b[key][column]
            if isinstance(value, float):
                assert value == pytest.approx(other, rel=1e-12), (key, column)
            else:
                assert value == other, (key, column)


def test_stddev_state_columns_are_unchanged_so_old_checkpoints_restore():
    """stddev and variance keep their three (count, mean, M2) columns under the "moments" rule: a checkpoint
    written before skewness and kurtosis existed holds exactly these."""
    plan = make_aggregate(parse_one("stddev(x)", read="spark"), 0, "__x0", "stddev(x)")
    assert [(p.name, p.function, p.merge) for p in plan.partials] == [
        ("__a0_n", "count", "moments"), ("__a0_m", "mean", "moments"), ("__a0_q", "m2", "moments")]


def test_count_distinct_counts_each_value_once_across_batches():
    batches = [[{"k": "a", "x": 1.0, "s": "p"}, {"k": "a", "x": 1.0, "s": "p"}],
               [{"k": "a", "x": 1.0, "s": "q"}, {"k": "a", "x": 2.0, "s": None}]]
    result = run("SELECT k, count(DISTINCT x) AS dx, count(DISTINCT s) AS ds, count(*) AS n FROM t GROUP BY k",
                 batches)
    assert result.to_dict("records") == [{"k": "a", "dx": 2, "ds": 2, "n": 4}]


def test_first_and_last_follow_arrival_order():
    result = run("SELECT k, first(x) AS f, last(x) AS l, first(x, true) AS fn, last(s) AS ls FROM t GROUP BY k",
                 BATCHES)
    a = result.iloc[0]
    assert a.f == 1.0 and a.l == 9.5 and a.fn == 1.0 and a.ls == "x"
    c = result.iloc[2]
    assert math.isnan(c.f)  # first(x) keeps a null that came first; first(x, true) skips it


def test_global_aggregate_has_one_row():
    result = run("SELECT count(*) AS n, sum(x) AS s FROM t", BATCHES, mode="complete")
    assert result.to_dict("records") == [{"n": len(ALL), "s": sum(r["x"] for r in ALL if r["x"] is not None)}]


def test_state_grows_by_doubling_and_keeps_every_key():
    state = KeyedState(["__k0"], [Partial("n", "count_all", None, "add")], capacity=2)
    for start in range(0, 50, 10):
        state.apply(state.prepare(pa.table({"__k0": list(range(start, start + 10)), "n": [1] * 10})))
        state.apply(state.prepare(pa.table({"__k0": [0], "n": [1]})))
    rows = {r["__k0"]: r["n"] for r in state.rows(state.all_slots()).to_pylist()}
    assert len(rows) == 50 and rows[0] == 6 and rows[49] == 1


def test_prepare_changes_nothing_until_apply():
    state = KeyedState(["__k0"], [Partial("n", "count_all", None, "add")])
    state.apply(state.prepare(pa.table({"__k0": ["a"], "n": [1]})))
    update = state.prepare(pa.table({"__k0": ["a", "b"], "n": [5, 5]}))
    assert state.num_rows == 1
    assert state.rows(state.all_slots()).to_pylist() == [{"__k0": "a", "n": 1}]
    assert sorted(state.rows_after(update).to_pylist(), key=str) == [{"__k0": "a", "n": 6}, {"__k0": "b", "n": 5}]


def _counts(state):
    return sorted((tuple(sorted(r.items(), key=lambda kv: kv[0])) for r in state.rows(state.all_slots()).to_pylist()),
                  key=repr)


@pytest.mark.parametrize("buckets", [1, 3])
def test_keys_whose_hashes_collide_stay_apart(monkeypatch, buckets):
    """With every key in one of a few hash buckets, keys are still told apart by value: the same counts as
    with the real hash, through new keys, known keys, eviction and a checkpoint's export and load."""
    import numpy as np

    from stream_nb.engine import state as state_module

    window = pa.struct([("start", pa.int64()), ("end", pa.int64())])

    def batch(keys):
        return pa.table({"__k0": pa.array([{"start": s, "end": s + 10} if s is not None else None for s, _ in keys],
                                          window),
                         "__k1": pa.array([k for _, k in keys], pa.string()),
                         "n": pa.array([1] * len(keys), pa.int64())})

    batches = [
        [(0, "a"), (0, "b"), (10, "a"), (None, "a"), (0, None)],
        [(0, "a"), (20, "b"), (None, "a"), (10, "c"), (0, None)],
        [(10, "a"), (30, "a"), (0, "b"), (20, "b")],
    ]

    def run_all():
        state = KeyedState(["__k0", "__k1"], [Partial("n", "count_all", None, "add")], capacity=2)
        for keys in batches:
            state.apply(state.prepare(batch(keys)))
        evicted = state.all_slots()[:2]
        state.evict(evicted)
        state.apply(state.prepare(batch([(0, "a"), (40, "z")])))
        restored = KeyedState(["__k0", "__k1"], [Partial("n", "count_all", None, "add")])
        restored.load(state.export(state.all_slots()))
        restored.apply(restored.prepare(batch([(10, "c"), (0, None), (50, "q")])))
        return _counts(state), _counts(restored)

    expected = run_all()
    real = state_module.key_hashes
    monkeypatch.setattr(state_module, "key_hashes", lambda table, names: real(table, names) % np.uint64(buckets))
    assert run_all() == expected


def test_keys_python_hashes_alike_stay_apart_through_eviction():
    """Decimal keys hash through Python's hash(), where -1 and -2 collide: still four groups, each counted,
    evicted once its window closes, and a later window's count keeps growing."""
    src = sn.sources.memory("ts timestamp, a decimal(10,2), b decimal(10,2)")
    q = sn.start("SELECT window(ts, '10 seconds') AS w, a, b, count(*) AS n FROM t "
                 "WATERMARK ts DELAY OF INTERVAL 0 SECONDS GROUP BY window(ts, '10 seconds'), a, b",
                 sources={"t": src}, trigger="manual", output_mode="update")
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    src.add_data([{"ts": t0 + pd.Timedelta(seconds=1), "a": a, "b": b} for a, b in
                  [(-1, -1), (-1, -2), (-2, -1), (-2, -2)]])
    q.step()
    assert q.last_progress["stateOperators"][0]["numRowsTotal"] == 4
    for second in (15, 16, 17):
        src.add_data([{"ts": t0 + pd.Timedelta(seconds=second), "a": 5, "b": 5}])
        q.process_all_available()
    assert q.last_progress["stateOperators"][0]["numRowsTotal"] == 1  # the first window was evicted
    result = q.result
    assert result[result["a"] == 5]["n"].tolist() == [3]
    assert sorted(result[result["a"] < 0]["n"].tolist()) == [1, 1, 1, 1]
    q.stop()


def test_nan_and_signed_zero_keys_are_one_group_each():
    """As Spark: NaN groups with NaN, and -0.0 with 0.0 (also within one batch), count(DISTINCT) too."""
    src = sn.sources.memory("x double, s string")
    q = sn.start("SELECT x, count(*) AS n, count(DISTINCT s) AS d FROM t GROUP BY x", sources={"t": src},
                 trigger="manual", output_mode="update")
    for batch in ([(float("nan"), "a"), (-0.0, "a"), (0.0, "b")], [(float("nan"), "b"), (0.0, "a"), (-0.0, "c")]):
        src.add_data([{"x": x, "s": s} for x, s in batch])
        q.step()
    rows = q.result.to_dict("records")
    q.stop()
    assert len(rows) == 2
    nan, zero = sorted(rows, key=lambda r: r["x"] == 0)
    assert math.isnan(nan["x"]) and (nan["n"], nan["d"]) == (2, 2)
    assert zero["x"] == 0 and (zero["n"], zero["d"]) == (4, 3)


def test_date_keys_are_kept_as_dates():
    src = sn.sources.memory("ts timestamp, v double")
    q = sn.start("SELECT CAST(ts AS DATE) AS day, count(*) AS n FROM t GROUP BY CAST(ts AS DATE)",
                 sources={"t": src}, trigger="manual", output_mode="update")
    src.add_data([{"ts": "2024-05-01 10:00:00", "v": 1.0}, {"ts": "2024-05-02 10:00:00", "v": 1.0}])
    q.step()
    src.add_data([{"ts": "2024-05-01 23:00:00", "v": 1.0}])
    q.step()
    assert {str(r["day"]): r["n"] for r in q.result.to_dict("records")} == {"2024-05-01": 2, "2024-05-02": 1}
    q.stop()


NAN = float("nan")


def _nan_run(sql, batches, mode="update", checkpoint=None):
    """Run over batches of d values (one column, ``d double``, and a key ``k``); the result as records."""
    src = sn.sources.memory("k string, d double")
    q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode=mode, checkpoint=checkpoint)
    for batch in batches:
        src.add_data([{"k": "a", "d": d} for d in batch])
        q.step()
    rows = q.result.to_dict("records")
    q.stop()
    return rows


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and math.isnan(a) else a == b


def test_case7_count_distinct_counts_nan_once_across_batches():
    # one batch [NaN, 1.0, NaN, None] gives 2; spread over batches it must give 2 as well
    one = _nan_run("SELECT count(DISTINCT d) AS n FROM t", [[NAN, 1.0, NAN, None]])
    spread = _nan_run("SELECT count(DISTINCT d) AS n FROM t", [[NAN, 1.0], [NAN, None], [NAN]])
    assert one == spread == [{"n": 2}]


def test_case7_count_distinct_counts_nan_once_after_a_restart_on_the_checkpoint(tmp_path):
    sql, src = "SELECT count(DISTINCT d) AS n FROM t", sn.sources.memory("k string, d double")
    for batch in ([NAN, 1.0], [NAN, NAN, 2.0]):  # the second query restores the NaN seen from the checkpoint
        q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode="update", checkpoint=str(tmp_path))
        src.add_data([{"k": "a", "d": d} for d in batch])
        q.process_all_available()
        q.stop()
    assert q.result["n"].tolist() == [3]


@pytest.mark.parametrize(("batches", "low", "high"), [
    ([[1.0, NAN], [2.0]], 1.0, NAN),           # NaN in the first batch
    ([[1.0, None], [NAN, 5.0]], 1.0, NAN),     # NaN arrives later
    ([[NAN], [NAN]], NAN, NAN),                # only NaN: min is NaN too
    ([[NAN], [3.0, None]], 3.0, NAN),          # min: any number is below NaN
    ([[-1.0], [float("inf")]], -1.0, float("inf")),
])
def test_case7_max_is_nan_when_any_value_is_and_min_skips_nan_unless_all_are(batches, low, high):
    """Spark orders NaN above every other double, +inf included: max is NaN, min the least number."""
    for mode in ("update", "complete"):
        [row] = _nan_run("SELECT min(d) AS lo, max(d) AS hi, max(d) > 1e308 AS hi_big FROM t", batches, mode)
        assert _same(row["lo"], low) and _same(row["hi"], high), (mode, row)
        assert row["hi_big"] == (high > 1e308 or math.isnan(high))  # DuckDB's NaN is the largest too


def test_nan_keys_group_together_across_batches_and_windows():
    src = sn.sources.memory("ts timestamp, d double")
    q = sn.start("SELECT window(ts, '10 seconds') AS w, d, d = CAST('NaN' AS DOUBLE) AS is_nan, d IS NULL AS "
                 "is_null, count(*) AS n FROM t GROUP BY window(ts, '10 seconds'), d", sources={"t": src},
                 trigger="manual", output_mode="update")
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for batch in ([(1, NAN), (2, None), (12, NAN)], [(3, NAN), (4, NAN), (13, -0.0), (14, None)]):
        src.add_data([{"ts": t0 + pd.Timedelta(seconds=s), "d": d} for s, d in batch])
        q.step()
    rows = sorted((r["w"]["start"].second, "null" if r["is_null"] else "NaN" if r["is_nan"] else str(r["d"]),
                   r["n"]) for r in q.result.to_dict("records"))
    q.stop()
    assert rows == [(0, "NaN", 3), (0, "null", 1), (10, "0.0", 1), (10, "NaN", 1), (10, "null", 1)]


def test_first_and_last_keep_nan_as_a_value_not_a_null():
    [row] = _nan_run("SELECT first(d) AS f, last(d) AS l, first(d, true) AS fn, last(d, true) AS ln FROM t",
                     [[None, NAN], [2.0, NAN, None]])
    assert row["f"] is None or math.isnan(row["f"])
    assert math.isnan(row["fn"]) and math.isnan(row["ln"])  # NaN is a value: ignoring nulls does not skip it


def test_first_and_first_ignoring_nulls_in_one_query_stay_apart():
    """first(x) and first(x, true) are two aggregates (they once shared one column: the null-keeping one)."""
    [row] = _nan_run("SELECT first(d) AS f, first(d, true) AS fn, last(d) AS l, last(d, true) AS ln FROM t",
                     [[None, 1.5], [2.5, None]])
    assert row["f"] is None or math.isnan(row["f"])
    assert (row["fn"], row["ln"]) == (1.5, 2.5)
    assert row["l"] is None or math.isnan(row["l"])


_D_VALUES = st.one_of(st.none(), st.sampled_from([NAN, 1.5, -2.0, 0.0, -0.0, float("inf"), float("-inf")]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(st.sampled_from(["a", "b"]), _D_VALUES), max_size=8), min_size=1, max_size=4))
def test_case7_nan_aggregates_over_batches_equal_one_pass_over_all_rows(batches):
    """However rows with NaN, NULL, ±0 and ±inf are cut into batches, the aggregates equal DuckDB's over all
    rows at once (DuckDB orders NaN as Spark does: equal to itself, above every other double)."""
    sql = ("SELECT k, count(DISTINCT d) AS nd, count(d) AS n, max(d) AS hi, min(d) AS lo, "
           "max(d) = CAST('NaN' AS DOUBLE) AS hi_nan, min(d) = CAST('NaN' AS DOUBLE) AS lo_nan FROM t GROUP BY k")
    src = sn.sources.memory("k string, d double")
    q = sn.start(sql, sources={"t": src}, trigger="manual", output_mode="update")
    try:
        for batch in batches:
            src.add_data([{"k": k, "d": d} for k, d in batch])
            q.step()
        got = sorted(map(_plain, q.result.to_dict("records")), key=lambda r: r["k"])
    finally:
        q.stop()
    rows = [row for batch in batches for row in batch]
    t = pa.table({"k": pa.array([k for k, _ in rows], pa.string()), "d": pa.array([d for _, d in rows], pa.float64())})
    con = duckdb.connect()
    con.register("t", t)
    expected = sorted(map(_plain, con.sql(sql).to_arrow_table().to_pylist()), key=lambda r: r["k"])
    assert got == expected, t.to_pylist()


def _plain(row: dict) -> dict:
    """A result row comparable across pandas and Arrow: NaN as None, as pandas shows a NULL double (the
    ``*_nan`` columns tell NaN from NULL)."""
    def value(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if hasattr(v, "item") else v
    return {name: value(v) for name, v in row.items()}


def _restore_tables():
    """A checkpoint's tables for keys (window end, device): a snapshot, then deltas that update some keys,
    add others, and evict through a watermark (the last delta evicts nothing)."""
    from stream_nb.engine.watermark import record_eviction

    def table(rows):
        return pa.table({"__k0": pa.array([end for end, _, _ in rows], pa.int64()),
                         "__k1": pa.array([d for _, d, _ in rows], pa.string()),
                         "n": pa.array([n for _, _, n in rows], pa.int64())})

    return [table([(10, "a", 1), (10, "b", 2), (20, "a", 3), (20, None, 4)]),
            table([(10, "b", 5), (30, "c", 6)]),
            record_eviction(table([(20, "a", 7), (40, "a", 8)]), 10),
            record_eviction(table([]).cast(table([(1, "a", 1)]).schema), 20),
            table([(30, "c", 9), (50, "d", 10)])]


def _restored(tables, one_pass):
    from stream_nb.engine.watermark import evicted_through
    from stream_nb.sql.event_time import EventTimeKey

    state = KeyedState(["__k0", "__k1"], [Partial("n", "count_all", None, "add")], capacity=2,
                       event_time=EventTimeKey(0))
    if one_pass:
        assert state.load_all(tables, [evicted_through(t) for t in tables])
    else:
        for t in tables:
            state.load(t)
            through = evicted_through(t)
            if through is not None:
                state.evict(state.expired(through))
    return state


def test_a_restore_in_one_pass_equals_loading_the_snapshot_and_each_delta_in_turn():
    """Each key's last row wins, keys evicted through a delta's watermark are gone (those re-added after it
    stay), and the state goes on taking batches the same way."""
    tables = _restore_tables()
    one, each = _restored(tables, True), _restored(tables, False)
    assert _counts(one) == _counts(each)
    assert sorted((r["__k0"], r["__k1"], r["n"]) for r in _counts_rows(one)) == [
        (30, "c", 9), (40, "a", 8), (50, "d", 10)]
    batch = pa.table({"__k0": pa.array([30, 60], pa.int64()), "__k1": ["c", "e"], "n": pa.array([1, 1], pa.int64())})
    for state in (one, each):
        state.apply(state.prepare(batch))
    assert _counts(one) == _counts(each)


def _counts_rows(state):
    return state.rows(state.all_slots()).to_pylist()


def test_a_restore_in_one_pass_gives_up_on_colliding_hashes_and_leaves_the_state_empty(monkeypatch):
    """Two keys with one hash cannot be told apart by a bulk insert: ``load_all`` says so, changes nothing,
    and the restore loads table by table (KeyedOperator.restore), keeping every key apart."""
    import numpy as np

    from stream_nb.engine import state as state_module
    from stream_nb.engine.watermark import evicted_through
    from stream_nb.sql.event_time import EventTimeKey

    tables = _restore_tables()
    expected = _counts(_restored(tables, False))
    real = state_module.key_hashes
    monkeypatch.setattr(state_module, "key_hashes", lambda table, names: real(table, names) % np.uint64(2))
    state = KeyedState(["__k0", "__k1"], [Partial("n", "count_all", None, "add")], event_time=EventTimeKey(0))
    assert not state.load_all(tables, [evicted_through(t) for t in tables])
    assert state.num_rows == 0
    assert _counts(_restored(tables, False)) == expected


def test_a_restart_over_a_checkpoint_gives_the_result_of_an_uninterrupted_run(tmp_path):
    """Through a snapshot and deltas that update keys: q.result after a restart is the result so far."""
    src = sn.sources.memory("k string, x double")
    sql = "SELECT k, count(*) AS n, sum(x) AS total FROM t GROUP BY k"
    q = sn.start(sql, sources={"t": src}, trigger="manual", checkpoint=str(tmp_path / "cp"))
    rows = []
    for batch in range(13):  # past a snapshot (every 10 versions), deltas after it
        fed = [{"k": f"k{(batch * 7 + i) % 23}", "x": float(i)} for i in range(5)]
        rows += fed
        src.add_data(fed)
        q.step()
    q.stop()
    again = sn.start(sql, sources={"t": src}, trigger="manual", checkpoint=str(tmp_path / "cp"))
    expected = pd.DataFrame(rows).groupby("k").agg(n=("x", "size"), total=("x", "sum")).reset_index()
    got = again.result.sort_values("k").reset_index(drop=True)
    again.stop()
    assert got["k"].tolist() == sorted(expected["k"]) and got["n"].tolist() == \
        expected.sort_values("k")["n"].tolist() and got["total"].tolist() == expected.sort_values("k")["total"].tolist()
