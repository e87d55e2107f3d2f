"""The columns of keyed state: per key column and partial aggregate, numpy values at slots with a validity mask.

A value is kept as a number where it is one (int64 for times, native numbers, booleans), as a Python object
otherwise; a struct (a window) keeps one child column per field. (A string key column keeps its values' bytes
instead: ``slot_strings``.) ``to_numpy`` turns a batch's Arrow column into
the same (values, valid) pair, so a batch's values are compared and merged with the stored ones without Arrow.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.types import temporal_integers


class SlotColumn:
    """A growable column: numpy values, a validity mask, and the Arrow type to give back.

    A struct (a window) keeps one child column per field, so its values stay numbers, not Python objects.
    """

    def __init__(self, arrow_type: pa.DataType, capacity: int):
        self.type = arrow_type
        self.children = [SlotColumn(f.type, capacity) for f in arrow_type] if pa.types.is_struct(arrow_type) else []
        self.storage = storage_type(arrow_type)
        dtype = self.storage.to_pandas_dtype() if self.storage is not None else object
        self.values = np.zeros(capacity, dtype=dtype) if self.storage is not None else np.full(capacity, None)
        self.valid = np.zeros(capacity, dtype=bool)

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.valid.nbytes

    def grow(self, capacity: int) -> None:
        extra = capacity - len(self.values)
        filler = np.zeros(extra, dtype=self.values.dtype) if self.storage is not None else np.full(extra, None)
        self.values = np.concatenate([self.values, filler])
        self.valid = np.concatenate([self.valid, np.zeros(extra, dtype=bool)])
        for child in self.children:
            child.grow(capacity)

    def set(self, slots: np.ndarray, array: pa.ChunkedArray | pa.Array) -> None:
        """Write an Arrow array's values at these slots."""
        if self.children:
            for index, child in enumerate(self.children):
                child.set(slots, pc.struct_field(array, index))
            self.valid[slots] = array.is_valid().to_numpy(zero_copy_only=False)
        else:
            self.values[slots], self.valid[slots] = to_numpy(array, self.storage)

    def to_arrow(self, slots: np.ndarray) -> pa.Array:
        if self.children:
            return pa.StructArray.from_arrays([c.to_arrow(slots) for c in self.children], fields=list(self.type),
                                              mask=pa.array(~self.valid[slots]))
        return self.arrow_from(self.values[slots], self.valid[slots])

    def equals_at(self, slots: np.ndarray, array: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Per row: whether the array's value equals the value stored at its slot (nulls equal nulls, NaN NaN)."""
        if self.children:
            valid = array.is_valid().to_numpy(zero_copy_only=False)
            same = valid == self.valid[slots]
            for index, child in enumerate(self.children):
                same &= child.equals_at(slots, pc.struct_field(array, index)) | ~valid
            return same
        values, valid = to_numpy(array, self.storage)
        stored = self.values[slots]
        equal = np.asarray(values == stored, dtype=bool)
        if values.dtype.kind == "f":
            equal |= np.isnan(values) & np.isnan(stored)
        return (valid == self.valid[slots]) & (equal | ~valid)

    def arrow_from(self, values: np.ndarray, valid: np.ndarray) -> pa.Array:
        if self.storage is None:
            return pa.array(values, type=self.type, mask=~valid)
        mask = None if valid.all() else ~valid  # (building a bitmap of no nulls costs 10 times the copy)
        if pa.types.is_temporal(self.type) and self.type.bit_width == 32:  # date32, time32: via their int32
            return pa.array(values.astype(np.int32), type=pa.int32(), mask=mask).view(self.type)
        array = pa.array(values, type=self.storage, mask=mask)
        return array if self.storage == self.type else array.cast(self.type)  # (a cast to itself is a call)


def storage_type(arrow_type: pa.DataType) -> pa.DataType | None:
    """How values are kept in numpy: int64 for times, native numbers, None (Python objects) otherwise."""
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type) or pa.types.is_duration(arrow_type):
        return pa.int64()
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_boolean(arrow_type):
        return arrow_type
    return None


def to_numpy(array: pa.ChunkedArray | pa.Array, storage: pa.DataType | None) -> tuple[np.ndarray, np.ndarray]:
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if array.null_count:
        valid = array.is_valid().to_numpy(zero_copy_only=False)
    else:  # (no bitmap to unpack)
        valid = np.ones(len(array), dtype=bool)
    if storage is None:
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            return array.to_numpy(zero_copy_only=False), valid
        return np.array(array.to_pylist() + [None], dtype=object)[:-1], valid
    array = temporal_integers(array)
    stored = array.cast(storage) if array.type != storage else array
    if not array.null_count:
        return stored.to_numpy(zero_copy_only=False), valid
    zero = False if pa.types.is_boolean(storage) else 0
    return pc.fill_null(stored, pa.scalar(zero, type=storage)).to_numpy(zero_copy_only=False), valid
