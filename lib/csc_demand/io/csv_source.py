"""SSDA903 and NPD-style CSV files: explicit all-string schemas by kind, read together in one parallel read, each
row with the number of the line it came from (line 1 is the header), so a rejected record can be found in its file.

Spark's CSV source cannot say which line a row came from, so lines are read with the text source and split with
``from_csv`` (the same parser and options). A line's number is its position within its read chunk
(``monotonically_increasing_id`` counts up by one per line inside a task) plus the lines of the file's earlier
chunks, which one cheap counting pass gives. Values stay strings in bronze (as received); typing and validation
happen in silver, so a bad value becomes a quarantine row instead of a failed read. A line that does not split
into the header's fields keeps its text in ``_corrupt_record``.
"""
from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from csc_demand.io.discover import SourceFile
from csc_demand.io.file_columns import ABS_PATH, decoded_file_path, with_file_columns

CORRUPT = "_corrupt_record"
LINE = "line_number"

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
PARSE_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT,
                 "ignoreLeadingWhiteSpace": "true", "ignoreTrailingWhiteSpace": "true"}


def parsed_schema(kind: str) -> StructType:
    return StructType([StructField(c, StringType(), True) for c in CSV_COLUMNS[kind]]
                      + [StructField(CORRUPT, StringType(), True)])


def csv_schema(kind: str) -> StructType:
    """A CSV kind's bronze data columns: the file's fields, ``_corrupt_record`` and ``line_number``."""
    return StructType(parsed_schema(kind).fields + [StructField(LINE, LongType(), True)])


def _chunk_bases(chunks: list[tuple[str, int, int, int]]) -> list[tuple[str, int, int]]:
    """(path, chunk start, lines, first id) per chunk read -> (path, chunk start, base): a line's number is its
    id plus the base of its chunk."""
    bases = []
    for _, of_file in groupby(sorted(chunks), key=itemgetter(0)):
        before = 0
        for path, chunk, lines, first_id in of_file:
            bases.append((path, chunk, before + 1 - first_id))
            before += lines
    return bases


def _numbered_lines(spark: SparkSession, files: list[SourceFile]) -> DataFrame:
    """Every physical line of the files with its absolute path and line number (1 = first line of its file).
    Rows keep Spark's file URI; it is decoded to the path once per chunk, in the small table of chunk bases."""
    lines = (spark.read.format("text").load([f.path for f in files])
             .select("value", F.col("_metadata.file_path").alias("_uri"),
                     F.col("_metadata.file_block_start").alias("_chunk"),
                     F.monotonically_increasing_id().alias("_id")))  # before any filter: one id per line
    chunks = lines.groupBy("_uri", "_chunk").agg(F.count(F.lit(1)), F.min("_id")).collect()  # a row per chunk
    base = (spark.createDataFrame(_chunk_bases([tuple(r) for r in chunks]), "_uri string, _chunk long, _base long")
                 .withColumn(ABS_PATH, decoded_file_path(F.col("_uri"))))
    return (lines.join(F.broadcast(base), on=["_uri", "_chunk"], how="inner")
                 .select("value", ABS_PATH, (F.col("_id") + F.col("_base")).alias(LINE)))


def read_csv_files(spark: SparkSession, kind: str, files: list[SourceFile]) -> DataFrame:
    """All files of one CSV kind as one DataFrame of strings plus line_number, source_file, la_code and
    collection_year. The header line and blank lines are not records."""
    is_record = (F.col(LINE) > 1) & F.col("value").rlike(r"\S")
    ddl = ", ".join(f"`{field.name}` STRING" for field in parsed_schema(kind).fields)
    records = (_numbered_lines(spark, files).filter(is_record)
               .select(F.from_csv("value", ddl, PARSE_OPTIONS).alias("_fields"), LINE, ABS_PATH)
               .select("_fields.*", LINE, ABS_PATH))
    return with_file_columns(records, spark, files)
