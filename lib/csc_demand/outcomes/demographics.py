"""Who is in each demand category, by age band, sex and ethnic group, with pathway rates within each group.

Counts come from gold.assessment_pathways (complete windows only): the same assessments as gold.pathway_rates.
The assessments are first counted per cell (LA, category, age band, sex, ethnic group), and the cells, not the
assessments, are then stacked into every LA/England x category/all x dimension combination.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import CATEGORY_COLUMNS
from csc_demand.outcomes.pathways import (
    PATHWAY_RATE_COLUMNS,
    pathway_counts,
    with_pathway_rates,
)
from csc_demand.outcomes.rates import group_memberships, with_england, with_every_category

DEMOGRAPHIC_DIMENSIONS = ("age_band", "sex", "ethnic_group")
CATEGORY_DEMOGRAPHIC_COLUMNS = ("la_code", "dimension", "value", *CATEGORY_COLUMNS, *PATHWAY_RATE_COLUMNS)
COUNTS = ("assessments", "cp_plans", "care_entries")


def category_demographics(pathways: DataFrame) -> DataFrame:
    """gold.category_demographics: per LA and England, dimension (``all`` = every assessment, and each of
    DEMOGRAPHIC_DIMENSIONS) and value, and category (``all`` = every category, id null; ``unknown`` = none, id
    null): complete-window assessments, CP plans and care entries within the window, and the two rates."""
    complete = (pathways.where(F.col("complete_window"))
                .withColumn("category_name", F.coalesce("category_name", F.lit("unknown"))))
    cells = pathway_counts(complete, ["la_code", *CATEGORY_COLUMNS, *DEMOGRAPHIC_DIMENSIONS]).select(
        "la_code", *CATEGORY_COLUMNS, *DEMOGRAPHIC_DIMENSIONS, *COUNTS)
    stacked = with_england(with_every_category(cells))
    counts = (stacked.select("la_code", *CATEGORY_COLUMNS, group_memberships(DEMOGRAPHIC_DIMENSIONS), *COUNTS)
              .groupBy("la_code", F.col("g.group_by").alias("dimension"), F.col("g.group_value").alias("value"),
                       *CATEGORY_COLUMNS)
              .agg(*[F.sum(c).alias(c) for c in COUNTS]))
    return with_pathway_rates(counts).select(*CATEGORY_DEMOGRAPHIC_COLUMNS)
