"""Sufficient-statistics E-step on Spark, for pattern sets too large for the driver.

Like MLlib's GaussianMixture: each iteration is one pass over the (cached) pattern table; every partition runs the
same numpy kernel as the driver path (``csc_demand.model.em``) on its Arrow batches and returns one row of partial
sums; the driver adds the per-partition rows. Nothing row-level is collected.
"""
from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from csc_demand.errors import ModelError
from csc_demand.model.patterns import unpack


class SparkPatterns:
    """The pattern table (mask, count) kept in Spark; ``reduce`` sums a kernel's outputs over all partitions.

    ``patterns`` should be cached (``csc_demand.model.patterns.pattern_table`` caches it); ``release`` unpersists it.
    """

    def __init__(self, patterns: DataFrame, n_indicators: int):
        self.table = patterns
        self.df = patterns.select("mask", "count")
        slots = task_slots(patterns.sparkSession)
        if slots and self.df.rdd.getNumPartitions() != slots:
            # Every Python task has a fixed start-up cost whatever its size, and every pass is a barrier: one
            # partition per task slot (bench_lca, non-compressing section).
            self.df = self.df.repartition(slots).persist(StorageLevel.MEMORY_AND_DISK)
        self.n_indicators = n_indicators
        self.n_obs = float(self.df.groupBy().sum("count").collect()[0][0] or 0)

    def reduce(self, fn: Callable, *params: np.ndarray) -> tuple:
        n_ind = self.n_indicators

        def per_partition(batches):
            total = None
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                X = unpack(batch.column("mask").to_numpy(zero_copy_only=False), n_ind)  # dense: no CSR conversion
                w = batch.column("count").to_numpy(zero_copy_only=False).astype(np.float64)
                out = fn(X, w, *params)
                total = out if total is None else tuple(a + b for a, b in zip(total, out, strict=True))
            if total is not None:
                yield pa.RecordBatch.from_pydict({"stats": [pickle.dumps(total)]})

        rows = self.df.mapInArrow(per_partition, "stats binary").collect()
        if not rows:
            raise ModelError("the pattern table is empty: nothing to fit")
        parts = [pickle.loads(row["stats"]) for row in rows]
        return tuple(sum(values[1:], values[0].copy()) for values in zip(*parts, strict=True))

    def top_patterns(self, n: int):
        """The n most frequent patterns (ties by mask) as (masks, counts): the pool starting values are drawn from."""
        rows = self.df.orderBy(self.df["count"].desc(), self.df["mask"]).limit(n).collect()
        return (np.array([r["mask"] for r in rows], dtype=np.int64),
                np.array([r["count"] for r in rows], dtype=np.float64))

    def release(self) -> None:
        self.df.unpersist()
        self.table.unpersist()


def task_slots(spark: SparkSession) -> int | None:
    """How many tasks the cluster runs at once (classic sessions; None under Spark Connect, which does not say)."""
    from csc_demand.spark import is_connect

    return None if is_connect(spark) else spark.sparkContext.defaultParallelism
