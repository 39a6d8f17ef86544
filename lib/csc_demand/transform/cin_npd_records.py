"""NPD-style flat CIN extracts (bronze npd_cin, npd_cpp) -> the same staged records as the CIN XML path.

npd_cin has one row per (episode, assessment), an episode without assessment being one row with empty assessment
fields; a referral is the group of rows sharing its fields. Each row carries its referral's fields, so the
referral's rule is computed on the row and passed to the row's assessment as ``parent_rule`` without a join.

NPD records carry no ``raw_record`` through validation: building the text of every line cost more than the
line's checks, and only quarantined lines need it. ``with_raw_lines`` reads it back from bronze by line.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.io.bronze import LOAD_COLUMNS
from csc_demand.io.csv_source import CSV_COLUMNS
from csc_demand.quality.checks import ISO_DATE, first_failing_rule, parse_date, value, with_parsed_dates
from csc_demand.quality.quarantine import first_line, line_locator, unparsed_record
from csc_demand.quality.record_sets import referral_set_checks
from csc_demand.quality.rules import referral_checks
from csc_demand.transform.pseudonymise import pseudonymise, pupil_pseudonym

SOURCE_RANK = 1
FILE_COLUMNS = ["source_file", "la_code", "collection_year"]
PSEUDONYMS = {"PupilMatchingRefAnonymous": "pupil_key", "LAchildID_Anon": "child_key"}  # identifier -> its key


def keyed_rows(bronze: DataFrame, kind: str, key: str) -> DataFrame:
    """Rows with la_code from the LA column, child_key, pupil_key, and ``raw_record`` left empty (see above).

    A line that did not split into the header's fields gets no LA and no keys: its fields may be shifted (one
    extra field moves an LAchildID into LA). An LA that is not three digits counts as missing, so its child
    cannot be placed (rule 8500): la_code is a Delta statistics column, whatever it holds is also written in plain
    text to the table's log.

    The identifiers themselves and the load columns are dropped: nothing after bronze reads them, and every
    record set shuffles and caches what it is given."""
    columns = CSV_COLUMNS[kind]
    parsed = F.col("_corrupt_record").isNull()
    la_code = F.when(parsed & value("LA").rlike("^[0-9]{3}$"), value("LA")) if "LA" in columns else F.lit(None)
    child_key = (pseudonymise(la_code, F.col("LAchildID_Anon"), key) if "LAchildID_Anon" in columns
                 else F.lit(None))
    return (bronze.withColumn("la_code", la_code.cast("string"))
                  .withColumn("child_key", child_key.cast("string"))
                  .withColumn("pupil_key", F.when(parsed, pupil_pseudonym("PMR", F.col("PupilMatchingRefAnonymous"),
                                                                          key)))
                  .withColumn("corrupt", ~parsed)
                  .withColumn("raw_record", F.lit(None).cast("string"))
                  .drop(*PSEUDONYMS, *LOAD_COLUMNS))


def _raw_line(kind: str, key: str) -> Column:
    """A keyed row's line as JSON with identifiers replaced by their pseudonyms (a line that did not split into
    fields: quarantine.unparsed_record)."""
    masked = [F.col(PSEUDONYMS.get(name, name)).alias(name) for name in CSV_COLUMNS[kind]]
    return F.when(F.col("corrupt"), unparsed_record(F.col("_corrupt_record"), "CSV line", key)).otherwise(
        F.to_json(F.struct(*masked)))


def with_raw_lines(quarantined: DataFrame, bronze: DataFrame, kind: str, key: str) -> DataFrame:
    """Quarantine rows of one NPD kind -> with ``raw_record``: the record's (first) line read back from bronze.
    Only the quarantined lines are keyed and turned into text."""
    line = F.substring_index("locator", ":", -1).cast("long")
    located = quarantined.drop("raw_record").withColumn("line_number", line)
    lines = bronze.join(located.select("source_file", "line_number").distinct(), ["source_file", "line_number"],
                        "left_semi")
    raw = keyed_rows(lines, kind, key).select("source_file", "line_number", _raw_line(kind, key).alias("raw_record"))
    return located.join(raw, ["source_file", "line_number"], "left").drop("line_number")


def _has_assessment() -> Column:
    return (value("AssessmentActualStartDate").isNotNull() | value("AssessmentAuthorisationDate").isNotNull()
            | value("AssessmentFactors").isNotNull())


def _referral_columns(rows: DataFrame) -> DataFrame:
    """Rows (or referral groups) -> plus the staged referral columns, from the referral's own fields."""
    return rows.select(
        "*",
        F.col("CINreferralDate").alias("referral_date_raw"), F.col("CINclosureDate").alias("closure_date_raw"),
        value("ReasonForClosure").alias("closure_reason"), F.col("ReferralNFA").alias("referral_nfa_raw"),
        value("ReferralSource").alias("referral_source"), value("PrimaryNeedCode").alias("primary_need"),
        F.lit(None).cast("string").alias("initial_cpc_raw"),
        _birth_month_text().alias("birth_date_raw"),
        *[F.lit(0).alias(name) for name in ("n_cp_plans", "n_cin_plans", "n_section47")],  # not in npd_cin
    )


def with_referral_rules(rows: DataFrame) -> DataFrame:
    """Keyed npd_cin rows -> plus ``referral_rule``, the rule of the referral each row belongs to. A row carries
    all of its referral's fields and the rules read only those, so the rule is the same on every row of a
    referral: computed once here on the rows, it serves both the referrals (grouped) and their assessments."""
    checks = [("CSC-RECORD", F.col("corrupt"))] + referral_checks()
    checked = with_parsed_dates(_referral_columns(rows)).withColumn("referral_rule", first_failing_rule(checks))
    ruled = checked.withColumn("referral_rule", first_failing_rule(referral_set_checks("referral_rule"),
                                                                   already=F.col("referral_rule")))
    return ruled.select(*rows.columns, "referral_rule")


def _birth_month_text() -> Column:
    """The first day of the birth month as YYYY-MM-DD text (NPD gives month and year only)."""
    return F.concat_ws("-", value("YearOfBirth"), F.lpad(value("MonthOfBirth"), 2, "0"), F.lit("01"))


def staged_children(rows: DataFrame) -> DataFrame:
    """One record per distinct child record in a file (a child is repeated on every line of its referrals)."""
    birth_text = _birth_month_text()
    birth_date = parse_date(birth_text, ISO_DATE)
    birth_given = value("YearOfBirth").isNotNull() | value("MonthOfBirth").isNotNull()
    child_fields = ["LA", "MonthOfBirth", "YearOfBirth", "Gender", "Ethnicity", "Disability"]
    record = rows.filter(~F.col("corrupt")).groupBy("child_key", *FILE_COLUMNS, "pupil_key", *child_fields).agg(
        line_locator(first_line()).alias("locator"))
    return record.select(
        *FILE_COLUMNS, "child_key", "pupil_key", "locator", F.lit(None).cast("string").alias("raw_record"),
        F.lit(False).alias("corrupt"), F.lit(SOURCE_RANK).alias("source_rank"),
        birth_date.alias("birth_date"), F.lit(None).cast("date").alias("expected_birth_date"),
        F.lit(None).cast("date").alias("death_date"),
        (birth_given & birth_date.isNull()).alias("birth_date_bad"),
        value("Gender").alias("sex_raw"), value("Ethnicity").alias("ethnicity"),
        F.split(value("Disability"), ";").alias("disabilities"))


def staged_referrals(rows: DataFrame) -> DataFrame:
    """Rows with_referral_rules -> one row per referral group, ``rule_id`` set (CSC-RECORD or the referral
    rules)."""
    referral_fields = ["LA", "ACADYR", "CINreferralDate", "ReferralSource", "PrimaryNeedCode", "CINclosureDate",
                       "ReasonForClosure", "ReferralNFA", "YearOfBirth", "MonthOfBirth"]  # birth: for rule 8606
    own_line = F.when(F.col("corrupt"), F.col("line_number")).alias("_own_line")  # unsplit lines stay apart
    group: list[str | Column] = ["child_key", *FILE_COLUMNS, "corrupt", *referral_fields, own_line,  # person first
                                 "referral_rule"]  # the same on every row of a referral: with_referral_rules
    grouped = rows.groupBy(*group).agg(F.sum(_has_assessment().cast("int")).cast("int").alias("n_assessments"),
                                       line_locator(first_line()).alias("locator"))
    return _referral_columns(grouped).select(
        *FILE_COLUMNS, "child_key", "locator",
        F.lit(None).cast("string").alias("raw_record"), "corrupt", F.lit(SOURCE_RANK).alias("source_rank"),
        F.lit(1).alias("ordinal"), "referral_date_raw", "closure_date_raw", "closure_reason", "referral_nfa_raw",
        "referral_source", "primary_need", "initial_cpc_raw", "birth_date_raw", "n_assessments",
        "n_cp_plans", "n_cin_plans", "n_section47",
        F.lit(False).alias("with_parent"), F.col("referral_rule").alias("rule_id"))


def staged_assessments(rows: DataFrame) -> DataFrame:
    """Rows with_referral_rules -> the rows with an assessment, their referral's rule as ``parent_rule``."""
    return _referral_columns(rows.filter(_has_assessment())).select(
        *FILE_COLUMNS, "child_key",
        line_locator(F.col("line_number")).alias("locator"),
        "raw_record", "corrupt", F.lit(SOURCE_RANK).alias("source_rank"), F.lit(1).alias("ordinal"),
        "referral_date_raw", "referral_nfa_raw", "closure_date_raw", F.col("referral_rule").alias("parent_rule"),
        F.col("AssessmentActualStartDate").alias("start_raw"), F.lit(None).cast("string").alias("review_raw"),
        F.col("AssessmentAuthorisationDate").alias("authorised_raw"),
        F.split(value("AssessmentFactors"), ";").alias("factors"))


def staged_cp_plans(rows: DataFrame) -> DataFrame:
    """npd_cpp rows (keyed_rows of kind npd_cpp): each plan names its referral by date."""
    return rows.select(
        *FILE_COLUMNS, "child_key",
        line_locator(F.col("line_number")).alias("locator"),
        "raw_record", "corrupt", F.lit(SOURCE_RANK).alias("source_rank"), F.lit(1).alias("ordinal"),
        F.col("CINreferralDate").alias("referral_date_raw"), F.lit(None).cast("string").alias("referral_nfa_raw"),
        F.lit(None).cast("string").alias("closure_date_raw"), F.lit(None).cast("string").alias("parent_rule"),
        F.col("CPPstartDate").alias("start_raw"), F.col("CPPendDate").alias("end_raw"),
        value("InitialCategoryOfAbuse").alias("initial_category"),
        value("LatestCategoryOfAbuse").alias("latest_category"),
        F.col("NumberOfPreviousCPP").alias("previous_cpp_raw"),
        F.lit(None).cast("array<string>").alias("review_dates_raw"))
