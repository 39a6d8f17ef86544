"""Nearest events on a person's timeline, by one window pass instead of a self-join.

Anchor rows (e.g. assessments) and event rows (e.g. CP plan starts) are stacked on one timeline per person and
ordered by date; the first non-null event value after (or the last before) each anchor is read with a window
frame, and only the anchor rows are kept.
"""
from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

BEFORE_SAME_DAY_EVENTS, SAME_DAY_EVENT, AFTER_SAME_DAY_EVENTS = 0, 1, 2


def with_nearest_events(anchors: DataFrame, anchor_date: str, events: DataFrame, event_date: str,
                        values: Sequence[str], partition_col: str, direction: str = "next") -> DataFrame:
    """Add to each anchor the nearest non-null value of each events column in ``values``.

    ``direction="next"`` reads the first value on or after the anchor date, ``"previous"`` the last on or
    before it (events on the anchor's own date count either way).
    Each value column is searched independently, so one stacked ``events`` frame can carry several event
    types in separate columns (null where the row is another type).
    """
    if direction not in ("next", "previous"):
        raise ValueError(f"direction must be 'next' or 'previous', got {direction!r}")
    clash = set(values) & set(anchors.columns)
    if clash:
        raise ValueError(f"event columns {sorted(clash)} already exist on the anchor rows")
    looks_ahead = direction == "next"
    # The anchor sorts before its same-day events when looking ahead and after them when looking back.
    anchor_rank = F.lit(BEFORE_SAME_DAY_EVENTS if looks_ahead else AFTER_SAME_DAY_EVENTS)
    stacked = (anchors.withColumn("_date", F.col(anchor_date)).withColumn("_rank", anchor_rank)
               .unionByName(events.select(partition_col, F.col(event_date).alias("_date"),
                                          F.lit(SAME_DAY_EVENT).alias("_rank"), *values)
                                   .where(F.col("_date").isNotNull()),
                            allowMissingColumns=True))
    ordered = Window.partitionBy(partition_col).orderBy("_date", "_rank", *values)
    frame = (ordered.rowsBetween(1, Window.unboundedFollowing) if looks_ahead
             else ordered.rowsBetween(Window.unboundedPreceding, -1))
    pick = F.first if looks_ahead else F.last
    # An anchor without a date has no neighbours (nulls would sort first and see the whole timeline).
    found = [F.when(F.col("_date").isNotNull(), pick(v, ignorenulls=True).over(frame)).alias(v) for v in values]
    return (stacked.select(*anchors.columns, "_rank", *found)
            .where(F.col("_rank") != SAME_DAY_EVENT)
            .drop("_rank"))
