"""Assessments -> demand category (gold.assessment_category), as one DataFrame transformation (no UDF)."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.model.labelling import NO_FACTORS_ID, NO_FACTORS_NAME
from csc_demand.model.lca import LatentClassModel

GOLD_COLUMNS = ("assessment_key", "child_key", "la_code", "collection_year", "category_id", "category_name",
                "posterior_probability", "model_name", "model_version")


def assign_categories(assessments: DataFrame, model: LatentClassModel, model_name: str,
                      model_version: str | None) -> DataFrame:
    """One row per assessment (all of them): the modal category and its posterior probability.

    Assessments without factors (``has_factors`` false) are not modelled: category 0 "No factors identified" with
    a null posterior probability.
    """
    k = len(model.classSizes)
    ids = F.array(*[F.lit(int(i)) for i in (model.classIds or range(1, k + 1))])
    names = F.array(*[F.lit(str(n)) for n in (model.classNames or [f"Class {c + 1}" for c in range(k)])])
    modelled = F.col("has_factors")
    return (model.withPosterior(assessments, "_post")
            .withColumn("_best", F.array_position(F.col("_post"), F.array_max(F.col("_post"))).cast("int"))
            .select(
                "assessment_key", "child_key", "la_code", "collection_year",
                F.when(modelled, F.element_at(ids, F.col("_best"))).otherwise(F.lit(NO_FACTORS_ID))
                 .cast("int").alias("category_id"),
                F.when(modelled, F.element_at(names, F.col("_best"))).otherwise(F.lit(NO_FACTORS_NAME))
                 .alias("category_name"),
                F.when(modelled, F.array_max(F.col("_post"))).cast("double").alias("posterior_probability"),
                F.lit(model_name).cast("string").alias("model_name"),
                F.lit(model_version).cast("string").alias("model_version")))
