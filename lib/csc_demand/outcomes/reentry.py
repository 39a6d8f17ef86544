"""Re-entry to care: time from a return home (a period of care ending with REC E4A/E4B) to the next period.

Periods of care (an RNE=S episode through X1-linked episodes) come from silver.care_periods, built by ingestion;
a later period of the same child is a re-entry. Periods of a child do not overlap, so the next period is the
next by start date.
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.codes import REC_RETURNED_HOME
from csc_demand.outcomes.followup import (
    CATEGORY_COLUMNS,
    FOLLOWUP_COLUMNS,
    person_column,
    with_category,
    with_child_attributes,
    with_followup,
    with_person_key,
)
from csc_demand.outcomes.rates import with_england, with_every_category
from csc_demand.outcomes.timeline import with_nearest_events

CARE_REENTRY_COLUMNS = (
    "child_key", "la_code", "period_start", "period_end", "end_rec", "period_number", "returned_home",
    "next_period_start", "days_home_to_reentry", *FOLLOWUP_COLUMNS, *CATEGORY_COLUMNS)


def dated_categories(assessments: DataFrame, assessment_category: DataFrame | None) -> DataFrame | None:
    """child_key, authorised_date, category_id, category_name per categorised assessment (None without)."""
    if assessment_category is None:
        return None
    return (assessments.where(F.col("authorised_date").isNotNull())
            .join(assessment_category.select("assessment_key", *CATEGORY_COLUMNS), on="assessment_key", how="inner")
            .select("child_key", "authorised_date", *CATEGORY_COLUMNS))


def care_reentry(care_periods: DataFrame, children: DataFrame, end_date: date,
                 categories_by_date: DataFrame | None = None, cross_la: bool = False) -> DataFrame:
    """gold.care_reentry: one row per period of care (columns CARE_REENTRY_COLUMNS).

    Follow-up (``at_risk`` ...) applies only to periods ending in a return home; the category is that of the
    child's latest assessment authorised on or before the period started (``dated_categories``), if any.
    """
    person = person_column(cross_la)
    in_order = Window.partitionBy(person).orderBy("period_start")
    periods = (with_person_key(care_periods, children, cross_la)
               .withColumn("next_period_start", F.lead("period_start").over(in_order))
               .withColumn("returned_home", F.col("period_end").isNotNull()
                           & F.coalesce(F.col("end_rec").isin(*REC_RETURNED_HOME), F.lit(False)))
               .withColumn("home_date", F.when(F.col("returned_home"), F.col("period_end")))
               .withColumn("days_home_to_reentry", F.datediff("next_period_start", "home_date")))
    periods = with_followup(with_child_attributes(periods, children), "home_date", "next_period_start",
                            end_date)
    if categories_by_date is None:
        periods = with_category(periods, None, "child_key")
    else:
        events = with_person_key(categories_by_date, children, cross_la)
        periods = with_nearest_events(periods, "period_start", events, "authorised_date", list(CATEGORY_COLUMNS),
                                      direction="previous", partition_col=person)
    return periods.select(*CARE_REENTRY_COLUMNS)


CARE_PERIODS_BY_CATEGORY_COLUMNS = (
    "la_code", *CATEGORY_COLUMNS, "children", "children_multiple_periods", "multiple_periods_rate", "periods",
    "returned_home", "returned_home_followed_12m", "reentries_12m", "reentry_rate_12m")


def care_periods_by_category(reentry: DataFrame) -> DataFrame:
    """gold.care_periods_by_category from gold.care_reentry: per LA and England, per category of the child's first
    period of care in the data (``unknown``: no assessment authorised before it; ``all``: every child).

    Columns: children with a period of care, those with 2+ periods and their share; their periods; returns home;
    returns home followed for 12 months (12 months after the return fall on or before the censor date), those
    followed by a new period within 12 months, and that re-entry rate.
    """
    first = Window.partitionBy("child_key").orderBy("period_start")
    twelve_months_after = F.add_months("period_end", 12)
    followed = F.col("returned_home") & (twelve_months_after <= F.col("censor_date"))
    per_child = (reentry
                 .withColumn("_first", F.first(F.struct(*CATEGORY_COLUMNS)).over(
                     first.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)))
                 .groupBy("child_key", "la_code", "_first")
                 .agg(F.count(F.lit(1)).alias("periods"),
                      F.count_if("returned_home").alias("returned_home"),
                      F.count_if(followed).alias("returned_home_followed_12m"),
                      F.count_if(followed & (F.col("next_period_start") <= twelve_months_after)
                                 ).alias("reentries_12m"))
                 .select("child_key", "la_code", "_first.*", "periods", "returned_home",
                         "returned_home_followed_12m", "reentries_12m")
                 .withColumn("category_name", F.coalesce("category_name", F.lit("unknown"))))
    sums = [F.sum(c).alias(c) for c in ("periods", "returned_home", "returned_home_followed_12m", "reentries_12m")]
    return (with_england(with_every_category(per_child))
            .groupBy("la_code", *CATEGORY_COLUMNS)
            .agg(F.count(F.lit(1)).alias("children"),
                 F.count_if(F.col("periods") >= 2).alias("children_multiple_periods"), *sums)
            .withColumn("multiple_periods_rate", F.col("children_multiple_periods") / F.col("children"))
            .withColumn("reentry_rate_12m", F.try_divide("reentries_12m", "returned_home_followed_12m"))
            .select(*CARE_PERIODS_BY_CATEGORY_COLUMNS))
