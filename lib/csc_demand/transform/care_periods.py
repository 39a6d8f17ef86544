"""Periods of care from 903 episodes (DOMAIN.md section 5), one window pass per child, no self-join.

A period starts at an episode with RNE = S (or at an episode that does not follow an X1 ending, so broken chains
still give a period rather than vanish); X1-linked episodes continue it; it ends at the first episode whose REC is
not X1, or stays open (period_end null) while its last episode is open or ends X1 with no successor yet.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from csc_demand.codes import REC_CONTINUES

CHANGE_OF_LEGAL_STATUS_ONLY = "L"  # every other RNE starts a new placement


def care_periods(episodes: DataFrame) -> DataFrame:
    """silver.care_episodes -> silver.care_periods (child_key, period_start)."""
    by_child = Window.partitionBy("child_key").orderBy("start_date")
    previous_rec = F.lag("rec").over(by_child)
    starts_period = (F.col("rne") == F.lit("S")) | previous_rec.isNull() | (previous_rec != F.lit(REC_CONTINUES))
    numbered = (episodes.withColumn("_starts", starts_period.cast("int"))
                        .withColumn("period_number", F.sum("_starts").over(
                            by_child.rowsBetween(Window.unboundedPreceding, Window.currentRow))))
    last = F.max_by(F.struct("end_date", "rec"), "start_date")
    periods = numbered.groupBy("child_key", "period_number").agg(
        F.first("la_code").alias("la_code"),
        F.min("start_date").alias("period_start"),
        last.alias("_last"),
        F.count(F.lit(1)).cast("int").alias("n_episodes"),
        F.sum((F.col("rne") != F.lit(CHANGE_OF_LEGAL_STATUS_ONLY)).cast("int")).cast("int").alias("n_placements"),
        F.max((F.col("rne") == F.lit("S")).cast("int")).cast("boolean").alias("starts_with_rne_s"))
    ended = F.col("_last.rec").isNotNull() & (F.col("_last.rec") != F.lit(REC_CONTINUES))
    return periods.select(
        "child_key", "la_code", "period_start",
        F.when(ended, F.col("_last.end_date")).alias("period_end"),
        F.col("_last.rec").alias("end_rec"),
        F.col("period_number").cast("int").alias("period_number"), "n_episodes", "n_placements",
        "starts_with_rne_s")
