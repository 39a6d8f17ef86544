"""Rejected records -> ``silver.quarantine`` rows: where (file, LA, locator), why (rule id + message), what (raw
record with identifiers replaced by pseudonyms; quarantine lives in silver, so no raw identifier may reach it)."""
from __future__ import annotations

from itertools import chain

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.catalog import RULES

QUARANTINE_COLUMNS = ["quarantine_key", "load_id", "source_file", "la_code", "collection_year", "child_key",
                      "locator", "rule_id", "message", "raw_record", "table_name", "occurrences", "loaded_at"]
REMOVED = "[removed]"


def rule_message(rule_id: Column) -> Column:
    messages = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in RULES.items()))
    return F.try_element_at(messages, rule_id)


def masked_xml(text: Column, tags: tuple[str, ...] = ("LAchildID", "UPN", "FormerUPN")) -> Column:
    """Raw XML text with identifier elements emptied (for records Spark could not parse)."""
    pattern = r"<(" + "|".join(tags) + r")>[^<]*</(" + "|".join(tags) + r")>"
    return F.regexp_replace(text, pattern, f"<$1>{REMOVED}</$2>")


def masked_csv_line(text: Column, id_positions: tuple[int, ...]) -> Column:
    """A raw CSV line with the identifier fields (0-based positions) replaced."""
    fields = F.split(text, ",")
    masked = F.transform(fields, lambda f, i: F.when(i.isin(list(id_positions)), F.lit(REMOVED)).otherwise(f))
    return F.array_join(masked, ",")


def line_locator(line: Column) -> Column:
    """Where a CSV record is: ``<source_file>:<line>`` (line 1 is the header); a record made of several lines (an
    NPD referral: one line per assessment) is located by its first line (``first_line``)."""
    return F.concat(F.col("source_file"), F.lit(":"), line.cast("string"))


def line_order() -> list[Column]:
    """Sort key putting records in the order of their ``locator`` lines: shorter first, so line 9 comes before 10."""
    return [F.length("locator"), F.col("locator")]


def first_line() -> Column:
    """Aggregate: the first line of a record grouped from several CSV lines, for ``line_locator``. A plain hash
    aggregate: listing every line (collect_list) made the grouping sort its rows, 23 s of 318 at national scale."""
    return F.min("line_number")


def quarantine_rows(df: DataFrame, table_name: str) -> DataFrame:
    """The records a table's rules rejected themselves (not those rejected with their parent)."""
    return (df.filter(F.col("rule_id").isNotNull() & ~F.col("with_parent"))
              .select("source_file", "la_code", "collection_year", "child_key", "locator", "rule_id",
                      rule_message(F.col("rule_id")).alias("message"), "raw_record",
                      F.lit(table_name).alias("table_name")))


def finalise_quarantine(rows: DataFrame, load_id: str, loaded_at: Column) -> DataFrame:
    """One row per distinct rejected record (identical copies counted in ``occurrences``), keyed for MERGE."""
    group = ["source_file", "la_code", "collection_year", "child_key", "locator", "rule_id", "message",
             "raw_record", "table_name"]
    key = F.sha2(F.concat_ws("|", "table_name", "source_file", "locator", "rule_id", "raw_record"), 256)
    return (rows.groupBy(*group).agg(F.count(F.lit(1)).cast("int").alias("occurrences"))
                .withColumn("quarantine_key", key)
                .withColumn("load_id", F.lit(load_id))
                .withColumn("loaded_at", loaded_at)
                .select(*QUARANTINE_COLUMNS))
