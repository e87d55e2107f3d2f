"""Spark's ``hash(...)`` and ``xxhash64(...)``. ``hash`` is its Murmur3 (x86, 32 bits) with seed 42, each
argument hashed with the one before's result as its seed, so ``hash(a, b)`` is ``h(b, h(a, 42))``. A NULL argument leaves the seed as it is
(``hash(NULL)`` is 42). The values are Spark's own (``Murmur3HashFunction``):

* boolean, byte, short, int and date (its days) hash as an int; bigint and timestamps (their microseconds) as
  a long (two ints, low first); a float as its IEEE bits, a double as its 64 bits (``-0.0`` as ``0.0``, every
  NaN as Java's one NaN); a decimal of up to 18 digits as its unscaled long, a longer one as the bytes of its
  unscaled ``BigInteger``;
* a string or binary value by ``hashUnsafeBytes``: its bytes four at a time (little-endian ints), then each
  remaining byte, sign-extended, as an int of its own. That tail is Spark's and not Murmur3's standard one.

``xxhash64`` is XXH64 (64 bits) with seed 42, chained and fed the same way: an int as 4 bytes, a long as 8,
text and binary by the standard XXH64 of their bytes.

``sql/spark_functions.py`` writes each argument as a call of one of the functions registered here, by its
type. Numbers go through numpy's wrapping 32- and 64-bit arithmetic, a batch at a time; text, bytes and long
decimals value by value.

>>> int(hash_ints(np.array([1], np.int32), np.array([42], np.uint32)).view(np.int32)[0])
-559580957
>>> hash_bytes(b"abc", 42)
1322437556
>>> xxhash_bytes(b"abc", 42)
1423657621850124518
"""

from __future__ import annotations

import decimal
import struct

import numpy as np
import pyarrow as pa

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M, _N = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_JAVA_NAN = np.uint64(0x7FF8000000000000)
_JAVA_FLOAT_NAN = np.uint32(0x7FC00000)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix_k1(k1: np.ndarray) -> np.ndarray:
    return _rotl(k1 * _C1, 15) * _C2


def _mix_h1(h1: np.ndarray, k1: np.ndarray) -> np.ndarray:
    return _rotl(h1 ^ k1, 13) * _M + _N


def _fmix(h1: np.ndarray, length: int) -> np.ndarray:
    h1 = h1 ^ np.uint32(length)
    h1 = h1 ^ (h1 >> np.uint32(16))
    h1 = h1 * _F1
    h1 = h1 ^ (h1 >> np.uint32(13))
    h1 = h1 * _F2
    return h1 ^ (h1 >> np.uint32(16))


def hash_ints(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Spark's ``hashInt`` of each 32-bit value with its seed (uint32 in, uint32 out)."""
    with np.errstate(over="ignore"):
        return _fmix(_mix_h1(seeds, _mix_k1(values.view(np.uint32))), 4)


def hash_longs(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Spark's ``hashLong``: the low 32 bits, then the high 32 bits."""
    bits = values.view(np.uint64)
    low, high = (bits & np.uint64(0xFFFFFFFF)).astype(np.uint32), (bits >> np.uint64(32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        return _fmix(_mix_h1(_mix_h1(seeds, _mix_k1(low)), _mix_k1(high)), 8)


def hash_bytes(data: bytes, seed: int) -> int:
    """Spark's ``hashUnsafeBytes`` of one value (a signed 32-bit result), in Python's integers."""
    aligned = len(data) - len(data) % 4
    h1 = seed & _MASK
    for (word,) in struct.iter_unpack("<I", data[:aligned]):
        h1 = _mix_h1_int(h1, word)
    for byte in data[aligned:]:
        h1 = _mix_h1_int(h1, byte | 0xFFFFFF00 if byte > 127 else byte)  # a Java byte, sign-extended
    h1 ^= len(data)
    h1 ^= h1 >> 16
    h1 = h1 * 0x85EBCA6B & _MASK
    h1 ^= h1 >> 13
    h1 = h1 * 0xC2B2AE35 & _MASK
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


_MASK = 0xFFFFFFFF


def _mix_h1_int(h1: int, k1: int) -> int:
    k1 = k1 * 0xCC9E2D51 & _MASK
    k1 = (k1 << 15 | k1 >> 17) & _MASK
    h1 ^= k1 * 0x1B873593 & _MASK
    h1 = (h1 << 13 | h1 >> 19) & _MASK
    return (h1 * 5 + 0xE6546B64) & _MASK


# -- XXH64, as Spark's XXH64 class

_P1, _P2, _P3 = np.uint64(0x9E3779B185EBCA87), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_P4, _P5 = np.uint64(0x85EBCA77C2B2AE63), np.uint64(0x27D4EB2F165667C5)
_MASK64 = (1 << 64) - 1


def _rotl64(x, r: int):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _xx_fmix(h: np.ndarray) -> np.ndarray:
    h = (h ^ (h >> np.uint64(33))) * _P2
    h = (h ^ (h >> np.uint64(29))) * _P3
    return h ^ (h >> np.uint64(32))


def xxhash_ints(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Spark's ``XXH64.hashInt`` of each 32-bit value with its seed (uint64 out)."""
    with np.errstate(over="ignore"):
        h = seeds + _P5 + np.uint64(4)
        h = h ^ values.view(np.uint32).astype(np.uint64) * _P1
        return _xx_fmix(_rotl64(h, 23) * _P2 + _P3)


def xxhash_longs(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Spark's ``XXH64.hashLong``."""
    with np.errstate(over="ignore"):
        h = seeds + _P5 + np.uint64(8)
        h = h ^ _rotl64(values.view(np.uint64) * _P2, 31) * _P1
        return _xx_fmix(_rotl64(h, 27) * _P1 + _P4)


def xxhash_bytes(data: bytes, seed: int) -> int:
    """XXH64 of one value's bytes (a signed 64-bit result), in Python's integers."""
    p1, p2, p3, p4, p5 = (int(p) for p in (_P1, _P2, _P3, _P4, _P5))
    def rotl(x: int, r: int) -> int:
        return (x << r | x >> (64 - r)) & _MASK64

    seed &= _MASK64
    n, at = len(data), 0
    if n >= 32:
        v = [(seed + p1 + p2) & _MASK64, (seed + p2) & _MASK64, seed, (seed - p1) & _MASK64]
        while at + 32 <= n:
            for i, (lane,) in enumerate(struct.iter_unpack("<Q", data[at:at + 32])):
                v[i] = rotl((v[i] + lane * p2) & _MASK64, 31) * p1 & _MASK64
            at += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & _MASK64
        for lane in v:
            h = ((h ^ rotl(lane * p2 & _MASK64, 31) * p1 & _MASK64) * p1 + p4) & _MASK64
    else:
        h = (seed + p5) & _MASK64
    h = (h + n) & _MASK64
    while at + 8 <= n:
        (word,) = struct.unpack_from("<Q", data, at)
        h = (rotl(h ^ rotl(word * p2 & _MASK64, 31) * p1 & _MASK64, 27) * p1 + p4) & _MASK64
        at += 8
    if at + 4 <= n:
        (word,) = struct.unpack_from("<I", data, at)
        h = (rotl(h ^ word * p1 & _MASK64, 23) * p2 + p3) & _MASK64
        at += 4
    for byte in data[at:]:
        h = rotl(h ^ byte * p5 & _MASK64, 11) * p1 & _MASK64
    h = (h ^ h >> 33) * p2 & _MASK64
    h = (h ^ h >> 29) * p3 & _MASK64
    h ^= h >> 32
    return h - (1 << 64) if h >> 63 else h


# -- the functions a query's connection calls: (value, seed) -> int, the seed as it is where the value is NULL

def _hashed(values: pa.Array, seeds: pa.Array, numbers: np.ndarray, hasher, wide: bool) -> pa.Array:
    kind = np.int64 if wide else np.int32
    seed = seeds.to_numpy(zero_copy_only=False).astype(kind)
    hashed = hasher(numbers, seed.view(np.uint64 if wide else np.uint32)).view(kind)
    if values.null_count:
        hashed = np.where(values.is_null().to_numpy(zero_copy_only=False), seed, hashed)
    return pa.array(hashed, pa.int64() if wide else pa.int32())


def _java_bits(values: pa.Array, kind) -> np.ndarray:
    """A float's or double's bits as Java's floatToIntBits / doubleToLongBits (one NaN), -0.0 as 0.0."""
    x = values.fill_null(0.0).to_numpy().astype(kind)
    unsigned, nan = (np.uint64, _JAVA_NAN) if kind == np.float64 else (np.uint32, _JAVA_FLOAT_NAN)
    return np.where(np.isnan(x), nan, np.where(x == 0.0, unsigned(0), x.view(unsigned)))


def _functions(ints, longs, text_hash, wide: bool) -> dict:
    """The (value, seed) functions of one hash, by the argument's DuckDB type."""
    def by_int(values, seeds):
        return _hashed(values, seeds, values.fill_null(0).to_numpy().astype(np.int32), ints, wide)

    def by_long(values, seeds):
        return _hashed(values, seeds, values.fill_null(0).to_numpy().astype(np.int64), longs, wide)

    def by_double(values, seeds):
        return _hashed(values, seeds, _java_bits(values, np.float64).view(np.int64), longs, wide)

    def by_float(values, seeds):
        return _hashed(values, seeds, _java_bits(values, np.float32).view(np.int32), ints, wide)

    def by_bytes(values, seeds):
        binary = values.cast(pa.binary()) if pa.types.is_string(values.type) else values
        return pa.array([seed if value is None else text_hash(value, seed)
                         for value, seed in zip(binary.to_pylist(), seeds.to_pylist())],
                        pa.int64() if wide else pa.int32())

    def by_decimal(texts, scales, seeds):  # a decimal of over 18 digits: its unscaled value's bytes as Java's
        return pa.array([seed if text is None else text_hash(_unscaled_bytes(text, scale), seed)  # BigInteger
                         for text, scale, seed in zip(texts.to_pylist(), scales.to_pylist(), seeds.to_pylist())],
                        pa.int64() if wide else pa.int32())

    return {"DECIMAL": by_decimal, "INTEGER": by_int, "BIGINT": by_long, "DOUBLE": by_double, "FLOAT": by_float,
            "VARCHAR": by_bytes, "BLOB": by_bytes}


def _unscaled_bytes(text: str, scale: int) -> bytes:
    """``BigInteger.toByteArray()`` of the decimal's unscaled value: big-endian two's complement, fewest bytes."""
    n = int(decimal.Decimal(text).scaleb(scale))
    return n.to_bytes(((~n).bit_length() if n < 0 else n.bit_length()) // 8 + 1, "big", signed=True)


_SUFFIXES = {"DECIMAL": "decimal", "INTEGER": "int", "BIGINT": "long", "DOUBLE": "double", "FLOAT": "float",
             "VARCHAR": "text", "BLOB": "bytes"}


def register(con) -> None:
    """``spark_hash_{int,long,double,float,text,bytes}(value, seed)``, ``spark_hash_decimal(text, scale,
    seed)`` and ``spark_xxhash64_...`` likewise, on a query's connection."""
    for prefix, functions, result in (
            ("spark_hash", _functions(hash_ints, hash_longs, hash_bytes, wide=False), "INTEGER"),
            ("spark_xxhash64", _functions(xxhash_ints, xxhash_longs, xxhash_bytes, wide=True), "BIGINT")):
        for kind, fn in functions.items():
            arguments = ["VARCHAR", "INTEGER", result] if kind == "DECIMAL" else [kind, result]
            con.create_function(f"{prefix}_{_SUFFIXES[kind]}", fn, arguments, result, type="arrow",
                                side_effects=False, null_handling="special")


__all__ = ["hash_bytes", "hash_ints", "hash_longs", "register", "xxhash_bytes", "xxhash_ints", "xxhash_longs"]
