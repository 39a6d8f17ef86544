"""Bronze tables: files as received (every value a string) plus source_file, la_code, collection_year, load_id,
loaded_at and file_sha256. One bronze table per file kind; ``files`` is the load manifest."""
from __future__ import annotations

from datetime import datetime
from typing import cast

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from csc_demand.io.cin_xml import CHILD_SCHEMA, read_cin_xml
from csc_demand.io.csv_source import csv_schema, read_csv_files
from csc_demand.io.discover import KINDS, SourceFile
from csc_demand.io.file_check import FileCheck

BRONZE_TABLE = {kind: ("cin_census" if kind == "cin_xml" else kind) for kind in KINDS}
FILE_META = StructType([
    StructField("source_file", StringType(), True), StructField("la_code", StringType(), True),
    StructField("collection_year", IntegerType(), True), StructField("load_id", StringType(), True),
    StructField("loaded_at", TimestampType(), True), StructField("file_sha256", StringType(), True),
])
LOAD_COLUMNS = ("load_id", "loaded_at", "file_sha256")  # which load wrote a row: silver does not read them
MANIFEST_SCHEMA = StructType([
    StructField("source_file", StringType(), False), StructField("kind", StringType(), False),
    StructField("la_code", StringType(), True), StructField("collection_year", IntegerType(), True),
    StructField("status", StringType(), False), StructField("reason", StringType(), True),
    StructField("file_sha256", StringType(), True), StructField("size_bytes", LongType(), True),
    StructField("records", LongType(), True), StructField("load_id", StringType(), True),
    StructField("loaded_at", TimestampType(), True),
])


def read_files(spark: SparkSession, kind: str, files: list[SourceFile], checks: list[FileCheck], load_id: str,
               loaded_at: datetime) -> DataFrame:
    """Checked files of one kind -> bronze rows (as received plus the file and load columns)."""
    rows = read_cin_xml(spark, files) if kind == "cin_xml" else read_csv_files(spark, kind, files)
    sha = spark.createDataFrame([(c.file.source_file, c.sha256) for c in checks],
                                "source_file string, file_sha256 string")
    data_columns = [c for c in rows.columns if c not in FILE_META.fieldNames()]
    return (rows.join(F.broadcast(sha), on="source_file", how="left")
                .withColumn("load_id", F.lit(load_id))
                .withColumn("loaded_at", F.lit(loaded_at).cast("timestamp"))
                .select(*data_columns, *FILE_META.fieldNames()))


def empty_bronze(spark: SparkSession, kind: str) -> DataFrame:
    """A bronze table of ``kind`` with no rows, so silver builds the same way when a source kind is absent."""
    schema = cast(StructType, StructType.fromDDL(CHILD_SCHEMA)) if kind == "cin_xml" else csv_schema(kind)
    return spark.createDataFrame([], StructType(schema.fields + FILE_META.fields))


def manifest_rows(spark: SparkSession, checks: list[FileCheck], status: dict[str, str], load_id: str,
                  loaded_at: datetime) -> DataFrame:
    """One manifest row per checked file: status loaded / unchanged / failed and the reason."""
    rows = [(c.file.source_file, c.file.kind, c.file.la_code, c.file.collection_year, status[c.file.source_file],
             c.reason, c.sha256, c.size_bytes, c.records, load_id, loaded_at) for c in checks]
    return spark.createDataFrame(rows, MANIFEST_SCHEMA)
