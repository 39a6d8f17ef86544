"""Listing and small file operations through Hadoop's FileSystem API, the layer Spark itself reads and writes
through, so a source folder or lakehouse can be anywhere Spark can read (``csc_demand.locations``).

Under Spark Connect (Databricks serverless, a Connect server) there is no JVM to call: a location on this machine's
file system (a plain path, ``file:``, or a Unity Catalog volume ``/Volumes/...``, which serverless mounts as files)
is handled with Python's own file functions, which assumes the client and the server see the same files (one
machine, or a volume); an object-store URI is listed with Spark's ``binaryFile`` source (paths, sizes and times
only, no content read), and writing to one has no route (``ConnectUnsupportedError``).
"""
from __future__ import annotations

import os
import shutil

from pyspark.sql import SparkSession

from csc_demand import locations
from csc_demand.errors import ConfigurationError
from csc_demand.spark import is_connect, jvm


def _jvm_path(spark: SparkSession, location: str):
    path = jvm(spark).org.apache.hadoop.fs.Path(str(location))
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _local(spark: SparkSession, location: str) -> str | None:
    """The local path to use with Python's file functions: under Spark Connect for a location on this machine."""
    return locations.local_path(location) if is_connect(spark) and locations.is_local(location) else None


def no_connect_route(what: str, location: str) -> ConfigurationError:
    return ConfigurationError(
        f"{what} {location}: under Spark Connect (Databricks serverless, a Connect server) csc-demand reaches only "
        "files on this machine or in a Unity Catalog volume (/Volumes/...) with Python's own file functions, and an "
        "object store has no other route without Spark's JVM: put the lakehouse in a volume or on this machine, or "
        "run on a classic cluster (docs/running.md, \"Spark Connect and serverless\")")


def qualified(spark: SparkSession, location: str) -> str:
    """The location as Hadoop names it (``file:/abs/path``, ``s3a://bucket/key``)."""
    local = _local(spark, location)
    if local is not None:
        return "file:" + local
    if is_connect(spark):
        return str(location)
    path, fs = _jvm_path(spark, location)
    return fs.makeQualified(path).toString()


def is_dir(spark: SparkSession, location: str) -> bool:
    local = _local(spark, location)
    if local is not None:
        return os.path.isdir(local)
    if is_connect(spark):
        try:
            return any(f != str(location).rstrip("/") for f in _listed(spark, location))
        except Exception as err:  # Spark's PATH_NOT_FOUND
            if "PATH_NOT_FOUND" in str(err) or "does not exist" in str(err):
                return False
            raise
    path, fs = _jvm_path(spark, location)
    try:
        return bool(fs.getFileStatus(path).isDirectory())
    except Exception as err:  # py4j wraps java.io.FileNotFoundException
        if "FileNotFoundException" in str(err):
            return False
        raise


def _listed(spark: SparkSession, location: str) -> list[str]:
    """Files under ``location`` from Spark's binaryFile source: only path is selected, so no content is read.
    Like every Spark file source it passes over names starting with ``_`` or ``.`` below the location."""
    rows = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(str(location))
            .select("path").collect())
    return sorted(row["path"] for row in rows)


def list_files(spark: SparkSession, location: str) -> list[str]:
    """Every file under ``location`` (recursively), as qualified Hadoop paths. One listing call on object stores."""
    local = _local(spark, location)
    if local is not None:
        return sorted("file:" + os.path.join(folder, name) for folder, _, names in os.walk(local) for name in names)
    if is_connect(spark):
        return _listed(spark, location)
    path, fs = _jvm_path(spark, location)
    found = fs.listFiles(path, True)
    files = []
    while found.hasNext():
        files.append(found.next().getPath().toString())
    return files


def read_text(spark: SparkSession, location: str) -> str:
    """A small text file's content (a Delta commit file)."""
    local = _local(spark, location)
    if local is not None:
        with open(local, encoding="utf-8") as file:
            return file.read()
    if is_connect(spark):
        raise no_connect_route("reading", location)
    path, fs = _jvm_path(spark, location)
    stream = fs.open(path)
    try:
        return jvm(spark).org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def write_text(location: str, text: str) -> None:
    """Write a small text file (a run summary) through the active Spark session's FileSystem."""
    spark = SparkSession.getActiveSession()
    if spark is None:
        raise RuntimeError(f"writing {location} needs a Spark session (its file system is reached through Hadoop)")
    if is_connect(spark):
        raise no_connect_route("writing", location)
    path, fs = _jvm_path(spark, location)
    out = fs.create(path, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def delete_file(spark: SparkSession, location: str) -> None:
    """Delete one file (not a folder) through Hadoop's FileSystem."""
    local = _local(spark, location)
    if local is not None:
        os.remove(local)
        return
    if is_connect(spark):
        raise no_connect_route("deleting", location)
    path, fs = _jvm_path(spark, location)
    fs.delete(path, False)


def copy_folder_from_local(spark: SparkSession, folder: str, location: str) -> None:
    """Copy a local folder's contents to ``location`` (overwriting files of the same name) through Hadoop's
    FileSystem: for outputs that libraries write only to local files (the report's HTML, PNG and XLSX)."""
    local = _local(spark, location)
    if local is not None:
        shutil.copytree(folder, local, dirs_exist_ok=True)
        return
    if is_connect(spark):
        raise no_connect_route("copying the report to", location)
    path, fs = _jvm_path(spark, location)
    hadoop = jvm(spark).org.apache.hadoop
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    local_fs = hadoop.fs.FileSystem.getLocal(conf)
    fs.mkdirs(path)
    # FileUtil.copy writes through fs.create, as Spark and Delta do; S3A's own copyFromLocalFile uploads with the
    # AWS SDK's asynchronous client, which some S3-compatible servers answer with a bare "100 Continue" (an error).
    for entry in local_fs.listStatus(hadoop.fs.Path(str(folder))):
        hadoop.fs.FileUtil.copy(local_fs, entry.getPath(), fs, path, False, True, conf)
