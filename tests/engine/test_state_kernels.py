"""Keyed state gives the same groups on the numpy path and the compiled one: nulls, NaN and -0.0, unicode and
long strings, hashes made to collide, growth and rebuilds through tombstones, evicted slots reused, and a
restore of what it exported."""

import math

import numpy as np
import pyarrow as pa
import pytest

from stream_nb.engine import state as state_module
from stream_nb.engine.state import KeyedState
from stream_nb.sql.aggregates import Partial

STRINGS = [None, "", "a", "é", "e\u0301", "日本", "x" * 3_000, "🙂", "A", "a\x00"]
NUMBERS = [None, float("nan"), -0.0, 0.0, 1.5, -1.5, 1e300]
PARTIALS = [Partial("n", "count_all", None, "add"), Partial("total", "sum", "v", "add")]


def group(k, x):
    """A key as Spark groups it: every NaN one value, -0.0 equal to 0.0."""
    if x is not None and math.isnan(x):
        return k, "NaN"
    return k, None if x is None else x + 0.0


def batches(seed, count=30):
    rng = np.random.default_rng(seed)
    for step in range(count):
        rows = {}
        for _ in range(int(rng.integers(1, 400))):
            k = STRINGS[rng.integers(len(STRINGS))] if rng.random() < 0.5 else f"k{rng.integers(3_000)}-{step % 4}"
            x = NUMBERS[rng.integers(len(NUMBERS))]
            rows.setdefault(group(k, x), (k, x))  # a batch's partials hold each key once
        keys = list(rows.values())
        yield pa.table({"k": pa.array([k for k, _ in keys], pa.string()),
                        "x": pa.array([x for _, x in keys], pa.float64()),
                        "n": pa.array(np.ones(len(keys), np.int64)),
                        "total": pa.array(np.arange(len(keys), dtype=np.float64))})


def counts(state):
    return {group(r["k"], r["x"]): (r["n"], r["total"]) for r in state.rows(state.all_slots()).to_pylist()}


def run(seed):
    """Batches into state, evicting a third of the keys after every other batch; the model alongside."""
    state, model = KeyedState(["k", "x"], PARTIALS, capacity=4), {}
    for step, batch in enumerate(batches(seed)):
        state.apply(state.prepare(batch))
        for row in batch.to_pylist():
            n, total = model.get(group(row["k"], row["x"]), (0, 0.0))
            model[group(row["k"], row["x"])] = (n + 1, total + row["total"])
        if step % 2:
            slots = state.all_slots()[::3]
            for row in state.key_rows(slots).to_pylist():
                del model[group(row["k"], row["x"])]
            state.evict(slots)
        assert counts(state) == model and state.num_rows == len(model)
    restored = KeyedState(["k", "x"], PARTIALS)
    restored.load(state.export(state.all_slots()))
    in_one_pass = KeyedState(["k", "x"], PARTIALS)
    if not in_one_pass.load_all([state.export(state.all_slots())], [None]):  # it may give up: then table by table
        in_one_pass.load(state.export(state.all_slots()))
    assert counts(restored) == model and counts(in_one_pass) == model
    batch = next(batches(seed + 100, 1))  # restored states go on taking batches as the state would have
    for row in batch.to_pylist():
        n, total = model.get(group(row["k"], row["x"]), (0, 0.0))
        model[group(row["k"], row["x"])] = (n + 1, total + row["total"])
    for each in (restored, in_one_pass):
        each.apply(each.prepare(batch))
        assert counts(each) == model and each.num_rows == len(model)
    return model


@pytest.mark.parametrize("seed", [1, 2])
def test_both_paths_keep_the_groups_a_dict_would(kernel_path, seed):
    run(seed)


@pytest.mark.parametrize("buckets", [1, 5])
def test_both_paths_tell_keys_apart_when_every_hash_collides(kernel_path, monkeypatch, buckets):
    real = state_module.key_hashes
    monkeypatch.setattr(state_module, "key_hashes", lambda table, names: real(table, names) % np.uint64(buckets))
    run(3)


def test_a_restore_of_one_table_whose_keys_share_a_hash_keeps_them_apart(kernel_path):
    """Decimal keys hash through Python's hash(), where -1 and -2 are equal: a snapshot holding both cannot be
    loaded in one pass (``load_all`` says so and stays empty); loaded row by row, they stay two groups."""
    import decimal

    keys = pa.array([decimal.Decimal(-1), decimal.Decimal(-2), decimal.Decimal(3)], pa.decimal128(10, 0))
    state = KeyedState(["d"], [Partial("n", "count_all", None, "add")])
    state.apply(state.prepare(pa.table({"d": keys, "n": pa.array([1, 2, 3], pa.int64())})))
    snapshot = state.export(state.all_slots())
    restored = KeyedState(["d"], [Partial("n", "count_all", None, "add")])
    assert not restored.load_all([snapshot], [None]) and restored.num_rows == 0
    restored.load(snapshot)
    restored.apply(restored.prepare(pa.table({"d": keys[:2], "n": pa.array([10, 20], pa.int64())})))
    assert sorted((r["d"], r["n"]) for r in restored.rows(restored.all_slots()).to_pylist()) == [
        (decimal.Decimal(-2), 22), (decimal.Decimal(-1), 11), (decimal.Decimal(3), 3)]


def test_expired_keys_asked_twice_for_one_watermark_follow_each_change_of_the_state():
    """``expired`` scans the state once per watermark and state (the end of a batch and the next batch's process
    both ask): a new key, an eviction or another watermark gives the answer for the state as it is."""
    from stream_nb.sql.event_time import EventTimeKey

    state = KeyedState(["t"], [Partial("n", "count_all", None, "add")], event_time=EventTimeKey(0))

    def times(slots):
        return sorted(state.key_rows(slots).column("t").to_pylist())

    def add(*ts):
        state.apply(state.prepare(pa.table({"t": pa.array(ts, pa.int64()), "n": pa.array([1] * len(ts))})))

    add(5, 10, 30)
    assert times(state.expired(10)) == [5, 10] and times(state.expired(10)) == [5, 10]
    add(7)
    assert times(state.expired(10)) == [5, 7, 10]
    state.evict(state.expired(10))
    assert times(state.expired(10)) == [] and times(state.expired(40)) == [30]
