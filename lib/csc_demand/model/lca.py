"""Latent class analysis as a ``pyspark.ml`` Estimator (``LatentClassAnalysis``) and Model (``LatentClassModel``).

Fit: rows -> distinct patterns with counts (Spark groupBy on a bit mask) -> EM on the weighted patterns in numpy
(driver) or with a distributed sufficient-statistics E-step (Spark) when there are more than ``maxDriverPatterns``
patterns. Transform: pure Spark SQL expressions (no Python UDF) adding the modal class and the posterior.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.functions import array_to_vector
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import (
    HasFeaturesCol,
    HasMaxIter,
    HasPredictionCol,
    HasProbabilityCol,
    HasSeed,
    HasTol,
)
from pyspark.ml.util import (
    DefaultParamsReadable,
    DefaultParamsReader,
    DefaultParamsWritable,
    DefaultParamsWriter,
    MLReadable,
    MLReader,
    MLWritable,
    MLWriter,
)
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand import locations
from csc_demand.errors import ModelError
from csc_demand.model import em
from csc_demand.model.distributed import SparkPatterns
from csc_demand.model.patterns import pattern_table, raw_array, unpack


class _LCAParams(HasFeaturesCol, HasPredictionCol, HasProbabilityCol, HasMaxIter, HasTol, HasSeed):
    k = Param(Params._dummy(), "k", "number of latent classes (> 0)", typeConverter=TypeConverters.toInt)
    nStarts = Param(Params._dummy(), "nStarts", "number of random starts (> 0)", typeConverter=TypeConverters.toInt)
    burnInIter = Param(Params._dummy(), "burnInIter",
                       "at most this many E-steps per start on the burn-in sample before the best few are kept",
                       typeConverter=TypeConverters.toInt)
    burnInSample = Param(Params._dummy(), "burnInSample",
                         "assessments drawn (without replacement) for the burn-in of all starts",
                         typeConverter=TypeConverters.toInt)
    nRefine = Param(Params._dummy(), "nRefine", "how many of the best distinct burn-in optima run to full convergence",
                    typeConverter=TypeConverters.toInt)
    maxDriverPatterns = Param(Params._dummy(), "maxDriverPatterns",
                              "above this many distinct patterns the E-step runs distributed on Spark",
                              typeConverter=TypeConverters.toInt)
    initPatterns = Param(Params._dummy(), "initPatterns",
                         "starting values are drawn from this many most frequent patterns",
                         typeConverter=TypeConverters.toInt)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(k=12, featuresCol="indicators", predictionCol="prediction", probabilityCol="probability",
                         maxIter=500, tol=1e-8, nStarts=10, seed=42, burnInIter=200, burnInSample=200_000,
                         nRefine=3, maxDriverPatterns=1_000_000, initPatterns=50_000)

    def getK(self) -> int:
        return self.getOrDefault(self.k)

    def getNStarts(self) -> int:
        return self.getOrDefault(self.nStarts)

    def getBurnInIter(self) -> int:
        return self.getOrDefault(self.burnInIter)

    def getBurnInSample(self) -> int:
        return self.getOrDefault(self.burnInSample)

    def getNRefine(self) -> int:
        return self.getOrDefault(self.nRefine)

    def getMaxDriverPatterns(self) -> int:
        return self.getOrDefault(self.maxDriverPatterns)

    def getInitPatterns(self) -> int:
        return self.getOrDefault(self.initPatterns)


class LatentClassAnalysis(Estimator, _LCAParams, DefaultParamsReadable, DefaultParamsWritable):
    """Mixture of independent Bernoulli indicators fitted by EM with many random starts (deterministic per seed).
    ``featuresCol`` holds each row's 0/1 indicators (array<int> or ML Vector). With ``spark`` a SparkSession:

    >>> rows = [([1, 1, 0],)] * 60 + [([0, 0, 1],)] * 40
    >>> df = spark.createDataFrame(rows, "indicators array<int>")
    >>> lca = LatentClassAnalysis(k=2, nStarts=3, seed=1)
    >>> lca.getK(), lca.getFeaturesCol(), lca.getNStarts()
    (2, 'indicators', 3)
    >>> model = lca.fit(df)
    >>> sorted(model.classSizes.round(3).tolist())
    [0.4, 0.6]
    >>> round(model.logLikelihood, 1)  # 60 ln 0.6 + 40 ln 0.4: each pattern is a class of its own
    -67.3
    >>> sorted(row["count"] for row in model.transform(df).groupBy("prediction").count().collect())
    [40, 60]
    """

    _input_kwargs: dict[str, Any]  # set by @keyword_only, as in pyspark.ml's own estimators

    @keyword_only
    def __init__(self, *, k: int = 12, featuresCol: str = "indicators", predictionCol: str = "prediction",
                 probabilityCol: str = "probability", maxIter: int = 500, tol: float = 1e-8, nStarts: int = 10,
                 seed: int = 42, burnInIter: int = 200, burnInSample: int = 200_000, nRefine: int = 3,
                 maxDriverPatterns: int = 1_000_000,
                 initPatterns: int = 50_000):
        super().__init__()
        self._set(**self._input_kwargs)

    @keyword_only
    def setParams(self, **kwargs) -> LatentClassAnalysis:
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> LatentClassModel:
        patterns = self.preparePatterns(dataset)
        try:
            return self.fitPatterns(patterns)
        finally:
            patterns.release()

    def preparePatterns(self, dataset: DataFrame) -> PreparedPatterns:
        """Validate and compress once (one pass over the rows); ``fitPatterns`` can then fit any k on the result
        (model selection)."""
        n_ind, table = pattern_table(dataset, self.getFeaturesCol())
        n_patterns = table.count()
        pool = self.getInitPatterns()
        if n_patterns > self.getMaxDriverPatterns():
            spark_data = SparkPatterns(table, n_ind)
            masks, counts = spark_data.top_patterns(pool)
            return PreparedPatterns(spark_data, masks, counts, n_patterns, table)
        rows = table.select("mask", "count").collect()
        table.unpersist()
        masks = np.array([r["mask"] for r in rows], dtype=np.int64)
        counts = np.array([r["count"] for r in rows], dtype=np.float64)
        order = np.argsort(masks, kind="stable")  # independent of Spark's partition order
        masks, counts = masks[order], counts[order]
        top = np.lexsort((masks, -counts))[:pool]
        data = em.LocalPatterns(unpack(masks, n_ind), counts)
        return PreparedPatterns(data, masks[top], counts[top], n_patterns, table)

    def fitPatterns(self, patterns: PreparedPatterns) -> LatentClassModel:
        k = self.getK()
        if k < 1 or self.getNStarts() < 1:
            raise ModelError(f"k and nStarts must be positive (k={k}, nStarts={self.getNStarts()})")
        data = patterns.data
        result = em.fit_multistart(
            data, unpack(patterns.init_masks, data.n_indicators), patterns.init_counts, k=k,
            n_starts=self.getNStarts(), seed=self.getSeed(), max_iter=self.getMaxIter(),
            tol=self.getTol(), burn_in=self.getBurnInIter(), n_refine=self.getNRefine(),
            burn_in_sample=self.getBurnInSample())
        model = LatentClassModel._from_arrays(np.exp(result.log_pi), result.theta)
        model._loglik, model._n_obs, model._n_patterns = result.loglik, data.n_obs, patterns.n_patterns
        model._fit_info = {"n_iter": result.n_iter, "converged": result.converged,
                           "start_logliks": result.start_logliks,
                           "refined_logliks": result.refined_logliks, "distributed": patterns.distributed}
        return self._copyValues(model)


@dataclass
class PreparedPatterns:
    """The compressed input: where the weighted patterns live, the pool for starting values, the Spark table."""
    data: em.PatternData
    init_masks: np.ndarray
    init_counts: np.ndarray
    n_patterns: int
    table: DataFrame

    @property
    def distributed(self) -> bool:
        return not isinstance(self.data, em.LocalPatterns)

    def release(self) -> None:
        if isinstance(self.data, SparkPatterns):
            self.data.release()


class LatentClassModel(Model, _LCAParams, MLReadable, MLWritable):
    """A fitted latent class model: class sizes, conditional probabilities (k x J), log-likelihood; ``transform``
    adds ``predictionCol`` (modal class, 0-based int) and ``probabilityCol`` (posterior, ML Vector)."""

    def __init__(self) -> None:
        super().__init__()
        self._weights = np.ones(1)
        self._theta = np.full((1, 1), 0.5)
        self._loglik: float | None = None
        self._n_obs: float | None = None
        self._n_patterns: int | None = None
        self._class_names: list[str] | None = None
        self._class_ids: list[int] | None = None
        self._fit_info: dict = {}

    @classmethod
    def _from_arrays(cls, weights, theta, class_names=None, class_ids=None) -> LatentClassModel:
        model = cls()
        weights = np.asarray(weights, dtype=float)
        model._weights = weights / weights.sum()
        model._theta = np.clip(np.asarray(theta, dtype=float), em.EPS, 1 - em.EPS)
        model._class_names = list(class_names) if class_names is not None else None
        model._class_ids = [int(i) for i in class_ids] if class_ids is not None else None
        model._set(k=len(weights))
        return model

    # ---- what the model exposes -------------------------------------------------------------------
    @property
    def classSizes(self) -> np.ndarray:
        """Class shares (sum to 1)."""
        return self._weights.copy()

    @property
    def conditionalProbabilities(self) -> np.ndarray:
        """P(indicator j = 1 | class c), shape (k, J)."""
        return self._theta.copy()

    @property
    def logLikelihood(self) -> float | None:
        return self._loglik

    @property
    def numObservations(self) -> float | None:
        return self._n_obs

    @property
    def numPatterns(self) -> int | None:
        return self._n_patterns

    @property
    def classNames(self) -> list[str] | None:
        return self._class_names

    @property
    def classIds(self) -> list[int] | None:
        return self._class_ids

    @property
    def fitInfo(self) -> dict:
        return dict(self._fit_info)

    def relabelled(self, order: Sequence[int], class_ids: Sequence[int], class_names: Sequence[str]
                   ) -> LatentClassModel:
        """The same model with classes in ``order`` (new class i = old class order[i]) and named."""
        order = list(order)
        model = LatentClassModel._from_arrays(self._weights[order], self._theta[order], class_names, class_ids)
        model._loglik, model._n_obs, model._n_patterns = self._loglik, self._n_obs, self._n_patterns
        model._fit_info = dict(self._fit_info)
        return self._copyValues(model)

    # ---- scoring -------------------------------------------------------------------------------------
    def withPosterior(self, dataset: DataFrame, outputCol: str) -> DataFrame:
        """``dataset`` plus ``outputCol``: posterior class probabilities array<double> (Spark SQL only, no UDF).

        Flat arithmetic per class and indicator, no lambda functions: Spark interprets those row by row, while
        code generation compiles these. Built in steps (scores, their maximum, shifted exponentials) so that each
        is computed once per row.
        """
        x = raw_array(dataset, self.getFeaturesCol())
        log_p, log_q = np.log(self._theta), np.log1p(-self._theta)
        log_odds, offset = log_p - log_q, log_q.sum(axis=1) + np.log(self._weights)
        k, d = self._theta.shape
        present = [F.get(x, j) == 1 for j in range(d)]  # indicators that are not 1 (0, null) add nothing
        scores = [reduce(Column.__add__, [F.when(present[j], F.lit(float(log_odds[c, j]))).otherwise(0.0)
                                          for j in range(d)], F.lit(float(offset[c]))) for c in range(k)]
        score, top, shifted = "__lca_score", "__lca_max", "__lca_exp"
        exps = [F.get(F.col(shifted), c) for c in range(k)]
        total = reduce(Column.__add__, exps, F.lit(0.0))
        return (dataset.withColumn(score, F.array(*scores))
                .withColumn(top, F.array_max(score))
                .withColumn(shifted, F.array(*[F.exp(F.get(F.col(score), c) - F.col(top)) for c in range(k)]))
                .withColumn(outputCol, F.array(*[e / total for e in exps]))
                .drop(score, top, shifted))

    def _transform(self, dataset: DataFrame) -> DataFrame:
        post = "__lca_posterior"
        out = self.withPosterior(dataset, post)
        return (out.withColumn(self.getPredictionCol(),
                               (F.array_position(F.col(post), F.array_max(F.col(post))) - 1).cast("int"))
                .withColumn(self.getProbabilityCol(), array_to_vector(F.col(post)))
                .drop(post))

    # ---- parameter sets (the published-parameter format) -------------------------------------------
    @classmethod
    def fromParameters(cls, parameters: dict, featuresCol: str = "indicators") -> LatentClassModel:
        """A model from a validated parameter set (``csc_demand.model.parameters``), e.g. a published one."""
        model = cls._from_arrays(parameters["class_sizes"], parameters["conditional_probabilities"],
                                 parameters.get("class_names"), parameters.get("class_ids"))
        return model._set(featuresCol=featuresCol)

    def toParameters(self, indicatorNames: Sequence[str]) -> dict:
        k = self._theta.shape[0]
        return {
            "indicator_names": list(indicatorNames),
            "class_ids": self._class_ids or list(range(1, k + 1)),
            "class_names": self._class_names or [f"Class {c + 1}" for c in range(k)],
            "class_sizes": self._weights.tolist(),
            "conditional_probabilities": self._theta.tolist(),
        }

    # ---- persistence ---------------------------------------------------------------------------------
    def write(self) -> MLWriter:
        return _LatentClassModelWriter(self)

    @classmethod
    def read(cls) -> MLReader:
        return _LatentClassModelReader()


class _LatentClassModelWriter(MLWriter):
    """Params as MLlib metadata (``metadata/``) plus the parameter arrays as one Parquet row (``data/``)."""

    def __init__(self, instance: LatentClassModel):
        super().__init__()
        self.instance = instance

    def saveImpl(self, path: str) -> None:
        m = self.instance
        row = {
            "weights": m._weights.tolist(), "theta": m._theta.tolist(),
            "loglik": m._loglik, "n_obs": m._n_obs, "n_patterns": m._n_patterns,
            "class_names": m._class_names, "class_ids": m._class_ids,
        }
        if locations.is_local(path):
            # Written here, in the layout Spark's writers give (one text and one Parquet part file), so a Spark
            # Connect server that cannot see this machine's folders (Databricks serverless) is not asked to.
            import pyarrow as pa
            import pyarrow.parquet as pq

            folder = locations.local_path(path)
            os.makedirs(os.path.join(folder, "metadata"))
            os.makedirs(os.path.join(folder, "data"))
            metadata = DefaultParamsWriter._get_metadata_to_save(m, self.sparkSession)
            with open(os.path.join(folder, "metadata", "part-00000"), "w", encoding="utf-8") as out:
                out.write(metadata + "\n")
            arrow = pa.schema([("weights", pa.list_(pa.float64())), ("theta", pa.list_(pa.list_(pa.float64()))),
                               ("loglik", pa.float64()), ("n_obs", pa.float64()), ("n_patterns", pa.int64()),
                               ("class_names", pa.list_(pa.string())), ("class_ids", pa.list_(pa.int32()))])
            pq.write_table(pa.Table.from_pylist([row], schema=arrow), os.path.join(folder, "data", "part-00000.parquet"))
            return
        DefaultParamsWriter.saveMetadata(m, path, self.sparkSession)
        schema = ("weights array<double>, theta array<array<double>>, loglik double, n_obs double, n_patterns long, "
                  "class_names array<string>, class_ids array<int>")
        self.sparkSession.createDataFrame([row], schema).coalesce(1).write.parquet(os.path.join(path, "data"))


class _LatentClassModelReader(MLReader):
    def load(self, path: str) -> LatentClassModel:
        metadata = DefaultParamsReader.loadMetadata(path, self.sparkSession)
        (row,) = self.sparkSession.read.parquet(os.path.join(path, "data")).collect()
        model = LatentClassModel._from_arrays(row["weights"], row["theta"], row["class_names"], row["class_ids"])
        model._resetUid(metadata["uid"])
        DefaultParamsReader.getAndSetParams(model, metadata)
        model._loglik, model._n_obs, model._n_patterns = row["loglik"], row["n_obs"], row["n_patterns"]
        return model


def information_criteria(loglik: float, n_params: int, n_obs: float) -> dict:
    """BIC, AIC and sample-size-adjusted BIC (Sclove 1987) from a log-likelihood."""
    return {
        "bic": -2 * loglik + n_params * math.log(n_obs),
        "aic": -2 * loglik + 2 * n_params,
        "sabic": -2 * loglik + n_params * math.log((n_obs + 2) / 24),
    }
