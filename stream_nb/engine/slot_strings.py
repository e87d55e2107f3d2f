"""A string (or binary) key column of keyed state, kept as Arrow keeps it: the bytes of every value in one
numpy byte heap, and per slot where its value starts and how long it is. No Python object per key: writing a
batch's new keys copies their bytes in one go, and the exact check of a matched key compares bytes with
vectorised numpy passes, or a compiled loop once ``hashslots_kernels`` has loaded (20,000 keys: ~0.1 ms,
where Python strings cost ~1 ms to make and compare).

An evicted key's bytes stay in the heap until it fills up; then, if less than half of it is live, the live
values are copied to a fresh heap instead of growing it. Bytes compare as the strings do: Arrow's strings are
UTF-8, one encoding per string.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stream_nb.engine import hashslots_kernels

# Values gathered at a time: bounds the temporary index arrays (8 bytes per byte gathered).
_GATHER_BYTES = 1 << 22


def is_string(arrow_type: pa.DataType) -> bool:
    """Whether a key column of this type is kept as bytes (``StringSlotColumn``)."""
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
        or pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type)


class StringSlotColumn:
    """A growable string column by slot: a byte heap, each slot's start and length, and a validity mask.

    >>> column = StringSlotColumn(pa.string(), 4)
    >>> column.set(np.array([2, 0]), pa.array(["héllo", None]))
    >>> column.to_arrow(np.array([0, 2])).to_pylist()
    [None, 'héllo']
    >>> column.equals_at(np.array([2, 2, 0]), pa.array(["héllo", "hello", None])).tolist()
    [True, False, True]
    """

    def __init__(self, arrow_type: pa.DataType, capacity: int):
        self.type = arrow_type
        self.starts = np.zeros(capacity, dtype=np.int64)
        self.lengths = np.zeros(capacity, dtype=np.int64)
        self.valid = np.zeros(capacity, dtype=bool)
        self._heap = np.empty(1024, dtype=np.uint8)
        self._end = 0  # bytes of the heap in use (live values and evicted ones)

    @property
    def nbytes(self) -> int:
        return self.starts.nbytes + self.lengths.nbytes + self.valid.nbytes + self._heap.nbytes

    def grow(self, capacity: int) -> None:
        extra = capacity - len(self.valid)
        self.starts = np.concatenate([self.starts, np.zeros(extra, dtype=np.int64)])
        self.lengths = np.concatenate([self.lengths, np.zeros(extra, dtype=np.int64)])
        self.valid = np.concatenate([self.valid, np.zeros(extra, dtype=bool)])

    def set(self, slots: np.ndarray, array: pa.ChunkedArray | pa.Array) -> None:
        """Write an Arrow array's values at these slots (distinct)."""
        valid, offsets, data = _layout(array)
        self.valid[slots] = False  # what these slots held is garbage now, whatever the heap does next
        first, last = int(offsets[0]), int(offsets[-1])
        self._make_room(last - first)
        self._heap[self._end:self._end + last - first] = data[first:last]
        self.starts[slots] = offsets[:-1] - first + self._end
        self.lengths[slots] = np.where(valid, np.diff(offsets), 0)
        self.valid[slots] = valid
        self._end += last - first

    def to_arrow(self, slots: np.ndarray) -> pa.Array:
        valid = self.valid[slots]
        lengths = np.where(valid, self.lengths[slots], 0)
        data, offsets = _gather(self._heap, self.starts[slots], lengths)
        large = pa.types.is_large_string(self.type) or pa.types.is_large_binary(self.type)
        bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        if not large and offsets[-1] > np.iinfo(np.int32).max:  # 32-bit offsets would wrap: let Arrow refuse
            wide = pa.large_binary() if pa.types.is_binary(self.type) else pa.large_string()
            array = pa.Array.from_buffers(wide, len(slots), [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)])
            return array.cast(self.type)  # raises ArrowInvalid (over 2 GB), never a wrapped offset
        offsets = offsets if large else offsets.astype(np.int32)
        return pa.Array.from_buffers(self.type, len(slots), [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)])

    def equals_at(self, slots: np.ndarray, array: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Per row: whether the array's value equals the value stored at its slot (nulls equal nulls)."""
        valid, offsets, data = _layout(array)
        lengths = np.diff(offsets)
        same = (valid == self.valid[slots]) & (~valid | (lengths == self.lengths[slots]))
        rows = np.flatnonzero(same & valid & (lengths > 0))  # both hold bytes, as many: compare them
        kernels = hashslots_kernels.ready(len(rows))
        if kernels is not None and len(rows):
            result = np.empty(len(rows), dtype=bool)
            kernels.same_bytes(self._heap, self.starts[slots[rows]], data, offsets[rows], lengths[rows], result)
            same[rows] = result
        elif len(rows):
            ours, bounds = _gather(self._heap, self.starts[slots[rows]], lengths[rows])
            if len(rows) == len(lengths):  # every row: an Arrow array's values lie one after the other already
                theirs = data[offsets[0]:offsets[-1]]
            else:
                theirs, _ = _gather(data, offsets[rows], lengths[rows])
            same[rows] = np.logical_and.reduceat(ours == theirs, bounds[:-1])
        return same

    def _make_room(self, size: int) -> None:
        """Room for ``size`` more bytes: in place, by dropping evicted values, or in a bigger heap."""
        if self._end + size <= len(self._heap):
            return
        live = np.flatnonzero(self.valid)
        live_bytes = int(self.lengths[live].sum())
        capacity = len(self._heap)
        while 2 * (live_bytes + size) > capacity:  # at most half full after: room before the next copy
            capacity *= 2
        data, offsets = _gather(self._heap, self.starts[live], self.lengths[live])
        self._heap = np.empty(capacity, dtype=np.uint8)
        self._heap[:len(data)] = data
        self.starts[live] = offsets[:-1]
        self._end = len(data)


def _layout(array: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An Arrow string/binary array's validity, offsets (int64, one per value and the end) and data bytes."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    count = len(array)
    large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if large else np.int32,
                            count=array.offset + count + 1)[array.offset:].astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    valid = np.ones(count, dtype=bool) if not array.null_count else array.is_valid().to_numpy(zero_copy_only=False)
    return valid, offsets, data


def _gather(source: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bytes ``source[start:start + length]`` of each value one after the other, and the offsets where each
    begins (and the end), in passes of at most ``_GATHER_BYTES`` bytes."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    kernels = hashslots_kernels.ready(len(lengths))
    if kernels is not None:
        kernels.gather(source, np.ascontiguousarray(starts, dtype=np.int64),
                       np.ascontiguousarray(lengths, dtype=np.int64), out, offsets)
        return out, offsets
    row = 0
    while row < len(lengths):
        stop = max(row + 1, int(np.searchsorted(offsets, offsets[row] + _GATHER_BYTES, side="right")) - 1)
        stop = min(stop, len(lengths))
        size = int(offsets[stop] - offsets[row])
        if size:
            shift = np.repeat(starts[row:stop] - offsets[row:stop], lengths[row:stop])
            out[offsets[row]:offsets[stop]] = source[shift + np.arange(offsets[row], offsets[stop])]
        row = stop
    return out, offsets
