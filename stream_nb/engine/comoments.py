"""The co-moments of two columns per group, for covar_pop, covar_samp, corr and the regr_* family.

Spark keeps these aggregates as the same running sums (its ``Covariance`` and ``PearsonCorrelation``): over the
rows where both arguments are non-null, the count ``n``, the means of ``a`` and ``b``, the sum of the products
of their deviations ``ck``, and for corr and regr the sums of squared deviations ``m2a`` and ``m2b``. A batch
computes them per group in two passes (means, then deviations from the group's means: no cancellation between
large sums of products), and state merges a batch's into a key's with Chan's formulas
(``merge_comoments``), as Spark's ``mergeExpressions`` merge its partitions' buffers.

The six are partial functions over one pair column ``{a, b}`` (``sql/aggregates.py``'s ``co_pair``), always
six consecutive partial columns in this order: what each aggregate finishes from is in ``sql/aggregates.py``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FUNCTIONS = ("co_n", "co_ma", "co_mb", "co_ck", "co_m2a", "co_m2b")


def comoments(pair: pa.ChunkedArray | pa.Array, groups: pa.ChunkedArray | pa.Array) -> dict[str, pa.Array]:
    """Per group, each of ``FUNCTIONS``: ``groups`` holds each group's rows (positions into ``pair``) as a list
    (Arrow's ``hash_list`` of the row positions), so the result is in the grouping's own order.

    >>> pair = pa.array([{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}, {"a": None, "b": 9.0}, {"a": 5.0, "b": 7.0}])
    >>> result = comoments(pair, pa.array([[0, 2], [1, 3]]))
    >>> [result[f].to_pylist() for f in FUNCTIONS]
    [[1, 2], [1.0, 4.0], [2.0, 5.5], [0.0, 3.0], [0.0, 2.0], [0.0, 4.5]]
    """
    pair = pair.combine_chunks() if isinstance(pair, pa.ChunkedArray) else pair
    groups = groups.combine_chunks() if isinstance(groups, pa.ChunkedArray) else groups
    count = len(groups)
    codes = np.zeros(len(pair), dtype=np.intp)
    codes[pc.list_flatten(groups).to_numpy(zero_copy_only=False)] = \
        pc.list_parent_indices(groups).to_numpy(zero_copy_only=False)
    a, valid_a = _doubles(pc.struct_field(pair, "a"))
    b, valid_b = _doubles(pc.struct_field(pair, "b"))
    both = valid_a & valid_b & pair.is_valid().to_numpy(zero_copy_only=False)
    a, b = np.where(both, a, 0.0), np.where(both, b, 0.0)  # a pair with a NULL side adds nothing (a NaN either)
    n = np.bincount(codes, both, count).astype(np.int64)
    safe = np.where(n > 0, n, 1)
    mean_a, mean_b = _sums(codes, a, count) / safe, _sums(codes, b, count) / safe
    da, db = np.where(both, a - mean_a[codes], 0.0), np.where(both, b - mean_b[codes], 0.0)
    return {"co_n": pa.array(n, pa.int64()), "co_ma": pa.array(mean_a), "co_mb": pa.array(mean_b),
            "co_ck": pa.array(_sums(codes, da * db, count)), "co_m2a": pa.array(_sums(codes, da * da, count)),
            "co_m2b": pa.array(_sums(codes, db * db, count))}


def merge_comoments(old: tuple[np.ndarray, ...], new: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Two (n, mean_a, mean_b, ck, m2a, m2b) as one, by Chan et al.'s parallel formulas (Spark's
    ``mergeExpressions`` for Covariance and PearsonCorrelation); a count of 0 has means 0.

    >>> # {(1, 2)} and {(3, 4), (5, 7)}: all three rows
    >>> merged = merge_comoments(*[tuple(np.array([v]) for v in t) for t in
    ...                           ((1.0, 1.0, 2.0, 0.0, 0.0, 0.0), (2.0, 4.0, 5.5, 3.0, 2.0, 4.5))])
    >>> [round(float(v[0]), 6) for v in merged]
    [3.0, 3.0, 4.333333, 10.0, 8.0, 12.666667]
    """
    (n_a, ma_a, mb_a, ck_a, qa_a, qb_a), (n_b, ma_b, mb_b, ck_b, qa_b, qb_b) = old, new
    n = n_a + n_b
    share = np.where(n > 0, n_a * n_b / np.where(n > 0, n, 1.0), 0.0)  # n_a n_b / n
    weight = np.where(n > 0, n_b / np.where(n > 0, n, 1.0), 0.0)
    da, db = ma_b - ma_a, mb_b - mb_a
    return (n, ma_a + da * weight, mb_a + db * weight, ck_a + ck_b + da * db * share,
            qa_a + qa_b + da * da * share, qb_a + qb_b + db * db * share)


def _sums(codes: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """Per group, the sum of its values, as doubles (numpy's bincount of no values gives integers)."""
    return np.bincount(codes, values, count).astype(np.float64, copy=False)


def _doubles(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A double column's values (0 where null) and where it is valid."""
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    values = pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    return values, valid
