"""NPD-style national flat extracts (docs/formats.md): CIN episodes with assessments, CP plans, and the
school files (KS4, exclusions, SEN) for every pupil of each KS4 cohort.

The CIN and CP extracts start in 2008-09 (``HISTORY_FROM_YEAR``), as the real NPD CIN census does, whatever the
first collection year of the LA returns: the years before it are history (episodes and plans, no assessments),
so education involvement and look-backs see a child's earlier involvement."""
from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.synth import defects as D
from csc_demand.synth.cin_xml import SEX_FROM_YEAR
from csc_demand.synth.snapshot import iso
from csc_demand.synth.textfiles import BODY, HEADER, csv_line, lines, write_files

CIN_COLUMNS = ("PupilMatchingRefAnonymous", "LAchildID_Anon", "LA", "ACADYR", "MonthOfBirth", "YearOfBirth",
               "Gender", "Ethnicity", "Disability", "CINreferralDate", "ReferralSource", "PrimaryNeedCode",
               "CINclosureDate", "ReasonForClosure", "ReferralNFA", "AssessmentActualStartDate",
               "AssessmentAuthorisationDate", "AssessmentFactors")
CPP_COLUMNS = ("PupilMatchingRefAnonymous", "LAchildID_Anon", "LA", "ACADYR", "CINreferralDate", "CPPstartDate",
               "CPPendDate", "InitialCategoryOfAbuse", "LatestCategoryOfAbuse", "NumberOfPreviousCPP")
KS4_COLUMNS = ("PupilMatchingRefAnonymous", "ACADYR", "KS4_ATT8", "KS4_P8")
EXCLUSION_COLUMNS = ("PupilMatchingRefAnonymous", "ACADYR", "SUSPENSIONS", "PERMANENT_EXCLUSION")
SEN_COLUMNS = ("PupilMatchingRefAnonymous", "ACADYR", "SENprovision")
HISTORY_FROM_YEAR = 2009  # collection year 2008-09: the first NPD CIN census


def acadyr(year: Column) -> Column:
    """2015 -> '2014/15'."""
    return F.concat((year - 1).cast("string"), F.lit("/"), F.substring(year.cast("string"), 3, 2))


def npd_source(kind: str) -> Column:
    return F.concat(F.lit(f"npd/{kind}_"), F.col("file_year").cast("string"), F.lit(".csv"))


def _header(spark: SparkSession, years: list[int], columns: tuple) -> DataFrame:
    keys = spark.createDataFrame([(y,) for y in years], "file_year int")
    return lines(keys, F.col("file_year"), HEADER, F.lit(""), F.lit(",".join(columns)))


def write_table(spark: SparkSession, body: DataFrame, years: list[int], columns: tuple, kind: str,
                out_dir: Path, work_dir: Path) -> list[str]:
    """body: rows with file_year, sort_key and a 'line'; one csv per year with a header row."""
    rows = lines(body, F.col("file_year"), BODY, F.col("sort_key"), F.col("line")).unionByName(
        _header(spark, years, columns))
    return write_files(rows, out_dir, work_dir, f"npd_{kind}", lambda y: f"npd/{kind}_{y}.csv")


def without_assessments(snap: DataFrame) -> DataFrame:
    """History years' snapshot rows: episodes and CP plans only. Assessments (and their factors) stay in the
    collection years, so the model and the trends see the same assessments whatever the history."""
    return snap.withColumn("a1_in", F.lit(False)).withColumn("a2_in", F.lit(False))


def cin_rows(snap: DataFrame, seed: int, rate: float, first_year: int) -> DataFrame:
    """One row per (episode, assessment) of each year's return, with NPD defects injected; keeps n_defect."""
    df = snap.withColumn("n_defect", D.assessment_defect(seed, rate, "npd", first_year))
    a1 = F.struct(F.lit(1).alias("n"), F.col("a1_in").alias("present"),
                  D.assessment_start_written(seed, F.col("n_defect")).alias("start"),
                  iso(F.col("a1_auth_shown")).alias("auth"),
                  D.factor_codes_written(F.col("n_defect"), F.col("a1_codes_shown")).alias("codes"))
    a2 = F.struct(F.lit(2).alias("n"), F.col("a2_in").alias("present"), iso(F.col("a2_start")).alias("start"),
                  iso(F.col("a2_auth_shown")).alias("auth"), F.col("a2_codes_shown").alias("codes"))
    df = df.withColumn("assessment", F.explode_outer(F.filter(F.array(a1, a2), lambda a: a["present"])))
    gender = F.when(F.col("file_year") >= SEX_FROM_YEAR, F.col("sex"))\
        .otherwise(F.when(F.col("sex") == "M", "1").otherwise("2"))
    line = csv_line([
        F.col("pmr"), F.col("la_child_id"), F.col("la_code"), acadyr(F.col("file_year")),
        F.month("birth_date"), F.year("birth_date"), gender, F.col("ethnicity"),
        F.array_join(F.col("disabilities"), ";"), iso(F.col("referral_date")), F.col("referral_source"),
        F.col("primary_need"), iso(F.col("closure_shown")), F.col("closure_reason_shown"),
        F.col("referral_nfa").cast("int"), F.col("assessment.start"), F.col("assessment.auth"),
        F.array_join(F.col("assessment.codes"), ";")])
    sort_key = F.concat_ws("|", F.col("la_code"), F.col("la_child_id"), iso(F.col("referral_date")),
                           F.coalesce(F.col("assessment.n").cast("string"), F.lit("0")))
    return df.select("*", line.alias("line"), sort_key.alias("sort_key"))


def npd_defects(rows: DataFrame, seed: int) -> DataFrame:
    first = rows.where(F.col("assessment.n") == 1)
    return D.defect_rows(first, F.col("n_defect"), "npd", npd_source("cin"), "assessments",
                         F.col("assessment.start"),
                         F.concat(F.lit("first assessment; factor codes as written: "),
                                  F.array_join(F.col("assessment.codes"), ";")))


def cpp_rows(snap: DataFrame) -> DataFrame:
    df = snap.where(F.col("cp_in"))
    line = csv_line([
        F.col("pmr"), F.col("la_child_id"), F.col("la_code"), acadyr(F.col("file_year")),
        iso(F.col("referral_date")), iso(F.col("cp_start")), iso(F.col("cp_end_shown")),
        F.col("cp_initial_category"), F.col("cp_latest_category"), F.col("cp_previous")])
    sort_key = F.concat_ws("|", F.col("la_code"), F.col("la_child_id"), iso(F.col("cp_start")))
    return df.select("file_year", line.alias("line"), sort_key.alias("sort_key"))
