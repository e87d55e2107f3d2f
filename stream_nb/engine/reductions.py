"""bit_and, bit_or, bit_xor and product per group, over each group's rows (Arrow has no hash aggregate for
them): numpy reduces each group's values with the operation.

A group's value is the operation over its non-null values, NULL for a group without one (Spark's BitAndAgg,
BitOrAgg, BitXorAgg over integers, in the argument's own type; Product over doubles); state merges a batch's
value into a key's with the same operation (``merge``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OPERATIONS = {"bit_and": np.bitwise_and, "bit_or": np.bitwise_or, "bit_xor": np.bitwise_xor,
              "product": np.multiply}
_START = {"bit_and": -1, "bit_or": 0, "bit_xor": 0, "product": 1}  # each one's identity (-1: every bit set)


def reduced(function: str, values: pa.ChunkedArray | pa.Array, groups: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Per group, ``function`` over the values of its rows (``groups``: each group's row positions, Arrow's
    ``hash_list``), in the grouping's order.

    >>> reduced("bit_or", pa.array([1, 2, None, 4]), pa.array([[0, 1], [2], [3]])).to_pylist()
    [3, None, 4]
    """
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    groups = groups.combine_chunks() if isinstance(groups, pa.ChunkedArray) else groups
    rows = pc.list_flatten(groups).to_numpy(zero_copy_only=False)
    codes = pc.list_parent_indices(groups).to_numpy(zero_copy_only=False)
    valid = values.is_valid().to_numpy(zero_copy_only=False)[rows]
    numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)[rows][valid]
    result = np.full(len(groups), _START[function], dtype=numbers.dtype)
    OPERATIONS[function].at(result, codes[valid], numbers)
    seen = np.bincount(codes[valid], minlength=len(groups)) > 0
    return pa.array(result, type=values.type, mask=~seen)


def merge(function: str, old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray]
          ) -> tuple[np.ndarray, np.ndarray]:
    """The state's (values, valid) and a batch's, by ``function``: a NULL side gives the other.

    >>> [v.tolist() for v in merge("bit_and", (np.array([6, 0]), np.array([True, False])),
    ...                                       (np.array([3, 5]), np.array([True, True])))]
    [[2, 5], [True, True]]
    """
    (old_v, old_ok), (new_v, new_ok) = old, new
    both = OPERATIONS[function](old_v, new_v)
    return np.where(old_ok & new_ok, both, np.where(old_ok, old_v, new_v)), old_ok | new_ok
