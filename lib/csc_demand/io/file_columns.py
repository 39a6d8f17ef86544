"""Attach each row's file facts (relative name, LA code, collection year) from the checked-file list.

Spark gives every row its file as a URI (``_metadata.file_path``, percent-encoded); we join on the decoded absolute
path with a broadcast of the small file list, so stacking many files stays one parallel read.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from csc_demand.io.discover import SourceFile

ABS_PATH = "_abs_path"
FILE_SCHEMA = StructType([
    StructField(ABS_PATH, StringType(), False),
    StructField("source_file", StringType(), False),
    StructField("la_code", StringType(), True),
    StructField("collection_year", IntegerType(), False),
])


def decoded_file_path(uri: Column | None = None) -> Column:
    """``file:/a%20b.xml`` -> ``/a b.xml`` (a literal '+' stays '+': URIs do not encode it, url_decode would).
    ``uri``: default the row's ``_metadata.file_path``."""
    raw = F.regexp_replace(F.col("_metadata.file_path") if uri is None else uri, r"\+", "%2B")
    return F.regexp_replace(F.url_decode(raw), r"^file:(//)?", "")


def with_file_columns(df: DataFrame, spark: SparkSession, files: list[SourceFile]) -> DataFrame:
    """Rows read from files, with their ``_abs_path`` (``decoded_file_path()``) -> the same rows with source_file,
    la_code (from the file when it names one) and collection_year instead."""
    facts = spark.createDataFrame(
        [(f.path, f.source_file, f.la_code, f.collection_year) for f in files], FILE_SCHEMA)
    return df.join(F.broadcast(facts), on=ABS_PATH, how="left").drop(ABS_PATH)
