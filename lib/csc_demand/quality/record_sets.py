"""Apply a table's rules to staged records, and the rules that compare records with each other.

After ``apply_rules`` every staged record has ``rule_id`` (null = accepted) and ``with_parent`` (true when it is
rejected only because the record it belongs to was rejected: it is counted as quarantined for reconciliation but
its raw data sits in the parent's quarantine row).
"""
from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec

from csc_demand.quality.checks import first_failing_rule
from csc_demand.quality.rules import Checks

FAR_FUTURE = "9999-12-31"


def apply_rules(df: DataFrame, checks: Checks) -> DataFrame:
    """Add rule_id (parent's rule first, then CSC-RECORD for unparseable records, then the table's rules)."""
    parent = F.col("parent_rule") if "parent_rule" in df.columns else F.lit(None).cast("string")
    record_checks = [("CSC-RECORD", F.col("corrupt"))] if "corrupt" in df.columns else []
    return (df.withColumn("with_parent", parent.isNotNull())
              .withColumn("rule_id", first_failing_rule(record_checks + checks, already=parent)))


def flag_duplicates(df: DataFrame, keys: list[str], order: Sequence[Column | str]) -> DataFrame:
    """CSC-DUP on every accepted record after the first with the same natural key in the same file."""
    accepted = F.col("rule_id").isNull()
    window = Window.partitionBy(*keys, "source_file", accepted).orderBy(*order)  # person first: see by_person
    return df.withColumn("rule_id", F.when(accepted & (F.row_number().over(window) > 1), F.lit("CSC-DUP"))
                                     .otherwise(F.col("rule_id")))


def _child_records_by_start(start: str, order: Sequence[Column | str]) -> WindowSpec:
    """A child's accepted (or its rejected) records of one file, in order of ``start`` then ``order``."""
    return Window.partitionBy("child_key", "source_file", F.col("rule_id").isNull()).orderBy(F.col(start), *order)


def flag_overlapping_plans(df: DataFrame, start: str, end: str, order: Sequence[Column | str]) -> DataFrame:
    """8940 on an accepted plan that starts before an earlier accepted plan of the child (same file) has ended.

    The later plan is the bad one. An open plan (no end date) overlaps every plan that starts after it.
    """
    accepted = F.col("rule_id").isNull()
    window = _child_records_by_start(start, order).rowsBetween(Window.unboundedPreceding, -1)
    latest_end_before = F.max(F.coalesce(F.col(end), F.lit(FAR_FUTURE).cast("date"))).over(window)
    return df.withColumn("rule_id", F.when(accepted & (F.col(start) < latest_end_before), F.lit("8940"))
                                     .otherwise(F.col("rule_id")))


def flag_starts_before_previous_end(df: DataFrame, start: str, end: str, rule_id: str,
                                   order: Sequence[Column | str]) -> DataFrame:
    """``rule_id`` on an accepted record that starts before the previous accepted record of the child (same file,
    by start) has ended; an open previous record is left to other rules (SSDA903 rule 501 reads it this way)."""
    accepted = F.col("rule_id").isNull()
    window = _child_records_by_start(start, order)
    previous_end = F.lag(F.col(end)).over(window)
    return df.withColumn("rule_id", F.when(accepted & (F.col(start) < previous_end), F.lit(rule_id))
                                     .otherwise(F.col("rule_id")))


def flag_open_before_a_later_record(df: DataFrame, start: str, is_open: Column, rule_id: str,
                                    order: Sequence[Column | str]) -> DataFrame:
    """``rule_id`` on an accepted record left open although a later accepted record of the child (same file, by
    start) follows it (SSDA903 rule 142: an episode without DEC or REC that is not the child's last)."""
    accepted = F.col("rule_id").isNull()
    window = _child_records_by_start(start, order)
    followed = F.lead(F.col(start)).over(window).isNotNull()
    return df.withColumn("rule_id", F.when(accepted & is_open & followed, F.lit(rule_id))
                                     .otherwise(F.col("rule_id")))


def by_person(df: DataFrame, person: str) -> DataFrame:
    """Hash-partition records by the person they belong to (``child_key`` or ``pupil_key``). Every later window
    and grouping here keys on that person plus more columns, so Spark runs them all inside these partitions
    (sorting, no further shuffle of the wide records): one shuffle per record set instead of one per step.
    Those windows and groupings list the person's key first: Spark sorts on a prefix of the first column, and the
    source file (one value for millions of rows) first made every comparison walk all the columns."""
    return df.repartition(person)


def latest_copy(df: DataFrame, keys: list[str], order: list[Column] | None = None) -> DataFrame:
    """One row per natural key (the ``keys`` columns) across annual files: the latest collection year wins (then
    ``order``), as DOMAIN.md says. Keyed on columns, not on a hash of them, so the partitioning by person holds."""
    ranking = [F.col("collection_year").desc(), *(order or []), F.col("source_file").desc()]
    window = Window.partitionBy(*keys).orderBy(*ranking)
    # the same partitioning and order as the ranking, whole partition as frame: Spark computes both in one pass
    # over one sort (an unordered window of its own sorted every record set a second time)
    every_copy = window.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    first_year = F.min("collection_year").over(every_copy)
    return (df.withColumn("first_collection_year", first_year)
              .withColumn("_copy", F.row_number().over(window))
              .filter(F.col("_copy") == 1)
              .drop("_copy"))
