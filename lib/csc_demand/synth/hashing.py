"""Spark's ``xxhash64`` in numpy, bit for bit: the generator's draws computed in Python tasks equal the ones
``rand.uniform`` computes as Spark expressions (tests/test_synth_model.py checks them against Spark).

Spark hashes the columns in order, each with the previous hash as its seed (42 before the first): an int as 4
bytes, a long as 8, a string as its UTF-8 bytes (org.apache.spark.sql.catalyst.expressions.XXH64).
"""
from __future__ import annotations

import numpy as np

SPARK_SEED = 42
P1 = np.uint64(0x9E3779B185EBCA87)
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
P3 = np.uint64(0x165667B19E3779F9)
P4 = np.uint64(0x85EBCA77C2B2AE63)
P5 = np.uint64(0x27D4EB2F165667C5)
_MASK53 = np.uint64((1 << 53) - 1)
_TWO53 = float(1 << 53)


def _u64(x) -> np.ndarray:
    """Java's long as numpy's uint64, the same 64 bits (numpy's unsigned arithmetic wraps as Java's does)."""
    a = np.asarray(x)
    return a if a.dtype == np.uint64 else a.astype(np.int64).view(np.uint64)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * P2
    h = h ^ (h >> np.uint64(29))
    h = h * P3
    return h ^ (h >> np.uint64(32))


def _word32(h: np.ndarray, word) -> np.ndarray:
    h = h ^ ((_u64(word) & np.uint64(0xFFFFFFFF)) * P1)
    return _rotl(h, 23) * P2 + P3


def _word64(h: np.ndarray, word) -> np.ndarray:
    h = h ^ (_rotl(_u64(word) * P2, 31) * P1)
    return _rotl(h, 27) * P1 + P4


def hash_int(value, seed) -> np.ndarray:
    """XXH64.hashInt: an int (or int column) hashed with seed (the hash so far)."""
    with np.errstate(over="ignore"):
        return _fmix(_word32(_u64(seed) + P5 + np.uint64(4), np.asarray(value, dtype=np.int64)))


def hash_long(value, seed) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _fmix(_word64(_u64(seed) + P5 + np.uint64(8), np.asarray(value, dtype=np.int64)))


def hash_string(text: str, seed) -> np.ndarray:
    """XXH64.hashUnsafeBytes of the UTF-8 bytes (strings shorter than 32 bytes: the generator's purposes)."""
    data = text.encode()
    assert len(data) < 32, "longer strings take XXH64's four-lane path, not written here"
    with np.errstate(over="ignore"):
        h = _u64(seed) + P5 + np.uint64(len(data))
        at = 0
        while at + 8 <= len(data):
            h = _word64(h, np.frombuffer(data[at:at + 8], dtype="<i8")[0])
            at += 8
        if at + 4 <= len(data):
            h = _word32(h, np.frombuffer(data[at:at + 4], dtype="<i4")[0])
            at += 4
        for byte in data[at:]:
            h = _rotl(h ^ (np.uint64(byte) * P5), 11) * P1
        return _fmix(h)


def hash_keys(seed, *keys) -> np.ndarray:
    """xxhash64(key1, key2, ...) continued from ``seed`` (SPARK_SEED, or a hash of earlier keys): an int32 array
    is an int column (the round), another int array a long column (ids), a Python int an int literal, a str a
    string literal."""
    h = seed
    for key in keys:
        if isinstance(key, str):
            h = hash_string(key, h)
        elif isinstance(key, int | np.integer):
            h = hash_int(int(key), h)
        elif key.dtype == np.int32:
            h = hash_int(key, h)
        else:
            h = hash_long(key, h)
    return _u64(h)


def to_uniform(h: np.ndarray) -> np.ndarray:
    """The hash as U(0,1) exactly as ``rand.uniform``: its low 53 bits, +0.5, / 2^53."""
    return ((h & _MASK53).astype(np.float64) + 0.5) / _TWO53
