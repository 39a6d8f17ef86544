"""Pathways by factor combination: domestic abuse alone, with neglect, or with other factors.

Domestic abuse is factor group 3 (3A child, 3B parent/carer, 3C another person); neglect is 16A. Rates come from
gold.assessment_pathways (complete windows only), so they share its window definition.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.pathways import (
    PATHWAY_OUTCOMES,
    PATHWAY_RATE_COLUMNS,
    pathway_counts,
)
from csc_demand.outcomes.rates import with_england

DOMESTIC_ABUSE_CODES = ("3A", "3B", "3C")
NEGLECT_CODE = "16A"
COMBINATIONS = ("domestic_abuse_alone", "domestic_abuse_with_neglect", "domestic_abuse_with_other")


def factor_combination(codes: F.Column) -> F.Column:
    """The COMBINATIONS value of an assessment's factor codes; null without domestic abuse."""
    domestic_abuse = F.lit(list(DOMESTIC_ABUSE_CODES))
    others = F.array_except(codes, domestic_abuse)
    return (F.when(~F.arrays_overlap(codes, domestic_abuse) | codes.isNull(), F.lit(None).cast("string"))
            .when(F.size(others) == 0, F.lit(COMBINATIONS[0]))
            .when(F.array_contains(others, NEGLECT_CODE), F.lit(COMBINATIONS[1]))
            .otherwise(F.lit(COMBINATIONS[2])))


def pathway_factor_combinations(pathways: DataFrame, assessments: DataFrame) -> DataFrame:
    """gold.pathway_factor_combinations: per LA and England and combination, complete-window assessments with
    domestic abuse and how many were followed by a CP plan or care (columns of gold.pathway_rates)."""
    combos = assessments.select("assessment_key", factor_combination(F.col("factor_codes")).alias("combination"))
    rows = (pathways.where(F.col("complete_window")).select("assessment_key", "la_code", *PATHWAY_OUTCOMES)
            .join(combos, on="assessment_key", how="inner").where(F.col("combination").isNotNull()))
    return (pathway_counts(with_england(rows.drop("assessment_key")), ["la_code", "combination"])
            .select("la_code", "combination", *PATHWAY_RATE_COLUMNS))
