"""CIN census XML: one file per LA per collection year (DOMAIN.md section 4, docs/formats.md).

Each Child element is built as one line of text with SQL string functions (values are codes and dates only, so
nothing needs escaping), children sorted by LAchildID, episodes by referral date.
"""
from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.synth import defects as D
from csc_demand.synth.snapshot import iso
from csc_demand.synth.textfiles import BODY, FOOTER, HEADER, lines, write_files

SEX_FROM_YEAR = 2025  # GenderCurrent 1/2 up to 2023-24 returns, Sex M/F/U from 2024-25
UPN_FROM_AGE = 4


def cin_path(la_code, year) -> str:
    return f"cin_census/{year}/cin_{la_code}_{year}.xml"


def _file_key() -> Column:
    return F.concat_ws("_", F.col("file_year").cast("string"), F.col("la_code"))


def source_file() -> Column:
    return F.concat(F.lit("cin_census/"), F.col("file_year").cast("string"), F.lit("/cin_"), F.col("la_code"),
                    F.lit("_"), F.col("file_year").cast("string"), F.lit(".xml"))


def el(tag: str, value: Column) -> Column:
    """<tag>value</tag>, or null (dropped by concat_ws) when value is null."""
    return F.concat(F.lit(f"<{tag}>"), value, F.lit(f"</{tag}>"))


def group(tag: str, *parts: Column) -> Column:
    return F.concat(F.lit(f"<{tag}>"), F.concat_ws("", *parts), F.lit(f"</{tag}>"))


def repeated(tag: str, values: Column) -> Column:
    return F.array_join(F.transform(values, lambda v: F.concat(F.lit(f"<{tag}>"), v, F.lit(f"</{tag}>"))), "")


def _bool(c: Column) -> Column:
    return F.when(c, F.lit("true")).otherwise(F.lit("false"))


def _assessment(n: int, start_written: Column, codes: Column) -> Column:
    factors = F.when(codes.isNotNull(), group("FactorsIdentifiedAtAssessment", repeated("AssessmentFactors", codes)))
    return F.when(F.col(f"a{n}_in"), group(
        "Assessments", el("AssessmentActualStartDate", start_written),
        el("AssessmentAuthorisationDate", iso(F.col(f"a{n}_auth_shown"))), factors))


def _cp_plan(start_written: Column, start: Column, previous: Column) -> Column:
    return group(
        "ChildProtectionPlans", el("CPPstartDate", start_written), el("CPPendDate", iso(F.col("cp_end_shown"))),
        el("InitialCategoryOfAbuse", F.col("cp_initial_category")),
        el("LatestCategoryOfAbuse", F.col("cp_latest_category")),
        el("NumberOfPreviousCPP", previous.cast("string")),
        F.when(F.size(F.filter(F.col("cp_reviews_shown"), lambda d: d >= start)) > 0,
               group("Reviews", repeated("CPPreviewDate", F.transform(
                   F.filter(F.col("cp_reviews_shown"), lambda d: d >= start), iso)))))


def episode_fragments(snap: DataFrame, seed: int, rate: float, first_year: int) -> DataFrame:
    """Snapshot rows with the CINdetails XML fragment and the defects injected into it."""
    df = snap.withColumn("overlap_start", D.overlap_start(seed))
    df = (df.withColumn("a_defect", D.assessment_defect(seed, rate, "cin_xml", first_year))
          .withColumn("cp_defect", D.cp_defect(seed, rate, first_year)))
    a1_start = D.assessment_start_written(seed, F.col("a_defect"))
    a1_codes = D.factor_codes_written(F.col("a_defect"), F.col("a1_codes_shown"))
    cp_start = F.when(F.col("cp_defect") == "malformed_date", D.malformed_iso(F.col("cp_start")))\
        .otherwise(iso(F.col("cp_start")))
    cp_plans = F.when(F.col("cp_in"), F.concat_ws(
        "", _cp_plan(cp_start, F.col("cp_start"), F.col("cp_previous")),
        F.when(F.col("cp_defect") == "overlapping_cp_plan",
               _cp_plan(iso(F.col("overlap_start")), F.col("overlap_start"), F.col("cp_previous") + 1))))
    s47 = F.when(F.col("s47_in"), group(
        "Section47", el("S47ActualStartDate", iso(F.col("s47_start"))),
        el("InitialCPCtarget", iso(F.date_add(F.col("s47_start"), 21))),
        el("DateOfInitialCPC", iso(F.col("icpc_shown"))),
        el("ICPCnotRequired", _bool(~F.col("cp")))))
    cin_plan = F.when(F.col("cin_plan_in"), group(
        "CINPlanDates", el("CINPlanStartDate", iso(F.col("cin_plan_start"))),
        el("CINPlanEndDate", iso(F.col("cin_plan_end_shown")))))
    fragment = group(
        "CINdetails", el("CINreferralDate", iso(F.col("referral_date"))),
        el("ReferralSource", F.col("referral_source")), el("PrimaryNeedCode", F.col("primary_need")),
        el("CINclosureDate", iso(F.col("closure_shown"))), el("ReasonForClosure", F.col("closure_reason_shown")),
        el("ReferralNFA", _bool(F.col("referral_nfa"))),
        _assessment(1, a1_start, a1_codes), _assessment(2, iso(F.col("a2_start")), F.col("a2_codes_shown")),
        cin_plan, s47, cp_plans)
    return df.withColumn("fragment", fragment)


def xml_defects(frags: DataFrame, seed: int) -> DataFrame:
    a = D.defect_rows(frags, F.col("a_defect"), "cin_xml", source_file(), "assessments",
                      D.assessment_start_written(seed, F.col("a_defect")),
                      F.concat(F.lit("first assessment; factor codes as written: "),
                               F.array_join(D.factor_codes_written(F.col("a_defect"), F.col("a1_codes_shown")),
                                            ";")))
    cp_written = F.when(F.col("cp_defect") == "malformed_date", D.malformed_iso(F.col("cp_start")))\
        .otherwise(iso(F.col("overlap_start")))
    c = D.defect_rows(frags, F.col("cp_defect"), "cin_xml", source_file(), "cp_plans", cp_written,
                      F.when(F.col("cp_defect") == "overlapping_cp_plan",
                             F.concat(F.lit("injected plan overlaps the plan starting "), iso(F.col("cp_start"))))
                      .otherwise(F.lit("CPPstartDate malformed")))
    return a.unionByName(c)


def child_lines(frags: DataFrame) -> DataFrame:
    """One Child element per (LA, year, child), as a line in the text-file schema."""
    per_child = frags.groupBy("file_year", "la_code", "la_child_id").agg(
        F.first("upn").alias("upn"), F.first("birth_date").alias("birth_date"), F.first("sex").alias("sex"),
        F.first("ethnicity").alias("ethnicity"), F.first("disabilities").alias("disabilities"),
        F.first("ref_date").alias("ref_date"),
        F.array_join(F.transform(F.array_sort(F.collect_list(F.struct("referral_date", "fragment"))),
                                 lambda x: x["fragment"]), "").alias("episodes"))
    age = F.datediff(F.col("ref_date"), F.col("birth_date")) / 365.25
    gender = F.when(F.col("file_year") >= SEX_FROM_YEAR, el("Sex", F.col("sex")))\
        .otherwise(el("GenderCurrent", F.when(F.col("sex") == "M", "1").otherwise("2")))
    child = F.concat(
        F.lit("<Child>"),
        group("ChildIdentifiers", el("LAchildID", F.col("la_child_id")),
              F.when(age >= UPN_FROM_AGE, el("UPN", F.col("upn"))),
              el("PersonBirthDate", iso(F.col("birth_date"))), gender),
        group("ChildCharacteristics", el("Ethnicity", F.col("ethnicity")),
              group("Disabilities", repeated("Disability", F.col("disabilities")))),
        F.col("episodes"), F.lit("</Child>"))
    return lines(per_child, _file_key(), BODY, F.col("la_child_id"), child)


def header_lines(spark: SparkSession, la_codes: list[str], first_year: int, last_year: int) -> DataFrame:
    keys = spark.createDataFrame([(y, la) for y in range(first_year, last_year + 1) for la in la_codes],
                                 "file_year int, la_code string")
    header = F.concat(
        F.lit('<?xml version="1.0" encoding="UTF-8"?>\n<Message><Header><CollectionDetails><Collection>CIN'
              '</Collection><Year>'), F.col("file_year").cast("string"),
        F.lit("</Year><ReferenceDate>"), F.col("file_year").cast("string"), F.lit("-03-31</ReferenceDate>"),
        F.lit("</CollectionDetails><Source><SourceLevel>L</SourceLevel><LEA>"), F.col("la_code"),
        F.lit("</LEA><SoftwareCode>csc-demand-synth</SoftwareCode><Release>1</Release><SerialNo>1</SerialNo>"
              "<DateTime>"), F.col("file_year").cast("string"),
        F.lit("-05-01T00:00:00</DateTime></Source></Header>\n<Children>"))
    return lines(keys, _file_key(), HEADER, F.lit(""), header).unionByName(
        lines(keys, _file_key(), FOOTER, F.lit(""), F.lit("</Children>\n</Message>")))


def write_cin_xml(spark: SparkSession, frags: DataFrame, la_codes: list[str], first_year: int, last_year: int,
                  out_dir: Path, work_dir: Path) -> list[str]:
    rows = child_lines(frags).unionByName(header_lines(spark, la_codes, first_year, last_year))

    def path(key: str) -> str:
        year, la = key.split("_")
        return cin_path(la, year)
    return write_files(rows, out_dir, work_dir, "cin_xml", path)
