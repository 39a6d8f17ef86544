"""Kaplan-Meier estimates computed in Spark from per-day event and risk-set counts.

Subjects are first aggregated to one row per (group, time) with the number of events and of subjects leaving
the risk set; the estimator then runs as cumulative windows over that small per-day table, so no row-level data
reaches the driver. Confidence intervals use Greenwood's variance on the log(-log) scale ("exponential
Greenwood"), the same form lifelines' KaplanMeierFitter reports, so the two can be checked against each other.
"""
from __future__ import annotations

from statistics import NormalDist
from typing import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

Z_95 = NormalDist().inv_cdf(0.975)
HORIZONS_DAYS = (365, 2190)  # the headline horizons: 12 months and six years (6 x 365), as the study reads them


def _loglog_bound(survival: Column, greenwood_sum: Column, sign: int) -> Column:
    """exp(-exp(log(-log S) + sign * z * sqrt(sum) / log S)); S = 1 gives 1 and S = 0 gives 0, as lifelines."""
    log_s = F.log(survival)
    bound = F.exp(-F.exp(F.log(-log_s) + F.lit(sign * Z_95) * F.sqrt(greenwood_sum) / log_s))
    return (F.when(survival >= 1.0, F.lit(1.0))
            .when(survival <= 0.0, F.lit(0.0))
            .otherwise(F.coalesce(bound, F.lit(1.0))))


def kaplan_meier(subjects: DataFrame, time_col: str = "time", event_col: str = "event",
                 group_cols: Sequence[str] = ()) -> DataFrame:
    """One row per group and distinct time: survival, cumulative incidence and their 95% intervals.

    ``subjects`` holds one row per subject with a non-negative ``time`` (days) and a boolean ``event``
    (false = censored). Output columns: group columns, ``time``, ``n_at_risk`` (subjects with time >= t),
    ``events``, ``censored``, ``survival``, ``survival_lower``, ``survival_upper``, ``cumulative_incidence``,
    ``ci_lower``, ``ci_upper``, ``greenwood_sum``.
    """
    return _estimator(_per_day(subjects, time_col, event_col, group_cols), group_cols)


def _per_day(subjects: DataFrame, time_col: str, event_col: str, group_cols: Sequence[str],
             more: Sequence[Column] = ()) -> DataFrame:
    """The one pass over the subjects: per group and time, ``events``, ``leaving`` and any ``more`` aggregates."""
    return (subjects
            .groupBy(*group_cols, F.col(time_col).cast("long").alias("time"))
            .agg(F.sum(F.col(event_col).cast("long")).alias("events"), F.count(F.lit(1)).alias("leaving"), *more))


def _estimator(per_day: DataFrame, group_cols: Sequence[str], keep: Sequence[str] = ()) -> DataFrame:
    """Kaplan-Meier and Greenwood sums as cumulative windows over the per-day counts (columns: kaplan_meier's)."""
    groups = list(group_cols)
    # The windows run over per-day counts (a few thousand rows), so one partition is fine. But Spark drops constant
    # partition columns (the "all" group) and then warns "No Partition Defined for Window operation" on every call:
    # an always-0 term that the optimizer cannot fold keeps the partition spec non-empty.
    partition = [*groups, F.coalesce(F.col("time") * 0, F.lit(0))]
    from_here_on = Window.partitionBy(*partition).orderBy(F.desc("time")).rowsBetween(Window.unboundedPreceding, 0)
    up_to_now = Window.partitionBy(*partition).orderBy("time").rowsBetween(Window.unboundedPreceding, 0)
    d, n = F.col("events"), F.col("n_at_risk")
    km = (per_day
          .withColumn("n_at_risk", F.sum("leaving").over(from_here_on))
          # log(1 - d/n) is -inf when everyone at risk has the event: count those steps separately.
          .withColumn("all_fail", F.sum(F.when(d == n, 1).otherwise(0)).over(up_to_now))
          .withColumn("log_step", F.sum(F.when(d < n, F.log1p(-d / n)).otherwise(0.0)).over(up_to_now))
          # Greenwood: sum d / (n (n - d)); lifelines drops the infinite term where d == n.
          .withColumn("greenwood_sum", F.sum(F.when(d < n, d / (n * (n - d))).otherwise(0.0)).over(up_to_now))
          .withColumn("survival", F.when(F.col("all_fail") > 0, F.lit(0.0)).otherwise(F.exp("log_step"))))
    lower = _loglog_bound(F.col("survival"), F.col("greenwood_sum"), -1)
    upper = _loglog_bound(F.col("survival"), F.col("greenwood_sum"), +1)
    return km.select(
        *groups, "time", "n_at_risk", "events", (F.col("leaving") - d).alias("censored"),
        "survival", lower.alias("survival_lower"), upper.alias("survival_upper"),
        (1 - F.col("survival")).alias("cumulative_incidence"),
        (1 - upper).alias("ci_lower"), (1 - lower).alias("ci_upper"), "greenwood_sum", *keep)


def at_horizons(subjects: DataFrame, time_col: str = "time", event_col: str = "event",
                group_cols: Sequence[str] = (), horizons: Sequence[int] = HORIZONS_DAYS,
                potential_followup_col: str | None = None) -> DataFrame:
    """Cumulative incidence with 95% CI read at each horizon, plus risk-set counts and the raw share.

    Per group and horizon h: the KM step at the last time <= h (0 with interval [0, 0] before any time),
    ``n_at_risk`` = subjects still followed at h (time >= h), ``events`` = events at or before h,
    ``subjects``. When ``potential_followup_col`` is given (days each subject could be followed, ignoring
    the event), ``n_complete`` counts subjects with potential follow-up >= h and ``raw_share`` is the share
    of them with an event at or before h. The subjects are read once: the complete-follow-up counts per
    horizon ride along in the per-day aggregation as arrays (element i = horizon i).
    """
    groups, horizons = list(group_cols), [int(h) for h in horizons]
    more, keep = [], []
    if potential_followup_col is not None:
        followed = [F.col(potential_followup_col) >= h for h in horizons]
        event_by = [F.col(event_col) & (F.col(time_col) <= h) for h in horizons]
        more = [F.array(*[F.count_if(f) for f in followed]).alias("complete"),
                F.array(*[F.count_if(f & e) for f, e in zip(followed, event_by)]).alias("complete_events")]
        keep = ["complete", "complete_events"]
    km = _estimator(_per_day(subjects, time_col, event_col, groups, more), groups, keep)
    # One aggregation per group reads every horizon (no cross join with a horizon table): per horizon a struct of
    # its readings, collected in an array and turned into rows. The KM step at the last time <= h is max_by on
    # that time (times are distinct within a group). Grouping by a constant when there are no group columns keeps
    # it a grouped aggregation (no rows in, no rows out).
    t, d, leaving = F.col("time"), F.col("events"), F.col("events") + F.col("censored")
    readings = [F.struct(
        F.lit(h).cast("long").alias("horizon_days"),
        *[F.max_by(c, F.when(t <= h, t)).alias(c) for c in ("cumulative_incidence", "ci_lower", "ci_upper")],
        F.sum(F.when(t <= h, d).otherwise(0)).alias("events"),
        F.sum(F.when(t >= h, leaving).otherwise(0)).alias("n_at_risk"),
        F.sum(leaving).alias("subjects"),
        *[F.sum(F.element_at(c, i + 1)).alias(c) for c in keep]) for i, h in enumerate(horizons)]
    steps = (km.groupBy(*(groups or [F.lit(0).alias("_all")]))
             .agg(F.array(*readings).alias("_readings"))
             .select(*groups, F.inline("_readings")))
    if potential_followup_col is None:
        n_complete, raw_share = F.lit(None).cast("long"), F.lit(None).cast("double")
    else:
        n_complete, raw_share = F.col("complete"), F.try_divide("complete_events", "complete")
    return steps.select(
        *groups, "horizon_days",
        F.coalesce(F.col("cumulative_incidence"), F.lit(0.0)).alias("cumulative_incidence"),
        F.coalesce(F.col("ci_lower"), F.lit(0.0)).alias("ci_lower"),
        F.coalesce(F.col("ci_upper"), F.lit(0.0)).alias("ci_upper"),
        "n_at_risk", "events", "subjects", n_complete.cast("long").alias("n_complete"),
        raw_share.alias("raw_share"))
