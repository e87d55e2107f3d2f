"""The merge rules, a partial's value and the state's of the same key, as Spark's aggregates combine them."""

import math

import numpy as np
import pytest

from stream_nb.engine.merges import merge, merge_moments, one_nan

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


def test_nan_counts_once_among_distinct_values():
    assert len(set(one_nan([math.nan, float("nan"), 1.0]))) == 2
