"""Delta table access by (layer, table) name: read, write, merge on keys, versions.

Locally a table is a folder ``<lakehouse>/<layer>/<table>``; on Databricks a catalog table. Callers never
build paths themselves, so the same code runs in both places.

History and deletes go through Delta's SQL, which a classic and a Spark Connect session run alike. Creating and
merging use the ``DeltaTable`` API on a classic session and the same operations in SQL under Spark Connect: the
Connect form of the API needs Delta's Connect plugins on the server (Databricks has them; a plain Connect server
started with delta-spark has only the SQL).
"""
from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable
from deltalake import DeltaTable as LocalDeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from csc_demand import locations
from csc_demand.config import Config
from csc_demand.errors import ConcurrentWriteError, MissingTableError
from csc_demand.io import hadoop_fs
from csc_demand.spark import is_connect, jvm
from csc_demand.table_schemas import TABLES, with_comments

R = TypeVar("R")


# Columns whose min/max Delta keeps per file, in the tables made by ensure_table: the ones readers filter on (a
# file's rows, an LA, a year). Delta's default, the first 32 columns, was 6-7% of ingest CPU samples in a profile.
STATS_COLUMNS = ("source_file", "la_code", "collection_year")


# Delta's optimistic concurrency: a commit that conflicts with one made since its transaction read the table fails
# with one of these, and nothing of it is written; every write here can simply be tried again.
CONFLICTS = (DeltaConcurrentModificationException, ConcurrentWriteException, MetadataChangedException,
             ProtocolChangedException, ConcurrentAppendException, ConcurrentDeleteReadException,
             ConcurrentDeleteDeleteException, ConcurrentTransactionException)
ATTEMPTS = 8
# An uncommitted _delta_log this old is a killed creation, not one under way (those commit within seconds).
STALE_CREATION_SECONDS = 30


# The same conflicts as the JVM names them: a DataFrameWriter.save reaches Python as a plain Py4JJavaError, and
# every error under Spark Connect as the server's error class and message.
CONFLICT_CLASSES = ("io.delta.exceptions.Concurrent", "io.delta.exceptions.DeltaConcurrentModificationException",
                    "io.delta.exceptions.MetadataChangedException", "io.delta.exceptions.ProtocolChangedException",
                    "DELTA_CONCURRENT_", "DELTA_METADATA_CHANGED", "DELTA_PROTOCOL_CHANGED")


def is_conflict(err: Exception) -> bool:
    """A Delta commit conflict, however it reached Python."""
    if isinstance(err, CONFLICTS):
        return True
    from pyspark.errors import PySparkException

    return (isinstance(err, Py4JJavaError | PySparkException)
            and any(name in str(err) for name in CONFLICT_CLASSES))


def retried(action: Callable[[], R], what: str) -> R:
    """Run a Delta write, again after a commit conflict (another process committed to the table first), with
    growing random pauses; the action must be safe to repeat (each write here makes the table hold a given state)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return action()
        except Exception as err:
            if not is_conflict(err):
                raise
            if attempt == ATTEMPTS:
                raise ConcurrentWriteError(
                    f"{what}: another process committed to the table {ATTEMPTS} times while this one tried; "
                    "nothing of this write was committed: run again when the other job has finished") from err
            time.sleep(random.uniform(0.5, 1.0) * 2 ** min(attempt, 5))
    raise AssertionError("unreachable")


def _is_path(name: str) -> bool:
    return name.startswith("/") or "://" in name


def _save(writer, name: str) -> None:
    """Write to a folder locally, to a catalog table on Databricks."""
    if _is_path(name):
        writer.save(name)
    else:
        writer.saveAsTable(name)


def _ref(name: str) -> str:
    """A table in Delta's SQL: ``delta.`path``` or the catalog name."""
    return "delta.`" + name.replace("`", "``") + "`" if _is_path(name) else name


def table_exists(spark: SparkSession, cfg: Config, layer: str, table: str) -> bool:
    name = cfg.table_name(layer, table)
    if not _is_path(name):
        return spark.catalog.tableExists(name)
    if not is_connect(spark):
        # isDeltaTable answers from this JVM's cached log: a table another process committed since it was last
        # looked at here still reads as missing, so a "no" is checked against the log's files.
        return DeltaTable.isDeltaTable(spark, name) or _log_has_commit(spark, name)
    try:  # what isDeltaTable asks: is there a committed table at the path
        spark.sql(f"DESCRIBE HISTORY {_ref(name)} LIMIT 1").collect()
        return True
    except Exception as err:
        if any(word in str(err) for word in ("DELTA_MISSING_DELTA_TABLE", "DELTA_TABLE_NOT_FOUND", "PATH_NOT_FOUND",
                                              "is not a Delta table", "doesn't exist")):
            return False
        raise


def local_folder(cfg: Config, layer: str, table: str) -> str | None:
    """The folder of a table on this machine (a plain path or ``file:`` URI), else None (object storage, a catalog
    table): small reads of such a folder can skip Spark (delta-rs reads it in a fraction of Spark's start-up)."""
    name = cfg.table_name(layer, table)
    return None if cfg.on_databricks or not locations.is_local(name) else locations.local_path(name)


def delta_table(spark: SparkSession, cfg: Config, layer: str, table: str) -> DeltaTable:
    """The ``DeltaTable`` API (a classic session; see the module's note for Spark Connect)."""
    name = cfg.table_name(layer, table)
    return DeltaTable.forPath(spark, name) if _is_path(name) else DeltaTable.forName(spark, name)


def _last_commit(spark: SparkSession, cfg: Config, layer: str, table: str) -> tuple[int, dict]:
    """The version and operation metrics of the table's latest commit. A path table's are read from its newest
    commit file (``_delta_log/<version>.json``, whose commitInfo action DESCRIBE HISTORY reads too): DESCRIBE
    HISTORY is a Spark query, and stages ask this after every write."""
    name = cfg.table_name(layer, table)
    latest = _latest_commit_file(spark, name) if _is_path(name) else None
    if latest is not None:
        return latest
    row = spark.sql(f"DESCRIBE HISTORY {_ref(name)} LIMIT 1").collect()[0]
    return row["version"], dict(row["operationMetrics"] or {})


COMMIT_JSON = re.compile(r"^(\d+)\.json$")


def _latest_commit_file(spark: SparkSession, path: str) -> tuple[int, dict] | None:
    """(version, operationMetrics) from the newest ``<version>.json`` in a path table's ``_delta_log``; None when
    there is no commit or the log cannot be listed here (an object store under Spark Connect)."""
    versions = [int(m.group(1)) for m in map(COMMIT_JSON.match, _log_names(spark, path) or []) if m]
    if not versions:
        return None
    version = max(versions)
    commit = hadoop_fs.read_text(spark, f"{path.rstrip('/')}/_delta_log/{version:020d}.json")
    for line in commit.splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            metrics = action["commitInfo"].get("operationMetrics") or {}
            return version, {k: str(v) for k, v in metrics.items()}
    return version, {}


def missing_table(cfg: Config, layer: str, table: str) -> MissingTableError:
    return MissingTableError(
        f"Delta table {layer}.{table} not found at {cfg.table_name(layer, table)}: run the stage that writes it "
        f"first (bronze/silver: `csc-demand ingest`, gold: `csc-demand classify` or `outcomes`)")


def local_table_missing(cfg: Config, layer: str, table: str) -> bool:
    """The table would be on this machine and delta-rs finds no table there (the report reads such tables with
    delta-rs, asking it the same): known without Spark. (False for a table elsewhere, which only Spark can tell.)"""
    folder = local_folder(cfg, layer, table)
    return folder is not None and not LocalDeltaTable.is_deltatable(folder)


def refuse_missing_local_tables(cfg: Config, tables: Iterable[tuple[str, str]]) -> None:
    """Tables a stage reads, said missing before Spark starts (seconds) when they would be on this machine.
    Tables elsewhere are checked by ``read_table`` once Spark is up."""
    for layer, table in tables:
        if local_table_missing(cfg, layer, table):
            raise missing_table(cfg, layer, table)


def read_table(spark: SparkSession, cfg: Config, layer: str, table: str,
               version: int | None = None) -> DataFrame:
    name = cfg.table_name(layer, table)
    if not table_exists(spark, cfg, layer, table):
        raise missing_table(cfg, layer, table)
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(name) if _is_path(name) else reader.table(name)


def table_version(spark: SparkSession, cfg: Config, layer: str, table: str) -> int:
    """The latest committed version of a table (recorded in run summaries and MLflow runs)."""
    return _last_commit(spark, cfg, layer, table)[0]


def write_table(df: DataFrame, cfg: Config, layer: str, table: str) -> int:
    """Overwrite a Delta table with a DataFrame and return the version written. A table in the schema registry gets
    its column comments (in the schema the write stores) and its description; a new one is created with its rows
    and description in one commit (plain, unlike ensure_table's: delta-rs reads gold tables), or, when files
    without a Delta log are in its folder, by an overwrite and then its description in a second commit."""
    name = cfg.table_name(layer, table)
    spark = df.sparkSession
    registered = TABLES.get((layer, table))
    description_to_add = ""
    if registered is not None:
        df = with_comments(df, registered)
        if not table_exists(spark, cfg, layer, table):
            if retried(lambda: _created_with_rows(df, name, registered.description), f"creating {layer}.{table}"):
                return table_version(spark, cfg, layer, table)
            if not table_exists(spark, cfg, layer, table):  # not another process's table, which has its description
                description_to_add = registered.description
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    retried(lambda: _save(writer, name), f"{layer}.{table}")  # an overwrite: safe to repeat
    if description_to_add:  # created by the overwrite (stray files were there), which stores no description
        comment = f"COMMENT ON TABLE {_ref(name)} IS {_sql_string(description_to_add)}"
        retried(lambda: spark.sql(comment), f"{layer}.{table}")  # another process may be overwriting it too
    return table_version(spark, cfg, layer, table)


def _created_with_rows(df: DataFrame, name: str, description: str) -> bool:
    """CREATE TABLE AS SELECT with the description: one commit, where creating the table empty and then writing it
    took two. False when the table is there after all (another process created it first, or files without a Delta
    log are in its folder): the caller overwrites it then. Spark finds another's table before Delta starts;
    Delta finds one committed since (a non-empty location)."""
    from pyspark.errors import AnalysisException

    writer = df.writeTo(_ref(name)).using("delta")
    if description:
        writer = writer.tableProperty("comment", description)
    try:
        writer.create()
    except AnalysisException as err:
        if err.getCondition() not in ("TABLE_OR_VIEW_ALREADY_EXISTS", "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION"):
            raise
        return False
    return True


def merge_table(df: DataFrame, cfg: Config, layer: str, table: str, keys: list[str],
                update_condition: str | None = None) -> int:
    """Upsert ``df`` into a table on its natural ``keys`` (creating it on first use); returns the version.

    Re-merging the same rows changes nothing when ``update_condition`` limits updates to changed rows.
    """
    spark = df.sparkSession
    ensure_table(spark, cfg, layer, table, df.schema)  # never a create-by-overwrite, which could drop a rival's rows
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    retried(lambda: _merge(df, cfg, layer, table, on, update_condition, delete_unmatched=False), f"{layer}.{table}")
    return table_version(spark, cfg, layer, table)


def _merge(df: DataFrame, cfg: Config, layer: str, table: str, on: str, update_condition: str | None,
           delete_unmatched: bool) -> None:
    """MERGE ``df`` (alias s) into the table (alias t) on ``on``: update matched rows (where ``update_condition``),
    insert new ones, and with ``delete_unmatched`` delete the table's rows ``df`` does not have."""
    spark = df.sparkSession
    if not is_connect(spark):
        merge = delta_table(spark, cfg, layer, table).alias("t").merge(df.alias("s"), on)
        merge = merge.whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll()
        (merge.whenNotMatchedBySourceDelete() if delete_unmatched else merge).execute()
        return
    view = f"csc_merge_source_{uuid.uuid4().hex}"  # one per call: stages merge from several threads
    df.createOrReplaceTempView(view)
    try:
        matched = f"WHEN MATCHED AND ({update_condition}) THEN" if update_condition else "WHEN MATCHED THEN"
        spark.sql(f"MERGE INTO {_ref(cfg.table_name(layer, table))} AS t USING {view} AS s ON {on} "
                  f"{matched} UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
                  + (" WHEN NOT MATCHED BY SOURCE THEN DELETE" if delete_unmatched else ""))
    finally:
        spark.catalog.dropTempView(view)


def replace_rows(df: DataFrame, cfg: Config, layer: str, table: str, condition: str) -> tuple[int, dict]:
    """Atomically replace the rows matching ``condition`` (e.g. the files being re-loaded) by ``df``.

    One Delta commit: readers see the old rows or the new ones, never neither. Creates the table on first use
    (ensure_table). Returns the version written and its operation metrics (``numOutputRows``: the rows written).
    """
    ensure_table(df.sparkSession, cfg, layer, table, df.schema)
    retried(lambda: _save(df.write.format("delta").mode("overwrite").option("replaceWhere", condition),
                          cfg.table_name(layer, table)), f"{layer}.{table}")
    return last_commit_metrics(df.sparkSession, cfg, layer, table)


def delete_rows(spark: SparkSession, cfg: Config, layer: str, table: str, condition: str) -> int:
    """Delete the rows matching ``condition`` in one commit; returns the table's version."""
    retried(lambda: spark.sql(f"DELETE FROM {_ref(cfg.table_name(layer, table))} WHERE {condition}"),
            f"{layer}.{table}")
    return table_version(spark, cfg, layer, table)


def last_commit_metrics(spark: SparkSession, cfg: Config, layer: str, table: str) -> tuple[int, dict]:
    """Version and operation metrics (e.g. numOutputRows) of the table's latest commit."""
    return _last_commit(spark, cfg, layer, table)


def sync_table(df: DataFrame, cfg: Config, layer: str, table: str, keys: list[str], fresh: bool = False,
               ignore_in_compare: Iterable[str] = ()) -> tuple[int, int]:
    """Make a table hold exactly ``df`` by MERGE on its natural ``keys``: insert new keys, update changed rows,
    delete keys no longer present. Re-running with the same input changes no row's values; a row whose values
    differ only in ``ignore_in_compare`` (e.g. the load id) keeps its stored values. ``fresh``: the table was
    just created empty, so an overwrite does the same work cheaper (not an append: a blind append never conflicts,
    so it would land beside another process's rows; an overwrite read the table and conflicts). A conflicting
    commit is tried again (``retried``), as a MERGE. Returns the table's version and the rows it
    now holds, from the latest commit's metrics (nothing is counted again): every commit made here leaves the table
    holding its source rows, so when a MERGE changes nothing and makes no commit, the previous one still tells."""
    spark = df.sparkSession
    values = [c for c in df.columns if c not in keys and c not in set(ignore_in_compare)]
    changed = "NOT (" + " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in values) + ")" if values else None
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    overwrite = fresh

    def sync() -> None:
        nonlocal overwrite
        if overwrite:
            overwrite = False  # a conflict means the table is no longer as created: try again as a MERGE
            _save(df.write.format("delta").mode("overwrite"), cfg.table_name(layer, table))
            return
        _merge(df, cfg, layer, table, on, changed, delete_unmatched=True)

    ensure_table(spark, cfg, layer, table, df.schema)
    retried(sync, f"{layer}.{table}")
    version, metrics = last_commit_metrics(spark, cfg, layer, table)
    return version, int(metrics.get("numSourceRows", metrics.get("numOutputRows", 0)))  # MERGE: its source is df


COMMIT_FILE = re.compile(r"^\d+\.(json|checkpoint\..*)$")


def _log_names(spark: SparkSession, path: str) -> list[str] | None:
    """The names in a path table's ``_delta_log``; None without one."""
    if is_connect(spark):
        listed = _local_log_listing(path)
        return None if listed is None else [name for name, _ in listed[1:]]
    log = _jvm_log(spark, path)
    return None if log is None else [e.getPath().getName() for e in log[0].listStatus(log[1])]


def _log_listing(spark: SparkSession, path: str) -> list[tuple[str, float]] | None:
    """(name, modification time in seconds) of the ``_delta_log`` folder itself (first, named ".") and of each file
    in it; None without one. Through Hadoop's FileSystem, so local folders and cluster storage are treated alike;
    under Spark Connect, Python's file functions for a folder on this machine or in a volume (io.hadoop_fs)."""
    if is_connect(spark):
        return _local_log_listing(path)
    log = _jvm_log(spark, path)
    if log is None:
        return None
    fs, folder = log
    return [(".", fs.getFileStatus(folder).getModificationTime() / 1000)] + [
        (e.getPath().getName(), e.getModificationTime() / 1000) for e in fs.listStatus(folder)]


def _jvm_log(spark: SparkSession, path: str):
    """(Hadoop FileSystem, Path) of a path table's ``_delta_log``; None when it does not exist."""
    log = jvm(spark).org.apache.hadoop.fs.Path(path.rstrip("/") + "/_delta_log")
    fs = log.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return (fs, log) if fs.exists(log) else None


def _log_has_commit(spark: SparkSession, path: str) -> bool:
    names = _log_names(spark, path)
    return names is not None and any(COMMIT_FILE.match(name) for name in names)


def _uncommitted_log_age(spark: SparkSession, path: str) -> float | None:
    """Seconds since a ``_delta_log`` holding no commit last changed; None when there is no such folder (no log,
    or a committed table)."""
    listed = _log_listing(spark, path)
    if listed is None or any(COMMIT_FILE.match(name) for name, _ in listed):
        return None
    return time.time() - max(changed for _, changed in listed)


def ensure_table(spark: SparkSession, cfg: Config, layer: str, table: str, schema: StructType,
                 not_null: Iterable[str] = (), checks: dict[str, str] | None = None, comment: str | None = None) -> bool:
    """Create the table empty if missing, with Delta NOT NULL columns and CHECK constraints (one commit), so
    every later write that breaks them fails instead of storing bad rows; ``comment`` and the fields' ``comment``
    metadata become the table and column comments. Deletion vectors are on: a MERGE marks
    the rows it replaces or deletes instead of rewriting their files, and one that changes nothing writes nothing.
    Returns True when it created the table; False when it existed or another process created it meanwhile (two
    ingests starting together: the first commit wins, the other waits for it and uses the table).

    A ``_delta_log`` without any commit is either another process's creation under way or what a run killed while
    creating the table left (Delta then refuses to create it there). Only time tells them apart: a young one is
    waited for; one unchanged for STALE_CREATION_SECONDS is removed, since nothing in it was committed."""
    name = cfg.table_name(layer, table)

    def create() -> bool:
        if table_exists(spark, cfg, layer, table):
            return False
        age = _uncommitted_log_age(spark, name) if _is_path(name) else None
        if age is not None and age < STALE_CREATION_SECONDS:
            raise ConcurrentWriteException("another process is creating the table", None, None)
        if age is not None:
            _delete_folder(spark, name)
        try:
            _create(spark, name, schema, not_null, checks, comment)
            return True
        except Exception as err:
            if table_exists(spark, cfg, layer, table):  # another process's creation committed first
                return False
            # another's creation under way (Delta: a non-empty location), or committed since the look above: look
            # again after a pause (create() waits for a young log and removes a stale one)
            if _is_path(name) and _log_names(spark, name) is not None:
                raise ConcurrentWriteException("another process is creating the table", None, None) from err
            raise

    return retried(create, f"creating {layer}.{table}")


def _local_log_listing(path: str) -> list[tuple[str, float]] | None:
    if not locations.is_local(path):  # an object store under Spark Connect: no listing with times; see hadoop_fs
        return None
    log = os.path.join(locations.local_path(path), "_delta_log")
    if not os.path.isdir(log):
        return None
    return [(".", os.path.getmtime(log))] + [(n, os.path.getmtime(os.path.join(log, n))) for n in os.listdir(log)]


def _delete_folder(spark: SparkSession, path: str) -> None:
    if is_connect(spark):
        import shutil

        shutil.rmtree(locations.local_path(path))  # only reached for a local log (_local_log_listing)
        return
    folder = jvm(spark).org.apache.hadoop.fs.Path(path)
    folder.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(folder, True)


def _create(spark: SparkSession, name: str, schema: StructType, not_null: Iterable[str],
            checks: dict[str, str] | None, comment: str | None) -> None:
    """Create the table empty, with deletion vectors and the statistics columns (see ensure_table)."""
    required = set(not_null)
    properties = {"delta.enableDeletionVectors": "true"}
    stats = [c for c in STATS_COLUMNS if c in schema.fieldNames()]
    if stats:
        properties["delta.dataSkippingStatsColumns"] = ",".join(stats)
    for constraint, expression in (checks or {}).items():
        properties[f"delta.constraints.{constraint.lower()}"] = expression
    if is_connect(spark):
        spark.sql(_create_sql(name, schema, required, comment, properties))
        return
    builder = DeltaTable.createIfNotExists(spark)
    builder = builder.location(name) if _is_path(name) else builder.tableName(name)
    for f in schema.fields:
        builder = builder.addColumn(f.name, f.dataType, nullable=f.name not in required, comment=f.metadata.get("comment"))
    if comment:
        builder = builder.comment(comment)
    for key, value in properties.items():
        builder = builder.property(key, value)
    builder.execute()


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _create_sql(name: str, schema: StructType, required: set[str], comment: str | None,
                properties: dict[str, str]) -> str:
    """The CREATE TABLE IF NOT EXISTS statement doing what _create's DeltaTableBuilder does."""
    columns = ", ".join(
        f"`{f.name}` {f.dataType.simpleString()}" + (" NOT NULL" if f.name in required else "")
        + (f" COMMENT {_sql_string(f.metadata['comment'])}" if f.metadata.get("comment") else "")
        for f in schema.fields)
    return (f"CREATE TABLE IF NOT EXISTS {_ref(name)} ({columns}) USING delta"
            + (f" COMMENT {_sql_string(comment)}" if comment else "")
            + (" TBLPROPERTIES (" + ", ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in properties.items())
               + ")" if properties else ""))
