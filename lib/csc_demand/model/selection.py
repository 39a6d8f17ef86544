"""Model selection over a range of k: fit every k on the same compressed patterns, score each fit on the same
criteria, and choose k by a documented rule.

Criteria per k: log-likelihood, BIC, AIC, sample-size-adjusted BIC, entropy R-squared, smallest class share and
mean posterior probability per class (mean of the modal posterior among the rows assigned to the class).

Rule (``choose_k``): a k is admissible when its smallest class holds at least ``min_class_share`` (default 1%) of
the assessments. Among admissible k, let BIC* be the lowest BIC; choose the smallest admissible k whose BIC is within
``1 - bic_gain_share`` (default 1%) of the BIC improvement available over the range, i.e. the smallest k that
achieves 99% of (BIC at the smallest admissible k - BIC*). With millions of rows BIC keeps falling slowly past the
point where classes stop being substantively new; this elbow rule stops there. ``--k`` fixes k instead.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from csc_demand.errors import ModelError
from csc_demand.model import em
from csc_demand.model.distributed import SharedPasses, SparkPatterns
from csc_demand.model.lca import (
    LatentClassAnalysis,
    LatentClassModel,
    PreparedPatterns,
    information_criteria,
)


@dataclass
class KFit:
    k: int
    model: LatentClassModel
    metrics: dict
    mean_posterior: list = field(default_factory=list)  # per class, in the model's class order


def score_parameters(data: em.PatternData, weights: np.ndarray, theta: np.ndarray) -> tuple[dict, list]:
    """The selection criteria for one parameter set on the weighted patterns (one pass over the data)."""
    k = theta.shape[0]
    ll, entropy, modal_count, modal_post = data.reduce(em.diagnostic_stats, np.log(weights), theta)
    n_obs = data.n_obs
    n_params = (k - 1) + k * theta.shape[1]
    mean_post = np.divide(modal_post, modal_count, out=np.full(k, np.nan), where=modal_count > 0)
    metrics = {
        "loglik": float(ll[0]), "n_params": n_params, "n_obs": n_obs,
        **information_criteria(float(ll[0]), n_params, n_obs),
        "entropy_r2": 1.0 - float(entropy[0]) / (n_obs * math.log(k)) if k > 1 else 1.0,
        "smallest_class_share": float(np.min(weights)),
        "min_mean_posterior": float(np.nanmin(mean_post)) if np.isfinite(mean_post).any() else float("nan"),
    }
    return metrics, [float(v) for v in mean_post]


def fit_k(estimator: LatentClassAnalysis, patterns: PreparedPatterns, k: int) -> KFit:
    started = time.time()
    model = estimator.copy({estimator.k: k}).fitPatterns(patterns)
    metrics, mean_post = score_parameters(patterns.data, model.classSizes, model.conditionalProbabilities)
    info = model.fitInfo
    metrics.update(n_iter=info["n_iter"], converged=float(info["converged"]), seconds=time.time() - started)
    return KFit(k, model, metrics, mean_post)


def fit_range(estimator: LatentClassAnalysis, patterns: PreparedPatterns, ks: Iterable[int],
              on_fit=None) -> list[KFit]:
    """Fit every k (same starts, seed and patterns); ``on_fit(KFit)`` is called after each, in k order (progress,
    MLflow). On distributed patterns the k are fitted at once, one thread each, sharing every pass over the data
    (``SharedPasses``); each k's result is the one it has when fitted alone."""
    fits = []
    for fit in _fits_in_k_order(estimator, patterns, list(ks)):
        if on_fit is not None:
            on_fit(fit)
        fits.append(fit)
    return fits


def _fits_in_k_order(estimator: LatentClassAnalysis, patterns: PreparedPatterns, ks: list[int]) -> Iterator[KFit]:
    if not isinstance(patterns.data, SparkPatterns) or len(ks) < 2:
        for k in ks:
            yield fit_k(estimator, patterns, k)
        return
    shared = SharedPasses(patterns.data, len(ks))
    together = replace(patterns, data=shared)

    def fit_and_leave(k: int) -> KFit:
        try:
            return fit_k(estimator, together, k)
        finally:
            shared.leave()

    with ThreadPoolExecutor(max_workers=len(ks), thread_name_prefix="fit-k") as pool:  # one thread per k, or waits
        for future in [pool.submit(fit_and_leave, k) for k in ks]:
            yield future.result()


def choose_k(fits: list[KFit], min_class_share: float = 0.01, bic_gain_share: float = 0.99) -> int:
    """The selection rule described in the module docstring."""
    if not fits:
        raise ModelError("no fitted k to choose from")
    admissible = [f for f in fits if f.metrics["smallest_class_share"] >= min_class_share] or fits
    admissible = sorted(admissible, key=lambda f: f.k)
    best = min(f.metrics["bic"] for f in admissible)
    available = admissible[0].metrics["bic"] - best
    for f in admissible:
        if f.metrics["bic"] - best <= (1.0 - bic_gain_share) * available:
            return f.k
    return admissible[-1].k  # not reached: the best itself always qualifies


def metrics_table(fits: list[KFit], chosen: int | None = None) -> list[dict]:
    """One dict per k (for the selection CSV artifact and the run log)."""
    return [{"k": f.k, **f.metrics, "chosen": f.k == chosen} for f in fits]
