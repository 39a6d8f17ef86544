"""Grouped shares: flagged rows per year and category, and the group memberships used by every breakdown."""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def rate_by_year_and_category(df: DataFrame, year_col: str, flag_col: str, count_name: str, flag_name: str,
                              rate_name: str) -> DataFrame:
    """Columns: ``year_col``, category_name ("all"; "unknown" when null), ``count_name``, ``flag_name``,
    ``rate_name``."""
    category = F.coalesce(F.col("category_name"), F.lit("unknown"))
    by_category = df.select(year_col, category.alias("category_name"), flag_col)
    stacked = by_category.unionByName(by_category.withColumn("category_name", F.lit("all")))
    return (stacked.groupBy(year_col, "category_name")
            .agg(F.count(F.lit(1)).alias(count_name), F.sum(F.col(flag_col).cast("long")).alias(flag_name))
            .withColumn(rate_name, F.col(flag_name) / F.col(count_name))
            .select(year_col, "category_name", count_name, flag_name, rate_name))


def group_memberships(groupings: Sequence[str]) -> Column:
    """Explode each row into the ``all`` group and one group per column in ``groupings``.

    Yields a struct column ``g`` with ``group_by`` (``all`` or the column name) and ``group_value`` (the column's
    value as a string, ``unknown`` when null), so one aggregation covers every breakdown.
    """
    memberships = [F.struct(F.lit("all").alias("group_by"), F.lit("all").alias("group_value"))]
    memberships += [F.struct(F.lit(g).alias("group_by"),
                             F.coalesce(F.col(g).cast("string"), F.lit("unknown")).alias("group_value"))
                    for g in groupings]
    return F.explode(F.array(*memberships)).alias("g")
