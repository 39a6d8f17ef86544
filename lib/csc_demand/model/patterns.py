"""Compress indicator rows to distinct patterns with counts, in Spark (the step that makes the LCA cheap).

A row of J <= 62 binary indicators is packed into a long bit mask (bit j = indicator j), rows are grouped by the
mask, and only the pattern table (mask, count) - a few tens of thousands of rows for 3.6 million assessments - is
ever brought to the driver.
"""
from __future__ import annotations

import numpy as np
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

MAX_BITS = 62


def indicator_array(df: DataFrame, col: str) -> F.Column:
    """The features column as array<int>, whether it is an array of numbers or an ML Vector."""
    if isinstance(df.schema[col].dataType, ArrayType):
        return F.transform(F.col(col), lambda x: x.cast("int"))
    return F.transform(vector_to_array(F.col(col)), lambda x: x.cast("int"))


def bitmask(indicators: F.Column) -> F.Column:
    """array<int> of 0/1 -> long with bit j set when indicator j is 1."""
    # 2.0 ** i is exact in a double for i <= 62, so the cast to long is exact too
    weighted = F.transform(indicators, lambda x, i: F.when(x == 1, F.pow(F.lit(2.0), i).cast("long"))
                           .otherwise(F.lit(0).cast("long")))
    return F.aggregate(weighted, F.lit(0).cast("long"), lambda acc, v: acc + v)


def check_indicators(df: DataFrame, col: str, key_cols: list[str] | None = None) -> int:
    """Number of indicators J; raises ValueError naming the problem when rows are not equal-length 0/1 arrays."""
    ind = indicator_array(df, col)
    bad = F.col("_ind").isNull() | F.exists(F.col("_ind"), lambda x: x.isNull() | ~x.isin(0, 1))
    summary = (df.select(ind.alias("_ind"), *(key_cols or []))
               .select(F.size("_ind").alias("_n"), bad.alias("_bad"), *(key_cols or []))
               .groupBy().agg(F.min("_n").alias("lo"), F.max("_n").alias("hi"),
                              F.sum(F.col("_bad").cast("long")).alias("n_bad"),
                              F.count(F.lit(1)).alias("rows"))
               .first())
    if summary["rows"] == 0:
        raise ValueError(f"no rows to fit: the input to the latent class model is empty (column {col!r})")
    if summary["n_bad"]:
        example = (df.select(ind.alias("_ind"), *(key_cols or [])).where(bad).first())
        raise ValueError(
            f"{summary['n_bad']} row(s) have a null or non-0/1 value in {col!r} (first: {example.asDict()}); "
            "indicators must be 0/1 - fix or drop those rows before fitting")
    if summary["lo"] != summary["hi"]:
        raise ValueError(f"rows of {col!r} have different lengths ({summary['lo']} to {summary['hi']}); "
                         "every row must have the same indicators in the same order")
    if summary["hi"] > MAX_BITS:
        raise ValueError(f"{summary['hi']} indicators: at most {MAX_BITS} are supported by the bit-mask compression")
    return int(summary["hi"])


def pattern_table(df: DataFrame, col: str) -> DataFrame:
    """(mask long, count long): one row per distinct indicator pattern."""
    return (df.select(bitmask(indicator_array(df, col)).alias("mask"))
            .groupBy("mask").agg(F.count(F.lit(1)).alias("count"))
            .select("mask", "count"))


def unpack_column(mask_col: str, n_indicators: int, dtype: str = "int") -> F.Column:
    """Spark twin of ``unpack``: a long bit mask column -> array of 0/1 (``dtype`` int or double)."""
    return F.expr(f"transform(sequence(0, {n_indicators - 1}), i -> cast(shiftright(`{mask_col}`, i) & 1 AS {dtype}))")


def unpack(masks: np.ndarray, n_indicators: int) -> np.ndarray:
    """Bit masks -> 0/1 matrix (n, J), the inverse of ``bitmask``."""
    masks = np.asarray(masks, dtype=np.int64)
    return ((masks[:, None] >> np.arange(n_indicators, dtype=np.int64)) & 1).astype(np.float64)


def pack(X: np.ndarray) -> np.ndarray:
    """0/1 matrix (n, J) -> bit masks (driver-side twin of ``bitmask``)."""
    X = np.asarray(X, dtype=np.int64)
    return (X << np.arange(X.shape[1], dtype=np.int64)).sum(axis=1)
