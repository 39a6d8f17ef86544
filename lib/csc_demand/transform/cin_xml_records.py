"""CIN census XML bronze rows (one per Child, nested) -> staged records per silver table, strings as received.

Staged records share: source_file, la_code, collection_year, child_key, locator (element path from the Child:
quarantine.full_locator), raw_record (JSON, no identifiers), corrupt, source_rank (0: CIN XML wins over other
sources in the same year) and, for records inside a referral, referral_date_raw, referral_nfa_raw and parent_rule
(the referral's rule when it was rejected).
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.checks import ISO_DATE, bad_date, to_date, value
from csc_demand.quality.quarantine import XML_CHILD, unparsed_record
from csc_demand.transform.pseudonymise import pseudonymise, pupil_pseudonym

SOURCE_RANK = 0
FILE_COLUMNS = ["source_file", "la_code", "collection_year"]


def with_child_key(bronze: DataFrame, key: str) -> DataFrame:
    ids = F.col("ChildIdentifiers")
    child_key = pseudonymise(F.col("la_code"), ids["LAchildID"], key)
    return (bronze.withColumn("child_key", child_key)
                  .withColumn("corrupt", F.col("_corrupt_record").isNotNull()))


def staged_children(bronze: DataFrame, key: str) -> DataFrame:
    ids = F.col("ChildIdentifiers")
    chars = F.col("ChildCharacteristics")
    masked_ids = ids.withField("LAchildID", F.col("child_key")).withField("UPN", F.col("pupil_key")) \
                    .withField("FormerUPN", pupil_pseudonym("UPN", ids["FormerUPN"], key))
    raw = F.when(F.col("corrupt"), unparsed_record(F.col("_corrupt_record"), "Child", key)).otherwise(
        F.to_json(F.struct(masked_ids.alias("ChildIdentifiers"), chars.alias("ChildCharacteristics"))))
    birth_fields = [ids["PersonBirthDate"], ids["ExpectedPersonBirthDate"], ids["PersonDeathDate"]]
    birth_date_bad = F.lit(False)
    for field in birth_fields:
        birth_date_bad = birth_date_bad | bad_date(field, ISO_DATE)
    keyed = with_child_key(bronze, key).withColumn("pupil_key", pupil_pseudonym("UPN", ids["UPN"], key))
    return keyed.select(  # pupil_key once: Spark would hash the UPN again inside the raw record's branch
        *FILE_COLUMNS, "child_key", "pupil_key",
        F.lit(XML_CHILD).alias("locator"), raw.alias("raw_record"), "corrupt",
        F.lit(SOURCE_RANK).alias("source_rank"),
        to_date(ids["PersonBirthDate"], ISO_DATE).alias("birth_date"),
        to_date(ids["ExpectedPersonBirthDate"], ISO_DATE).alias("expected_birth_date"),
        to_date(ids["PersonDeathDate"], ISO_DATE).alias("death_date"),
        birth_date_bad.alias("birth_date_bad"),
        F.coalesce(value(ids["Sex"]), value(ids["GenderCurrent"])).alias("sex_raw"),
        value(chars["Ethnicity"]).alias("ethnicity"),
        chars["Disabilities"]["Disability"].alias("disabilities"),
    )


# the nested blocks of a referral (fields of CINdetails), by the name of their count on the staged referral (n_*)
BLOCK_COUNTS = {"assessments": "Assessments", "cp_plans": "ChildProtectionPlans", "cin_plans": "CINPlanDates",
                "section47": "Section47"}
NESTED_BLOCKS = tuple(BLOCK_COUNTS.values())


def nested_block(field: str) -> str:
    """The staged referrals' column holding one nested block (a field of CINdetails) of each referral."""
    return f"_{field}"


def staged_referrals(bronze: DataFrame, key: str) -> DataFrame:
    """One row per CINdetails, keeping each of its nested blocks as a column of its own (``nested_block``) for the
    staged_* functions below: cached as one struct, every nested table copied the whole referral out of the cache
    to read one block of it."""
    children = with_child_key(bronze, key).filter(~F.col("corrupt"))
    exploded = children.select(*FILE_COLUMNS, "child_key", F.col("ChildIdentifiers").alias("_ids"),
                               F.posexplode("CINdetails").alias("_pos", "_detail"))
    d = F.col("_detail")
    sizes = {f"n_{name}": F.size(F.coalesce(d[field], F.array())) for name, field in BLOCK_COUNTS.items()}
    return exploded.select(
        *FILE_COLUMNS, "child_key",
        F.concat(F.lit(f"{XML_CHILD}/CINdetails["), (F.col("_pos") + 1).cast("string"), F.lit("]"))
         .alias("locator"),
        F.to_json(d).alias("raw_record"), F.lit(False).alias("corrupt"), F.lit(SOURCE_RANK).alias("source_rank"),
        (F.col("_pos") + 1).alias("ordinal"),
        d["CINreferralDate"].alias("referral_date_raw"), d["CINclosureDate"].alias("closure_date_raw"),
        value(d["ReasonForClosure"]).alias("closure_reason"), d["ReferralNFA"].alias("referral_nfa_raw"),
        value(d["ReferralSource"]).alias("referral_source"), value(d["PrimaryNeedCode"]).alias("primary_need"),
        d["DateOfInitialCPC"].alias("initial_cpc_raw"),
        F.coalesce(value(F.col("_ids")["PersonBirthDate"]), value(F.col("_ids")["ExpectedPersonBirthDate"]))
         .alias("birth_date_raw"),
        *[size.alias(name) for name, size in sizes.items()],
        *[d[field].alias(nested_block(field)) for field in NESTED_BLOCKS],
    )


def _nested(referrals: DataFrame, field: str, element: str, columns: dict[str, Column]) -> DataFrame:
    """Explode one nested block of validated referrals; ``columns`` map staged names to fields of ``_item``."""
    exploded = referrals.select(*FILE_COLUMNS, "child_key", "locator", "referral_date_raw", "referral_nfa_raw",
                                "closure_date_raw", F.col("rule_id").alias("parent_rule"),
                                F.posexplode(nested_block(field)).alias("_pos", "_item"))
    return exploded.select(
        *FILE_COLUMNS, "child_key",
        F.concat("locator", F.lit(f"/{element}["), (F.col("_pos") + 1).cast("string"), F.lit("]")).alias("locator"),
        F.to_json("_item").alias("raw_record"), F.lit(False).alias("corrupt"),
        F.lit(SOURCE_RANK).alias("source_rank"), (F.col("_pos") + 1).alias("ordinal"),
        "referral_date_raw", "referral_nfa_raw", "closure_date_raw", "parent_rule",
        *[col.alias(name) for name, col in columns.items()],
    )


def staged_assessments(referrals: DataFrame) -> DataFrame:
    item = F.col("_item")
    return _nested(referrals, "Assessments", "Assessments", {
        "start_raw": item["AssessmentActualStartDate"], "review_raw": item["AssessmentInternalReviewDate"],
        "authorised_raw": item["AssessmentAuthorisationDate"],
        "factors": item["FactorsIdentifiedAtAssessment"]["AssessmentFactors"],
    })


def staged_cp_plans(referrals: DataFrame) -> DataFrame:
    item = F.col("_item")
    return _nested(referrals, "ChildProtectionPlans", "ChildProtectionPlans", {
        "start_raw": item["CPPstartDate"], "end_raw": item["CPPendDate"],
        "initial_category": value(item["InitialCategoryOfAbuse"]),
        "latest_category": value(item["LatestCategoryOfAbuse"]),
        "previous_cpp_raw": item["NumberOfPreviousCPP"], "review_dates_raw": item["Reviews"]["CPPreviewDate"],
    })


def staged_cin_plans(referrals: DataFrame) -> DataFrame:
    item = F.col("_item")
    return _nested(referrals, "CINPlanDates", "CINPlanDates", {
        "start_raw": item["CINPlanStartDate"], "end_raw": item["CINPlanEndDate"],
    })


def staged_section47(referrals: DataFrame) -> DataFrame:
    item = F.col("_item")
    return _nested(referrals, "Section47", "Section47", {
        "start_raw": item["S47ActualStartDate"], "icpc_target_raw": item["InitialCPCtarget"],
        "icpc_raw": item["DateOfInitialCPC"], "icpc_not_required_raw": item["ICPCnotRequired"],
    })
