"""Kaplan-Meier estimates computed in Spark from per-day event and risk-set counts.

Subjects are first aggregated to one row per (group, time) with the number of events and of subjects leaving
the risk set; the estimator then runs as cumulative windows over that small per-day table, so no row-level data
reaches the driver. Confidence intervals use Greenwood's variance on the log(-log) scale ("exponential
Greenwood"), the same form lifelines' KaplanMeierFitter reports, so the two can be checked against each other.
"""
from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

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


def _per_day(subjects: DataFrame, time_col: str, event_col: str, group_cols: Sequence[str]) -> DataFrame:
    """The one pass over the subjects: per group and time, ``events`` and ``leaving``."""
    return (subjects
            .groupBy(*group_cols, F.col(time_col).cast("long").alias("time"))
            .agg(F.sum(F.col(event_col).cast("long")).alias("events"), F.count(F.lit(1)).alias("leaving")))


def _partition(group_cols: Sequence[str]) -> list[Column | str]:
    """Window partition columns for per-group windows. Spark drops constant partition columns (the "all" group) and
    then warns "No Partition Defined for Window operation" on every call: an always-0 term that the optimizer
    cannot fold keeps the partition spec non-empty."""
    return [*group_cols, F.coalesce(F.col("time") * 0, F.lit(0))]


def _estimator(per_day: DataFrame, group_cols: Sequence[str], keep: Sequence[str] = ()) -> DataFrame:
    """Kaplan-Meier and Greenwood sums as cumulative windows over the per-day counts (columns: kaplan_meier's)."""
    groups = list(group_cols)
    partition = _partition(groups)
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
    of them with an event at or before h.

    The number of expressions does not grow with the horizons (one aggregate per horizon made 74 curve horizons
    a plan too large to compile well): the subjects are read once into per-day counts, keyed by their time and,
    for the complete-follow-up counts, by the day after their potential follow-up ends; each horizon becomes a
    marker row among its group's per-day rows, and cumulative windows over the days read every horizon at once.
    """
    groups, horizons = list(group_cols) or ["_all"], [int(h) for h in horizons]
    if not group_cols:  # one group: a constant column keeps the grouping code the same (no rows in, no rows out)
        subjects = subjects.withColumn("_all", F.lit(0))
    time, event, no_count = F.col(time_col).cast("long"), F.col(event_col), F.lit(None).cast("long")
    complete_event, ending = no_count, []
    if potential_followup_col is not None:
        followup = F.col(potential_followup_col).cast("long")
        # A subject is complete at h when followup >= h, and a complete event when also time <= h: from the horizon
        # at its time up to the last horizon <= followup. So it is counted at its time and counted off on the day
        # after its follow-up ends (an "ended" row, whose "events" are such complete events).
        complete_event = F.when(event & (followup >= time), 1).otherwise(0).cast("long")
        ending = [F.struct((followup + 1).alias("time"), F.lit(False).alias("observed"),
                          complete_event.alias("events"), no_count.alias("complete_events"))]
    counted = [F.struct(time.alias("time"), F.lit(True).alias("observed"), event.cast("long").alias("events"),
                        complete_event.alias("complete_events")), *ending]
    per_day = (subjects.select(*groups, F.explode(F.array(*counted)).alias("c")).select(*groups, "c.*")
               .where(F.col("time").isNotNull())
               .groupBy(*groups, "observed", "time")
               .agg(F.sum("events").alias("events"), F.count(F.lit(1)).alias("leaving"),
                    F.sum("complete_events").alias("complete_events")))
    observed = per_day.where("observed").drop("observed")
    km = _estimator(observed, groups, keep=["leaving", "complete_events"]).select(
        *groups, "time", "cumulative_incidence", "ci_lower", "ci_upper", "events", "leaving", "complete_events")
    ended = per_day.where(~F.col("observed")).select(*groups, "time", F.col("leaving").alias("ended"),
                                                     F.col("events").alias("ended_complete_events"))
    markers = (observed.select(*groups).distinct()
               .select(*groups, F.explode(F.array(*[F.lit(h).cast("long") for h in horizons])).alias("time"))
               .withColumn("horizon_days", F.col("time")))
    # Only frames growing from the partition's start: Spark recomputes a frame ending at the partition's end for
    # every row (quadratic in the days), so counts from h on are the group's total minus those before h.
    whole = Window.partitionBy(*_partition(groups))
    days = whole.orderBy("time")
    up_to_h = days.rangeBetween(Window.unboundedPreceding, 0)
    before_h = days.rangeBetween(Window.unboundedPreceding, -1)
    zero = F.lit(0).cast("long")
    readings = km.unionByName(ended, allowMissingColumns=True).unionByName(markers, allowMissingColumns=True).select(
        *groups, "horizon_days",
        *[F.coalesce(F.last(c, ignorenulls=True).over(up_to_h), F.lit(0.0)).alias(c)
          for c in ("cumulative_incidence", "ci_lower", "ci_upper")],
        (F.sum("leaving").over(whole) - F.coalesce(F.sum("leaving").over(before_h), zero)).alias("n_at_risk"),
        F.coalesce(F.sum("events").over(up_to_h), zero).alias("events"),
        F.sum("leaving").over(whole).alias("subjects"),
        (F.coalesce(F.sum("ended").over(whole), zero) - F.coalesce(F.sum("ended").over(up_to_h), zero))
        .alias("n_complete"),
        (F.coalesce(F.sum("complete_events").over(up_to_h), zero)
         - F.coalesce(F.sum("ended_complete_events").over(up_to_h), zero)).alias("complete_events"))
    if potential_followup_col is None:
        n_complete, raw_share = F.lit(None).cast("long"), F.lit(None).cast("double")
    else:
        n_complete, raw_share = F.col("n_complete"), F.try_divide("complete_events", "n_complete")
    return readings.where(F.col("horizon_days").isNotNull()).select(
        *list(group_cols), "horizon_days", "cumulative_incidence", "ci_lower", "ci_upper",
        "n_at_risk", "events", "subjects", n_complete.alias("n_complete"), raw_share.alias("raw_share"))
