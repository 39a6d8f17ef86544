"""synth summary: headline figures from the per-class counts."""
from __future__ import annotations

from csc_demand.synth import params as P
from csc_demand.synth.summary import COUNTS, rates_from_counts


def counts(*values: int) -> dict:
    return dict(zip(COUNTS, values, strict=True))


def test_rates_from_counts():
    by_class = {  # referrals, rereferred, nfa, assessments, with factors, cp, care, back, cp_plans, repeat_cpp
        None: counts(4, 1, 2, 3, 3, 0, 0, 1, 0, 0),
        0: counts(3, 1, 0, 4, 4, 1, 0, 2, 2, 1),
        1: counts(1, 0, 0, 1, 1, 1, 1, 0, 1, 0),
        2: counts(0, 0, 0, 0, 0, 0, 0, 0, 1, 1),  # a plan in the window, no referral: no class size
    }
    a, b = P.CLASS_NAMES[0], P.CLASS_NAMES[1]
    assert rates_from_counts(by_class) == {
        "referrals": 8, "rereferral_12m_dfe": 0.25, "nfa_share": 0.25, "assessments": 8,
        "assessments_with_factors": 5, "cp_rate_classed": 0.5, "care_rate_classed": 0.25, "cp_plans": 4,
        "repeat_cpp_share": 0.5, "class_sizes_realised": {a: 0.75, b: 0.25},
        "per_class_rates": {a: {"cp_plan": 0.3333, "care": 0.0, "rereferred_observed": 0.6667},
                            b: {"cp_plan": 1.0, "care": 1.0, "rereferred_observed": 0.0}},
    }
