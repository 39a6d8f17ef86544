"""Compress indicator rows to distinct patterns with counts, in Spark (the step that makes the LCA cheap).

A row of J <= 62 binary indicators is packed into a long bit mask (bit j = indicator j), rows are grouped by the
mask, and only the pattern table (mask, count) - a few tens of thousands of rows for 3.6 million assessments - is
ever brought to the driver.
"""
from __future__ import annotations

from functools import reduce

import numpy as np
from pyspark import StorageLevel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from csc_demand.errors import ModelError

MAX_BITS = 62


def indicator_array(df: DataFrame, col: str) -> F.Column:
    """The features column as array<int>, whether it is an array of numbers or an ML Vector."""
    if isinstance(df.schema[col].dataType, ArrayType):
        return F.transform(F.col(col), lambda x: x.cast("int"))
    return F.transform(vector_to_array(F.col(col)), lambda x: x.cast("int"))


def raw_array(df: DataFrame, col: str) -> F.Column:
    """The features column as an array of numbers (no per-element cast)."""
    return F.col(col) if isinstance(df.schema[col].dataType, ArrayType) else vector_to_array(F.col(col))


def bitmask(values: F.Column, n_indicators: int) -> F.Column:
    """Array of 0/1 -> long with bit j set when indicator j is 1.

    One flat expression per indicator (no lambda functions, which Spark interprets row by row): code generation
    compiles it, which makes compression several times faster than ``aggregate``/``transform``.
    """
    bits = [F.when(F.get(values, j) == 1, F.lit(1 << j)).otherwise(F.lit(0).cast("long")) for j in range(n_indicators)]
    return reduce(lambda a, b: a.bitwiseOR(b), bits)


def is_valid(values: F.Column, n_indicators: int) -> F.Column:
    """True when the row is an array of exactly ``n_indicators`` values, each 0 or 1 (never null)."""
    ok = [F.coalesce(F.get(values, j).isin(0, 1), F.lit(False)) for j in range(n_indicators)]
    return reduce(lambda a, b: a & b, ok, F.coalesce(F.size(values) == n_indicators, F.lit(False)))


def explain_invalid(df: DataFrame, col: str, key_cols: list[str] | None = None) -> None:
    """Raises ValueError naming the problem when rows are not equal-length 0/1 arrays (the slow, detailed check,
    run only once compression has found an invalid row)."""
    ind = indicator_array(df, col)
    bad = F.col("_ind").isNull() | F.exists(F.col("_ind"), lambda x: x.isNull() | ~x.isin(0, 1))
    summary = (df.select(ind.alias("_ind"), *(key_cols or []))
               .select(F.size("_ind").alias("_n"), bad.alias("_bad"), *(key_cols or []))
               .groupBy().agg(F.min("_n").alias("lo"), F.max("_n").alias("hi"),
                              F.sum(F.col("_bad").cast("long")).alias("n_bad"))
               .collect()[0])
    if summary["n_bad"]:
        example = df.select(ind.alias("_ind"), *(key_cols or [])).where(bad).take(1)[0]
        raise ModelError(
            f"{summary['n_bad']} row(s) have a null or non-0/1 value in {col!r} (first: {example.asDict()}); "
            "indicators must be 0/1 - fix or drop those rows before fitting")
    if summary["lo"] != summary["hi"]:
        raise ModelError(f"rows of {col!r} have different lengths ({summary['lo']} to {summary['hi']}); "
                         "every row must have the same indicators in the same order")


def pattern_table(df: DataFrame, col: str) -> tuple[int, DataFrame]:
    """(J, table with one row per distinct indicator pattern: mask long, count long), from a single pass over the
    rows. The table is cached (it is small; ``unpersist`` it when done). Raises ValueError on empty input or on
    rows that are not equal-length arrays of 0/1."""
    values = raw_array(df, col)
    first = df.select(F.size(values).alias("n")).first()
    if first is None:
        raise ModelError(f"no rows to fit: the input to the latent class model is empty (column {col!r})")
    n_ind = first["n"] or 0
    if n_ind > MAX_BITS:
        raise ModelError(f"{n_ind} indicators: at most {MAX_BITS} are supported by the bit-mask compression")
    if n_ind < 1:
        explain_invalid(df, col)
        raise ModelError(f"rows of {col!r} hold no indicators")
    table = (df.select(bitmask(values, n_ind).alias("mask"), is_valid(values, n_ind).alias("valid"))
             .groupBy("mask", "valid").agg(F.count(F.lit(1)).alias("count"))
             .persist(StorageLevel.MEMORY_AND_DISK))
    if table.where(~F.col("valid")).count():
        table.unpersist()
        explain_invalid(df, col)
        raise ModelError(f"rows of {col!r} are not all arrays of {n_ind} 0/1 indicators")
    return n_ind, table


def unpack_column(mask_col: str, n_indicators: int, dtype: str = "int") -> F.Column:
    """Spark twin of ``unpack``: a long bit mask column -> array of 0/1 (``dtype`` int or double)."""
    return F.expr(f"transform(sequence(0, {n_indicators - 1}), i -> cast(shiftright(`{mask_col}`, i) & 1 AS {dtype}))")


def unpack(masks: np.ndarray, n_indicators: int) -> np.ndarray:
    """Bit masks -> 0/1 matrix (n, J), the inverse of ``bitmask``."""
    # The bytes of each little-endian long, unpacked least significant bit first: column j is bit j. A byte-wise
    # unpack, where shifting a (n, J) int64 array would make three temporaries of 8 bytes per cell.
    as_bytes = np.ascontiguousarray(masks, dtype="<i8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :n_indicators].astype(np.float64)


def pack(X: np.ndarray) -> np.ndarray:
    """0/1 matrix (n, J) -> bit masks (driver-side twin of ``bitmask``)."""
    X = np.asarray(X, dtype=np.int64)
    return (X << np.arange(X.shape[1], dtype=np.int64)).sum(axis=1)
