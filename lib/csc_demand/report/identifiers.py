"""Every child and pupil identifier in the lakehouse, raw (bronze) and pseudonymous (silver): the ``forbidden``
list ``publish.scan_outputs`` checks a report folder against before it leaves. An LA whose ids are plain numbers
may see a false alarm where a published number equals one (the output checker dismisses it); a leak is not missed."""
from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

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


def table_identifiers(spark: SparkSession, cfg: Config, layer: str, table: str) -> set[str]:
    """The distinct non-blank identifiers of one table (none when it is absent), collected to the driver: at
    national scale some millions of short strings over all tables."""
    if not delta.table_exists(spark, cfg, layer, table):
        return set()
    df = delta.read_table(spark, cfg, layer, table)
    frames = [df.select(F.trim(F.col(c).cast("string")).alias("identifier"))
              for c in IDENTIFIER_COLUMNS[(layer, table)] if _has(df, c)]
    if not frames:
        return set()
    union: DataFrame = reduce(DataFrame.unionByName, frames)
    return {r["identifier"] for r in union.filter(F.col("identifier") != "").distinct().collect()}


def lakehouse_identifiers(spark: SparkSession, cfg: Config, map_=map) -> set[str]:
    """The identifiers of every table present; ``map_`` (e.g. a thread pool's ``map``) may read tables at once."""
    return set().union(*map_(lambda table: table_identifiers(spark, cfg, *table), IDENTIFIER_COLUMNS))


def _has(df: DataFrame, column: str) -> bool:
    head, *rest = column.split(".")
    if head not in df.columns:
        return False
    parent = df.schema[head].dataType
    return not rest or (isinstance(parent, StructType) and rest[0] in parent.fieldNames())
