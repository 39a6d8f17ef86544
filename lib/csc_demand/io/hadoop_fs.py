"""Listing and small file operations through Hadoop's FileSystem API, the layer Spark itself reads and writes
through, so a source folder or lakehouse can be anywhere Spark can read (``csc_demand.locations``)."""
from __future__ import annotations

from pyspark.sql import SparkSession

from csc_demand.spark import jvm


def _jvm_path(spark: SparkSession, location: str):
    path = jvm(spark).org.apache.hadoop.fs.Path(str(location))
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def qualified(spark: SparkSession, location: str) -> str:
    """The location as Hadoop names it (``file:/abs/path``, ``s3a://bucket/key``)."""
    path, fs = _jvm_path(spark, location)
    return fs.makeQualified(path).toString()


def is_dir(spark: SparkSession, location: str) -> bool:
    path, fs = _jvm_path(spark, location)
    try:
        return bool(fs.getFileStatus(path).isDirectory())
    except Exception as err:  # py4j wraps java.io.FileNotFoundException
        if "FileNotFoundException" in str(err):
            return False
        raise


def list_files(spark: SparkSession, location: str) -> list[str]:
    """Every file under ``location`` (recursively), as qualified Hadoop paths. One listing call on object stores."""
    path, fs = _jvm_path(spark, location)
    found = fs.listFiles(path, True)
    files = []
    while found.hasNext():
        files.append(found.next().getPath().toString())
    return files


def write_text(location: str, text: str) -> None:
    """Write a small text file (a run summary) through the active Spark session's FileSystem."""
    spark = SparkSession.getActiveSession()
    if spark is None:
        raise RuntimeError(f"writing {location} needs a Spark session (its file system is reached through Hadoop)")
    path, fs = _jvm_path(spark, location)
    out = fs.create(path, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def copy_folder_from_local(spark: SparkSession, folder: str, location: str) -> None:
    """Copy a local folder's contents to ``location`` (overwriting files of the same name) through Hadoop's
    FileSystem: for outputs that libraries write only to local files (the report's HTML, PNG and XLSX)."""
    path, fs = _jvm_path(spark, location)
    hadoop = jvm(spark).org.apache.hadoop
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    local = hadoop.fs.FileSystem.getLocal(conf)
    fs.mkdirs(path)
    # FileUtil.copy writes through fs.create, as Spark and Delta do; S3A's own copyFromLocalFile uploads with the
    # AWS SDK's asynchronous client, which some S3-compatible servers answer with a bare "100 Continue" (an error).
    for entry in local.listStatus(hadoop.fs.Path(str(folder))):
        hadoop.fs.FileUtil.copy(local, entry.getPath(), fs, path, False, True, conf)
