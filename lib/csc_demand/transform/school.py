"""NPD school extracts (KS4, exclusions, SEN) -> silver school tables keyed by pupil_key.

``school_exclusions`` and ``school_sen`` keep one row per pupil and academic year (for outcomes timed against
referrals); ``school_outcomes`` has one row per pupil at KS4: attainment, whether the pupil was ever suspended
or permanently excluded up to the KS4 year, and the SEN provision of the latest census up to the KS4 year.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.checks import to_bool, value
from csc_demand.quality.quarantine import line_locator, line_order
from csc_demand.quality.record_sets import apply_rules, flag_duplicates, latest_copy
from csc_demand.quality.rules import Checks


def academic_year(acadyr: str = "ACADYR") -> Column:
    """'2014/15' -> 2015 (the year the academic year ends); the file's year when the field is unusable."""
    start = F.regexp_extract(value(acadyr), r"^(\d{4})/\d{2}$", 1).try_cast("int")
    return F.coalesce(start + 1, F.col("collection_year")).cast("int")


def validated_school(keyed: DataFrame, checks: Checks) -> DataFrame:
    """NPD school rows (transform.cin_npd_records.keyed_rows) -> rules, then CSC-DUP per pupil within a file."""
    located = keyed.withColumn("locator", line_locator(F.col("line_number")))
    checked = apply_rules(located, checks)
    return flag_duplicates(checked, ["pupil_key"], line_order())


def _latest_by_pupil_year(validated: DataFrame) -> DataFrame:
    accepted = (validated.filter(F.col("rule_id").isNull())
                         .withColumn("academic_year", academic_year()))
    return latest_copy(accepted, ["pupil_key", "academic_year"])


def silver_ks4(validated: DataFrame) -> DataFrame:
    latest = latest_copy(validated.filter(F.col("rule_id").isNull()), ["pupil_key"])
    return latest.select("pupil_key", academic_year().alias("ks4_year"),
                         value("KS4_ATT8").try_cast("double").alias("att8"),
                         value("KS4_P8").try_cast("double").alias("p8"))


def silver_exclusions(validated: DataFrame) -> DataFrame:
    return _latest_by_pupil_year(validated).select(
        "pupil_key", "academic_year",
        F.coalesce(value("SUSPENSIONS").try_cast("int"), F.lit(0)).alias("suspensions"),
        F.coalesce(to_bool("PERMANENT_EXCLUSION"), F.lit(False)).alias("permanently_excluded"))


def silver_sen(validated: DataFrame) -> DataFrame:
    return _latest_by_pupil_year(validated).select(
        "pupil_key", "academic_year", F.upper(value("SENprovision")).alias("sen_provision"))


def school_outcomes(ks4: DataFrame, exclusions: DataFrame, sen: DataFrame) -> DataFrame:
    """One row per KS4 pupil; pupils without an exclusion row were never excluded (the file lists all who were)."""
    up_to_ks4 = F.col("academic_year") <= F.col("ks4_year")
    excluded = (ks4.select("pupil_key", "ks4_year").join(exclusions, on="pupil_key", how="inner").filter(up_to_ks4)
                .groupBy("pupil_key").agg(F.sum("suspensions").cast("int").alias("n_suspensions"),
                                          F.max(F.col("permanently_excluded").cast("int")).alias("_perm")))
    latest_sen = (ks4.select("pupil_key", "ks4_year").join(sen, on="pupil_key", how="inner").filter(up_to_ks4)
                  .groupBy("pupil_key").agg(F.max_by("sen_provision", "academic_year").alias("sen_provision")))
    joined = (ks4.join(excluded, on="pupil_key", how="left").join(latest_sen, on="pupil_key", how="left"))
    return joined.select(
        "pupil_key", F.col("ks4_year").cast("int").alias("ks4_year"), "att8", "p8",
        (F.coalesce("n_suspensions", F.lit(0)) > 0).alias("suspended"),
        (F.coalesce("_perm", F.lit(0)) == 1).alias("permanently_excluded"),
        F.coalesce("n_suspensions", F.lit(0)).alias("n_suspensions"),
        "sen_provision")
