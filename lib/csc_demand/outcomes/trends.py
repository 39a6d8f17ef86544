"""Trends by the collection year in which assessments were authorised, per LA and for England ("ALL").

An assessment open across 31 March is held in two annual returns; silver keeps the latest copy, whose
``collection_year`` is the later return. The year of an assessment here is that of its authorisation date
(``authorised_year``), so each authorised assessment counts once, in the year its factors were recorded.
Years before the first collection year with assessments (``authorised_from``) are left out: the first return holds
only those of their assessments whose referral was still open, a partial and skewed sample of the year.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import CATEGORY_COLUMNS, collection_year
from csc_demand.outcomes.rates import ENGLAND, with_england  # noqa: F401  (contract name: trends.ENGLAND)

CATEGORY_TREND_COLUMNS = ("authorised_year", "la_code", "category_id", "category_name", "assessments", "share")
COMPLEXITY_TREND_COLUMNS = ("authorised_year", "la_code", "assessments", "factors", "mean_factors",
                            "with_2plus_groups", "with_3plus_groups", "in_complex_categories", "share_2plus_groups",
                            "share_3plus_groups", "share_complex_categories")


def authorised_with_factors(assessments: DataFrame, authorised_from: date) -> DataFrame:
    """Assessments with at least one factor authorised on or after ``authorised_from``, with ``authorised_year``."""
    return (assessments.where((F.col("authorised_date") >= F.lit(authorised_from)) & F.col("has_factors"))
            .withColumn("authorised_year", collection_year(F.col("authorised_date"))))


def category_trends(assessment_category: DataFrame | None, assessments: DataFrame,
                    authorised_from: date) -> DataFrame:
    """gold.category_trends: authorised assessments with factors (category id >= 1) per authorised year, LA and
    category, and their share in the year-LA.

    Without categories every such assessment counts under category "all" (id null, share 1).
    """
    rows = authorised_with_factors(assessments, authorised_from).select("assessment_key", "authorised_year", "la_code")
    if assessment_category is None:
        rows = rows.select("authorised_year", "la_code", F.lit(None).cast("int").alias("category_id"),
                           F.lit("all").alias("category_name"))
    else:
        rows = (rows.join(assessment_category.where(F.col("category_id") >= 1)
                          .select("assessment_key", *CATEGORY_COLUMNS), on="assessment_key", how="inner")
                .select("authorised_year", "la_code", *CATEGORY_COLUMNS))
    year_la = Window.partitionBy("authorised_year", "la_code")
    return (with_england(rows).groupBy("authorised_year", "la_code", *CATEGORY_COLUMNS)
            .agg(F.count(F.lit(1)).alias("assessments"))
            .withColumn("share", F.col("assessments") / F.sum("assessments").over(year_la))
            .select(*CATEGORY_TREND_COLUMNS))


def factor_groups(codes: str) -> F.Column:
    """Distinct factor groups of a factor-code array: the numeric part of each code (3A, 3B, 3C = group 3)."""
    return F.size(F.array_distinct(F.transform(F.col(codes), lambda c: F.regexp_extract(c, r"^(\d+)", 1))))


def complexity_trends(assessments: DataFrame, assessment_category: DataFrame | None,
                      complex_category_ids: Iterable[int], authorised_from: date) -> DataFrame:
    """gold.complexity_trends: per authorised year, LA and England, the complexity of authorised assessments with
    factors: factors per assessment (``n_factors``: distinct codes), shares with 2+ and 3+ factor groups, and the
    share in a complex category (``complex_category_ids``; null without categories).
    """
    rows = authorised_with_factors(assessments, authorised_from).withColumn("groups", factor_groups("factor_codes"))
    if assessment_category is None:
        in_complex = F.lit(None).cast("boolean")
    else:
        rows = rows.join(assessment_category.select("assessment_key", "category_id"), on="assessment_key",
                         how="left")
        in_complex = F.coalesce(F.col("category_id").isin(*complex_category_ids), F.lit(False))
    rows = rows.select("authorised_year", "la_code", "n_factors", "groups", in_complex.alias("complex"))
    counts = (with_england(rows).groupBy("authorised_year", "la_code")
              .agg(F.count(F.lit(1)).alias("assessments"),
                   F.sum(F.col("n_factors").cast("long")).alias("factors"),
                   F.count_if(F.col("groups") >= 2).alias("with_2plus_groups"),
                   F.count_if(F.col("groups") >= 3).alias("with_3plus_groups"),
                   F.sum(F.col("complex").cast("long")).alias("in_complex_categories")))
    share = {name: F.col(count) / F.col("assessments") for name, count in (
        ("mean_factors", "factors"), ("share_2plus_groups", "with_2plus_groups"),
        ("share_3plus_groups", "with_3plus_groups"), ("share_complex_categories", "in_complex_categories"))}
    return counts.withColumns(share).select(*COMPLEXITY_TREND_COLUMNS)
