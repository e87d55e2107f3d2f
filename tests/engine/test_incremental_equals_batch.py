"""Incremental equals batch: the engine's core acceptance criterion (DESIGN §2).

After every micro-batch, ``q.result`` must equal the same SQL run once by DuckDB over all rows fed so far:

* append mode (no aggregation): every row emitted so far equals the stateless query over all rows so far;
* complete mode: the whole result table equals the one-shot result;
* update mode: the result upserted by group key equals the one-shot result.

Hypothesis generates the rows, how they are cut into micro-batches (empty batches included) and the query,
from a small grammar of SQL that means the same in Spark and DuckDB: projections and filters, grouped and
global aggregates with WHERE and HAVING, stream-static joins (INNER and LEFT OUTER) and a subquery in FROM.
The engine reads the Spark SQL; the oracle reads ``sqlglot.transpile(sql, read="spark", write="duckdb")``.
A few hand-written examples at the end pin the most important cases in plain sight.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stream_nb as sn
from stream_nb.sql.aggregates import CO_MOMENTS

SCHEMA = "k string, g bigint, x double, y bigint"
ARROW_SCHEMA = pa.schema([("k", pa.string()), ("g", pa.int64()), ("x", pa.float64()), ("y", pa.int64())])
DIM_COLUMNS = ["k", "label", "w"]

# Each test draws this many examples; the whole file stays well under a minute on two cores.
EXAMPLES = 50
PBT = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    report_multiple_bugs=False,
)


@pytest.fixture(autouse=True, scope="module")
def _stop_all_queries():
    # Module scope: hypothesis refuses function-scoped fixtures around @given. Each query is also stopped
    # in a finally of its own; this is the net for anything a failure left running.
    yield
    sn.stop_all()


# --------------------------------------------------------------------------------------------- data


def _nullable(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), values)


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "k": _nullable(st.sampled_from(["a", "b", "c", "dd"])),
            "g": _nullable(st.integers(-2, 3)),
            # Quarters in [-100, 100]: sums of these are exact in a double, so an incremental sum and a
            # one-shot sum agree to the last bit and the comparison tests the engine, not rounding.
            "x": _nullable(st.integers(-400, 400).map(lambda i: i / 4)),
            "y": _nullable(st.integers(-5, 20)),
        }
    ),
    max_size=60,
)

DIM = st.lists(
    st.fixed_dictionaries(
        {
            # "e" never occurs in the stream; "dd" and a NULL k sometimes do not occur in dim.
            "k": _nullable(st.sampled_from(["a", "b", "c", "dd", "e"])),
            "label": _nullable(st.sampled_from(["L1", "L2", "L3"])),
            "w": _nullable(st.integers(-3, 5)),
        }
    ),
    max_size=7,
).map(lambda rows: _dim_frame(rows))


def _dim_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "k": pd.Series([r["k"] for r in rows], dtype=object),
            "label": pd.Series([r["label"] for r in rows], dtype=object),
            "w": pd.Series([r["w"] for r in rows], dtype="Int64"),
        },
        columns=DIM_COLUMNS,
    )


@st.composite
def batches(draw) -> list[list[dict]]:
    """The rows cut into 1-6 consecutive micro-batches; some may be empty."""
    rows = draw(ROWS)
    cuts = sorted(draw(st.lists(st.integers(0, len(rows)), max_size=5)))
    bounds = [0, *cuts, len(rows)]
    return [rows[a:b] for a, b in itertools.pairwise(bounds)]


# ------------------------------------------------------------------------------------------ queries


@dataclass(frozen=True)
class Query:
    sql: str  # Spark SQL, as the engine reads it
    output_mode: str
    global_aggregate: bool = False
    oracle_sql: str | None = None  # what DuckDB runs instead, where its functions are not Spark's


def _where(draw, predicates: Sequence[str]) -> str:
    predicate = draw(st.one_of(st.none(), st.sampled_from(predicates)))
    return f" WHERE {predicate}" if predicate else ""


def _pick(draw, items: Sequence[str], min_size: int = 1, max_size: int = 4) -> list[str]:
    return draw(st.lists(st.sampled_from(items), min_size=min_size, max_size=max_size, unique=True))


# Every output column is named, so the engine and DuckDB agree on names (Spark would call an unnamed
# count(*) "count(1)", DuckDB "count_star()").
PROJECTIONS = [
    "k",
    "g",
    "x",
    "y",
    "x * 2 AS x2",
    "y + 1 AS y1",
    "CASE WHEN x > 0 THEN 'pos' WHEN x < 0 THEN 'neg' ELSE 'zero' END AS sign",
    "coalesce(y, -1) AS y0",
    "abs(x) AS ax",
    "upper(k) AS uk",
    # Spark's concat is NULL if any argument is; sqlglot turns it into DuckDB's NULL-propagating ||.
    "concat(k, '-', g) AS kg",
    "length(k) AS kl",
    "y % 3 AS r",
]

PREDICATES = [
    "x > 2.5",
    "x <= -10",
    "y IS NOT NULL",
    "k IN ('a', 'b')",
    "g = 1",
    "x > 0 AND y < 10",
    "k IS NULL OR y > 7",
    "NOT (x < 0)",
    "coalesce(g, 0) >= 1",
]

# Group keys as (SELECT item, GROUP BY expression).
GROUP_KEYS = {
    "k": ("k", "k"),
    "g": ("g", "g"),
    "y % 3": ("y % 3 AS r", "y % 3"),
    "upper(k)": ("upper(k) AS uk", "upper(k)"),
}

AGGREGATES = [
    "count(*) AS n",
    "count(x) AS nx",
    "count(DISTINCT y) AS dy",
    "sum(x) AS sx",
    "sum(y) AS sy",
    "avg(x) AS ax",
    "avg(y) AS ay",
    "sum(x * y) AS sxy",
    "sum(CASE WHEN x > 0 THEN 1 ELSE 0 END) AS npos",
    "min(x) AS mnx",
    "max(y) AS mxy",
    "min(k) AS mnk",
    "max(k) AS mxk",
    # Spark's stddev/variance are the sample versions, like DuckDB's, and both give NULL for a group of
    # one row (Spark 3+, spark.sql.legacy.statisticalAggregate=false), so that edge is compared as is.
    "stddev(x) AS sdx",
    "variance(x) AS vx",
    # Expressions over aggregates, computed after the stateful aggregate.
    "max(y) - min(y) AS spread",
    # DuckDB rounds half away from zero, Spark HALF_UP on the decimal form: the same for these values.
    "round(avg(x), 3) AS rax",
    "sum(x) + count(*) AS sxn",
    # Values kept per group. Scalars of them only (the oracle's lists would not compare as Spark's arrays):
    # sizes (coalesced: DuckDB's list of no value is NULL, Spark's empty), max_by/min_by by an ord that
    # decides the value (x is in quarters and -5 <= y <= 20: a tie has the same y), and median, which
    # DuckDB interpolates as Spark does.
    "coalesce(size(collect_set(y)), 0) AS csy",
    "coalesce(size(collect_list(x)), 0) AS clx",
    "max_by(y, x * 1000 + y) AS mby",
    "min_by(y, x * 1000 + y) AS nby",
    "median(y) AS mdy",
]

# In complete mode the last table is the whole result, so any HAVING is compared exactly.
HAVING_ANY = ["count(*) > 1", "sum(x) > 0", "avg(x) < 10", "max(y) > 5", "min(x) < 0", "count(y) >= 2"]
# In update mode the result is upserted from the rows each batch emits: a group that passed HAVING once and
# stops passing later is simply not emitted again (Spark), so its old row stays in the upserted table and
# would differ from the one-shot result. Only predicates that can never turn false again are generated.
HAVING_MONOTONE = ["count(*) > 1", "count(*) >= 3", "max(y) > 5", "min(x) < 0", "count(y) >= 2"]


def _having(draw, mode: str, any_predicates: Sequence[str], monotone: Sequence[str]) -> str:
    predicates = any_predicates if mode == "complete" else monotone
    predicate = draw(st.one_of(st.none(), st.sampled_from(predicates)))
    return f" HAVING {predicate}" if predicate else ""


def _order_by(draw, mode: str, columns: Sequence[str]) -> str:
    # Spark sorts a stream only after an aggregation in complete mode. Rows are compared as a multiset
    # (ties leave the order open), so this checks that such a query runs and is right, not the order.
    if mode != "complete" or not draw(st.booleans()):
        return ""
    return f" ORDER BY {draw(st.sampled_from(columns))} DESC"


@st.composite
def stateless_queries(draw) -> Query:
    columns = _pick(draw, PROJECTIONS)
    return Query(f"SELECT {', '.join(columns)} FROM t{_where(draw, PREDICATES)}", "append")


@st.composite
def grouped_queries(draw) -> Query:
    keys = [GROUP_KEYS[name] for name in _pick(draw, list(GROUP_KEYS), max_size=2)]
    aggregates = _pick(draw, AGGREGATES)
    mode = draw(st.sampled_from(["update", "complete"]))
    select = ", ".join([item for item, _ in keys] + aggregates)
    group_by = ", ".join(expr for _, expr in keys)
    sql = f"SELECT {select} FROM t{_where(draw, PREDICATES)} GROUP BY {group_by}"
    sql += _having(draw, mode, HAVING_ANY, HAVING_MONOTONE)
    sql += _order_by(draw, mode, [expr for _, expr in keys] + ["count(*)"])
    return Query(sql, mode)


@st.composite
def global_queries(draw) -> Query:
    aggregates = _pick(draw, AGGREGATES)
    mode = draw(st.sampled_from(["update", "complete"]))
    sql = f"SELECT {', '.join(aggregates)} FROM t{_where(draw, PREDICATES)}"
    return Query(sql, mode, global_aggregate=True)


# skewness / kurtosis: DuckDB's are the sample-corrected versions, so the oracle is Spark's formula over the
# population central moments, written out (two passes: the group's mean first), with Spark 3.5's NULL where
# there is no value or M2 = 0. Quarters keep a constant group's M2 exactly 0 on both sides.
SHAPES = {
    "skewness": "CASE WHEN count({v}) > 0 AND sum(pow({v} - mu_{v}, 2)) <> 0 THEN sqrt(count({v})) * "
                "sum(pow({v} - mu_{v}, 3)) / pow(sum(pow({v} - mu_{v}, 2)), 1.5) END",
    "kurtosis": "CASE WHEN count({v}) > 0 AND sum(pow({v} - mu_{v}, 2)) <> 0 THEN count({v}) * "
                "sum(pow({v} - mu_{v}, 4)) / pow(sum(pow({v} - mu_{v}, 2)), 2) - 3 END",
}


@st.composite
def shape_queries(draw) -> Query:
    key = draw(st.sampled_from([None, "k", "g"]))
    calls = _pick(draw, [(f, v) for f in SHAPES for v in ("x", "y")], max_size=3)
    where = _where(draw, PREDICATES)
    mode = draw(st.sampled_from(["update", "complete"]))
    keys, group_by = ([key], f" GROUP BY {key}") if key else ([], "")
    partition = f"PARTITION BY {key}" if key else ""
    engine = ", ".join(keys + [f"{f}({v}) AS {f}_{v}" for f, v in calls])
    spark = ", ".join(keys + [f"{SHAPES[f].format(v=v)} AS {f}_{v}" for f, v in calls])
    means = f"avg(x) OVER ({partition}) AS mu_x, avg(y) OVER ({partition}) AS mu_y"
    return Query(f"SELECT {engine} FROM t{where}{group_by}", mode, global_aggregate=key is None,
                 oracle_sql=f"SELECT {spark} FROM (SELECT *, {means} FROM t{where}) AS t{group_by}")


# covar / corr / regr: the oracle is Spark's finish over the co-moments written out in two passes (the group's
# means over its pairs without NULL first: ``a + 0 * b`` is NULL where either is), so what is checked is that
# the moments merged batch by batch (Chan's formulas) equal those of all rows at once.
COMOMENT_CALLS = ["covar_pop", "covar_samp", "corr", "regr_count", "regr_avgx", "regr_sxy", "regr_slope",
                  "regr_intercept", "regr_r2"]
PAIRS = [("x", "y"), ("y", "x"), ("x", "x")]


def _comoment_oracle(call: str, a: str, b: str, suffix: str) -> str:
    mean_a, mean_b = f"mu_a{suffix}", f"mu_b{suffix}"
    parts = {"n": f"count({a} + {b})", "ma": f"avg({a} + 0 * {b})", "mb": f"avg({b} + 0 * {a})",
             "ck": f"coalesce(sum(({a} - {mean_a}) * ({b} - {mean_b})), 0)",
             "m2a": f"coalesce(sum(pow({a} - {mean_a}, 2) + 0 * {b}), 0)",
             "m2b": f"coalesce(sum(pow({b} - {mean_b}, 2) + 0 * {a}), 0)"}
    kind = {"covar_pop": "CovarPop", "covar_samp": "CovarSamp", "corr": "Corr"}.get(call) or \
        "Regr" + call.removeprefix("regr_").capitalize()
    return CO_MOMENTS[kind].format(**{name: f"({value})" for name, value in parts.items()})


@st.composite
def comoment_queries(draw) -> Query:
    key = draw(st.sampled_from([None, "k", "g"]))
    calls = _pick(draw, [(f, p) for f in COMOMENT_CALLS for p in range(len(PAIRS))], max_size=3)
    where = _where(draw, PREDICATES)
    mode = draw(st.sampled_from(["update", "complete"]))
    keys, group_by = ([key], f" GROUP BY {key}") if key else ([], "")
    partition = f"PARTITION BY {key}" if key else ""
    engine = ", ".join(keys + [f"{f}({PAIRS[p][0]}, {PAIRS[p][1]}) AS {f}_{p}" for f, p in calls])
    spark = ", ".join(keys + [f"{_comoment_oracle(f, *PAIRS[p], p)} AS {f}_{p}" for f, p in calls])
    means = ", ".join(f"avg({a} + 0 * {b}) OVER ({partition}) AS mu_a{p}, avg({b} + 0 * {a}) OVER ({partition}) "
                      f"AS mu_b{p}" for p, (a, b) in enumerate(PAIRS))
    return Query(f"SELECT {engine} FROM t{where}{group_by}", mode, global_aggregate=key is None,
                 oracle_sql=f"SELECT {spark} FROM (SELECT *, {means} FROM t{where}) AS t{group_by}")


JOIN_PROJECTIONS = [
    "t.k AS k",
    "t.x AS x",
    "t.y AS y",
    "dim.label AS label",
    "dim.w AS w",
    "t.x * dim.w AS xw",
    "coalesce(dim.label, 'none') AS lab",
]
JOIN_KEYS = {"label": "dim.label", "k": "t.k"}
JOIN_AGGREGATES = [
    "count(*) AS n",
    "sum(t.x) AS sx",
    "count(dim.w) AS nw",
    "sum(dim.w) AS sw",
    "max(t.y) AS mxy",
    "avg(t.x) AS ax",
]
JOIN_PREDICATES = ["t.x > 0", "t.y IS NOT NULL", "dim.w > 1", "dim.label IS NULL"]


@st.composite
def join_queries(draw) -> tuple[Query, pd.DataFrame]:
    """A stream-static join on k, INNER or LEFT OUTER with the stream on the left."""
    dim = draw(DIM)
    join = draw(st.sampled_from(["JOIN", "INNER JOIN", "LEFT OUTER JOIN", "LEFT JOIN"]))
    source = f"FROM t {join} dim ON t.k = dim.k{_where(draw, JOIN_PREDICATES)}"
    if draw(st.booleans()):
        columns = _pick(draw, JOIN_PROJECTIONS)
        return Query(f"SELECT {', '.join(columns)} {source}", "append"), dim
    keys = _pick(draw, list(JOIN_KEYS), max_size=2)
    aggregates = _pick(draw, JOIN_AGGREGATES, max_size=3)
    select = ", ".join([f"{JOIN_KEYS[name]} AS {name}" for name in keys] + aggregates)
    group_by = ", ".join(JOIN_KEYS[name] for name in keys)
    mode = draw(st.sampled_from(["update", "complete"]))
    having = _having(draw, mode, ["sum(t.x) > 0", "count(*) > 1", "sum(dim.w) < 3"], ["count(*) > 1"])
    return Query(f"SELECT {select} {source} GROUP BY {group_by}{having}", mode), dim


INNER = "SELECT k, g, x * 2 AS x2, y + 1 AS y1 FROM t"
INNER_PREDICATES = ["y IS NOT NULL", "x > 0", "k <> 'a'", "g IS NULL OR g > 0"]
OUTER_AGGREGATES = ["count(*) AS n", "sum(x2) AS sx2", "max(y1) AS mxy1", "avg(x2) AS ax2", "min(y1) AS mny1"]


@st.composite
def subquery_queries(draw) -> Query:
    """A subquery in FROM that filters and projects, under a projection or a grouped aggregate; or an
    aggregating subquery filtered and projected outside (a HAVING written as an outer WHERE)."""
    inner = f"({INNER}{_where(draw, INNER_PREDICATES)}) s"
    shape = draw(st.sampled_from(["project", "aggregate", "filter aggregate"]))
    if shape == "project":
        columns = _pick(draw, ["k", "g", "x2", "y1", "x2 + y1 AS z"])
        where = _where(draw, ["x2 > 5", "y1 < 4"])
        return Query(f"SELECT {', '.join(columns)} FROM {inner}{where}", "append")
    key = draw(st.sampled_from(["k", "g"]))
    mode = draw(st.sampled_from(["update", "complete"]))
    if shape == "aggregate":
        aggregates = _pick(draw, OUTER_AGGREGATES, max_size=3)
        return Query(f"SELECT {key}, {', '.join(aggregates)} FROM {inner} GROUP BY {key}", mode)
    # As with HAVING, update mode only gets filters that a group cannot stop passing.
    having = draw(st.sampled_from(["n > 1", "mxy1 > 5"] + (["sx2 > 0"] if mode == "complete" else [])))
    aggregates = "count(*) AS n, sum(x2) AS sx2, max(y1) AS mxy1"
    aggregated = f"(SELECT {key}, {aggregates} FROM {inner} GROUP BY {key}) a"
    return Query(f"SELECT {key}, n, sx2 * 2 AS sx4 FROM {aggregated} WHERE {having}", mode)


# ------------------------------------------------------------------------------------------- oracle


_ORACLE = duckdb.connect()  # one connection for the module: connecting costs more than a small query


def oracle(sql: str, rows: list[dict], dim: pd.DataFrame | None = None) -> pd.DataFrame:
    """The SQL run once by DuckDB over all rows fed so far."""
    _ORACLE.register("t", pa.Table.from_pylist(rows, schema=ARROW_SCHEMA))
    if dim is not None:
        _ORACLE.register("dim", pa.Table.from_pandas(dim, preserve_index=False))
    result = _ORACLE.sql(sqlglot.transpile(sql, read="spark", write="duckdb")[0])
    return pd.DataFrame(result.fetchall(), columns=result.columns, dtype=object)


def _cell(value: Any) -> Any:
    """One value, normalised: every kind of missing is None and every number a float."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) or (hasattr(value, "__float__") and not isinstance(value, str)):
        number = float(value)
        return None if math.isnan(number) else number
    return value


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(_cell(v) for v in row) for row in frame.itertuples(index=False, name=None)]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _sort_key(row: tuple) -> tuple:
    return tuple(
        (0, "") if v is None else (1, float(f"{v:.9g}")) if isinstance(v, float) else (2, str(v)) for v in row
    )


def assert_same_table(got: pd.DataFrame, expected: pd.DataFrame, context: str) -> None:
    """The same columns and the same rows as a multiset, ignoring order, index and dtypes; floats equal
    to a relative (or absolute) 1e-9."""
    assert list(got.columns) == list(expected.columns), f"columns differ\n{context}"
    got_rows, expected_rows = sorted(_rows(got), key=_sort_key), sorted(_rows(expected), key=_sort_key)
    unmatched = list(got_rows)
    missing = []
    for row in expected_rows:
        match = next((i for i, g in enumerate(unmatched) if all(map(_same, g, row))), None)
        if match is None:
            missing.append(row)
        else:
            unmatched.pop(match)
    assert not missing and not unmatched, (
        f"{context}\nexpected {len(expected_rows)} rows, got {len(got_rows)}"
        f"\nmissing from q.result: {missing}\nnot expected in q.result: {unmatched}"
        f"\nq.result:\n{got}\nexpected (DuckDB over all rows so far):\n{expected}"
    )


# ------------------------------------------------------------------------------------------ the run


def run_and_check(query: Query, fed: list[list[dict]], dim: pd.DataFrame | None = None) -> None:
    """Feed the batches one by one; after every ``q.step()`` compare ``q.result`` with the oracle."""
    src = sn.sources.memory(SCHEMA)
    sources: dict[str, Any] = {"t": src}
    if dim is not None:
        sources["dim"] = dim
    q = sn.start(query.sql, sources=sources, output_mode=query.output_mode, trigger="manual")
    try:
        assert len(q.result) == 0, "a query that has run no batch has an empty result"
        so_far: list[dict] = []
        for batch_id, rows in enumerate(fed):
            src.add_data(rows)
            so_far.extend(rows)
            q.step()
            context = (
                f"SQL ({query.output_mode}): {query.sql}\nafter batch {batch_id} of {len(fed)}: "
                f"{len(rows)} new rows, {len(so_far)} so far\nbatches: {fed}"
                + (f"\ndim:\n{dim}" if dim is not None else "")
            )
            if query.global_aggregate and not so_far:
                # Spark runs no micro-batch until the source has data (no watermark, so no no-data batch),
                # so a global aggregate has no row yet, where DuckDB's one-shot run gives one row of
                # count 0 / NULLs. From the first batch on, Spark's global aggregate is one row even if
                # WHERE dropped every input row, like DuckDB's.
                assert len(q.result) == 0, f"no batch ran yet, so no result row\n{context}\n{q.result}"
                continue
            assert_same_table(q.result, oracle(query.oracle_sql or query.sql, so_far, dim), context)
    finally:
        q.stop()


@PBT
@given(query=stateless_queries(), fed=batches())
def test_projection_and_filter_in_append_mode(query, fed):
    run_and_check(query, fed)


@PBT
@given(query=grouped_queries(), fed=batches())
def test_grouped_aggregate(query, fed):
    run_and_check(query, fed)


@PBT
@given(query=global_queries(), fed=batches())
def test_global_aggregate(query, fed):
    run_and_check(query, fed)


@PBT
@given(query=shape_queries(), fed=batches())
def test_skewness_and_kurtosis_as_spark_computes_them(query, fed):
    run_and_check(query, fed)


@PBT
@given(query=comoment_queries(), fed=batches())
def test_covariance_correlation_and_regression_as_spark_computes_them(query, fed):
    run_and_check(query, fed)


@PBT
@given(query_and_dim=join_queries(), fed=batches())
def test_stream_static_join(query_and_dim, fed):
    query, dim = query_and_dim
    run_and_check(query, fed, dim)


@PBT
@given(query=subquery_queries(), fed=batches())
def test_subquery_in_from(query, fed):
    run_and_check(query, fed)


# ------------------------------------------------------------------------------ pinned by hand


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def test_grouped_avg_over_three_batches_in_update_mode():
    src = sn.sources.memory(SCHEMA)
    q = sn.start(
        "SELECT k, avg(x) AS ax, count(*) AS n FROM t GROUP BY k", sources={"t": src}, trigger="manual"
    )
    try:
        src.add_data([{"k": "a", "g": 1, "x": 1.0, "y": 1}, {"k": "b", "g": 1, "x": 10.0, "y": 2}])
        q.step()
        assert_same_table(q.result, _frame([("a", 1.0, 1), ("b", 10.0, 1)], ["k", "ax", "n"]), "batch 0")
        # Only "a" changes; "b" keeps its row in the upserted update-mode result.
        src.add_data(pd.DataFrame({"k": ["a", "a"], "g": [2, 2], "x": [2.0, 6.0], "y": [None, 3]}))
        q.step()
        assert_same_table(q.result, _frame([("a", 3.0, 3), ("b", 10.0, 1)], ["k", "ax", "n"]), "batch 1")
        src.add_data([{"k": None, "g": None, "x": None, "y": None}, {"k": "b", "g": 3, "x": 20.0, "y": 4}])
        q.step()
        expected = _frame([("a", 3.0, 3), ("b", 15.0, 2), (None, None, 1)], ["k", "ax", "n"])
        # A NULL key is a group of its own; the avg of only NULLs is NULL.
        assert_same_table(q.result, expected, "batch 2")
    finally:
        q.stop()


def test_global_count_in_complete_mode():
    src = sn.sources.memory(SCHEMA)
    q = sn.start(
        "SELECT count(*) AS n, sum(y) AS sy FROM t WHERE x > 0",
        sources={"t": src},
        output_mode="complete",
        trigger="manual",
    )
    try:
        q.step()  # no data: no batch runs, no row yet (Spark)
        assert len(q.result) == 0
        src.add_data([{"k": "a", "g": 1, "x": -1.0, "y": 5}])
        q.step()  # a batch ran, WHERE dropped its only row: one row, count 0 and sum NULL
        assert_same_table(q.result, _frame([(0, None)], ["n", "sy"]), "batch 0")
        src.add_data([{"k": "a", "g": 1, "x": 2.0, "y": 5}, {"k": "b", "g": 1, "x": 3.0, "y": None}])
        q.step()
        assert_same_table(q.result, _frame([(2, 5)], ["n", "sy"]), "batch 1")
        q.step()  # no new data: nothing changes
        assert_same_table(q.result, _frame([(2, 5)], ["n", "sy"]), "empty step")
    finally:
        q.stop()


def test_left_join_with_a_missing_dim_key_and_a_duplicate_one():
    dim = _dim_frame(
        [
            {"k": "a", "label": "first", "w": 1},
            {"k": "a", "label": "again", "w": 2},  # a duplicate key multiplies the stream row
            {"k": "b", "label": "second", "w": None},
        ]
    )
    src = sn.sources.memory(SCHEMA)
    q = sn.start(
        "SELECT t.k AS k, t.y AS y, dim.label AS label FROM t LEFT OUTER JOIN dim ON t.k = dim.k",
        sources={"t": src, "dim": dim},
        trigger="manual",
    )
    try:
        src.add_data([{"k": "a", "g": 1, "x": 1.0, "y": 1}, {"k": "zz", "g": 1, "x": 1.0, "y": 2}])
        q.step()
        expected = [("a", 1, "first"), ("a", 1, "again"), ("zz", 2, None)]
        assert_same_table(q.result, _frame(expected, ["k", "y", "label"]), "batch 0")
        src.add_data([{"k": None, "g": 1, "x": 1.0, "y": 3}, {"k": "b", "g": 1, "x": 1.0, "y": 4}])
        q.step()
        # Append mode: every row emitted so far. A NULL key matches nothing and keeps its row.
        expected += [(None, 3, None), ("b", 4, "second")]
        assert_same_table(q.result, _frame(expected, ["k", "y", "label"]), "batch 1")
    finally:
        q.stop()


def test_having_in_complete_mode_drops_a_group_that_stops_passing():
    src = sn.sources.memory(SCHEMA)
    q = sn.start(
        "SELECT k, sum(x) AS sx FROM t GROUP BY k HAVING sum(x) > 0",
        sources={"t": src},
        output_mode="complete",
        trigger="manual",
    )
    try:
        src.add_data([{"k": "a", "g": 1, "x": 5.0, "y": 1}, {"k": "b", "g": 1, "x": -1.0, "y": 1}])
        q.step()
        assert_same_table(q.result, _frame([("a", 5.0)], ["k", "sx"]), "batch 0")
        src.add_data([{"k": "a", "g": 1, "x": -7.0, "y": 1}, {"k": "b", "g": 1, "x": 3.0, "y": 1}])
        q.step()
        # "a" no longer passes and leaves the complete table; "b" now passes and enters it.
        assert_same_table(q.result, _frame([("b", 2.0)], ["k", "sx"]), "batch 1")
    finally:
        q.stop()
