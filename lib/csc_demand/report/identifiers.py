"""Every child and pupil identifier in the lakehouse, raw (bronze) and pseudonymous (silver): the ``forbidden``
list ``publish.scan_outputs`` checks a report folder against before it leaves. An LA whose ids are plain numbers
may see a false alarm where a published number equals one (the output checker dismisses it); a leak is not missed.

Tables on this machine are read with delta-rs (no Spark needed, so the report's pages need not wait for Spark to
start); tables on object storage or in a catalog through Spark."""
from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import pyarrow as pa
from deltalake import DeltaTable as LocalDeltaTable
from deltalake import QueryBuilder
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from csc_demand.config import Config
from csc_demand.io import delta
from csc_demand.report.publish import NO_STRINGS, STRING

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


def table_identifiers(spark: SparkSession, cfg: Config, layer: str, table: str) -> pa.Array:
    """The distinct non-blank identifiers of one table read through Spark (none when it is absent), collected to
    the driver: at national scale some millions of short strings over all tables."""
    if not delta.table_exists(spark, cfg, layer, table):
        return NO_STRINGS
    df = delta.read_table(spark, cfg, layer, table)
    present = _spark_columns(df.schema)
    frames = [df.select(F.trim(F.col(c).cast("string")).alias("identifier"))
              for c in IDENTIFIER_COLUMNS[(layer, table)] if _present(present, c)]
    if not frames:
        return NO_STRINGS
    union: DataFrame = reduce(DataFrame.unionByName, frames)
    return pa.array([r["identifier"] for r in union.filter(F.col("identifier") != "").distinct().collect()], STRING)


def local_table_identifiers(folder: str, layer: str, table: str) -> pa.Array:
    """The same as ``table_identifiers`` for a table folder on this machine, read with delta-rs (its query engine
    applies the deletion vectors bronze tables carry). Held in Arrow, never as Python strings: at national scale
    they are tens of millions."""
    if not LocalDeltaTable.is_deltatable(folder):
        return NO_STRINGS
    source = LocalDeltaTable(folder)
    present = _delta_columns(source.schema())
    columns = [c for c in IDENTIFIER_COLUMNS[(layer, table)] if _present(present, c)]
    if not columns:
        return NO_STRINGS
    # as Spark's trim: spaces only
    selects = " union ".join(f"select distinct trim(cast({_sql(c)} as varchar)) as identifier from t "
                             f"where trim(cast({_sql(c)} as varchar)) <> ''" for c in columns)
    result = pa.table(QueryBuilder().register("t", source).execute(selects))
    return result.column("identifier").cast(STRING).combine_chunks()


def lakehouse_identifiers(cfg: Config, spark: Callable[[], SparkSession], map_=map) -> pa.Array:
    """The identifiers of every table present (one Arrow array; an identifier in two tables is in it twice);
    ``spark`` gives the session, asked for only when a table is not on this machine; ``map_`` (e.g. a thread
    pool's ``map``) may read tables at once."""
    def read(table: tuple[str, str]) -> pa.Array:
        folder = delta.local_folder(cfg, *table)
        return (local_table_identifiers(folder, *table) if folder is not None
                else table_identifiers(spark(), cfg, *table))
    return pa.concat_arrays([NO_STRINGS, *map_(read, IDENTIFIER_COLUMNS)])


def _present(columns: dict[str, set[str] | None], column: str) -> bool:
    """Whether ``column`` (or ``struct.field``) is in a schema given as {column: its struct's fields, or None}."""
    head, *rest = column.split(".")
    if head not in columns:
        return False
    fields = columns[head]
    return not rest or (fields is not None and rest[0] in fields)


def _spark_columns(schema: StructType) -> dict[str, set[str] | None]:
    return {f.name: set(f.dataType.fieldNames()) if isinstance(f.dataType, StructType) else None for f in schema}


def _delta_columns(schema) -> dict[str, set[str] | None]:
    """The same for delta-rs's schema, whose struct types say type == "struct"."""
    return {f.name: {g.name for g in f.type.fields} if getattr(f.type, "type", None) == "struct" else None
            for f in schema.fields}


def _sql(column: str) -> str:
    """``struct.field`` -> ``"struct"['field']`` (DataFusion SQL)."""
    head, *rest = column.split(".")
    return f'"{head}"' + "".join(f"['{r}']" for r in rest)
