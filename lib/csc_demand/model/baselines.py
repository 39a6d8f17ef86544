"""MLlib clustering baselines (KMeans, BisectingKMeans) scored on the LCA's criteria.

Each baseline is fitted on the distinct patterns with their counts as weights (``weightCol``), which is the same
objective as fitting every row. Its hard clusters define a Bernoulli mixture (class shares and conditional
probabilities of the rows in each cluster); that mixture is scored with ``selection.score_parameters``, so the
baselines and the LCA are compared on the same log-likelihood, BIC, AIC, SABIC and entropy.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from pyspark.ml import Estimator
from pyspark.ml.clustering import BisectingKMeans, KMeans
from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.model import em
from csc_demand.model.patterns import unpack, unpack_column
from csc_demand.model.selection import score_parameters

BASELINES: dict[str, Callable[[int, int], Estimator]] = {
    "kmeans": lambda k, seed: KMeans(k=k, seed=seed, weightCol="count", maxIter=50),
    "bisecting_kmeans": lambda k, seed: BisectingKMeans(k=k, seed=seed, weightCol="count", maxIter=50),
}
# No GaussianMixture: on 0/1 indicators its covariances are singular, and MLlib's eigen-decomposition of such a
# covariance (LAPACK dsyev) can spin for ever inside a task (seen in CI on 2026-12-06; no error to catch).


def pattern_vectors(table: DataFrame, n_indicators: int) -> DataFrame:
    """(mask, count) -> (mask, count, features Vector of 0/1 doubles)."""
    bits = unpack_column("mask", n_indicators, "double")
    return table.select("mask", F.col("count").cast("double").alias("count"), array_to_vector(bits).alias("features"))


def implied_mixture(masks: np.ndarray, counts: np.ndarray, clusters: np.ndarray, n_indicators: int):
    """Class shares and conditional probabilities of hard clusters (empty clusters dropped)."""
    X = unpack(masks, n_indicators)
    labels = np.unique(clusters)
    onehot = (clusters[:, None] == labels[None, :]).astype(float) * counts[:, None]
    sizes = onehot.sum(axis=0)
    theta = np.clip((onehot.T @ X) / sizes[:, None], em.EPS, 1 - em.EPS)
    return sizes / sizes.sum(), theta


def fit_baselines(table: DataFrame, n_indicators: int, k: int, seed: int, names=tuple(BASELINES)) -> dict:
    """{name: metrics} for each baseline at k; a baseline that fails records its error instead of stopping the fit."""
    vectors = pattern_vectors(table, n_indicators).cache()
    results = {}
    try:
        for name in names:
            started = time.time()
            try:
                model = BASELINES[name](k, seed).fit(vectors)
                rows = model.transform(vectors).select("mask", "count", "prediction").collect()
            except Exception as err:  # MLlib can fail on degenerate data; record and go on
                results[name] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
                continue
            masks = np.array([r["mask"] for r in rows], dtype=np.int64)
            counts = np.array([r["count"] for r in rows], dtype=float)
            clusters = np.array([r["prediction"] for r in rows])
            weights, theta = implied_mixture(masks, counts, clusters, n_indicators)
            metrics, _ = score_parameters(em.LocalPatterns(unpack(masks, n_indicators), counts), weights, theta)
            metrics.update(k_effective=len(weights), seconds=time.time() - started)
            results[name] = metrics
    finally:
        vectors.unpersist()
    return results
