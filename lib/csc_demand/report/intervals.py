"""95% intervals the report puts beside every share and rate, computed from unrounded counts before publishing.

Wilson's score interval for a proportion (good coverage for small counts and for shares near 0 or 1, unlike the
Wald interval) and Newcombe's hybrid score interval for a difference of two proportions built from the two
Wilson intervals (Newcombe 1998, method 10).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

Z_95 = float(norm.ppf(0.975))


def wilson_interval(events, total, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits for events/total (arrays or scalars); NaN where total is 0 or missing."""
    k = np.asarray(events, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    bad = ~(n > 0)
    return np.where(bad, np.nan, np.clip(centre - half, 0, 1)), np.where(bad, np.nan, np.clip(centre + half, 0, 1))


def difference_interval(events_a, total_a, events_b, total_b, z: float = Z_95
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference p_a - p_b with Newcombe's hybrid score 95% interval (independent samples)."""
    ka, na, kb, nb = (np.asarray(x, dtype=float) for x in (events_a, total_a, events_b, total_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        pa, pb = ka / na, kb / nb
    la, ua = wilson_interval(ka, na, z)
    lb, ub = wilson_interval(kb, nb, z)
    d = pa - pb
    return d, d - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2), d + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
