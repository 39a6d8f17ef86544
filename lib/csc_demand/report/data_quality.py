"""Data quality per return: ``gold.data_quality`` (aggregate, published through the report) and the data owner's
restricted workbook (record level with the LA's own ids; stays inside the secure environment).

``gold.data_quality`` is written by ``csc-demand ingest`` from the validated records it already holds (so it
reconciles with the run summary: received = accepted + quarantined), one row per return (source file, LA,
collection year) and silver table with ``rule_id = "all"``, plus one row per rule that rejected records.
"""
from __future__ import annotations

import tempfile
from datetime import date
from functools import reduce
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand import locations
from csc_demand.config import Config
from csc_demand.errors import ConfigurationError
from csc_demand.io import delta, hadoop_fs
from csc_demand.io.bronze import BRONZE_TABLE
from csc_demand.io.discover import kind_of
from csc_demand.quality.quarantine import line_order, rule_message
from csc_demand.report.publish import write_workbook
from csc_demand.transform.pseudonymise import pseudonymise

TABLE = "data_quality"
RETURN = ["la_code", "collection_year", "source_file", "table_name"]
ALL_RULES = "all"
# bronze CSV table -> the column holding the LA's (or NPD's) own identifier of the record's child or pupil
CSV_ID_COLUMNS = {"ssda903_header": "CHILD", "ssda903_episodes": "CHILD", "npd_cin": "LAchildID_Anon",
                  "npd_cpp": "LAchildID_Anon", "npd_ks4": "PupilMatchingRefAnonymous",
                  "npd_exclusions": "PupilMatchingRefAnonymous", "npd_sen": "PupilMatchingRefAnonymous"}


def record_counts(validated: dict[str, DataFrame]) -> DataFrame:
    """Validated record copies per silver table (``rule_id`` null = accepted, ``with_parent``) -> ``records`` and
    ``with_parent`` per return, table and rule: the one pass over the records that ingest's reconciliation and
    gold.data_quality share."""
    records = reduce(DataFrame.unionByName, [
        df.select(F.lit(table).alias("table_name"), "source_file", "la_code",
                  F.col("collection_year").cast("int").alias("collection_year"), "rule_id", "with_parent")
        for table, df in validated.items()])
    return records.groupBy(*RETURN, "rule_id").agg(
        F.count(F.lit(1)).alias("records"), F.count(F.when(F.col("with_parent"), 1)).alias("with_parent"))


def data_quality(per_rule: DataFrame) -> DataFrame:
    """``record_counts`` -> per return and table: ``rule_id`` "all" with received, accepted, quarantined and
    quarantined_with_parent; and per rule that rejected records: quarantined and quarantined_with_parent (received
    and accepted null, so sums stay true)."""
    rejected = F.col("rule_id").isNotNull()
    totals = per_rule.groupBy(*RETURN).agg(
        F.sum("records").alias("received"),
        F.sum(F.when(~rejected, F.col("records")).otherwise(0)).alias("accepted"),
        F.sum(F.when(rejected, F.col("records")).otherwise(0)).alias("quarantined"),
        F.sum("with_parent").alias("quarantined_with_parent"),
    ).select(*RETURN, F.lit(ALL_RULES).alias("rule_id"), "received", "accepted", "quarantined",
             "quarantined_with_parent", F.lit(None).cast("string").alias("message"))
    rules = per_rule.filter(rejected).select(
        *RETURN, "rule_id", F.lit(None).cast("long").alias("received"), F.lit(None).cast("long").alias("accepted"),
        F.col("records").alias("quarantined"), F.col("with_parent").alias("quarantined_with_parent"),
        rule_message(F.col("rule_id")).alias("message"))
    return totals.unionByName(rules)


def restricted_folder(cfg: Config, report_out: str | None = None) -> str:
    """``<lakehouse>/restricted`` (a local path, or the lakehouse's URI); refused when it and the report folder
    ``report_out`` overlap, since the report must never carry the restricted workbook."""
    folder = locations.join(cfg.lakehouse, "restricted")
    if not locations.is_local(folder):
        return folder  # the report is written on this machine: it cannot be inside a remote lakehouse
    folder = locations.local_path(folder)
    if report_out is not None and locations.is_local(report_out):
        inside, out = Path(folder), Path(locations.local_path(report_out))
        if inside == out or out in inside.parents or inside in out.parents:
            raise ConfigurationError(f"the restricted workbook folder {inside} and the report folder {out} overlap: "
                                     "choose a report --out outside the lakehouse's restricted/ folder")
    return folder


def write_restricted_workbook(spark: SparkSession, cfg: Config, report_out: str | None = None,
                              day: date | None = None) -> str:
    """The data owner's workbook ``<lakehouse>/restricted/data_quality_<date>.xlsx``: every quarantined record with
    the LA's own identifier read back from bronze (by source file and locator or line), the DfE rule id and
    message, file and locator, so the LA can correct its return at source (as the DfE validator's output lets it).
    Returns its location.

    It holds raw identifiers: it stays inside the secure environment, never under the report's ``--out``
    (``report_out``: refused if the restricted folder would be inside it) and never in the report.
    """
    folder = restricted_folder(cfg, report_out)
    records = quarantined_with_ids(spark, cfg)
    sheets = {"quarantined records": records}
    if delta.table_exists(spark, cfg, "gold", TABLE):
        summary = delta.read_table(spark, cfg, "gold", TABLE).filter(F.col("rule_id") == ALL_RULES)
        sheets["per return"] = summary.orderBy(*RETURN).toPandas()
    name = f"data_quality_{(day or date.today()).isoformat()}.xlsx"
    if locations.is_local(folder):
        write_workbook(sheets, str(Path(folder) / name))
        return str(Path(folder) / name)
    location = locations.join(folder, name)
    with tempfile.TemporaryDirectory() as scratch:  # the workbook is written to a local file; Hadoop copies it to the lakehouse
        write_workbook(sheets, str(Path(scratch) / name))
        hadoop_fs.copy_folder_from_local(spark, scratch, folder)
    return location


def quarantined_with_ids(spark: SparkSession, cfg: Config) -> pd.DataFrame:
    """silver.quarantine with ``identifier`` (the LA's LAchildID, 903 CHILD or NPD id, as received) and
    ``identifier_field`` (which of those it is), ordered by file and locator. XML records are found by their child
    key (recomputed from bronze's LAchildID), CSV records by their file and line."""
    quarantine = delta.read_table(spark, cfg, "silver", "quarantine").select(
        "la_code", "source_file", "table_name", "child_key", "locator", "rule_id", "message")
    # bronze is read for these files only (source_file has Delta file statistics), and not at all for a clean run
    files = sorted(row["source_file"] for row in quarantine.select("source_file").distinct().collect())
    if not files:
        return pd.DataFrame(columns=["la_code", "source_file", "locator", "table_name", "rule_id", "message",
                                     "identifier_field", "identifier"])
    # a file's records are in the bronze table of its kind only (ingest routes them by name): read no other
    files_by_table: dict[str, list[str]] = {}
    for file in files:
        kind = kind_of(file.rsplit("/", 1)[-1])
        if kind is not None:
            files_by_table.setdefault(BRONZE_TABLE[kind[0]], []).append(file)
    in_csv = F.col("locator").startswith(F.concat("source_file", F.lit(":")))
    located = (quarantine.withColumn("line_number", F.when(in_csv, F.substring_index("locator", ":", -1).cast("long")))
               .join(_xml_ids(spark, cfg, files_by_table.get("cin_census", [])), ["source_file", "child_key"], "left")
               .join(_csv_ids(spark, cfg, files_by_table), ["source_file", "line_number"], "left"))
    return (located.select("la_code", "source_file", "locator", "table_name", "rule_id", "message",
                           F.coalesce("xml_field", "csv_field").alias("identifier_field"),
                           F.coalesce("xml_id", "csv_id").alias("identifier"))
                   .orderBy("source_file", *line_order(), "rule_id").toPandas())


def _xml_ids(spark: SparkSession, cfg: Config, files: list[str]) -> DataFrame:
    """(source_file, child_key) -> LAchildID of every CIN XML child in the given files."""
    if not files or not delta.table_exists(spark, cfg, "bronze", "cin_census"):
        return spark.createDataFrame([], "source_file string, child_key string, xml_field string, xml_id string")
    key = cfg.resolve_pseudonym_key()
    raw_id = F.col("ChildIdentifiers")["LAchildID"]
    return (delta.read_table(spark, cfg, "bronze", "cin_census").where(F.col("source_file").isin(files))
            .select("source_file", pseudonymise(F.col("la_code"), raw_id, key).alias("child_key"),
                    F.lit("LAchildID").alias("xml_field"), F.trim(raw_id).alias("xml_id"))
            .filter(F.col("child_key").isNotNull())
            .dropDuplicates(["source_file", "child_key"]))


def _csv_ids(spark: SparkSession, cfg: Config, files_by_table: dict[str, list[str]]) -> DataFrame:
    """(source_file, line_number) -> the identifier field of every line of the given CSV files (by bronze table)."""
    result = spark.createDataFrame([], "source_file string, line_number long, csv_field string, csv_id string")
    for table, column in CSV_ID_COLUMNS.items():
        files = files_by_table.get(table)
        if files and delta.table_exists(spark, cfg, "bronze", table):
            bronze = delta.read_table(spark, cfg, "bronze", table).where(F.col("source_file").isin(files))
            result = result.unionByName(bronze.select("source_file", "line_number", F.lit(column).alias("csv_field"),
                                                      F.col(column).alias("csv_id")))
    return result
