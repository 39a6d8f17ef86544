"""Re-referral: the DfE 12-month measure per referral and the study's time from closure to the next referral.

- DfE: a referral is a re-referral when it falls on or before the child's previous referral date plus 12
  calendar months (``add_months``, so 29 Feb 2020 + 12 months = 28 Feb 2021).
- Study: days from ``closure_date`` to the child's next referral on or after it, censored (see followup.py).
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import (
    CATEGORY_COLUMNS,
    FOLLOWUP_COLUMNS,
    collection_year,
    person_column,
    with_category,
    with_child_attributes,
    with_followup,
    with_person_key,
)
from csc_demand.outcomes.rates import rate_by_year_and_category

REFERRAL_WINDOW_COLUMNS = (
    "referral_key", "child_key", "la_code", "referral_date", "closure_date", "collection_year", "referral_year",
    "previous_referral_date", "rereferral_12m", "next_referral_date", "days_closure_to_next_referral",
    *FOLLOWUP_COLUMNS, *CATEGORY_COLUMNS)


def referral_windows(referrals: DataFrame, children: DataFrame, end_date: date,
                     categories: DataFrame | None = None, cross_la: bool = False) -> DataFrame:
    """gold.referral_windows: one row per referral (columns REFERRAL_WINDOW_COLUMNS).

    ``categories``: referral_key, category_id, category_name (``followup.referral_categories``) or None.
    """
    people = with_person_key(referrals, children, cross_la)
    in_order = Window.partitionBy(person_column(cross_la)).orderBy("referral_date", "referral_key")
    whole_timeline = in_order.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    # One window pass per person: the previous referral by lag, and the person's referral dates, from which the
    # first on or after the closure is picked. A referral closed the day it opened must not find itself, so then
    # the search starts the next day. Cost per referral grows with the person's referrals (a few, at most dozens).
    search_from = F.when(F.col("closure_date") == F.col("referral_date"), F.date_add("closure_date", 1)
                         ).otherwise(F.col("closure_date"))
    with_next = (people
                 .withColumn("previous_referral_date", F.lag("referral_date").over(in_order))
                 .withColumn("_dates", F.collect_list("referral_date").over(whole_timeline))
                 .withColumn("next_referral_date", F.array_min(F.filter("_dates", lambda d: d >= search_from)))
                 .drop("_dates"))
    windows = (with_next
               .withColumn("rereferral_12m", F.coalesce(
                   F.col("referral_date") <= F.add_months("previous_referral_date", 12), F.lit(False)))
               .withColumn("referral_year", collection_year(F.col("referral_date")))
               .withColumn("days_closure_to_next_referral", F.datediff("next_referral_date", "closure_date")))
    windows = with_followup(with_child_attributes(windows, children), "closure_date",
                            "next_referral_date", end_date)
    return with_category(windows, categories, "referral_key").select(*REFERRAL_WINDOW_COLUMNS)


def rereferral_rates(windows: DataFrame) -> DataFrame:
    """gold.rereferral_rates: DfE re-referral rate per referral year and category ("all" = every category).

    Columns: referral_year, category_name, referrals, rereferrals_12m, rereferral_rate.
    """
    return rate_by_year_and_category(windows, "referral_year", "rereferral_12m", "referrals", "rereferrals_12m",
                                     "rereferral_rate")
