"""gold.survival_estimates: Kaplan-Meier cumulative incidence at the horizons, overall and by group."""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.rates import group_memberships
from csc_demand.stats.survival import HORIZONS_DAYS, at_horizons

SURVIVAL_ESTIMATE_COLUMNS = ("measure", "group_by", "group_value", "horizon_days", "cumulative_incidence",
                             "ci_lower", "ci_upper", "n_at_risk", "events", "subjects", "n_complete", "raw_share")


def survival_estimates(followup: DataFrame, measure: str, groupings: Sequence[str] = (),
                       horizons: Sequence[int] = HORIZONS_DAYS) -> DataFrame:
    """Estimates for one measure from rows with the followup.py columns (``at_risk``, ``event``, ...).

    Every at-risk row counts once in the ``all`` group and once per column in ``groupings`` (group_value is
    that column's value, ``unknown`` when null); all groups come out of one Kaplan-Meier pass.
    """
    at_risk = followup.where(F.col("at_risk"))
    if groupings:
        subjects = (at_risk.select(F.col("followup_days").alias("time"), "event", "potential_followup_days",
                                   group_memberships(groupings))
                    .select("time", "event", "potential_followup_days", "g.group_by", "g.group_value"))
    else:  # only the "all" group: constant columns instead of exploding every row into a one-element array
        subjects = at_risk.select(F.col("followup_days").alias("time"), "event", "potential_followup_days",
                                  F.lit("all").alias("group_by"), F.lit("all").alias("group_value"))
    estimates = at_horizons(subjects, "time", "event", ["group_by", "group_value"], horizons,
                            potential_followup_col="potential_followup_days")
    return estimates.withColumn("measure", F.lit(measure)).select(*SURVIVAL_ESTIMATE_COLUMNS)
