"""Staged child records from every source (CIN XML, NPD, SSDA903 header) -> ``silver.children``, one row per
child_key: the latest collection year's record wins (CIN XML, then NPD, then 903 within a year); the pupil key is
the latest NPD one (from PupilMatchingRefAnonymous, the key school outcomes carry), else the latest one known."""
from __future__ import annotations

from itertools import chain

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand import codes
from csc_demand.quality.quarantine import full_locator
from csc_demand.quality.record_sets import apply_rules
from csc_demand.quality.rules import child_checks
from csc_demand.transform.cin_npd_records import SOURCE_RANK as NPD_SOURCE_RANK

STAGED_CHILD = ["source_file", "la_code", "collection_year", "child_key", "pupil_key", "locator", "raw_record",
                "corrupt", "source_rank", "birth_date", "expected_birth_date", "death_date", "birth_date_bad",
                "sex_raw", "ethnicity", "disabilities"]


def _lookup(mapping: dict[str, str]):
    return F.create_map(*[F.lit(x) for x in chain.from_iterable(mapping.items())])


def validated_children(staged: DataFrame, source: str) -> DataFrame:
    return apply_rules(staged.select(*STAGED_CHILD), child_checks(source))


def silver_children(validated: DataFrame) -> DataFrame:
    accepted = validated.filter(F.col("rule_id").isNull())
    rank = F.struct(F.col("collection_year"), (-F.col("source_rank")).alias("r"), full_locator().alias("locator"),
                    F.col("raw_record"))
    record = F.struct("la_code", "birth_date", "expected_birth_date", "death_date", "sex_raw", "ethnicity",
                      "disabilities", "collection_year", "source_file")
    chosen = accepted.groupBy("child_key").agg(
        F.max_by(record, rank).alias("r"),
        F.max_by("pupil_key", F.when(F.col("pupil_key").isNotNull(), F.struct(
            (F.col("source_rank") == NPD_SOURCE_RANK).alias("npd"), rank))).alias("pupil_key"),
        F.min("collection_year").alias("first_collection_year"))
    disabilities = F.transform(F.coalesce("r.disabilities", F.array().cast("array<string>")),
                               lambda d: F.upper(F.trim(d)))
    ethnicity = F.upper("r.ethnicity")
    return chosen.select(
        "child_key", F.col("r.la_code").alias("la_code"), "pupil_key",
        F.col("r.birth_date").alias("birth_date"), F.col("r.expected_birth_date").alias("expected_birth_date"),
        F.col("r.death_date").alias("death_date"),
        F.coalesce(F.try_element_at(_lookup(codes.GENDER_TO_SEX), F.upper("r.sex_raw")), F.lit("U")).alias("sex"),
        ethnicity.alias("ethnicity"),
        F.coalesce(F.try_element_at(_lookup(codes.ETHNICITY_GROUP), ethnicity), F.lit("Unknown")).alias("ethnic_group"),
        F.when(F.size(disabilities) > 0, F.exists(disabilities, lambda d: d != F.lit("NONE"))).alias("disabled"),
        F.col("r.collection_year").cast("int").alias("collection_year"),
        F.col("first_collection_year").cast("int").alias("first_collection_year"),
        F.col("r.source_file").alias("source_file"))
