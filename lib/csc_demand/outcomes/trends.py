"""Trends: demand category prevalence by collection year and LA (``la_code`` "ALL" = England)."""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

CATEGORY_TREND_COLUMNS = ("collection_year", "la_code", "category_id", "category_name", "assessments", "share")
ENGLAND = "ALL"


def category_trends(assessment_category: DataFrame | None, assessments: DataFrame) -> DataFrame:
    """gold.category_trends: categorised assessments per year, LA and category, and their share in the year-LA.

    Without categories every assessment with factors counts under category "all" (share 1).
    """
    if assessment_category is None:
        rows = (assessments.where(F.col("has_factors"))
                .select("collection_year", "la_code", F.lit(None).cast("int").alias("category_id"),
                        F.lit("all").alias("category_name")))
    else:
        rows = assessment_category.select("collection_year", "la_code", "category_id", "category_name")
    both_levels = rows.unionByName(rows.withColumn("la_code", F.lit(ENGLAND)))
    year_la = Window.partitionBy("collection_year", "la_code")
    return (both_levels.groupBy("collection_year", "la_code", "category_id", "category_name")
            .agg(F.count(F.lit(1)).alias("assessments"))
            .withColumn("share", F.col("assessments") / F.sum("assessments").over(year_la))
            .select(*CATEGORY_TREND_COLUMNS))
