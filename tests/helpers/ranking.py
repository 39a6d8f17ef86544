"""Does a ranking of groups agree with a reference ranking, allowing for the reference's sampling error?

The reference values are estimates from a finite sample, each with a standard error. Two groups whose reference
values differ by less than z times the standard error of their difference have no reliable order: a ranking
that swaps them still agrees. A ranking disagrees only where it swaps a pair the reference tells apart.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations, pairwise

from csc_demand.stats.survival import Z_95
from scipy.stats import spearmanr


def compare_rankings(found: Mapping[str, float], reference: Mapping[str, tuple[float, float]],
                     z: float = Z_95) -> dict:
    """Compare ``found`` values with ``reference`` (value, standard error) on the groups both have.

    Returns the two orders (highest first), ``exact_match``, ``spearman``, ``ties_in_reference`` (adjacent
    reference groups within sampling error of each other), ``swapped_pairs`` (pairs ordered differently, each
    with the reference difference, its z score and whether it is within sampling error) and
    ``agrees_within_sampling_error`` (true when every swapped pair is within sampling error).
    """
    names = sorted(set(found) & set(reference), key=lambda g: (-reference[g][0], g))
    found_order = sorted(names, key=lambda g: (-found[g], g))

    def separation(high: str, low: str) -> dict:
        difference = reference[high][0] - reference[low][0]
        se = math.hypot(reference[high][1], reference[low][1])
        score = difference / se if se > 0 else math.inf
        return {"higher": high, "lower": low, "difference": difference, "z": score, "within_sampling_error": score <= z}

    swapped = [separation(high, low) for high, low in combinations(names, 2) if found[high] < found[low]]
    ties = [pair for pair in (separation(h, l) for h, l in pairwise(names)) if pair["within_sampling_error"]]
    rho = float(spearmanr(range(len(names)), [found_order.index(g) for g in names]).statistic) if len(names) > 1 \
        else 1.0
    return {"reference_order": names, "found_order": found_order, "exact_match": found_order == names,
            "spearman": rho, "ties_in_reference": ties, "swapped_pairs": swapped,
            "agrees_within_sampling_error": all(pair["within_sampling_error"] for pair in swapped)}
