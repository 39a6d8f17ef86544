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
from pyspark.sql.window import WindowSpec

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
    return _estimator(_with_day_group(daily_counts(subjects, time_col, event_col, group_cols)), group_cols)


def _with_day_group(per_day: DataFrame) -> DataFrame:
    """Per-day counts with ``_day_group``, a column that is 0 on every row but that the optimizer cannot fold: Spark
    drops constant partition columns (the "all" group), then warns "No Partition Defined for Window operation" on
    every call. A column, not an expression in each window's partition: each window would compute its own copy
    and shuffle the days again."""
    return per_day.withColumn("_day_group", F.coalesce(F.col("time") * 0, F.lit(0)))


def _days(group_cols: Sequence[str]) -> tuple[WindowSpec, WindowSpec, WindowSpec]:
    """A group's days in order (on ``_with_day_group`` rows): the window itself (for ``lead``), its days so far and
    all its days. One ascending sort serves every window here. Counts from a day on are the group's total minus
    those before it: Spark recomputes a frame ending at the partition's end for every row (quadratic in the days)."""
    days = Window.partitionBy(*group_cols, "_day_group").orderBy("time")
    return (days, days.rowsBetween(Window.unboundedPreceding, 0),
            days.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing))


def _estimator(per_day: DataFrame, group_cols: Sequence[str], keep: Sequence[str] = ()) -> DataFrame:
    """Kaplan-Meier and Greenwood sums as cumulative windows over per-day counts with one row per group and day
    (``_with_day_group``; columns: kaplan_meier's). A day with no subject leaving (``leaving`` 0) adds nothing to the sums: its
    estimate is the previous day's."""
    groups = list(group_cols)
    _, so_far, whole = _days(groups)
    d, n = F.col("events"), F.col("n_at_risk")
    km = (per_day
          .withColumn("n_at_risk", F.sum("leaving").over(whole) - F.sum("leaving").over(so_far) + F.col("leaving"))
          # log(1 - d/n) is -inf when everyone at risk has the event: count those steps separately.
          .withColumn("all_fail", F.sum(F.when((d == n) & (d > 0), 1).otherwise(0)).over(so_far))
          .withColumn("log_step", F.sum(F.when(d < n, F.log1p(-d / n)).otherwise(0.0)).over(so_far))
          # Greenwood: sum d / (n (n - d)); lifelines drops the infinite term where d == n.
          .withColumn("greenwood_sum", F.sum(F.when(d < n, d / (n * (n - d))).otherwise(0.0)).over(so_far))
          .withColumn("survival", F.when(F.col("all_fail") > 0, F.lit(0.0)).otherwise(F.exp("log_step"))))
    lower = _loglog_bound(F.col("survival"), F.col("greenwood_sum"), -1)
    upper = _loglog_bound(F.col("survival"), F.col("greenwood_sum"), +1)
    return km.select(
        *groups, "time", "n_at_risk", "events", (F.col("leaving") - d).alias("censored"),
        "survival", lower.alias("survival_lower"), upper.alias("survival_upper"),
        (1 - F.col("survival")).alias("cumulative_incidence"),
        (1 - upper).alias("ci_lower"), (1 - lower).alias("ci_upper"), "greenwood_sum", *keep)


def _count_below(value: Column, horizons: Sequence[int]) -> Column:
    """How many of the sorted ``horizons`` lie below ``value``: a binary search written as nested conditions, a few
    comparisons per row however many horizons there are."""
    if not horizons:
        return F.lit(0)
    middle = len(horizons) // 2
    return (F.when(value > F.lit(horizons[middle]), middle + 1 + _count_below(value, horizons[middle + 1:]))
            .otherwise(_count_below(value, horizons[:middle])))


DAILY_COUNTS = ("events", "leaving", "complete_events", "ended", "ended_complete_events")


def daily_counts(subjects: DataFrame, time_col: str = "time", event_col: str = "event",
                 group_cols: Sequence[str] = (), potential_followup_col: str | None = None,
                 last_horizon: int | None = None) -> DataFrame:
    """The one pass over the subjects: one row per group and day with DAILY_COUNTS. A subject is counted on the day
    of its time (``leaving``; ``events`` if it had the event) and, when ``potential_followup_col`` is given (days
    it could be followed, ignoring the event), counted off the complete-follow-up counts on the day after that
    follow-up ends (``ended``). It is complete at a horizon h when followup >= h, and a complete event when also
    time <= h: ``complete_events`` counts it on its day, ``ended_complete_events`` counts it off. The counts add
    up: the rows of several groups can be summed into a wider group.

    With ``last_horizon`` (the last day ``horizon_readings`` will read) every later day is counted as the day after
    it: a reading only totals those days, so one row per group stands for them all."""
    groups = list(group_cols) or ["_all"]
    if not group_cols:  # one group: a constant column keeps the grouping code the same (no rows in, no rows out)
        subjects = subjects.withColumn("_all", F.lit(0))
    time, event, one, zero = F.col(time_col).cast("long"), F.col(event_col), F.lit(1), F.lit(0)
    followup, complete_event = F.col(potential_followup_col or time_col).cast("long"), zero
    if potential_followup_col is not None:
        complete_event = F.when(event & (followup >= time), 1).otherwise(0)
    day = (lambda t: t) if last_horizon is None else (lambda t: F.least(t, F.lit(last_horizon + 1).cast("long")))
    counted = [F.struct(day(time).alias("time"), event.cast("long").alias("events"), one.alias("leaving"),
                        complete_event.alias("complete_events"), zero.alias("ended"),
                        zero.alias("ended_complete_events"))]
    if potential_followup_col is not None:
        counted.append(F.struct(day(followup + 1).alias("time"), zero.alias("events"), zero.alias("leaving"),
                                zero.alias("complete_events"), one.alias("ended"),
                                complete_event.alias("ended_complete_events")))
    return (subjects.select(*groups, F.explode(F.array(*counted)).alias("c")).select(*groups, "c.*")
            .where(F.col("time").isNotNull())
            .groupBy(*groups, "time")
            .agg(*[F.sum(c).cast("long").alias(c) for c in DAILY_COUNTS]))


def horizon_readings(per_day: DataFrame, group_cols: Sequence[str] = (), horizons: Sequence[int] = HORIZONS_DAYS,
                     complete_followup: bool = False) -> DataFrame:
    """``at_horizons`` from ``daily_counts`` rows (one per group and day): one shuffle and one sort. Cumulative
    windows run over each group's days in order, and each day gives the readings of the horizons from it up to the
    group's next day (the group's first day also those before it), so the work does not grow with one expression
    per horizon."""
    groups, horizons = list(group_cols) or ["_all"], sorted({int(h) for h in horizons})
    days, so_far, whole = _days(groups)
    so_far_sum = lambda c: F.sum(c).over(so_far)  # noqa: E731
    sums = [F.sum("leaving").over(whole).alias("subjects"), so_far_sum("leaving").alias("left_so_far"),
            so_far_sum("events").alias("events_so_far"), F.lead("time").over(days).alias("next_time"),
            (F.row_number().over(days) == 1).alias("first_day"), F.sum("ended").over(whole).alias("followable"),
            (F.sum("ended").over(whole) - so_far_sum("ended")).alias("complete_after"),
            (so_far_sum("complete_events") - so_far_sum("ended_complete_events")).alias("complete_so_far")]
    km = _estimator(_with_day_group(per_day).select("*", *sums), groups, keep=[
        "leaving", "subjects", "left_so_far", "events_so_far", "next_time", "first_day", "followable",
        "complete_after", "complete_so_far"])
    # the horizons this day reads: from its own (the first day: from the first) up to the next day's
    first = _count_below(F.col("time"), horizons)
    start = F.when(F.col("first_day"), 0).otherwise(first)
    end = F.when(F.col("next_time").isNull(), len(horizons)).otherwise(_count_below(F.col("next_time"), horizons))
    reading = (km.where(F.col("subjects") > 0)
               .withColumn("_first", first).withColumn("_start", start).withColumn("_end", end)
               .where(F.col("_end") > F.col("_start"))
               .withColumn("_j", F.explode(F.sequence("_start", F.col("_end") - 1)))
               .withColumn("horizon_days", F.element_at(F.array(*[F.lit(h).cast("long") for h in horizons]),
                                                        F.col("_j") + 1)))
    before, none = F.col("_j") < F.col("_first"), F.lit(0).cast("long")  # before the first day nothing happened
    n_complete, complete = F.lit(None).cast("long"), F.lit(None).cast("long")
    if complete_followup:
        n_complete = F.when(before, F.col("followable")).otherwise(F.col("complete_after"))
        complete = F.when(before, none).otherwise(F.col("complete_so_far"))
    left_before_h = F.col("left_so_far") - F.when(F.col("time") == F.col("horizon_days"), F.col("leaving")).otherwise(0)
    return reading.select(
        *list(group_cols), "horizon_days",
        *[F.when(before, F.lit(0.0)).otherwise(F.col(c)).alias(c) for c in ("cumulative_incidence", "ci_lower",
                                                                            "ci_upper")],
        (F.col("subjects") - F.when(before, none).otherwise(left_before_h)).alias("n_at_risk"),
        F.when(before, none).otherwise(F.col("events_so_far")).alias("events"),
        "subjects", n_complete.alias("n_complete"), F.try_divide(complete, n_complete).alias("raw_share"))


def at_horizons(subjects: DataFrame, time_col: str = "time", event_col: str = "event",
                group_cols: Sequence[str] = (), horizons: Sequence[int] = HORIZONS_DAYS,
                potential_followup_col: str | None = None) -> DataFrame:
    """Cumulative incidence with 95% CI read at each horizon, plus risk-set counts and the raw share.

    Per group and horizon h: the KM step at the last time <= h (0 with interval [0, 0] before any time),
    ``n_at_risk`` = subjects still followed at h (time >= h), ``events`` = events at or before h,
    ``subjects``. When ``potential_followup_col`` is given (days each subject could be followed, ignoring
    the event), ``n_complete`` counts subjects with potential follow-up >= h and ``raw_share`` is the share
    of them with an event at or before h.
    """
    per_day = daily_counts(subjects, time_col, event_col, group_cols, potential_followup_col,
                           max(horizons, default=None))
    return horizon_readings(per_day, group_cols, horizons, complete_followup=potential_followup_col is not None)
