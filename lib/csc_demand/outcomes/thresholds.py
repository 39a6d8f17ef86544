"""Category mix at each threshold of intervention: assessments, CIN plans, CP plans and children in care.

A plan or period of care takes the category of the child's latest authorised assessment that **started** on or
before the plan or period began (ties by authorisation date): a CP plan usually starts before the assessment that
led to it is authorised (docs/methods.md, Pathway after assessment), so "authorised on or before" would give most
plans the previous assessment's category or none. Counts start at ``since`` (the first day of the first collection
year with assessments): what began earlier is in the data only when it was still open then.
"""
from __future__ import annotations

from datetime import date
from functools import reduce

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import CATEGORY_COLUMNS, with_category
from csc_demand.outcomes.rates import with_england
from csc_demand.outcomes.timeline import with_nearest_events

THRESHOLDS = ("assessment", "cin_plan", "cp_plan", "in_care")
CATEGORY_THRESHOLD_COLUMNS = ("la_code", "threshold", "category_id", "category_name", "count", "share")


def categorised_assessments(assessments: DataFrame, assessment_category: DataFrame | None) -> DataFrame:
    """child_key, la_code, start_date, authorised_date and the category of every authorised assessment (null
    without categories)."""
    authorised = (assessments.where(F.col("authorised_date").isNotNull())
                  .select("assessment_key", "child_key", "la_code", "start_date", "authorised_date"))
    return with_category(authorised, assessment_category, "assessment_key")


def category_at_start(starts: DataFrame, date_col: str, assessed: DataFrame) -> DataFrame:
    """Add to each row of ``starts`` (child_key, ``date_col``) the category of the child's latest authorised
    assessment started on or before ``date_col`` (null columns when there is none)."""
    events = assessed.select("child_key", F.col("start_date").alias("_assessment_start"),
                             # The struct orders same-day assessments by authorisation: the later one wins.
                             F.struct("authorised_date", *CATEGORY_COLUMNS).alias("_category"))
    found = with_nearest_events(starts, date_col, events, "_assessment_start", ["_category"],
                                partition_col="child_key", direction="previous")
    return found.select(*starts.columns, *[F.col(f"_category.{c}").alias(c) for c in CATEGORY_COLUMNS])


def category_thresholds(assessments: DataFrame, assessment_category: DataFrame | None, cin_plans: DataFrame | None,
                        cp_plans: DataFrame, care_periods: DataFrame, since: date) -> DataFrame:
    """gold.category_thresholds: per LA and England, threshold and category, the count of assessments authorised
    (``assessment``), or of CIN plans, CP plans and periods of care started, on or after ``since``, by their
    category at start, and its share of the threshold-LA total. ``unknown`` (id null) = no assessment started
    before (any assessment in the data, also one before ``since``); no CIN plans table = no ``cin_plan`` rows."""
    assessed = categorised_assessments(assessments, assessment_category)
    from_since = F.col("start_date") >= F.lit(since)
    starts = [("cp_plan", cp_plans.select("child_key", "la_code", "start_date")),
              ("in_care", care_periods.select("child_key", "la_code", F.col("period_start").alias("start_date")))]
    if cin_plans is not None:
        starts.insert(0, ("cin_plan", cin_plans.select("child_key", "la_code", "start_date")))
    # every threshold's starts on one timeline with the assessments: one sort of the assessments, not one each
    began = reduce(DataFrame.unionByName, [frame.where(from_since).withColumn("threshold", F.lit(threshold))
                                           for threshold, frame in starts])
    rows = (assessed.where(F.col("authorised_date") >= F.lit(since))
            .select(F.lit("assessment").alias("threshold"), "la_code", *CATEGORY_COLUMNS)
            .unionByName(category_at_start(began, "start_date", assessed)
                         .select("threshold", "la_code", *CATEGORY_COLUMNS))
            .withColumn("category_name", F.coalesce("category_name", F.lit("unknown"))))
    threshold_la = Window.partitionBy("la_code", "threshold")
    return (with_england(rows).groupBy("la_code", "threshold", *CATEGORY_COLUMNS)
            .agg(F.count(F.lit(1)).alias("count"))
            .withColumn("share", F.col("count") / F.sum("count").over(threshold_la))
            .select(*CATEGORY_THRESHOLD_COLUMNS))
