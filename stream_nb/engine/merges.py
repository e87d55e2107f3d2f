"""How a batch's partial aggregates merge with the state's values of the same keys, a rule per partial
(``Partial.merge``, named in ``sql/aggregates.py``), vectorised over the slots a batch touches.

Each rule takes and gives (values, valid) numpy pairs; nothing here writes the state.
"""

from __future__ import annotations

import math

import numpy as np

from stream_nb.engine import reductions


def one_nan(values: list) -> list:
    """NaN as one object: a set finds a value by identity first, and NaN != NaN, but count(DISTINCT) counts
    NaN once, as Spark does."""
    return [_NAN if isinstance(v, float) and math.isnan(v) else v for v in values]


_NAN = float("nan")


def merge(rule: str, old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray],
          existed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The state's (values, valid) after a batch's, by one merge rule; ``existed``: the key was in state.

    >>> merge("max", (np.array([3, 0]), np.array([True, False])), (np.array([5, 2]), np.array([True, True])),
    ...       np.array([True, False]))
    (array([5, 2]), array([ True,  True]))
    """
    (old_v, old_ok), (new_v, new_ok) = old, new
    if rule in reductions.OPERATIONS:  # bit_and, bit_or, bit_xor, product
        return reductions.merge(rule, old, new)
    if rule in ("add", "distinct"):
        if old_v.dtype == object:
            raise TypeError("sum over non-numeric values")
        zero = old_v.dtype.type(0)
        return np.where(old_ok, old_v, zero) + np.where(new_ok, new_v, zero), old_ok | new_ok
    if rule in ("min", "max"):
        both = old_ok & new_ok
        if old_v.dtype == object:
            better = np.array([b and ((n < o) if rule == "min" else (n > o))
                               for n, o, b in zip(new_v, old_v, both)], dtype=bool)
        else:
            better = (new_v < old_v) if rule == "min" else (new_v > old_v)
            if old_v.dtype.kind == "f":  # Spark: NaN is larger than any other double
                new_nan, old_nan = np.isnan(new_v), np.isnan(old_v)
                better |= (old_nan & ~new_nan) if rule == "min" else (new_nan & ~old_nan)
        take_new = (new_ok & ~old_ok) | (both & better)
        return np.where(take_new, new_v, old_v), old_ok | new_ok
    if rule == "keep":
        return np.where(existed, old_v, new_v), np.where(existed, old_ok, new_ok)
    if rule == "replace":
        return new_v, new_ok
    if rule == "keep_nonnull":
        return np.where(old_ok, old_v, new_v), old_ok | new_ok
    if rule == "replace_nonnull":
        return np.where(new_ok, new_v, old_v), old_ok | new_ok
    if rule == "concat":  # collect_list: the batch's values after the state's
        kept = old_ok & existed
        return _objects([o + n if k else n for o, n, k in zip(old_v, new_v, kept)]), kept | new_ok
    if rule == "union":  # collect_set: the batch's values the state lacks, after the state's
        kept = old_ok & existed
        return _objects([union(o, n) if k else n for o, n, k in zip(old_v, new_v, kept)]), kept | new_ok
    raise ValueError(f"unknown merge rule {rule!r}")


def union(old: list, new: list) -> list:
    """``old`` and then the values of ``new`` it lacks (NaN is one value, as Spark's collect_set counts it)."""
    seen = set(one_nan(old))
    return old + [v for v in one_nan(new) if v not in seen and not seen.add(v)]


def _objects(values: list) -> np.ndarray:
    """A list of lists as a 1-d object array (numpy would make equal-length lists a 2-d array)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def merge_by(rule: str, old_ord: tuple[np.ndarray, np.ndarray], old_value: tuple[np.ndarray, np.ndarray],
             new_ord: tuple[np.ndarray, np.ndarray], new_value: tuple[np.ndarray, np.ndarray]
             ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """max_by/min_by: the state's (ord, value) pair or the batch's, per slot. The batch's wins unless the
    state's ord is strictly better (Spark's MaxBy/MinBy keep theirs only on ``kept > new`` / ``kept < new``,
    so a tie goes to the later row); a NULL ord never wins; NaN is larger than any other double.

    >>> ok = np.array([True, True])
    >>> (o, _), (v, _) = merge_by("max_by", (np.array([3.0, 5.0]), ok), (np.array([1, 2]), ok),
    ...                           (np.array([3.0, 4.0]), ok), (np.array([7, 8]), ok))
    >>> o.tolist(), v.tolist()
    ([3.0, 5.0], [7, 2])
    """
    (old_o, old_ok), (new_o, new_ok) = old_ord, new_ord
    both = old_ok & new_ok
    if old_o.dtype == object:
        ahead = np.array([b and ((n >= o) if rule == "max_by" else (n <= o))
                          for n, o, b in zip(new_o, old_o, both)], dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            ahead = (new_o >= old_o) if rule == "max_by" else (new_o <= old_o)
        if old_o.dtype.kind == "f":  # NaN above all: a NaN ord is the max (ties with NaN), beaten by any for min
            ahead |= np.isnan(new_o) if rule == "max_by" else np.isnan(old_o)
    take = (new_ok & ~old_ok) | (both & ahead)
    ords = np.where(take, new_o, old_o), old_ok | new_ok
    values = np.where(take, new_value[0], old_value[0]), np.where(take, new_value[1], old_value[1])
    return ords, values


def merge_moments(old: tuple[np.ndarray, np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two (count, mean, M2) triples as one, by Chan et al.'s parallel formula (a count of 0 has mean 0).

    >>> [v.tolist() for v in merge_moments((np.array([2.0]), np.array([1.0]), np.array([2.0])),
    ...                                    (np.array([2.0]), np.array([3.0]), np.array([2.0])))]
    [[4.0], [2.0], [8.0]]
    """
    (n_a, m_a, q_a), (n_b, m_b, q_b) = old, new
    n = n_a + n_b
    safe_n = np.where(n > 0, n, 1.0)
    delta = m_b - m_a
    mean = np.where(n > 0, m_a + delta * n_b / safe_n, 0.0)
    m2 = q_a + q_b + np.where(n > 0, delta * delta * n_a * n_b / safe_n, 0.0)
    return n, mean, m2


def merge_moments4(old: tuple[np.ndarray, ...], new: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Two (count, mean, M2, M3, M4) tuples as one, by Pébay's pairwise formulas (2008; Terriberry's form):
    skewness and kurtosis kept exactly as a batch at a time, where Spark updates them a row at a time.

    >>> [v.tolist() for v in merge_moments4((np.array([2.0]), np.array([1.0]), np.array([2.0]), np.array([0.0]),
    ...                                      np.array([2.0])), (np.array([1.0]), np.array([5.0]), np.array([0.0]),
    ...                                      np.array([0.0]), np.array([0.0])))]  # {0, 2} and {5}: {0, 2, 5}
    [[3.0], [2.333333333333333], [12.666666666666666], [6.222222222222221], [80.22222222222221]]
    """
    (n_a, m_a, q_a, c_a, f_a), (n_b, m_b, q_b, c_b, f_b) = old, new
    n, mean, m2 = merge_moments((n_a, m_a, q_a), (n_b, m_b, q_b))
    safe_n = np.where(n > 0, n, 1.0)
    delta = np.where(n > 0, m_b - m_a, 0.0)
    d_n = delta / safe_n
    m3 = c_a + c_b + d_n * d_n * delta * n_a * n_b * (n_a - n_b) + 3.0 * d_n * (n_a * q_b - n_b * q_a)
    m4 = (f_a + f_b + d_n * d_n * d_n * delta * n_a * n_b * (n_a * n_a - n_a * n_b + n_b * n_b)
          + 6.0 * d_n * d_n * (n_a * n_a * q_b + n_b * n_b * q_a) + 4.0 * d_n * (n_a * c_b - n_b * c_a))
    return n, mean, m2, m3, m4
