"""The merge rules, a partial's value and the state's of the same key, as Spark's aggregates combine them."""

import math

import numpy as np
import pytest

from stream_nb.engine.merges import merge, merge_moments, merge_moments4, one_nan

NEW_KEY, OLD_KEY = False, True


def pair(*values):
    """(values, valid): None is a null."""
    return (np.array([0.0 if v is None else v for v in values]), np.array([v is not None for v in values]))


@pytest.mark.parametrize(("rule", "expected"), [
    ("add", [5.0, 1.0, 4.0, None]),
    ("min", [1.0, 1.0, 4.0, None]),
    ("max", [4.0, 1.0, 4.0, None]),
    ("replace", [4.0, None, 4.0, None]),
    ("replace_nonnull", [4.0, 1.0, 4.0, None]),
    ("keep_nonnull", [1.0, 1.0, 4.0, None]),
])
def test_nulls_on_either_side_are_skipped_as_spark_skips_them(rule, expected):
    old, new = pair(1.0, 1.0, None, None), pair(4.0, None, 4.0, None)
    values, valid = merge(rule, old, new, np.array([OLD_KEY] * 4))
    assert [v if ok else None for v, ok in zip(values.tolist(), valid.tolist())] == expected


def test_keep_takes_the_first_value_a_key_saw_even_null():
    values, valid = merge("keep", pair(None, 2.0), pair(7.0, 8.0), np.array([OLD_KEY, NEW_KEY]))
    assert valid.tolist() == [False, True] and values[1] == 8.0


def test_nan_is_larger_than_any_double_for_min_and_max():
    old, new = pair(math.nan, 1.0), pair(5.0, math.nan)
    low, _ = merge("min", old, new, np.array([OLD_KEY] * 2))
    high, _ = merge("max", old, new, np.array([OLD_KEY] * 2))
    assert low.tolist() == [5.0, 1.0] and math.isnan(high[0]) and math.isnan(high[1])


def test_a_sum_over_strings_is_refused():
    strings = (np.array(["a"], dtype=object), np.array([True]))
    with pytest.raises(TypeError, match="sum over non-numeric values"):
        merge("add", strings, strings, np.array([OLD_KEY]))


def test_moments_merged_equal_the_moments_of_all_values():
    a, b = [1.0, 2.0, 4.0], [10.0, 11.0]

    def moments(xs):
        mean = sum(xs) / len(xs)
        return np.array([len(xs)], float), np.array([mean]), np.array([sum((x - mean) ** 2 for x in xs)])

    n, mean, m2 = merge_moments(moments(a), moments(b))
    expected = moments(a + b)
    assert n[0] == 5 and mean[0] == pytest.approx(expected[1][0]) and m2[0] == pytest.approx(expected[2][0])


def _five(xs):
    """(count, mean, M2, M3, M4) of a list, as merge_moments4 takes them (an empty list: all 0)."""
    values = np.array(xs, float)
    mean = values.mean() if len(values) else 0.0
    return tuple(np.array([v]) for v in (len(values), mean, *(((values - mean) ** k).sum() for k in (2, 3, 4))))


@pytest.mark.parametrize(("a", "b"), [
    ([1.0, 2.0, 4.0], [10.0, 11.0]),        # unequal halves far apart
    ([3.0], [-7.5, 0.25, 9.0, 9.0]),        # one value, then more
    ([], [2.0, 5.0, 5.0]),                  # a new key (count 0)
    ([4.0, 4.0], []),                       # a key the batch left alone
    ([7.0, 7.0], [7.0]),                    # a constant group: every moment 0
    ([1e9, 1e9 + 1], [1e9 + 2, 1e9 + 4]),  # a large mean: deviations, not raw powers
])
def test_moments4_merged_equal_the_moments_of_all_values(a, b):
    got = [v[0] for v in merge_moments4(_five(a), _five(b))]
    expected = [v[0] for v in _five(a + b)]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_moments4_merged_in_any_grouping_agree():
    """Pébay's formulas are associative up to rounding: batch by batch equals all at once."""
    values = np.random.default_rng(7).normal(20.0, 5.0, 60).tolist()
    state = _five([])
    for start in range(0, 60, 7):
        state = merge_moments4(state, _five(values[start:start + 7]))
    assert [v[0] for v in state] == pytest.approx([v[0] for v in _five(values)], rel=1e-9)


def test_moments4_keep_a_nan_value_nan():
    n, mean, m2, m3, m4 = merge_moments4(_five([1.0, 2.0]), _five([float("nan")]))
    assert n[0] == 3 and all(math.isnan(v[0]) for v in (mean, m2, m3, m4))


def test_nan_counts_once_among_distinct_values():
    assert len(set(one_nan([math.nan, float("nan"), 1.0]))) == 2
