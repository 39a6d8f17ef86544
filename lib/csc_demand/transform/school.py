"""NPD school extracts (KS4, exclusions, SEN) -> silver school tables keyed by pupil_key.

``school_exclusions`` and ``school_sen`` keep one row per pupil and academic year (for outcomes timed against
referrals); ``school_outcomes`` has one row per pupil at KS4: attainment, whether the pupil was ever suspended
or permanently excluded up to the KS4 year, and the SEN provision of the latest census up to the KS4 year.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.quality.checks import to_bool, value
from csc_demand.quality.quarantine import line_locator, line_order
from csc_demand.quality.record_sets import (
    apply_rules,
    duplicates_and_latest,
    flag_duplicates,
    latest_copy,
    latest_marked,
)
from csc_demand.quality.rules import Checks


def academic_year(acadyr: str = "ACADYR") -> Column:
    """'2014/15' -> 2015 (the year the academic year ends); the file's year when the field is unusable."""
    start = F.regexp_extract(value(acadyr), r"^(\d{4})/\d{2}$", 1).try_cast("int")
    return F.coalesce(start + 1, F.col("collection_year")).cast("int")


def _checked(keyed: DataFrame, checks: Checks) -> DataFrame:
    return apply_rules(keyed.withColumn("locator", line_locator(F.col("line_number"))), checks)


def validated_school(keyed: DataFrame, checks: Checks) -> DataFrame:
    """NPD school rows (transform.cin_npd_records.keyed_rows) -> rules, then CSC-DUP per pupil within a file."""
    return flag_duplicates(_checked(keyed, checks), ["pupil_key"], line_order())


def validated_ks4(keyed: DataFrame, checks: Checks) -> DataFrame:
    """NPD KS4 rows -> as validated_school, and each pupil's latest copy marked in the same sort (one row per
    pupil: silver_ks4)."""
    return duplicates_and_latest(_checked(keyed, checks), ["pupil_key"], line_order())


def _latest_by_pupil_year(validated: DataFrame) -> DataFrame:
    accepted = (validated.filter(F.col("rule_id").isNull())
                         .withColumn("academic_year", academic_year()))
    return latest_copy(accepted, ["pupil_key", "academic_year"])


def silver_ks4(validated: DataFrame) -> DataFrame:
    """``validated``: validated_ks4."""
    return latest_marked(validated).select("pupil_key", academic_year().alias("ks4_year"),
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
    """One row per KS4 pupil; pupils without an exclusion row were never excluded (the file lists all who were).

    The three tables are stacked and grouped by pupil once, each pupil's KS4 year coming from a window over the
    same grouping: one shuffle and one sort, where joining them took several of each."""
    fields = {"ks4_year": "int", "att8": "double", "p8": "double", "exclusion_year": "int", "suspensions": "int",
              "permanently_excluded": "boolean", "sen_year": "int", "sen_provision": "string"}

    def stackable(df: DataFrame, **renamed: str) -> DataFrame:
        return df.select("pupil_key", *[(F.col(renamed[name]) if name in renamed else F.lit(None)).cast(kind)
                                        .alias(name) for name, kind in fields.items()])
    stacked = (stackable(ks4, ks4_year="ks4_year", att8="att8", p8="p8")
               .unionByName(stackable(exclusions, exclusion_year="academic_year", suspensions="suspensions",
                                      permanently_excluded="permanently_excluded"))
               .unionByName(stackable(sen, sen_year="academic_year", sen_provision="sen_provision")))
    pupil_ks4_year = F.max("ks4_year").over(Window.partitionBy("pupil_key"))
    up_to_ks4 = (stacked.withColumn("_ks4_year", pupil_ks4_year)
                        .filter(F.col("ks4_year").isNotNull() | (F.col("exclusion_year") <= F.col("_ks4_year"))
                                | (F.col("sen_year") <= F.col("_ks4_year"))))
    n_suspensions = F.coalesce(F.sum("suspensions"), F.lit(0)).cast("int")
    return up_to_ks4.groupBy("pupil_key").agg(  # pupils without KS4 have no rows left: _ks4_year is null
        F.max("ks4_year").alias("ks4_year"), F.max("att8").alias("att8"), F.max("p8").alias("p8"),
        (n_suspensions > 0).alias("suspended"),
        F.coalesce(F.max("permanently_excluded"), F.lit(False)).alias("permanently_excluded"),
        n_suspensions.alias("n_suspensions"),
        F.max_by("sen_provision", "sen_year").alias("sen_provision"))  # the latest census up to KS4
