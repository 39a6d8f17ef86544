"""SSDA903 and NPD-style CSV files: explicit all-string schemas by kind, read together in one parallel read.

Values stay strings in bronze (as received); typing and validation happen in silver, so a bad value becomes a
quarantine row instead of a failed read. A line Spark cannot split into the header's fields keeps its raw text
in ``_corrupt_record``.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from csc_demand.io.discover import SourceFile
from csc_demand.io.file_columns import with_file_columns

CORRUPT = "_corrupt_record"

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "ssda903_header": ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
    "ssda903_episodes": ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                         "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"),
    "npd_cin": ("PupilMatchingRefAnonymous", "LAchildID_Anon", "LA", "ACADYR", "MonthOfBirth", "YearOfBirth",
                "Gender", "Ethnicity", "Disability", "CINreferralDate", "ReferralSource", "PrimaryNeedCode",
                "CINclosureDate", "ReasonForClosure", "ReferralNFA", "AssessmentActualStartDate",
                "AssessmentAuthorisationDate", "AssessmentFactors"),
    "npd_cpp": ("PupilMatchingRefAnonymous", "LAchildID_Anon", "LA", "ACADYR", "CINreferralDate", "CPPstartDate",
                "CPPendDate", "InitialCategoryOfAbuse", "LatestCategoryOfAbuse", "NumberOfPreviousCPP"),
    "npd_ks4": ("PupilMatchingRefAnonymous", "ACADYR", "KS4_ATT8", "KS4_P8"),
    "npd_exclusions": ("PupilMatchingRefAnonymous", "ACADYR", "SUSPENSIONS", "PERMANENT_EXCLUSION"),
    "npd_sen": ("PupilMatchingRefAnonymous", "ACADYR", "SENprovision"),
}


def csv_schema(kind: str) -> StructType:
    return StructType([StructField(c, StringType(), True) for c in CSV_COLUMNS[kind]]
                      + [StructField(CORRUPT, StringType(), True)])


def read_csv_files(spark: SparkSession, kind: str, files: list[SourceFile]) -> DataFrame:
    """All files of one CSV kind as one DataFrame of strings plus source_file, la_code, collection_year."""
    df = (spark.read.format("csv")
          .schema(csv_schema(kind))
          .option("header", "true")
          .option("mode", "PERMISSIVE")
          .option("columnNameOfCorruptRecord", CORRUPT)
          .option("encoding", "UTF-8")
          .option("ignoreLeadingWhiteSpace", "true")
          .option("ignoreTrailingWhiteSpace", "true")
          .load([f.path for f in files]))
    return with_file_columns(df, spark, files)
