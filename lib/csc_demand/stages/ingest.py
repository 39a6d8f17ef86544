"""``csc-demand ingest``: source files -> bronze (as received) -> silver (validated, de-duplicated) + quarantine.

Steps: find files by kind; check each file whole (bad files are reported by name and kept out); load new or
changed files into bronze (replacing their earlier rows in one commit); rebuild every silver table from all of
bronze and MERGE it on natural keys (re-running with the same files changes nothing); record per table records
received / accepted / quarantined and the Delta versions written. Exit code 1 when any file failed.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial, reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.concurrency import concurrently
from csc_demand.config import SYNTHETIC_ONLY_KEY, Config
from csc_demand.errors import ConcurrentWriteError, ConfigurationError, InputFileError
from csc_demand.io import delta
from csc_demand.io.bronze import BRONZE_TABLE, MANIFEST_SCHEMA, empty_bronze, manifest_rows, read_files
from csc_demand.io.discover import KINDS, discover, refuse_missing_local_source
from csc_demand.io.duplicate_returns import (
    SUPERSEDED,
    is_superseded,
    resolve_duplicates,
)
from csc_demand.io.file_check import FileCheck, check_files
from csc_demand.io.synthetic_files import written_by_synth
from csc_demand.quality.quarantine import finalise_quarantine
from csc_demand.report.data_quality import TABLE as DATA_QUALITY
from csc_demand.report.data_quality import data_quality, record_counts
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark
from csc_demand.table_schemas import table_schema
from csc_demand.transform.silver_tables import (
    DERIVED,
    all_quarantine_rows,
    derived_frames,
    reconciliation_counts,
    silver_frames,
    validated_records,
)

HELP = "load CIN census XML, SSDA903 and NPD files into bronze and silver Delta tables, with quality rules"
MANIFEST = "files"
# Silver validation caches every record set; with the configured few shuffle partitions a national load makes
# cached blocks of hundreds of MB that overflow the heap, so big loads get one partition per this many bronze rows.
BRONZE_ROWS_PER_SHUFFLE_PARTITION = 250_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="DIR",
                        help="folder searched recursively for input files by name (docs/formats.md); names "
                             "starting with '_' or '.' are skipped")
    parser.add_argument("--withdraw", action="append", default=[], metavar="FILE",
                        help="remove a file an earlier ingest loaded, named as in bronze.files and the run summary "
                             "(e.g. cin_census/2015/cin_201_2015.xml), from bronze, then rebuild silver without it "
                             "(repeatable; with or without --source); take it out of the source folder too, or the "
                             "next ingest of that folder loads it again")
    parser.add_argument("--bronze-only", action="store_true",
                        help="load and check files into bronze but do not rebuild silver")


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def _previous_manifest(spark: SparkSession, cfg: Config) -> dict[str, dict]:
    if not delta.table_exists(spark, cfg, "bronze", MANIFEST):
        return {}
    rows = delta.read_table(spark, cfg, "bronze", MANIFEST).collect()  # one row per file: small
    return {row["source_file"]: row.asDict() for row in rows}


def _load_kind(spark: SparkSession, cfg: Config, log: RunLog, kind: str, todo: list[FileCheck],
               loaded_at: datetime) -> list[tuple[FileCheck, int]]:
    """Load the new and changed files of one kind into its bronze table in one commit; returns the files whose
    record count Spark read differently, with the count read."""
    table = BRONZE_TABLE[kind]
    rows = read_files(spark, kind, [c.file for c in todo], todo, log.run_id, loaded_at)
    names = [c.file.source_file for c in todo]
    version, metrics = delta.replace_rows(rows, cfg, "bronze", table, f"source_file IN ({_sql_list(names)})")
    log.wrote(f"bronze.{table}", version)
    got = {c.file.source_file: c.records for c in todo}
    if int(metrics.get("numOutputRows", -1)) != sum(got.values()):  # find the files Spark read differently
        got = dict(delta.read_table(spark, cfg, "bronze", table).filter(F.col("source_file").isin(names))
                   .groupBy("source_file").count().collect())
    received = sum(c.records for c in todo)
    log.table(f"bronze.{table}", received=received, accepted=sum(got.values()),
              quarantined=received - sum(got.values()), files_loaded=len(todo))
    log.step(f"bronze.{table}: {len(todo)} file(s), {sum(got.values())} rows (version {version})")
    return [(c, got.get(c.file.source_file, 0)) for c in todo if got.get(c.file.source_file, 0) != c.records]


def _remove_rows(spark: SparkSession, cfg: Config, log: RunLog, files: list[tuple[str, str]], why: str) -> None:
    """Delete from bronze the rows an earlier run loaded from ``files`` (kind, source file), one commit per table."""
    for kind in KINDS:
        names = [name for file_kind, name in files if file_kind == kind]
        if names:
            version = delta.delete_rows(spark, cfg, "bronze", BRONZE_TABLE[kind], f"source_file IN ({_sql_list(names)})")
            log.wrote(f"bronze.{BRONZE_TABLE[kind]}", version)
            log.step(f"bronze.{BRONZE_TABLE[kind]}: removed the rows of {why} {', '.join(names)}")


def refuse_bad_withdrawals(previous: dict[str, dict], names: list[str], found: set[str]) -> None:
    """Before any file is checked or written: every name to withdraw must be loaded in bronze.files (``previous``),
    and none found under --source in this run (it would be loaded again at once)."""
    loaded = sorted(name for name, row in previous.items() if row["status"] == "loaded")
    unknown = [name for name in names if name not in loaded]
    if unknown:
        raise ConfigurationError(
            f"cannot withdraw {', '.join(unknown)}: not a file loaded into this lakehouse. Name it as bronze.files "
            f"and the run summary do, relative to the folder it was loaded from ({len(loaded)} loaded"
            + (f", e.g. {', '.join(loaded[:3])})" if loaded else ")"))
    again = sorted(set(names) & found)
    if again:
        raise ConfigurationError(f"{', '.join(again)}: to be withdrawn but also found under --source, so this run "
                                 "would load it again: move it out of that folder first")


def withdraw_files(spark: SparkSession, cfg: Config, log: RunLog, previous: dict[str, dict], names: list[str],
                   loaded_at: datetime) -> None:
    """Remove loaded files (``refuse_bad_withdrawals``) from bronze: their rows, and ``withdrawn`` in bronze.files."""
    _remove_rows(spark, cfg, log, [(previous[name]["kind"], name) for name in names], "withdrawn")
    rows = [{**previous[name], "status": "withdrawn", "reason": f"withdrawn by ingest {log.run_id}",
             "load_id": log.run_id, "loaded_at": loaded_at} for name in names]
    version = delta.merge_table(spark.createDataFrame(rows, MANIFEST_SCHEMA), cfg, "bronze", MANIFEST, ["source_file"])
    log.wrote(f"bronze.{MANIFEST}", version)
    log.metric("files_withdrawn", names)
    log.step(f"withdrew {len(names)} file(s) from bronze (bronze.{MANIFEST}: withdrawn); gold and the report follow "
             "when classify, outcomes and report run again")


def load_bronze(spark: SparkSession, cfg: Config, log: RunLog, checks: list[FileCheck], loaded_at: datetime) -> list[str]:
    """Load new and changed files into bronze; returns the failures (file: reason), including files whose rows
    Spark did not read back in full."""
    previous = _previous_manifest(spark, cfg)
    failures = [f"{c.file.source_file}: {c.reason}" for c in checks if not c.ok and not is_superseded(c)]
    status = {c.file.source_file: ("loaded" if c.ok else SUPERSEDED if is_superseded(c) else "failed")
              for c in checks}
    unchanged = {c.file.source_file for c in checks
                 if previous.get(c.file.source_file, {}).get("status") == status[c.file.source_file]
                 and previous[c.file.source_file]["file_sha256"] == c.sha256
                 and previous[c.file.source_file]["reason"] == c.reason}
    todo = {kind: [c for c in checks if c.ok and c.file.kind == kind and c.file.source_file not in unchanged]
            for kind in KINDS}
    loaded = concurrently([partial(_load_kind, spark, cfg, log, kind, todo[kind], loaded_at)
                           for kind in KINDS if todo[kind]])
    _remove_rows(spark, cfg, log, [(c.file.kind, c.file.source_file) for c in checks
                                   if status[c.file.source_file] == SUPERSEDED
                                   and previous.get(c.file.source_file, {}).get("status") == "loaded"], "superseded")
    for misread in loaded:  # files whose rows Spark did not read back in full
        failures += [f"{c.file.source_file}: the file has {c.records} records but {got} were read; "
                     "check its structure" for c, got in misread]
        status.update({c.file.source_file: "failed" for c, _ in misread})
    log.metric("files_unchanged", len(unchanged))
    changed = [c for c in checks if c.file.source_file not in unchanged]  # unchanged files keep their row
    if not changed:
        return failures
    manifest = manifest_rows(spark, changed, status, log.run_id, loaded_at)
    version = delta.merge_table(manifest, cfg, "bronze", MANIFEST, ["source_file"])
    log.wrote(f"bronze.{MANIFEST}", version)
    return failures


def _sync_silver(spark: SparkSession, cfg: Config, log: RunLog, table: str, df: DataFrame) -> None:
    schema = table_schema("silver", table)
    fresh = delta.ensure_table(spark, cfg, "silver", table, schema.struct, schema.not_null, schema.checks,
                               schema.description)
    version, rows = delta.sync_table(df, cfg, "silver", table, list(schema.key), fresh=fresh)
    log.wrote(f"silver.{table}", version)
    if table in DERIVED:
        log.table(f"silver.{table}", rows=rows)
    else:
        log.table(f"silver.{table}", rows=rows, superseded=log.summary["tables"][f"silver.{table}"]["accepted"] - rows)
    log.step(f"silver.{table}: {rows} rows (version {version})")


def _sync_quarantine(spark: SparkSession, cfg: Config, log: RunLog, quarantine: DataFrame) -> None:
    schema = table_schema("silver", "quarantine")
    fresh = delta.ensure_table(spark, cfg, "silver", "quarantine", schema.struct, schema.not_null,
                               comment=schema.description)
    version, _ = delta.sync_table(quarantine, cfg, "silver", "quarantine", list(schema.key), fresh=fresh,
                                  ignore_in_compare=("load_id", "loaded_at"))  # first rejection's load id stays
    log.wrote("silver.quarantine", version)
    by_rule = {r["rule_id"]: r["n"] for r in delta.read_table(spark, cfg, "silver", "quarantine")
               .groupBy("rule_id").agg(F.sum("occurrences").alias("n")).collect()}
    log.metric("quarantine_by_rule", dict(sorted(by_rule.items())))
    log.step(f"silver.quarantine: {sum(by_rule.values())} rejected records (version {version})")


def _write_data_quality(cfg: Config, log: RunLog, per_rule: DataFrame) -> None:
    """gold.data_quality: received / accepted / quarantined per return, table and rule, rebuilt on every run."""
    version = delta.write_table(data_quality(per_rule), cfg, "gold", DATA_QUALITY)
    log.wrote(f"gold.{DATA_QUALITY}", version)
    log.step(f"gold.{DATA_QUALITY}: records per return, table and rule (version {version})")


def shuffle_partitions_for(bronze_rows: int, configured: int) -> int:
    return max(configured, -(-bronze_rows // BRONZE_ROWS_PER_SHUFFLE_PARTITION))


def row_count(frames: Iterable[DataFrame]) -> int:
    """The rows of several DataFrames, counted in one Spark job (a count each was a query each)."""
    counts = reduce(DataFrame.unionByName, [df.agg(F.count(F.lit(1)).alias("rows")) for df in frames])
    return sum(row["rows"] for row in counts.collect())


def bronze_versions(spark: SparkSession, cfg: Config) -> dict[str, int | None]:
    """The latest version of every bronze table silver is built from (None: not created yet)."""
    return {kind: (delta.table_version(spark, cfg, "bronze", BRONZE_TABLE[kind])
                   if delta.table_exists(spark, cfg, "bronze", BRONZE_TABLE[kind]) else None) for kind in KINDS}


def build_silver(spark: SparkSession, cfg: Config, log: RunLog, loaded_at: datetime) -> None:
    """Silver from bronze as of one set of versions, again until bronze did not change meanwhile. Another ingest
    may commit bronze while this one builds; a silver MERGE made from the older bronze would then delete that
    run's new rows (rows not in the source are deleted). Whichever run finishes last sees the change and builds
    silver again from the newer bronze, so the tables end up holding all of it."""
    for attempt in range(1, delta.ATTEMPTS + 1):
        versions = bronze_versions(spark, cfg)
        _build_silver_from(spark, cfg, log, loaded_at, versions)
        if bronze_versions(spark, cfg) == versions:
            log.metric("silver_built_from_bronze_versions", versions)
            return
        log.step(f"bronze changed while silver was built (another ingest committed): building silver again "
                 f"from the newer bronze (attempt {attempt + 1})")
    raise ConcurrentWriteError("silver: bronze kept changing while silver was built (other ingests are "
                                     "running): run ingest again when they have finished")


def read_bronze(spark: SparkSession, cfg: Config, versions: dict[str, int | None]) -> dict[str, DataFrame]:
    """Every bronze table silver is built from, by kind, as of ``versions`` (bronze_versions); empty when absent."""
    return {kind: (delta.read_table(spark, cfg, "bronze", BRONZE_TABLE[kind], version=versions[kind])
                   if versions[kind] is not None else empty_bronze(spark, kind))
            for kind in KINDS}


def _build_silver_from(spark: SparkSession, cfg: Config, log: RunLog, loaded_at: datetime, versions: dict) -> None:
    bronze = read_bronze(spark, cfg, versions)
    configured = spark.conf.get("spark.sql.shuffle.partitions")
    assert configured is not None, "a SQL setting with a default"
    partitions = shuffle_partitions_for(row_count(bronze.values()), int(configured))
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    log.metric("silver_shuffle_partitions", partitions)
    try:
        _build_silver(spark, cfg, log, loaded_at, bronze)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", configured)


def _build_silver(spark: SparkSession, cfg: Config, log: RunLog, loaded_at: datetime, bronze: dict) -> None:
    key = cfg.resolve_pseudonym_key()
    validated, shared = validated_records(bronze, key)
    for df in [*shared.values(), *validated.values()]:
        df.persist(StorageLevel.MEMORY_AND_DISK)
    per_rule = record_counts(validated).persist()  # for gold.data_quality too: one pass over the records
    counts = reconciliation_counts(per_rule, validated)
    for table, table_counts in counts.items():
        log.table(f"silver.{table}", **table_counts)
    log.step(f"validated {sum(c['received'] for c in counts.values())} records: "
             f"{sum(c['accepted'] for c in counts.values())} accepted, "
             f"{sum(c['quarantined'] for c in counts.values())} quarantined")
    concurrently([partial(_sync_silver, spark, cfg, log, table, df) for table, df in silver_frames(validated).items()])
    # derived tables read the tables just written rather than computing them again; quarantine meanwhile
    derived = derived_frames(lambda name: delta.read_table(spark, cfg, "silver", name))
    rejecting = {table for table, c in counts.items() if c["quarantined"] > c["quarantined_with_parent"]}
    quarantine = finalise_quarantine(all_quarantine_rows(validated, bronze, key, rejecting), log.run_id,
                                     F.lit(loaded_at).cast("timestamp"))
    concurrently([*(partial(_sync_silver, spark, cfg, log, table, df) for table, df in derived.items()),
                  partial(_sync_quarantine, spark, cfg, log, quarantine),
                  partial(_write_data_quality, cfg, log, per_rule)])
    for df in [per_rule, *validated.values(), *shared.values()]:
        df.unpersist()


def _refuse_demo_key_for_real_files(spark: SparkSession, cfg: Config, source: str, checks: list[FileCheck]) -> None:
    """The demo key is public: pseudonyms made with it can be undone. Refuse it unless every file this run reads
    and every file bronze already holds is one synth wrote (listed in the source's _truth/written.sha256)."""
    written = written_by_synth(source)
    foreign = [c.file.source_file for c in checks if c.sha256 and c.sha256 not in written]
    foreign += [f"{name} (already in bronze)" for name, row in _previous_manifest(spark, cfg).items()
                if row["status"] == "loaded" and row["file_sha256"] not in written]
    if foreign:
        raise ConfigurationError(
            f"the demo pseudonymisation key is only for data `synth` wrote, and {len(foreign)} file(s) are not "
            f"among those it wrote under {source}: {', '.join(foreign[:5])}. Set {cfg.pseudonym_key_env} to a "
            "secret key of your own (or use a fresh lakehouse for synthetic data)")


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    if not args.source and not args.withdraw:
        raise ConfigurationError("nothing to do: give --source DIR (files to load), --withdraw FILE (a loaded file "
                                 "to remove) or both")
    withdraw = list(dict.fromkeys(args.withdraw))  # a name given twice is withdrawn once
    cfg.resolve_pseudonym_key()  # fail before any work when the key is missing
    if args.source:  # Spark in this process, with no other default file system set: a plain path is a local one
        refuse_missing_local_source(args.source, plain_path_is_local=str(cfg.spark.master).startswith("local")
                                    and "spark.hadoop.fs.defaultFS" not in cfg.spark.extra)
    spark = get_spark(cfg)
    loaded_at = datetime.now(UTC).replace(microsecond=0)
    log.metric("load_id", log.run_id)
    manifest = _previous_manifest(spark, cfg) if withdraw else {}  # read once, and only to withdraw
    if not args.source:
        refuse_bad_withdrawals(manifest, withdraw, set())
        withdraw_files(spark, cfg, log, manifest, withdraw, loaded_at)
        if not args.bronze_only:
            build_silver(spark, cfg, log, loaded_at)
        return 0
    files, unrecognised = discover(spark, args.source)
    if withdraw:
        refuse_bad_withdrawals(manifest, withdraw, {f.source_file for f in files})
    log.step(f"found {len(files)} input file(s) under {args.source}"
             + (f"; {len(unrecognised)} name(s) not recognised: {', '.join(unrecognised[:5])}" if unrecognised else ""))
    log.metric("files_unrecognised", unrecognised)
    if not files:
        raise InputFileError(f"no input files under {args.source}: expected names as in docs/formats.md "
                                "(e.g. cin_census/2015/cin_201_2015.xml, npd/cin_2015.csv)")
    checks = check_files(spark, files)
    log.step(f"checked {len(checks)} file(s): {sum(not c.ok for c in checks)} cannot be read")
    if cfg.resolve_pseudonym_key() == SYNTHETIC_ONLY_KEY:
        _refuse_demo_key_for_real_files(spark, cfg, args.source, checks)
    checks, duplicates = resolve_duplicates(spark, checks)
    for note in duplicates:
        log.step(note)
    log.metric("duplicate_returns", duplicates)
    if withdraw:
        withdraw_files(spark, cfg, log, manifest, withdraw, loaded_at)
    failures = load_bronze(spark, cfg, log, checks, loaded_at)
    log.metric("files_found", len(files))
    log.metric("files_failed", len(failures))
    log.metric("failed_files", failures)
    if not args.bronze_only:
        build_silver(spark, cfg, log, loaded_at)
    for failure in failures:
        log.step(f"FAILED FILE {failure}")
    if failures:
        log.step(f"{len(failures)} file(s) failed (CSC-FILE); the other files were loaded. Fix or replace them "
                 "and run ingest again.")
        return 1
    return 0
