"""How a batch's partial aggregates merge with the state's values of the same keys, a rule per partial
(``Partial.merge``, named in ``sql/aggregates.py``), vectorised over the slots a batch touches.

Each rule takes and gives (values, valid) numpy pairs; nothing here writes the state.
"""

from __future__ import annotations

import math

import numpy as np


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
    raise ValueError(f"unknown merge rule {rule!r}")


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
