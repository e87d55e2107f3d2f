"""Grouping small integer keys by direct addressing (engine/dense_groups.py): Arrow's results bit for bit (counts,
sums added in row order, a max's zero sign, nulls), or no answer where it cannot give them; and queries give
the same with the dense path forced on every batch as with Arrow's grouping alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import stream_nb as sn
from stream_nb.engine import dense_groups
from stream_nb.engine.partials import _VALID

SLIDE = 5_000_000


def _table(seed: int, rows: int = 20_000) -> pa.Table:
    """Window starts (a slide apart, off the epoch), a dictionary index with nulls, a small signed int, and
    doubles with nulls, both zeros, infinities and values of every size."""
    rng = np.random.default_rng(seed)
    starts = 1_000_000_000_000_000 + 123 + rng.integers(0, 30, rows) * SLIDE
    index = pa.array(rng.integers(0, 50, rows).astype(np.int32), mask=rng.random(rows) < 0.05)
    small = pa.array(rng.integers(-3, 3, rows).astype(np.int8))
    x = rng.standard_normal(rows) * 10.0 ** rng.integers(-8, 12, rows)
    special = rng.random(rows)
    x = np.where(special < 0.03, 0.0, np.where(special < 0.06, -0.0, x))
    x = np.where(special > 0.995, np.inf, np.where(special > 0.99, -np.inf, x))
    return pa.table({"w": pa.array(starts, pa.timestamp("us", tz="UTC")), "d": index, "s": small,
                     "x": pa.array(x, mask=rng.random(rows) < 0.1),
                     "y": pa.array(rng.standard_normal(rows))})


REQUESTS = [([], "count_all"), ("x", "count", _VALID), ("x", "sum"), ("x", "max"), ("y", "sum"), ("y", "max")]


def _bits(table: pa.Table, keys: list[str]) -> list[tuple]:
    """Rows ordered by key, doubles by their bits (so -0.0 and 0.0 differ, as they must)."""
    table = table.sort_by([(k, "ascending") for k in keys])
    columns = []
    for column in table.columns:
        if column.type == pa.float64():
            values = pc.fill_null(column, 7.5).to_numpy().view(np.int64)
            columns.append(list(zip(values.tolist(), column.is_null().to_pylist(), strict=True)))
        else:
            columns.append(column.to_pylist())
    return list(zip(*columns, strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("keys", [["w", "d"], ["d", "w", "s"], ["s"], ["w"]])
def test_dense_groups_give_arrow_s_counts_sums_maxima_and_nulls_bit_for_bit(seed, keys):
    table = _table(seed)
    dense = dense_groups.dense_aggregate(table, keys, REQUESTS, {"w": SLIDE}, _VALID)
    arrow = table.group_by(keys, use_threads=False).aggregate(REQUESTS)
    assert dense is not None
    assert dense.schema == arrow.select(dense.column_names).schema
    assert _bits(dense, keys) == _bits(arrow.select(dense.column_names), keys)


def test_a_max_keeps_the_first_of_equal_zeros_as_arrow_does():
    table = pa.table({"k": pa.array([0, 0, 1, 1, 2] * 4000, pa.int32()), "v": [-0.0, 0.0, 0.0, -0.0, -0.0] * 4000})
    dense = dense_groups.dense_aggregate(table, ["k"], [("v", "max")], {}, _VALID)
    assert [str(v) for v in dense.column("v_max").to_pylist()] == ["-0.0", "0.0", "-0.0"]
    arrow = table.group_by("k", use_threads=False).aggregate([("v", "max")])
    assert _bits(dense, ["k"]) == _bits(arrow.select(dense.column_names), ["k"])


@pytest.mark.parametrize("why, table, keys, requests", [
    ("a NaN: Arrow's max skips it", pa.table({"k": [1, 2] * 5000, "v": [float("nan"), 1.0] * 5000}),
     ["k"], [("v", "max")]),
    ("first needs arrival order", pa.table({"k": [1, 2] * 5000, "v": [1.0, 2.0] * 5000}), ["k"], [("v", "first")]),
    ("an integer sum wraps", pa.table({"k": [1, 2] * 5000, "v": [1, 2] * 5000}), ["k"], [("v", "sum")]),
    ("a string key has no code", pa.table({"k": ["a", "b"] * 5000, "v": [1.0, 2.0] * 5000}), ["k"], [("v", "sum")]),
    ("keys spread wider than the rows", pa.table({"k": [0, 10**9] * 5000, "v": [1.0, 2.0] * 5000}), ["k"],
     [("v", "sum")]),
    ("a small batch", pa.table({"k": [1, 2], "v": [1.0, 2.0]}), ["k"], [("v", "sum")]),
])
def test_what_dense_groups_cannot_give_as_arrow_does_is_left_to_arrow(why, table, keys, requests):
    assert dense_groups.dense_aggregate(table, keys, requests, {}, _VALID) is None, why


SCHEMA = pa.schema([("ts", pa.timestamp("us", tz="UTC")), ("sensor", pa.int32()), ("temp", pa.float64())])
QUERIES = [
    ("SELECT window(ts, '10 seconds') AS w, sensor, count(*) AS n, avg(temp) AS t, max(temp) AS m FROM events "
     "WATERMARK ts DELAY OF INTERVAL 5 SECONDS GROUP BY window(ts, '10 seconds'), sensor"),
    ("SELECT window(ts, '10 seconds', '3 seconds') AS w, sensor, count(temp) AS n, sum(temp) AS s FROM events "
     "GROUP BY window(ts, '10 seconds', '3 seconds'), sensor"),
    "SELECT sensor, count(*) AS n, max(temp) AS m, stddev(temp) AS sd FROM events GROUP BY sensor",
]


def _batches() -> list[pa.Table]:
    rng = np.random.default_rng(7)
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    batches = []
    for b in range(4):
        rows = 3_000
        temp = rng.standard_normal(rows)
        temp[rng.random(rows) < 0.02] = -0.0
        batches.append(pa.table({
            "ts": [t0 + timedelta(milliseconds=int(m)) for m in b * 20_000 + np.sort(rng.integers(0, 25_000, rows))],
            "sensor": pa.array(rng.integers(0, 40, rows).astype(np.int32), mask=rng.random(rows) < 0.03),
            "temp": pa.array(temp, mask=rng.random(rows) < 0.05)}, schema=SCHEMA))
    return batches


def _run(sql: str) -> list[dict]:
    source = sn.sources.memory(SCHEMA)
    q = sn.start(sql, sources={"events": source}, output_mode="update", trigger="manual")
    for batch in _batches():
        source.add_data(batch)
        q.step()
    q.process_all_available(timeout=30)
    result = q.result
    q.stop()
    keys = [c for c in ("w", "sensor") if c in result.columns]
    rows = result.to_dict("records")
    return sorted(({k: (np.float64(v).view(np.int64).item() if isinstance(v, float) else str(v))
                    for k, v in row.items()} for row in rows), key=lambda r: [r[k] for k in keys])


@pytest.mark.parametrize("sql", QUERIES)
def test_a_query_gives_the_same_with_every_batch_grouped_densely_or_by_arrow(sql, monkeypatch):
    monkeypatch.setattr(dense_groups, "DENSE_ROWS", 10**12)  # Arrow only
    by_arrow = _run(sql)
    monkeypatch.setattr(dense_groups, "DENSE_ROWS", 0)  # dense wherever it can
    assert _run(sql) == by_arrow
