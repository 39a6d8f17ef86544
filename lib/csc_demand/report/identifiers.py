"""Every child and pupil identifier in the lakehouse, raw (bronze) and pseudonymous (silver): the ``forbidden``
list ``publish.scan_outputs`` checks a report folder against before it leaves. An LA whose ids are plain numbers
may see a false alarm where a published number equals one (the output checker dismisses it); a leak is not missed."""
from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.config import Config
from csc_demand.io import delta

# (layer, table) -> identifier columns (struct fields as "struct.field")
IDENTIFIER_COLUMNS = {
    ("bronze", "cin_census"): ("ChildIdentifiers.LAchildID", "ChildIdentifiers.UPN", "ChildIdentifiers.FormerUPN"),
    ("bronze", "ssda903_header"): ("CHILD", "UPN"),
    ("bronze", "ssda903_episodes"): ("CHILD",),
    ("bronze", "npd_cin"): ("LAchildID_Anon", "PupilMatchingRefAnonymous"),
    ("bronze", "npd_cpp"): ("LAchildID_Anon", "PupilMatchingRefAnonymous"),
    ("bronze", "npd_ks4"): ("PupilMatchingRefAnonymous",),
    ("bronze", "npd_exclusions"): ("PupilMatchingRefAnonymous",),
    ("bronze", "npd_sen"): ("PupilMatchingRefAnonymous",),
    ("silver", "children"): ("child_key", "pupil_key"),
    ("silver", "school_outcomes"): ("pupil_key",),
}


def lakehouse_identifiers(spark: SparkSession, cfg: Config) -> set[str]:
    """The distinct non-blank identifiers of every table present (one Spark job; collected to the driver: at
    national scale some millions of short strings)."""
    frames = []
    for (layer, table), columns in IDENTIFIER_COLUMNS.items():
        if delta.table_exists(spark, cfg, layer, table):
            df = delta.read_table(spark, cfg, layer, table)
            frames += [df.select(F.trim(F.col(c).cast("string")).alias("identifier")) for c in columns
                       if _has(df, c)]
    if not frames:
        return set()
    union: DataFrame = reduce(DataFrame.unionByName, frames)
    rows = union.filter(F.col("identifier") != "").distinct().collect()
    return {r["identifier"] for r in rows}


def _has(df: DataFrame, column: str) -> bool:
    head, *rest = column.split(".")
    if head not in df.columns:
        return False
    return not rest or rest[0] in df.schema[head].dataType.fieldNames()
