"""Repeat child protection plans: plan order per child, and time from a plan's end to the next plan's start.

A plan is a repeat when it is the child's second or later in the data, or its ``number_of_previous_cpp`` says
earlier plans exist before the data starts (DfE: "second or subsequent plan, however long ago"). Plans of a
child do not overlap (rule 8940 quarantines overlaps), so the next plan is simply the next by start date.
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import (
    CATEGORY_COLUMNS,
    FOLLOWUP_COLUMNS,
    age_band,
    collection_year,
    person_column,
    with_category,
    with_child_attributes,
    with_followup,
    with_person_key,
)
from csc_demand.outcomes.rates import rate_by_year_and_category, with_england, with_rows_again

PLAN_SEQUENCE_COLUMNS = (
    "cp_plan_key", "referral_key", "child_key", "la_code", "start_date", "end_date", "start_year", "plan_number",
    "number_of_previous_cpp", "repeat_plan", "next_plan_start", "days_end_to_next_plan", *FOLLOWUP_COLUMNS,
    *CATEGORY_COLUMNS)


def plan_sequence(cp_plans: DataFrame, children: DataFrame, end_date: date,
                  categories: DataFrame | None = None, cross_la: bool = False) -> DataFrame:
    """gold.cp_plan_sequence: one row per plan (columns PLAN_SEQUENCE_COLUMNS).

    ``categories`` is per referral (the plan's referral's category) or None.
    """
    in_order = Window.partitionBy(person_column(cross_la)).orderBy("start_date", "cp_plan_key")
    plans = (with_person_key(cp_plans, children, cross_la)
             .withColumn("plan_number", F.row_number().over(in_order))
             .withColumn("next_plan_start", F.lead("start_date").over(in_order))
             .withColumn("repeat_plan", (F.col("plan_number") > 1)
                         | (F.coalesce(F.col("number_of_previous_cpp"), F.lit(0)) > 0))
             .withColumn("start_year", collection_year(F.col("start_date")))
             .withColumn("days_end_to_next_plan", F.datediff("next_plan_start", "end_date")))
    plans = with_followup(with_child_attributes(plans, children), "end_date", "next_plan_start",
                          end_date)
    return with_category(plans, categories, "referral_key").select(*PLAN_SEQUENCE_COLUMNS)


def repeat_plan_rates(sequence: DataFrame) -> DataFrame:
    """gold.repeat_plan_rates: share of plans starting in each collection year that are repeats, by category.

    Columns: start_year, category_name ("all" = every category), plans, repeat_plans, repeat_rate.
    """
    return rate_by_year_and_category(sequence, "start_year", "repeat_plan", "plans", "repeat_plans", "repeat_rate")


CP_PLANS_BY_ABUSE_COLUMNS = ("la_code", "initial_category", "age_band", "plans", "repeat_plans", "repeat_rate")


def cp_plans_by_abuse(sequence: DataFrame, cp_plans: DataFrame, children: DataFrame) -> DataFrame:
    """gold.cp_plans_by_abuse: per LA and England, initial category of abuse (NEG/PHY/SAB/EMO/MUL, ``unknown``
    when missing, ``all``) and age band at the plan's start (followup.age_band, ``all``): plans, repeat plans
    (gold.cp_plan_sequence.repeat_plan) and the repeat rate."""
    rows = (sequence.select("cp_plan_key", "child_key", "la_code", "start_date", "repeat_plan")
            .join(cp_plans.select("cp_plan_key", "initial_category"), on="cp_plan_key", how="left")
            .join(children.select("child_key", "birth_date"), on="child_key", how="left")
            .select("la_code", F.coalesce("initial_category", F.lit("unknown")).alias("initial_category"),
                    age_band(F.col("start_date"), F.col("birth_date")).alias("age_band"), "repeat_plan"))
    by_band = with_rows_again(with_rows_again(rows, {"initial_category": F.lit("all")}), {"age_band": F.lit("all")})
    return (with_england(by_band)
            .groupBy("la_code", "initial_category", "age_band")
            .agg(F.count(F.lit(1)).alias("plans"), F.count_if("repeat_plan").alias("repeat_plans"))
            .withColumn("repeat_rate", F.col("repeat_plans") / F.col("plans"))
            .select(*CP_PLANS_BY_ABUSE_COLUMNS))
