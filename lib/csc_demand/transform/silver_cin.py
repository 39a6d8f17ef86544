"""Validated staged CIN records -> silver referrals, assessments, assessment_factors, cp_plans, cin_plans, section47.

Both sources (CIN XML, NPD flat) arrive here as the same staged records, so both give the same silver tables.
Each function takes the validated records of all files and returns one row per natural key: accepted copies
only, the latest collection year winning across annual files (CIN XML before NPD within a year).
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand import codes
from csc_demand.quality.checks import ISO_DATE, parsed, to_bool, to_date, value, without_parsed_dates
from csc_demand.quality.quarantine import line_order
from csc_demand.quality.record_sets import (
    CP_PLAN_FLAGS,
    apply_rules,
    apply_set_rules,
    assessment_set_checks,
    cin_plan_cp_checks,
    cin_plan_set_checks,
    cp_plan_set_checks,
    duplicates_and_latest,
    flag_duplicates,
    latest_copy,
    latest_marked,
    section47_set_checks,
    with_cp_plans_beside,
)
from csc_demand.quality.rules import (
    assessment_checks,
    cin_plan_checks,
    cp_plan_checks,
    normalised_factors,
    section47_checks,
)

STAGED_COMMON = ["source_file", "la_code", "collection_year", "child_key", "locator", "raw_record", "corrupt",
                 "source_rank", "ordinal"]
STAGED_REFERRAL = STAGED_COMMON + [
    "referral_date_raw", "closure_date_raw", "closure_reason", "referral_nfa_raw", "referral_source",
    "primary_need", "initial_cpc_raw", "birth_date_raw", "n_assessments", "n_cp_plans", "n_cin_plans", "n_section47",
    "with_parent", "rule_id"]
STAGED_NESTED = STAGED_COMMON + ["referral_date_raw", "referral_nfa_raw", "closure_date_raw", "parent_rule"]
STAGED_ASSESSMENT = STAGED_NESTED + ["start_raw", "review_raw", "authorised_raw", "factors"]
STAGED_CP_PLAN = STAGED_NESTED + ["start_raw", "end_raw", "initial_category", "latest_category",
                                  "previous_cpp_raw", "review_dates_raw"]
STAGED_CIN_PLAN = STAGED_NESTED + ["start_raw", "end_raw"]
STAGED_SECTION47 = STAGED_NESTED + ["start_raw", "icpc_target_raw", "icpc_raw", "icpc_not_required_raw"]

# Natural keys as columns (the silver *_key columns are hashes of them). child_key fixes the LA, whose code is part
# of its hash, so (child_key, referral_date) names a referral as (la_code, child_key, referral_date) does; every key
# starts with the child, so all windows run inside the partitioning by child (record_sets.by_person).
REFERRAL = ["child_key", "referral_date"]
REFERRAL_ACTIVITY = [*REFERRAL, "start_date"]  # an assessment, CIN plan or section 47 enquiry of a referral
CP_PLAN = ["child_key", "start_date"]


def tie_break() -> list[Column | str]:
    """Which copy of a record comes first: position in the child (XML), then the locator (CSV: the line; shorter
    first so that line 9 comes before line 10), then the text (NPD records have none until quarantined)."""
    return ["ordinal", *line_order(), "raw_record"]


def hashed(*parts: Column | str) -> Column:
    return F.sha2(F.concat_ws("|", *[F.col(p) if isinstance(p, str) else p for p in parts]), 256)


def referral_key() -> Column:
    return hashed("la_code", "child_key", F.col("referral_date").cast("string"))


def stack(frames: list[DataFrame], columns: list[str]) -> DataFrame:
    """Union the staged records of the sources present (each selected to the same columns)."""
    stacked = frames[0].select(*columns)
    for frame in frames[1:]:
        stacked = stacked.unionByName(frame.select(*columns))
    return stacked


# ---- records of a referral's activity: assessments, CIN plans, section 47 enquiries ---------------------
def checked_referral_activity(staged: DataFrame, checks) -> DataFrame:
    """Rules, typed dates, CSC-DUP: ready for the rules that compare a child's records."""
    checked = apply_rules(staged, checks)
    typed = (checked.withColumn("referral_date", parsed("referral_date_raw"))
                    .withColumn("start_date", parsed("start_raw")))
    return flag_duplicates(typed, REFERRAL_ACTIVITY, tie_break())


def _validated_referral_activity(checked: DataFrame, set_checks, consumed: tuple[str, ...] = ()) -> DataFrame:
    """Checked records -> the rules comparing a child's records; then without the staged columns only the rules
    read (``consumed`` names more), so the window sorts and the cache holds narrower rows."""
    return without_parsed_dates(apply_set_rules(checked, set_checks)).drop(
        "referral_date_raw", "referral_nfa_raw", "closure_date_raw", "start_raw", "parent_rule", "corrupt", "ordinal",
        *consumed)


def _latest_activity(validated: DataFrame, key_name: str) -> DataFrame:
    """The latest accepted copy of each assessment, CIN plan or section 47 enquiry, with its keys (hashed for the
    latest copies only)."""
    latest = latest_copy(validated.filter(F.col("rule_id").isNull()), REFERRAL_ACTIVITY, [F.col("source_rank")])
    return (latest.withColumn("referral_key", referral_key())
                  .withColumn(key_name, hashed("referral_key", F.col("start_date").cast("string"))))


# ---- referrals -------------------------------------------------------------------------------------------
def validated_referrals(staged: DataFrame) -> DataFrame:
    """Staged referrals with rule_id already set by their source -> plus CSC-DUP within a file, and the latest copy
    marked (no rule after CSC-DUP rejects a referral, so one sort serves both)."""
    typed = staged.withColumn("referral_date", to_date("referral_date_raw", ISO_DATE))
    return duplicates_and_latest(typed, REFERRAL, tie_break(), [F.col("source_rank")])


def silver_referrals(validated: DataFrame) -> DataFrame:
    latest = latest_marked(validated)
    return latest.select(
        referral_key().alias("referral_key"), "child_key", "la_code", "referral_date",
        to_date("closure_date_raw", ISO_DATE).alias("closure_date"),
        F.upper("closure_reason").alias("closure_reason"),
        to_bool("referral_nfa_raw").alias("referral_nfa"),
        F.upper("referral_source").alias("referral_source"), F.upper("primary_need").alias("primary_need"),
        to_date("initial_cpc_raw", ISO_DATE).alias("initial_cpc_date"),
        F.col("collection_year").cast("int").alias("collection_year"),
        F.col("first_collection_year").cast("int").alias("first_collection_year"),
        "source_file")


# ---- assessments -------------------------------------------------------------------------------------------
def validated_assessments(staged: DataFrame) -> DataFrame:
    checked = checked_referral_activity(staged.withColumn("factor_codes", normalised_factors()), assessment_checks())
    return _validated_referral_activity(checked, assessment_set_checks(tie_break()), consumed=("factors",))


def factor_indicators(factor_codes: Column) -> Column:
    """0/1 per harmonised indicator, in the order of csc_demand.codes.INDICATOR_NAMES (a public contract).
    array_contains per raw code scans the few codes in place; arrays_overlap built a hash set per row and
    indicator."""
    def present(raw_codes: tuple[str, ...]) -> Column:
        found = F.array_contains(factor_codes, raw_codes[0])
        for code in raw_codes[1:]:
            found = found | F.array_contains(factor_codes, code)
        return found.cast("int")
    return F.array(*[present(raw_codes) for raw_codes in codes.INDICATORS.values()])


def silver_assessments(validated: DataFrame) -> DataFrame:
    latest = _latest_activity(validated, "assessment_key")
    with_codes = latest.withColumn("indicators", factor_indicators(F.col("factor_codes")))
    return with_codes.select(
        "assessment_key", "referral_key", "child_key", "la_code", "referral_date", "start_date",
        to_date("review_raw", ISO_DATE).alias("review_date"),
        to_date("authorised_raw", ISO_DATE).alias("authorised_date"),
        "factor_codes", "indicators",
        F.size(F.array_remove(F.array_distinct("factor_codes"), codes.NO_FACTOR_CODE)).alias("n_factors"),
        F.array_contains("indicators", 1).alias("has_factors"),
        F.col("collection_year").cast("int").alias("collection_year"),
        F.col("first_collection_year").cast("int").alias("first_collection_year"),
        "source_file")


def silver_assessment_factors(assessments: DataFrame) -> DataFrame:
    lookup = F.create_map(*[F.lit(x) for code, name in codes.CODE_TO_INDICATOR.items() for x in (code, name)])
    return assessments.select("assessment_key", "child_key", "la_code", "collection_year",
                              F.explode("factor_codes").alias("factor_code")).select(
        "assessment_key", "child_key", "la_code", "factor_code",
        F.try_element_at(lookup, F.col("factor_code")).alias("indicator"), "collection_year")


# ---- child protection plans, CIN plans, section 47 enquiries ---------------------------------------------------
def checked_cp_plans(staged: DataFrame) -> DataFrame:
    checked = apply_rules(staged, cp_plan_checks())
    typed = (checked.withColumn("referral_date", parsed("referral_date_raw"))
                    .withColumn("start_date", parsed("start_raw"))
                    .withColumn("end_date", parsed("end_raw")))
    return flag_duplicates(typed, CP_PLAN, tie_break())


def validated_cp_plans(staged: DataFrame) -> DataFrame:
    return without_parsed_dates(apply_set_rules(checked_cp_plans(staged), cp_plan_set_checks(tie_break())))


def silver_cp_plans(validated: DataFrame) -> DataFrame:
    latest = (latest_copy(validated.filter(F.col("rule_id").isNull()), CP_PLAN, [F.col("source_rank")])
              .withColumn("referral_key", referral_key())
              .withColumn("cp_plan_key", hashed("child_key", F.col("start_date").cast("string"))))
    reviews = F.transform(F.coalesce("review_dates_raw", F.array().cast("array<string>")),
                          lambda r: to_date(r, ISO_DATE))
    return latest.select(
        "cp_plan_key", "referral_key", "child_key", "la_code", "referral_date", "start_date", "end_date",
        F.upper("initial_category").alias("initial_category"), F.upper("latest_category").alias("latest_category"),
        value("previous_cpp_raw").try_cast("int").alias("number_of_previous_cpp"),
        F.filter(reviews, lambda r: r.isNotNull()).alias("review_dates"),
        F.col("collection_year").cast("int").alias("collection_year"),
        F.col("first_collection_year").cast("int").alias("first_collection_year"), "source_file")


def validated_cin_plans(staged: DataFrame, cp_plans: DataFrame) -> DataFrame:
    """``cp_plans``: checked_cp_plans of the same files, for the rules on a CIN plan and a CP plan at once."""
    beside = with_cp_plans_beside(checked_referral_activity(staged, cin_plan_checks()), cp_plans)
    return _validated_referral_activity(beside, cin_plan_set_checks(tie_break()) + cin_plan_cp_checks(),
                                        consumed=CP_PLAN_FLAGS)


def validated_section47(staged: DataFrame) -> DataFrame:
    return _validated_referral_activity(checked_referral_activity(staged, section47_checks()),
                                        section47_set_checks(tie_break()))


def silver_cin_plans(validated: DataFrame) -> DataFrame:
    return _latest_activity(validated, "cin_plan_key").select(
        "cin_plan_key", "referral_key", "child_key", "la_code", "start_date",
        to_date("end_raw", ISO_DATE).alias("end_date"),
        F.col("collection_year").cast("int").alias("collection_year"), "source_file")


def silver_section47(validated: DataFrame) -> DataFrame:
    return _latest_activity(validated, "section47_key").select(
        "section47_key", "referral_key", "child_key", "la_code", "start_date",
        to_date("icpc_target_raw", ISO_DATE).alias("icpc_target_date"),
        to_date("icpc_raw", ISO_DATE).alias("icpc_date"),
        to_bool("icpc_not_required_raw").alias("icpc_not_required"),
        F.col("collection_year").cast("int").alias("collection_year"), "source_file")
