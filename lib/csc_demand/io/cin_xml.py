"""CIN census XML (DOMAIN.md section 4) through Spark's own XML source: one row per ``Child``, every leaf a string.

The schema lists every element of every year's layout (GenderCurrent and Sex, 18A-19C, 24A, optional blocks); an
element a year does not use is simply null. Files are checked first (io.file_check), so only well-formed files
with a valid Header reach this read; a ``Child`` Spark still cannot parse keeps its text in ``_corrupt_record``.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from csc_demand.io.csv_source import CORRUPT
from csc_demand.io.discover import SourceFile
from csc_demand.io.file_columns import ABS_PATH, decoded_file_path, with_file_columns

CHILD_DDL = """
ChildIdentifiers STRUCT<LAchildID: STRING, UPN: STRING, FormerUPN: STRING, UPNunknown: STRING,
                        PersonBirthDate: STRING, ExpectedPersonBirthDate: STRING, GenderCurrent: STRING, Sex: STRING,
                        PersonDeathDate: STRING>,
ChildCharacteristics STRUCT<Ethnicity: STRING, Disabilities: STRUCT<Disability: ARRAY<STRING>>>,
CINdetails ARRAY<STRUCT<
    CINreferralDate: STRING, ReferralSource: STRING, PrimaryNeedCode: STRING, CINclosureDate: STRING,
    ReasonForClosure: STRING, DateOfInitialCPC: STRING,
    Assessments: ARRAY<STRUCT<AssessmentActualStartDate: STRING, AssessmentInternalReviewDate: STRING,
                              AssessmentAuthorisationDate: STRING,
                              FactorsIdentifiedAtAssessment: STRUCT<AssessmentFactors: ARRAY<STRING>>>>,
    CINPlanDates: ARRAY<STRUCT<CINPlanStartDate: STRING, CINPlanEndDate: STRING>>,
    Section47: ARRAY<STRUCT<S47ActualStartDate: STRING, InitialCPCtarget: STRING, DateOfInitialCPC: STRING,
                            ICPCnotRequired: STRING>>,
    ReferralNFA: STRING,
    ChildProtectionPlans: ARRAY<STRUCT<CPPstartDate: STRING, CPPendDate: STRING, InitialCategoryOfAbuse: STRING,
                                       LatestCategoryOfAbuse: STRING, NumberOfPreviousCPP: STRING,
                                       Reviews: STRUCT<CPPreviewDate: ARRAY<STRING>>>>>>,
_corrupt_record STRING
"""


CHILD_SCHEMA = " ".join(CHILD_DDL.split())


def read_cin_xml(spark: SparkSession, files: list[SourceFile]) -> DataFrame:
    """Checked CIN XML files -> one row per Child (nested, as received) plus source_file, la_code, collection_year."""
    df = (spark.read.format("xml")
          .schema(CHILD_SCHEMA)
          .option("rowTag", "Child")
          .option("mode", "PERMISSIVE")
          .option("columnNameOfCorruptRecord", CORRUPT)
          .option("ignoreSurroundingSpaces", "true")
          .load([f.path for f in files]))
    return with_file_columns(df.withColumn(ABS_PATH, decoded_file_path()), spark, files)
