"""gold.survival_estimates: Kaplan-Meier cumulative incidence at the horizons, per LA and England, overall and by
group."""
from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.rates import group_memberships, with_england
from csc_demand.stats.survival import DAILY_COUNTS, daily_counts, horizon_readings

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
    at_risk = followup.where(F.col("at_risk"))
    # Counted per LA, group values and day first: the days' counts, not the subjects, are then stacked into England
    # and the groups and summed again (counts add up), so no subject is copied once per LA/England x group.
    cells = with_england(daily_counts(at_risk, "followup_days", "event", ["la_code", *groupings],
                                      "potential_followup_days", max(horizons, default=None)))
    if groupings:
        stacked = (cells.select("la_code", "time", *DAILY_COUNTS, group_memberships(groupings))
                   .select("la_code", "g.group_by", "g.group_value", "time", *DAILY_COUNTS))
    else:  # only the "all" group: constant columns instead of exploding every row into a one-element array
        stacked = cells.select("la_code", F.lit("all").alias("group_by"), F.lit("all").alias("group_value"), "time",
                               *DAILY_COUNTS)
    groups = ["la_code", "group_by", "group_value"]
    per_day = stacked.groupBy(*groups, "time").agg(*[F.sum(c).alias(c) for c in DAILY_COUNTS])
    estimates = horizon_readings(per_day, groups, horizons, complete_followup=True)
    return estimates.withColumn("measure", F.lit(measure)).select(*SURVIVAL_ESTIMATE_COLUMNS)
