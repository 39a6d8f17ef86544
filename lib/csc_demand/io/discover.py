"""Find input files under a source folder and tell their kind from the name (docs/formats.md).

The folder is listed through Hadoop's FileSystem (``io.hadoop_fs``), so it may be local or on an object store.

Names starting with "_" or "." (files or folders, e.g. synth's ``_truth/``) are skipped. A file whose name matches
no kind is listed as unrecognised so the run summary can say so instead of ignoring it silently.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pyspark.sql import SparkSession

from csc_demand import locations
from csc_demand.errors import InputFileError
from csc_demand.io import hadoop_fs

# kind -> name pattern; groups "la" and "year" where the name carries them
KIND_PATTERNS: dict[str, re.Pattern] = {
    "cin_xml": re.compile(r"^cin_(?P<la>\d{3})_(?P<year>\d{4})\.xml$", re.IGNORECASE),
    "ssda903_header": re.compile(r"^ssda903_(?P<la>\d{3})_(?P<year>\d{4})_header\.csv$", re.IGNORECASE),
    "ssda903_episodes": re.compile(r"^ssda903_(?P<la>\d{3})_(?P<year>\d{4})_episodes\.csv$", re.IGNORECASE),
    "npd_cin": re.compile(r"^cin_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_cpp": re.compile(r"^cpp_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_ks4": re.compile(r"^ks4_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_exclusions": re.compile(r"^exclusions_(?P<year>\d{4})\.csv$", re.IGNORECASE),
    "npd_sen": re.compile(r"^sen_(?P<year>\d{4})\.csv$", re.IGNORECASE),
}
KINDS = tuple(KIND_PATTERNS)


@dataclass(frozen=True)
class SourceFile:
    path: str            # absolute: a local path, or a URI (s3a://...) off this machine; what Spark reads
    source_file: str     # path relative to the source folder, "/"-separated: the name used in every table
    kind: str
    la_code: str | None
    collection_year: int


def kind_of(name: str) -> tuple[str, str | None, int] | None:
    for kind, pattern in KIND_PATTERNS.items():
        match = pattern.match(name)
        if match:
            groups = match.groupdict()
            return kind, groups.get("la"), int(groups["year"])
    return None


def refuse_missing_local_source(source: str, plain_path_is_local: bool) -> None:
    """A source folder on this machine that is not there: said before Spark starts. A plain path is on this
    machine when ``plain_path_is_local`` (Spark in local mode); otherwise it goes through Hadoop's default file
    system (HDFS on some clusters), which `discover` asks once Spark has started."""
    if locations.scheme(source) == "file" or (plain_path_is_local and locations.is_local(source)):
        if not os.path.isdir(locations.local_path(source)):
            raise InputFileError(missing_source(source))


def missing_source(source: str | os.PathLike) -> str:
    return f"source folder {source} does not exist or is not a folder: give the folder that holds the returns"


def discover(spark: SparkSession, source: str | os.PathLike) -> tuple[list[SourceFile], list[str]]:
    """All recognised input files under ``source`` (sorted by relative path) and the unrecognised ones."""
    if not hadoop_fs.is_dir(spark, str(source)):
        raise InputFileError(missing_source(source))
    root = hadoop_fs.qualified(spark, str(source)).rstrip("/") + "/"
    found: list[SourceFile] = []
    unrecognised: list[str] = []
    for path in hadoop_fs.list_files(spark, str(source)):
        rel = path[len(root):]
        if any(part.startswith(("_", ".")) for part in rel.split("/")):
            continue
        parsed = kind_of(rel.rsplit("/", 1)[-1])
        if parsed is None:
            unrecognised.append(rel)
            continue
        kind, la_code, year = parsed
        # Local files keep their plain path, the form the readers' file URIs decode to (io.file_columns).
        found.append(SourceFile(locations.local_path(path) if locations.is_local(path) else path, rel, kind,
                                la_code, year))
    return sorted(found, key=lambda f: f.source_file), sorted(unrecognised)
