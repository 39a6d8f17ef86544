"""gold.survival_estimates: Kaplan-Meier cumulative incidence at the horizons, per LA and England, overall and by
group."""
from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.rates import group_memberships, with_england
from csc_demand.stats.survival import at_horizons

# Every 30 days to six years (2190 = 73 x 30) so curves can be drawn, plus the 12-month headline horizon.
CURVE_HORIZONS_DAYS = tuple(sorted({*range(30, 2191, 30), 365}))
SURVIVAL_ESTIMATE_COLUMNS = ("la_code", "measure", "group_by", "group_value", "horizon_days", "cumulative_incidence",
                             "ci_lower", "ci_upper", "n_at_risk", "events", "subjects", "n_complete", "raw_share")


def survival_estimates(followup: DataFrame, measure: str, groupings: Sequence[str] = (),
                       horizons: Sequence[int] = CURVE_HORIZONS_DAYS) -> DataFrame:
    """Estimates for one measure from rows with the followup.py columns (``at_risk``, ``event``, ...).

    Every at-risk row counts under its LA and England (``with_england``), in each once in the ``all`` group and
    once per column in ``groupings`` (group_value is that column's value, ``unknown`` when null); all groups come
    out of one Kaplan-Meier pass.
    """
    at_risk = with_england(followup.where(F.col("at_risk"))
                           .select("la_code", "followup_days", "event", "potential_followup_days", *groupings))
    if groupings:
        subjects = (at_risk.select("la_code", F.col("followup_days").alias("time"), "event",
                                   "potential_followup_days", group_memberships(groupings))
                    .select("la_code", "time", "event", "potential_followup_days", "g.group_by", "g.group_value"))
    else:  # only the "all" group: constant columns instead of exploding every row into a one-element array
        subjects = at_risk.select("la_code", F.col("followup_days").alias("time"), "event",
                                  "potential_followup_days", F.lit("all").alias("group_by"),
                                  F.lit("all").alias("group_value"))
    estimates = at_horizons(subjects, "time", "event", ["la_code", "group_by", "group_value"], horizons,
                            potential_followup_col="potential_followup_days")
    return estimates.withColumn("measure", F.lit(measure)).select(*SURVIVAL_ESTIMATE_COLUMNS)
