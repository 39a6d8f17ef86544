"""Sufficient-statistics E-step on Spark, for pattern sets too large for the driver.

Like MLlib's GaussianMixture: each iteration is one pass over the (cached) pattern table; every partition runs the
same numpy kernel as the driver path (``csc_demand.model.em``) on its Arrow batches and returns one row of partial
sums; the driver adds the per-partition rows. Nothing row-level is collected.
"""
from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Sequence

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
        self.passes = 0  # Spark jobs over the patterns so far (benchmarks report it)

    def reduce(self, fn: Callable, *params: np.ndarray) -> tuple:
        return self.reduce_many([(fn, params)])[0]

    def reduce_many(self, requests: Sequence[tuple[Callable, tuple]]) -> list[tuple]:
        """Every (kernel, parameters) request summed over all partitions, in one pass over the table."""
        n_ind = self.n_indicators
        requests = list(requests)

        def per_partition(batches):
            totals: list = [None] * len(requests)
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                X = unpack(batch.column("mask").to_numpy(zero_copy_only=False), n_ind)  # dense: no CSR conversion
                w = batch.column("count").to_numpy(zero_copy_only=False).astype(np.float64)
                for i, (fn, params) in enumerate(requests):
                    out = fn(X, w, *params)
                    totals[i] = out if totals[i] is None else tuple(a + b for a, b in zip(totals[i], out, strict=True))
            if totals[0] is not None:
                yield pa.RecordBatch.from_pydict({"stats": [pickle.dumps(totals)]})

        rows = self.df.mapInArrow(per_partition, "stats binary").collect()
        self.passes += 1
        if not rows:
            raise ModelError("the pattern table is empty: nothing to fit")
        parts = [pickle.loads(row["stats"]) for row in rows]
        return [tuple(sum(values[1:], values[0].copy()) for values in zip(*(part[i] for part in parts), strict=True))
                for i in range(len(requests))]

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


class SharedPasses:
    """Fits running in separate threads (one per k in model selection) share passes over one ``SparkPatterns``.

    A pass starts once every fit still running has asked for one, and evaluates all their requests in one Spark
    job: a pass has a fixed cost (a job, a Python task per partition, the patterns unpacked) whatever it computes,
    so k 2..15 cost about as many passes as the slowest k instead of their sum. Each request's arithmetic is what
    it would be alone, so every fit's result is unchanged. Every fit must call ``leave`` when it ends (also on
    error), or the others wait for it forever.
    """

    def __init__(self, data: SparkPatterns, n_fits: int):
        self.data = data
        self.n_indicators, self.n_obs = data.n_indicators, data.n_obs
        self._running = n_fits
        self._pending: list[_Request] = []
        self._lock = threading.Condition()

    def reduce(self, fn: Callable, *params: np.ndarray) -> tuple:
        request = _Request(fn, params)
        with self._lock:
            self._pending.append(request)
            self._run_if_all_asked()
            while not request.done:
                self._lock.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def leave(self) -> None:
        with self._lock:
            self._running -= 1
            self._run_if_all_asked()

    def _run_if_all_asked(self) -> None:
        if not self._pending or len(self._pending) < self._running:
            return
        batch, self._pending = self._pending, []
        try:
            for request, result in zip(batch, self.data.reduce_many([(r.fn, r.params) for r in batch]), strict=True):
                request.result = result
        except Exception as error:  # every fit in the pass sees the failure
            for request in batch:
                request.error = error
        for request in batch:
            request.done = True
        self._lock.notify_all()


class _Request:
    def __init__(self, fn: Callable, params: tuple):
        self.fn, self.params = fn, params
        self.result: tuple = ()
        self.error: Exception | None = None
        self.done = False
