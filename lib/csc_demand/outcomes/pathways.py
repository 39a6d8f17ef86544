"""Pathway after assessment: is an assessment authorised in the data's years followed, within a window, by a CP plan or care?

The window opens on the assessment's start date (a CP plan usually starts at the initial conference, before the
assessment is authorised) and closes ``window_months`` calendar months later. The next CP plan start and the next
period-of-care start on or after the start date are read from the child's timeline in one window pass
(timeline.py). Rates and adjusted odds ratios use only assessments whose whole window lies inside the data
(``complete_window``).
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import (
    CATEGORY_COLUMNS,
    age_band,
    collection_year,
    person_column,
    with_category,
    with_child_attributes,
    with_person_key,
)
from csc_demand.outcomes.rates import ENGLAND, group_memberships, with_england
from csc_demand.outcomes.timeline import with_nearest_events
from csc_demand.stats.regression import odds_ratios

PATHWAY_OUTCOMES = ("cp_plan_within_window", "care_within_window")
PATHWAY_COVARIATES = ("category_name", "age_band", "sex", "ethnic_group")
PATHWAY_RATE_COLUMNS = ("assessments", "cp_plans", "cp_plan_rate", "care_entries", "care_rate")
ASSESSMENT_PATHWAY_COLUMNS = (
    "assessment_key", "referral_key", "child_key", "la_code", "collection_year", "start_date", "authorised_date",
    "authorised_year", "window_end", "complete_window", "age_band", "sex", "ethnic_group", *CATEGORY_COLUMNS,
    "next_cp_plan_start", "next_care_start", *PATHWAY_OUTCOMES)


def assessment_pathways(assessments: DataFrame, cp_plans: DataFrame, care_periods: DataFrame,
                        children: DataFrame, end_date: date, authorised_from: date, window_months: int = 12,
                        categories: DataFrame | None = None, cross_la: bool = False) -> DataFrame:
    """gold.assessment_pathways: one row per assessment authorised on or after ``authorised_from`` (columns
    ASSESSMENT_PATHWAY_COLUMNS).

    ``authorised_from``: the first day of the first collection year with assessments. An assessment authorised
    earlier is in the data only because its referral was still open at the first return, which selects long,
    escalating cases; counting it would inflate the rates.
    ``categories``: assessment_key, category_id, category_name (gold.assessment_category) or None.
    """
    anchors = with_person_key(assessments.where(F.col("authorised_date") >= F.lit(authorised_from)), children,
                              cross_la)
    plan_starts = cp_plans.select("child_key", F.col("start_date").alias("event_date"))
    care_starts = care_periods.select("child_key", F.col("period_start").alias("event_date"))
    events = (with_person_key(plan_starts, children, cross_la).withColumn("next_cp_plan_start", F.col("event_date"))
              .unionByName(with_person_key(care_starts, children, cross_la)
                           .withColumn("next_care_start", F.col("event_date")), allowMissingColumns=True))
    found = with_child_attributes(with_nearest_events(anchors, "start_date", events, "event_date",
                                                      ["next_cp_plan_start", "next_care_start"], direction="next",
                                                      partition_col=person_column(cross_la)),
                                  children)
    pathways = (found
                .withColumn("authorised_year", collection_year(F.col("authorised_date")))
                .withColumn("window_end", F.add_months("start_date", window_months))
                .withColumn("complete_window", F.col("window_end") <= F.lit(end_date))
                .withColumn("age_band", age_band(F.col("authorised_date"), F.col("birth_date")))
                .withColumn("cp_plan_within_window",
                            F.coalesce(F.col("next_cp_plan_start") <= F.col("window_end"), F.lit(False)))
                .withColumn("care_within_window",
                            F.coalesce(F.col("next_care_start") <= F.col("window_end"), F.lit(False))))
    return with_category(pathways, categories, "assessment_key").select(*ASSESSMENT_PATHWAY_COLUMNS)


def pathway_counts(rows: DataFrame, keys: list) -> DataFrame:
    """Per ``keys``: assessments, cp_plans, care_entries (rows flagged by PATHWAY_OUTCOMES) and the two rates."""
    return with_pathway_rates(rows.groupBy(*keys)
                              .agg(F.count(F.lit(1)).alias("assessments"),
                                   F.sum(F.col("cp_plan_within_window").cast("long")).alias("cp_plans"),
                                   F.sum(F.col("care_within_window").cast("long")).alias("care_entries")))


def with_pathway_rates(counts: DataFrame) -> DataFrame:
    """Add cp_plan_rate and care_rate to rows with assessments, cp_plans and care_entries."""
    return (counts.withColumn("cp_plan_rate", F.col("cp_plans") / F.col("assessments"))
            .withColumn("care_rate", F.col("care_entries") / F.col("assessments")))


def pathway_rates(pathways: DataFrame, groupings=PATHWAY_COVARIATES) -> DataFrame:
    """gold.pathway_rates: per LA and England, per group (``all`` and each covariate's levels), complete-window
    assessments only.

    Columns: la_code, group_by, group_value, assessments, cp_plans, cp_plan_rate, care_entries, care_rate.
    """
    rows = with_england(pathways.where(F.col("complete_window")).select("la_code", *groupings, *PATHWAY_OUTCOMES))
    return (pathway_counts(rows.select("la_code", group_memberships(groupings), *PATHWAY_OUTCOMES),
                           ["la_code", "g.group_by", "g.group_value"])
            .select("la_code", "group_by", "group_value", *PATHWAY_RATE_COLUMNS))


def pathway_odds_ratios(pathways: DataFrame, with_category_terms: bool = True) -> DataFrame:
    """gold.pathway_odds_ratios: adjusted odds ratios of each pathway outcome (stats.regression.odds_ratios).

    Covariates: category (when categories exist), age band, sex and ethnic group; reference = the most
    frequent level of each. One fit over England: ``la_code`` is always ``ENGLAND``.
    """
    covariates = [c for c in PATHWAY_COVARIATES if with_category_terms or c != "category_name"]
    complete = pathways.where(F.col("complete_window")).select(*PATHWAY_OUTCOMES, *covariates)
    fits = [odds_ratios(complete, outcome, covariates) for outcome in PATHWAY_OUTCOMES]
    return with_la_code(fits[0].unionByName(fits[1]))


def with_la_code(odds: DataFrame) -> DataFrame:
    """``la_code`` = ENGLAND in front of the odds-ratio columns."""
    return odds.select(F.lit(ENGLAND).alias("la_code"), *odds.columns)
