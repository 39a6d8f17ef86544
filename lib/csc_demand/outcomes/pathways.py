"""Pathway after assessment: is an authorised assessment followed, within a window, by a CP plan or care?

The next CP plan start and the next period-of-care start on or after the authorisation date are read from the
child's timeline in one window pass (timeline.py). Rates and adjusted odds ratios use only assessments whose
whole window lies inside the data (``complete_window``).
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import (CATEGORY_COLUMNS, age_band, person_column, with_category,
                                          with_child_attributes, with_person_key)
from csc_demand.outcomes.rates import group_memberships
from csc_demand.outcomes.timeline import with_nearest_events
from csc_demand.stats.regression import odds_ratios

PATHWAY_OUTCOMES = ("cp_plan_within_window", "care_within_window")
PATHWAY_COVARIATES = ("category_name", "age_band", "sex", "ethnic_group")
ASSESSMENT_PATHWAY_COLUMNS = (
    "assessment_key", "referral_key", "child_key", "la_code", "collection_year", "authorised_date", "window_end",
    "complete_window", "age_band", "sex", "ethnic_group", *CATEGORY_COLUMNS, "next_cp_plan_start",
    "next_care_start", *PATHWAY_OUTCOMES)


def assessment_pathways(assessments: DataFrame, cp_plans: DataFrame, care_periods: DataFrame,
                        children: DataFrame, end_date: date, window_months: int = 12,
                        categories: DataFrame | None = None, cross_la: bool = False) -> DataFrame:
    """gold.assessment_pathways: one row per authorised assessment (columns ASSESSMENT_PATHWAY_COLUMNS).

    ``categories``: assessment_key, category_id, category_name (gold.assessment_category) or None.
    """
    anchors = with_person_key(assessments.where(F.col("authorised_date").isNotNull()), children, cross_la)
    plan_starts = cp_plans.select("child_key", F.col("start_date").alias("event_date"))
    care_starts = care_periods.select("child_key", F.col("period_start").alias("event_date"))
    events = (with_person_key(plan_starts, children, cross_la).withColumn("next_cp_plan_start", F.col("event_date"))
              .unionByName(with_person_key(care_starts, children, cross_la)
                           .withColumn("next_care_start", F.col("event_date")), allowMissingColumns=True))
    found = with_child_attributes(with_nearest_events(anchors, "authorised_date", events, "event_date",
                                                      ["next_cp_plan_start", "next_care_start"], direction="next",
                                                      partition_col=person_column(cross_la)),
                                  children)
    window_end = F.add_months("authorised_date", window_months)
    pathways = (found
                .withColumn("window_end", window_end)
                .withColumn("complete_window", F.col("window_end") <= F.lit(end_date))
                .withColumn("age_band", age_band(F.col("authorised_date"), F.col("birth_date")))
                .withColumn("cp_plan_within_window",
                            F.coalesce(F.col("next_cp_plan_start") <= F.col("window_end"), F.lit(False)))
                .withColumn("care_within_window",
                            F.coalesce(F.col("next_care_start") <= F.col("window_end"), F.lit(False))))
    return with_category(pathways, categories, "assessment_key").select(*ASSESSMENT_PATHWAY_COLUMNS)


def pathway_rates(pathways: DataFrame, groupings=PATHWAY_COVARIATES) -> DataFrame:
    """gold.pathway_rates: per group (``all`` and each covariate's levels), complete-window assessments only.

    Columns: group_by, group_value, assessments, cp_plans, cp_plan_rate, care_entries, care_rate.
    """
    return (pathways.where(F.col("complete_window"))
            .select(group_memberships(groupings), *PATHWAY_OUTCOMES)
            .groupBy("g.group_by", "g.group_value")
            .agg(F.count(F.lit(1)).alias("assessments"),
                 F.sum(F.col("cp_plan_within_window").cast("long")).alias("cp_plans"),
                 F.sum(F.col("care_within_window").cast("long")).alias("care_entries"))
            .select("group_by", "group_value", "assessments", "cp_plans",
                    (F.col("cp_plans") / F.col("assessments")).alias("cp_plan_rate"), "care_entries",
                    (F.col("care_entries") / F.col("assessments")).alias("care_rate")))


def pathway_odds_ratios(pathways: DataFrame, with_category_terms: bool = True) -> DataFrame:
    """gold.pathway_odds_ratios: adjusted odds ratios of each pathway outcome (stats.regression.odds_ratios).

    Covariates: category (when categories exist), age band, sex and ethnic group; reference = the most
    frequent level of each.
    """
    covariates = [c for c in PATHWAY_COVARIATES if with_category_terms or c != "category_name"]
    complete = pathways.where(F.col("complete_window")).select(*PATHWAY_OUTCOMES, *covariates)
    fits = [odds_ratios(complete, outcome, covariates) for outcome in PATHWAY_OUTCOMES]
    return fits[0].unionByName(fits[1])
