"""EM for a mixture of independent Bernoulli indicators (latent class analysis) on weighted patterns, in numpy.

The data is a table of distinct 0/1 patterns ``X`` (n x J) with counts ``w``; every quantity is a count-weighted
sum over patterns, so 3.6 million assessments cost what their (far fewer) distinct patterns cost.

Many starts run together as one batch of parameters (S starts x k classes): the E-step for all of them is one
matrix product of the patterns with the stacked log-odds. Work is expressed as *additive* per-block statistics
(``sufficient_stats``, ``diagnostic_stats``) so that the same code runs on the driver (one block) or on Spark
partitions (``csc_demand.model.distributed``), whose partial sums are simply added.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import sparse
from scipy.special import expit, logsumexp

# Probabilities are kept inside [EPS, 1 - EPS] so that logs stay finite (the same bound StepMix uses).
EPS = 1e-15
CHUNK_ROWS = 4096  # patterns per block: keeps a block's CHUNK_ROWS x (starts x classes) doubles in cache


def _log_joint(X: np.ndarray | sparse.csr_matrix, log_pi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log p(x, class) for every pattern, start and class: shape (n, S, k)."""
    n_starts, k, n_ind = theta.shape
    log_p, log_q = np.log(theta), np.log1p(-theta)
    log_odds = (log_p - log_q).reshape(n_starts * k, n_ind)
    offset = (log_q.sum(axis=2) + log_pi).reshape(n_starts * k)
    joint = X @ log_odds.T  # X is sparse (CSR) on the driver: a few ones per pattern
    joint += offset
    return joint.reshape(X.shape[0], n_starts, k)


def _normalise(joint: np.ndarray):
    """In place: joint (n, S, k) log p(x, class) -> posterior; returns log p(x) (n, S)."""
    top = joint.max(axis=2)
    joint -= top[:, :, None]
    np.exp(joint, out=joint)
    total = joint.sum(axis=2)
    joint /= total[:, :, None]
    return top + np.log(total)


def sufficient_stats(X: np.ndarray, w: np.ndarray, log_pi: np.ndarray, theta: np.ndarray):
    """One E-step over a block: (log-likelihood per start (S,), class counts (S,k), indicator sums (S,k,J))."""
    n_starts, k, n_ind = theta.shape
    ll = np.zeros(n_starts)
    counts = np.zeros((n_starts, k))
    sums = np.zeros((n_starts, k, n_ind))
    for lo in range(0, X.shape[0], CHUNK_ROWS):
        xb, wb = X[lo:lo + CHUNK_ROWS], w[lo:lo + CHUNK_ROWS]
        resp = _log_joint(xb, log_pi, theta)
        ll += wb @ _normalise(resp)
        resp *= wb[:, None, None]
        counts += resp.sum(axis=0)
        sums += (xb.T @ resp.reshape(xb.shape[0], n_starts * k)).T.reshape(n_starts, k, n_ind)
    return ll, counts, sums


def diagnostic_stats(X: np.ndarray, w: np.ndarray, log_pi: np.ndarray, theta: np.ndarray):
    """For one parameter set (k,) / (k,J): log-likelihood, posterior entropy, and per modal class the count and
    the summed posterior of that class (for the mean posterior probability per class)."""
    k = theta.shape[0]
    ll, entropy = 0.0, 0.0
    modal_count, modal_post = np.zeros(k), np.zeros(k)
    for lo in range(0, X.shape[0], CHUNK_ROWS):
        xb, wb = X[lo:lo + CHUNK_ROWS], w[lo:lo + CHUNK_ROWS]
        joint = _log_joint(xb, log_pi[None], theta[None])[:, 0, :]
        norm = logsumexp(joint, axis=1)
        log_resp = joint - norm[:, None]
        resp = np.exp(log_resp)
        ll += float(wb @ norm)
        entropy -= float(wb @ (resp * log_resp).sum(axis=1))
        modal = resp.argmax(axis=1)
        modal_count += np.bincount(modal, weights=wb, minlength=k)
        modal_post += np.bincount(modal, weights=wb * resp.max(axis=1), minlength=k)
    return np.array([ll]), np.array([entropy]), modal_count, modal_post


def posterior(X: np.ndarray, log_pi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Posterior class probabilities (n, k) for patterns X under one parameter set."""
    joint = _log_joint(sparse.csr_matrix(np.asarray(X, dtype=float)), log_pi[None], theta[None])[:, 0, :]
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


class PatternData(Protocol):
    """Somewhere the weighted patterns live: the driver (``LocalPatterns``) or Spark (``SparkPatterns``)."""
    n_indicators: int
    n_obs: float

    def reduce(self, fn: Callable, *params: np.ndarray) -> tuple: ...


@dataclass
class LocalPatterns:
    X: np.ndarray | sparse.csr_matrix  # given dense, kept sparse
    w: np.ndarray
    n_indicators: int = field(init=False)
    n_obs: float = field(init=False)

    def __post_init__(self):
        self.X = sparse.csr_matrix(np.asarray(self.X, dtype=float))
        self.w = np.asarray(self.w, dtype=float)
        self.n_indicators = self.X.shape[1]
        self.n_obs = float(self.w.sum())

    def reduce(self, fn: Callable, *params: np.ndarray) -> tuple:
        return fn(self.X, self.w, *params)


def m_step(counts: np.ndarray, sums: np.ndarray, n_obs: float):
    """Class log-weights and conditional probabilities from the E-step statistics."""
    pi = np.clip(counts / n_obs, EPS, None)
    pi /= pi.sum(axis=-1, keepdims=True)
    theta = np.clip(sums / np.maximum(counts, EPS)[..., None], EPS, 1 - EPS)
    return np.log(pi), theta


@dataclass
class EMResult:
    log_pi: np.ndarray          # (S, k)
    theta: np.ndarray           # (S, k, J)
    loglik: np.ndarray          # (S,) at the returned parameters
    n_iter: np.ndarray          # (S,)
    converged: np.ndarray       # (S,) bool


def _free(log_pi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Parameters as one unconstrained vector per start: class log-weights and indicator log-odds."""
    return np.concatenate([log_pi, (np.log(theta) - np.log1p(-theta)).reshape(len(theta), -1)], axis=1)


def _constrained(free: np.ndarray, k: int, n_ind: int):
    log_pi = free[:, :k] - logsumexp(free[:, :k], axis=1, keepdims=True)
    log_pi = np.maximum(log_pi, np.log(EPS))
    theta = np.clip(expit(free[:, k:]).reshape(-1, k, n_ind), EPS, 1 - EPS)
    return log_pi, theta


def run_em(data: PatternData, log_pi: np.ndarray, theta: np.ndarray, max_iter: int, tol: float,
           accelerate: bool = True) -> EMResult:
    """EM from the given starts (batched) until each start's relative log-likelihood change is below ``tol``.

    With ``accelerate`` each cycle is SQUAREM (Varadhan and Roland 2008, scheme S3): two EM steps, an
    extrapolation along them in unconstrained coordinates, and one EM step from there, kept only when it does not
    lower the log-likelihood (otherwise the plain second EM step is kept), so the likelihood never decreases.
    ``max_iter`` counts E-steps. A converged start is frozen, so its result does not depend on which other
    starts ran beside it. The returned log-likelihood belongs to the returned parameters.
    """
    log_pi, theta = log_pi.astype(float).copy(), np.clip(theta.astype(float), EPS, 1 - EPS)
    n_starts, k, n_ind = theta.shape
    loglik = np.full(n_starts, -np.inf)
    n_iter = np.zeros(n_starts, dtype=int)
    converged = np.zeros(n_starts, dtype=bool)
    active = np.arange(n_starts)
    while active.size:
        ll, counts, sums = data.reduce(sufficient_stats, log_pi[active], theta[active])
        previous, loglik[active] = loglik[active], ll
        n_iter[active] += 1
        done = np.abs(ll - previous) <= tol * np.abs(ll)
        converged[active[done]] = True
        keep = ~done & (n_iter[active] <= max_iter)
        active, counts, sums = active[keep], counts[keep], sums[keep]
        if not active.size:
            break
        log_pi1, theta1 = m_step(counts, sums, data.n_obs)
        if not accelerate:
            log_pi[active], theta[active] = log_pi1, theta1
            continue
        ll1, counts, sums = data.reduce(sufficient_stats, log_pi1, theta1)
        log_pi2, theta2 = m_step(counts, sums, data.n_obs)
        x0, x1, x2 = _free(log_pi[active], theta[active]), _free(log_pi1, theta1), _free(log_pi2, theta2)
        r, v = x1 - x0, x2 - 2 * x1 + x0
        r_norm, v_norm = np.linalg.norm(r, axis=1), np.linalg.norm(v, axis=1)
        alpha = np.where(v_norm > 0, -r_norm / np.where(v_norm > 0, v_norm, 1), -1.0)
        alpha = np.clip(alpha, -64.0, -1.0)[:, None]
        log_pi3, theta3 = _constrained(x0 - 2 * alpha * r + alpha ** 2 * v, k, n_ind)
        ll3, counts, sums = data.reduce(sufficient_stats, log_pi3, theta3)
        log_pi4, theta4 = m_step(counts, sums, data.n_obs)
        n_iter[active] += 2
        better = np.isfinite(ll3) & (ll3 >= ll1)
        log_pi[active] = np.where(better[:, None], log_pi4, log_pi2)
        theta[active] = np.where(better[:, None, None], theta4, theta2)
    return EMResult(log_pi, theta, loglik, n_iter, converged)


def initial_parameters(X: np.ndarray, w: np.ndarray, k: int, n_starts: int, rng: np.random.Generator,
                       seed_weight: float = 0.2):
    """Random starts seeded k-means++ style on the patterns: each class starts near a distinct observed pattern
    (chosen with probability proportional to count x squared Hamming distance to the seeds so far), shrunk
    towards the marginal prevalences. Class weights start equal."""
    from csc_demand.model.patterns import pack

    X = np.asarray(X, dtype=float)
    masks = pack(X)
    prob = w / w.sum()
    marginal = prob @ X
    thetas = np.empty((n_starts, k, X.shape[1]))
    for s in range(n_starts):
        centres = [_draw(prob, rng)]
        dist = np.bitwise_count(masks ^ masks[centres[0]])  # Hamming distance = squared Euclidean on 0/1
        for _ in range(1, k):
            score = prob * dist
            nxt = _draw(score, rng) if score.sum() > 0 else _draw(prob, rng)
            centres.append(nxt)
            dist = np.minimum(dist, np.bitwise_count(masks ^ masks[nxt]))
        thetas[s] = seed_weight * X[centres] + (1 - seed_weight) * marginal
    thetas = np.clip(thetas, 0.01, 0.99)
    return np.full((n_starts, k), -np.log(k)), thetas


def _draw(weights: np.ndarray, rng: np.random.Generator) -> int:
    """An index drawn with probability proportional to ``weights`` (what ``rng.choice(p=...)`` does, without its
    O(n) validation on every call)."""
    cdf = np.cumsum(weights)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(cdf) - 1))


@dataclass
class FitResult:
    log_pi: np.ndarray      # (k,)
    theta: np.ndarray       # (k, J)
    loglik: float
    n_iter: int
    converged: bool
    start_logliks: list     # log-likelihood of every start at the end of burn-in (on the burn-in sample)
    refined_logliks: list   # log-likelihood of the refined starts (all data), best burn-in first


def fit_multistart(data: PatternData, init_X: np.ndarray, init_w: np.ndarray, k: int, n_starts: int, seed: int,
                   max_iter: int = 500, tol: float = 1e-8, burn_in: int = 200, n_refine: int = 3,
                   burn_in_sample: int = 200_000, burn_in_tol: float = 1e-6, accelerate: bool = True) -> FitResult:
    """Many random starts run (nearly) to convergence on a random sample of the assessments, then the best
    ``n_refine`` distinct optima run to full convergence on all the data.

    Burn-in: every start runs at most ``burn_in`` E-steps, until a relative change below ``burn_in_tol``, on
    ``burn_in_sample`` assessments drawn without replacement from the patterns (binomial thinning of the counts;
    all of them when there are fewer), so a few thousand patterns instead of tens of thousands. Ranking starts by a
    nearly converged log-likelihood picks the global optimum far more reliably than ranking them after a few
    iterations on all the data: the local optima of this model are told apart late. ``init_X``/``init_w`` are
    the patterns that starting values and the sample are drawn from (all of them on the driver, the most frequent
    ones when the data lives on Spark). Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    log_pi, theta = initial_parameters(init_X, init_w, k, n_starts, rng)
    init_w = np.asarray(init_w)
    sample = rng.binomial(init_w.astype(np.int64), min(1.0, burn_in_sample / init_w.sum()))
    burn_data = LocalPatterns(np.asarray(init_X)[sample > 0], sample[sample > 0])
    burnt = run_em(burn_data, log_pi, theta, max_iter=min(burn_in, max_iter), tol=max(burn_in_tol, tol),
                   accelerate=accelerate)
    order = _best_distinct(burnt.loglik, max(1, n_refine), 10 * max(burn_in_tol, tol))
    final = run_em(data, burnt.log_pi[order], burnt.theta[order], max_iter=max_iter, tol=tol, accelerate=accelerate)
    best = int(np.argmax(final.loglik))
    return FitResult(final.log_pi[best], final.theta[best], float(final.loglik[best]),
                     int(burnt.n_iter[order[best]] + final.n_iter[best]), bool(final.converged[best]),
                     [float(v) for v in burnt.loglik], [float(v) for v in final.loglik])


def _best_distinct(loglik: np.ndarray, n: int, rel_tol: float) -> np.ndarray:
    """Indices of the ``n`` highest log-likelihoods, skipping any within ``rel_tol`` (relative) of one already
    taken: starts that ended at the same optimum are refined once, so the refinement covers different optima."""
    taken: list[int] = []
    for i in np.argsort(-loglik, kind="stable"):
        if all(abs(loglik[i] - loglik[j]) > rel_tol * abs(loglik[j]) for j in taken):
            taken.append(int(i))
        if len(taken) == n:
            break
    return np.array(taken)
