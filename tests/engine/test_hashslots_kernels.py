"""The hash table's two paths, numpy passes and compiled loops, agree: each behaves as a dict through growth,
tombstones and crowded chains, and each reads the table the other wrote."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_nb.engine import hashslots_kernels
from stream_nb.engine.hashslots import ABSENT, HashSlots
from tests.engine.kernel_paths import use

HASHES = st.one_of(st.integers(0, 40), st.integers(0, 2**64 - 1))  # small ones crowd a few chains
OPS = st.lists(st.tuples(st.sampled_from(["put", "add", "pop", "get"]), st.lists(HASHES, max_size=30, unique=True)),
               max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_each_path_behaves_like_a_dict(kernel_path, ops):  # the fixture only picks the path: nothing to reset
    table, model = HashSlots(capacity=16), {}
    for step, (op, keys) in enumerate(ops):
        hashes = np.array(keys, dtype=np.uint64)
        if op == "put":
            values = np.arange(len(keys), dtype=np.int64) + 100 * step
            table.put(hashes, values)
            model.update(zip(keys, values.tolist()))
        elif op == "add":
            new = [k for k in keys if k not in model]
            table.add(np.array(new, dtype=np.uint64), np.arange(len(new), dtype=np.int64) - 7 * step)
            model.update(zip(new, (np.arange(len(new)) - 7 * step).tolist()))
        elif op == "pop":
            assert table.pop(hashes).tolist() == [model.pop(k, ABSENT) for k in keys]
        else:
            assert table.get(hashes).tolist() == [model.get(k, ABSENT) for k in keys]
        assert len(table) == len(model)
    assert table.get(np.array(list(model), dtype=np.uint64)).tolist() == list(model.values())


def test_a_hash_popped_twice_in_one_call_is_removed_once_and_both_get_its_value(kernel_path):
    table = HashSlots()
    table.add(np.array([5, 21], np.uint64), np.array([1, 2]))
    assert table.pop(np.array([5, 5, 8, 21], np.uint64)).tolist() == [1, 1, ABSENT, 2]
    assert len(table) == 0 and table.get(np.array([5, 21], np.uint64)).tolist() == [ABSENT, ABSENT]


def test_one_chain_crowded_with_tombstones_keeps_finding_what_lies_past_them(kernel_path):
    """Hashes equal modulo the table's size share one probe chain: removing the first ones leaves tombstones
    that lookups walk past and inserts reuse, until a rebuild clears them."""
    table = HashSlots(capacity=64)
    crowd = np.arange(8, dtype=np.uint64) * np.uint64(1024) + np.uint64(3)  # all start at entry 3
    table.add(crowd, np.arange(8))
    assert table.pop(crowd[:5]).tolist() == [0, 1, 2, 3, 4]
    assert table.get(crowd).tolist() == [ABSENT] * 5 + [5, 6, 7]
    again = crowd[:3] + np.uint64(64 * 1024)  # the same chain, into the tombstones
    table.add(again, np.array([10, 11, 12]))
    assert table.get(np.concatenate([crowd, again])).tolist() == [ABSENT] * 5 + [5, 6, 7, 10, 11, 12]
    for round_ in range(40):  # churn past half the table: rebuilds drop the tombstones, nothing is lost
        fresh = np.arange(20, dtype=np.uint64) + np.uint64(10_000 * (round_ + 1))
        table.add(fresh, np.arange(20))
        assert table.pop(fresh).tolist() == list(range(20))
    assert len(table) == 6 and table.get(np.concatenate([crowd[5:], again])).tolist() == [5, 6, 7, 10, 11, 12]
    assert table.nbytes <= 16 * 128  # 6 live and 20 at a time: 128 entries of 16 bytes, whatever the churn


def test_growth_keeps_every_value_and_the_extremes_of_uint64(kernel_path):
    hashes = np.concatenate([np.array([0, 2**64 - 1, 2**63], np.uint64),
                             np.random.default_rng(1).integers(1, 2**63, 20_000, dtype=np.uint64)])
    hashes = np.unique(hashes)
    table = HashSlots(capacity=16)
    for part in np.array_split(np.arange(len(hashes)), 7):
        table.add(hashes[part], part)
    assert table.get(hashes).tolist() == list(range(len(hashes))) and len(table) == len(hashes)


def test_load_gives_the_same_rows_and_ranks_on_both_paths(kernel_path):
    rng = np.random.default_rng(5)
    pool = rng.integers(0, 2**64 - 1, 30_000, dtype=np.uint64)
    parts = [rng.choice(pool, size, replace=False) for size in (20_000, 5_000, 12_000, 1)]
    hashes = np.concatenate(parts)
    table = HashSlots()
    kept = table.load(hashes, starts=np.cumsum([0] + [len(p) for p in parts[:-1]]).tolist())
    last = {h: row for row, h in enumerate(hashes.tolist())}  # as putting the parts in turn keeps them
    assert kept.tolist() == sorted(last.values())
    assert table.get(hashes[kept]).tolist() == list(range(len(kept))) and len(table) == len(kept)


@pytest.mark.parametrize("first, then", [("numpy", "compiled"), ("compiled", "numpy")])
def test_each_path_reads_and_changes_the_table_the_other_wrote(monkeypatch, first, then):
    rng = np.random.default_rng(9)
    hashes = np.unique(rng.integers(0, 2**64 - 1, 6_000, dtype=np.uint64))
    table = HashSlots()
    use(monkeypatch, first)
    table.add(hashes, np.arange(len(hashes)))
    table.pop(hashes[::3])
    use(monkeypatch, then)
    expected = np.arange(len(hashes))
    expected[::3] = ABSENT
    assert table.get(hashes).tolist() == expected.tolist()
    table.add(hashes[::3], np.arange(len(hashes))[::3])  # into the other path's tombstones
    assert table.pop(hashes).tolist() == list(range(len(hashes))) and len(table) == 0


def test_kernels_start_loading_at_the_first_batch_of_the_threshold_size_and_serve_every_size_once_loaded(
        monkeypatch):
    """Below the threshold nothing loads (a first small query does not import numba), and the numpy path
    serves; from a batch of the threshold's size they load in the background, then serve batches of any size."""
    monkeypatch.setattr(hashslots_kernels, "_kernels", None)
    monkeypatch.setattr(hashslots_kernels, "_loading", None)
    monkeypatch.setattr(hashslots_kernels, "threshold", 100)
    assert hashslots_kernels.ready(99) is None and hashslots_kernels._loading is None
    assert hashslots_kernels.ready(100, start=False) is None and hashslots_kernels._loading is None
    hashslots_kernels.ready(100)
    loading = hashslots_kernels._loading
    assert loading is not None
    loading.join()
    assert hashslots_kernels.ready(1) is not None


@pytest.mark.parametrize("crowded", [False, True])
def test_load_says_when_one_part_holds_a_hash_twice(kernel_path, crowded):
    """Two keys of one table with one hash cannot be told apart by a bulk load: it says so (None), whether the
    two meet along a chain or contend for one entry in the same pass."""
    spread = np.random.default_rng(2).integers(0, 2**63, 5_000, dtype=np.uint64)
    base = np.arange(200, dtype=np.uint64) * np.uint64(2**20) if crowded else np.unique(spread)
    twice = np.concatenate([base[:100], base[50:51], base[100:]])
    assert HashSlots().load(twice, starts=[0]) is None
    assert HashSlots().load(np.concatenate([base, base[:10]]), starts=[0, len(base)]) is not None  # across parts


def test_a_small_query_never_imports_numba_and_a_big_batch_starts_loading_it_in_the_background():
    """In a fresh process (as a notebook's kernel): a query over a few keys runs on numpy without importing
    numba; the first batch of ``threshold`` keys starts the background load, and its result is the same."""
    import subprocess
    import sys

    program = """
import sys
import pyarrow as pa
import stream_nb as sn
from stream_nb.engine import hashslots_kernels
src = sn.sources.memory("k bigint")
q = sn.start("SELECT k, count(*) AS n FROM t GROUP BY k", sources={"t": src}, trigger="manual")
src.add_data(pa.table({"k": pa.array([1, 2, 2, 3], pa.int64())}))
q.step()
print("small", "numba" in sys.modules, hashslots_kernels._loading is not None)
src.add_data(pa.table({"k": pa.array(range(hashslots_kernels.threshold), pa.int64())}))
q.step()
print("big", hashslots_kernels._loading is not None, int(q.result["n"].sum()), len(q.result))
q.stop()
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert "small False False" in lines
    assert f"big True {4 + hashslots_kernels.threshold} {hashslots_kernels.threshold}" in lines
