"""The fitted model's class profiles as a tidy table (gold.category_profiles): what each category means.

Model parameters only (class sizes and P(indicator | class)), never counts of children, so the table can be
published as it is; the report draws its class-profile heatmap from it.
"""
from __future__ import annotations

import pandas as pd

from csc_demand.codes import INDICATOR_NAMES, INDICATORS
from csc_demand.model.lca import LatentClassModel

PROFILE_COLUMNS = ("category_id", "category_name", "class_size", "indicator", "factor_codes", "indicator_label",
                   "probability")


def indicator_label(indicator: str) -> str:
    """``domestic_abuse_parent`` -> ``Domestic abuse parent``: the indicator's name as words."""
    return indicator.replace("_", " ").capitalize()


def category_profiles(model: LatentClassModel) -> pd.DataFrame:
    """One row per (category, indicator): the class size and P(indicator = 1 | class), with the CIN factor codes
    that set the indicator (``"3A"``; ``"18A, 18B, 18C"`` where codes were harmonised)."""
    k = len(model.classSizes)
    ids = model.classIds or list(range(1, k + 1))
    names = model.classNames or [f"Class {c + 1}" for c in range(k)]
    theta = model.conditionalProbabilities
    rows = [(int(ids[c]), str(names[c]), float(model.classSizes[c]), indicator, ", ".join(INDICATORS[indicator]),
             indicator_label(indicator), float(theta[c, j]))
            for c in range(k) for j, indicator in enumerate(INDICATOR_NAMES)]
    return pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))
