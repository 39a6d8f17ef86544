"""Two returns for one LA and collection year (a stale copy in another folder, a resubmission): which one loads.

Checked files of one kind are duplicates when they state the same LA and collection year (NPD files hold every LA
of their year, so two of one kind for a year are duplicates too). CIN census XML says when it was made
(Header/Source/DateTime): the latest copy loads and the others are ``superseded`` (not loaded; rows an earlier run
loaded from them are removed). When that cannot decide (a DateTime missing, unreadable or tied) and for CSV files,
which carry no date, every copy is refused, naming the others, so nobody's choice is made by a file name.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from pyspark.sql import SparkSession

from csc_demand.io.file_check import FileCheck

SUPERSEDED = "superseded"


def header_datetime(spark: SparkSession, path: str) -> datetime | None:
    """A CIN census file's Header/Source/DateTime (None when missing or not an ISO date-time). Through Spark's
    XML source, so it reads wherever the returns are stored; only duplicates are read, one small job each."""
    rows = (spark.read.format("xml").option("rowTag", "Header").schema("Source STRUCT<DateTime: STRING>")
            .load(path).collect())
    text = (rows[0]["Source"]["DateTime"] or "").strip() if rows and rows[0]["Source"] else ""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _what(check: FileCheck) -> str:
    la = f"LA {check.file.la_code} " if check.file.la_code else ""
    return f"{check.file.kind} {la}{check.file.collection_year}"


def resolve_duplicates(spark: SparkSession, checks: list[FileCheck]) -> tuple[list[FileCheck], list[str]]:
    """Checks -> the same checks with duplicates no longer ``ok`` (the reason says superseded or refused and names
    the other copies), and one line per decision for the progress log and run summary."""
    groups: dict[tuple, list[FileCheck]] = defaultdict(list)
    for check in checks:
        if check.ok:
            groups[(check.file.kind, check.file.la_code, check.file.collection_year)].append(check)
    verdicts: dict[str, str] = {}
    notes = []
    for copies in (group for group in groups.values() if len(group) > 1):
        names = sorted(c.file.source_file for c in copies)
        stamps = ({c.file.source_file: header_datetime(spark, c.file.path) for c in copies}
                  if copies[0].file.kind == "cin_xml" else {})
        known = sorted((stamp, name) for name, stamp in stamps.items() if stamp is not None)
        if len(known) == len(copies) and known[-1][0] > known[-2][0]:
            latest_stamp, latest = known[-1]
            dated = {name: stamp for stamp, name in known}  # every copy has a stamp here
            for name in names:
                if name != latest:
                    verdicts[name] = (f"{SUPERSEDED} by {latest}: both are the {_what(copies[0])} return and that "
                                      f"one's Header DateTime is later ({latest_stamp.isoformat()} vs "
                                      f"{dated[name].isoformat()})")
            notes.append(f"two or more returns for {_what(copies[0])}: loaded {latest} (latest Header DateTime "
                         f"{latest_stamp.isoformat()}), superseded {', '.join(n for n in names if n != latest)}")
        else:
            why = ("their Header DateTimes are missing, unreadable or equal" if copies[0].file.kind == "cin_xml"
                   else "CSV files carry no date to choose by")
            for name in names:
                others = ", ".join(n for n in names if n != name)
                verdicts[name] = (f"another file is also the {_what(copies[0])} return ({others}) and {why}: remove "
                                  "the copy that is not current and run ingest again")
            notes.append(f"two or more returns for {_what(copies[0])} and {why}: refused {', '.join(names)}")
    resolved = [replace(c, ok=False, reason=verdicts[c.file.source_file]) if c.file.source_file in verdicts else c
                for c in checks]
    return resolved, notes


def is_superseded(check: FileCheck) -> bool:
    return (check.reason or "").startswith(SUPERSEDED)
