"""The co-moments behind covar, corr and regr: per group in two passes, merged with Chan's formulas, equal to
those of all the pairs at once, whatever the split; a pair with a NULL side is no pair."""

import numpy as np
import pyarrow as pa
import pytest

from stream_nb.engine.comoments import FUNCTIONS, comoments, merge_comoments


def _pairs(a, b):
    return pa.StructArray.from_arrays([pa.array(a, pa.float64()), pa.array(b, pa.float64())], names=["a", "b"])


def _direct(a, b):
    """(n, mean_a, mean_b, ck, m2a, m2b) of the pairs without NULL, straight from their definition."""
    kept = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if not kept:
        return (0, 0.0, 0.0, 0.0, 0.0, 0.0)
    xs, ys = np.array([x for x, _ in kept]), np.array([y for _, y in kept])
    dx, dy = xs - xs.mean(), ys - ys.mean()
    return (len(kept), xs.mean(), ys.mean(), (dx * dy).sum(), (dx * dx).sum(), (dy * dy).sum())


def test_each_group_gets_the_moments_of_its_pairs_without_null():
    a = [1.0, None, 3.0, 1e9 + 1, 1e9 + 3, 7.0]
    b = [2.0, 5.0, None, 10.0, 14.0, 8.0]
    result = comoments(_pairs(a, b), pa.array([[0, 1, 2], [3, 4], [5]]))
    for group, rows in enumerate([[0, 1, 2], [3, 4], [5]]):
        got = [result[f][group].as_py() for f in FUNCTIONS]
        assert got == pytest.approx(_direct([a[r] for r in rows], [b[r] for r in rows]), rel=1e-12, abs=1e-12)


def test_a_batch_without_any_pair_gives_zero_counts_and_double_moments():
    """(The state takes its column types from the first batch: a mean must be a double even with no pair.)"""
    result = comoments(_pairs([None, 1.0], [2.0, None]), pa.array([[0, 1]]))
    assert result["co_n"].to_pylist() == [0] and result["co_n"].type == pa.int64()
    assert all(result[f].type == pa.float64() and result[f].to_pylist() == [0.0] for f in FUNCTIONS[1:])


@pytest.mark.parametrize("cut", [0, 1, 3, 6])
def test_merged_halves_equal_the_whole_wherever_the_cut(cut):
    rng = np.random.default_rng(cut)
    a, b = list(rng.normal(50, 3, 6)), list(rng.normal(-2, 0.5, 6))

    def moments(rows):
        return tuple(np.array([float(v)]) for v in _direct([a[r] for r in rows], [b[r] for r in rows]))

    merged = merge_comoments(moments(range(cut)), moments(range(cut, 6)))
    assert [float(v[0]) for v in merged] == pytest.approx(_direct(a, b), rel=1e-12)


def test_a_nan_beside_a_null_is_no_pair_and_a_nan_pair_makes_the_moments_nan():
    result = comoments(_pairs([float("nan"), 1.0, 3.0, float("nan")], [None, 2.0, 4.0, 1.0]), pa.array([[0, 1, 2], [3]]))
    assert [result[f][0].as_py() for f in FUNCTIONS] == pytest.approx([2, 2.0, 3.0, 2.0, 2.0, 2.0])
    assert result["co_n"][1].as_py() == 1 and np.isnan(result["co_ma"][1].as_py())  # NaN is a value, as in Spark
