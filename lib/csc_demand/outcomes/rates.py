"""Grouped shares: flagged rows per LA, year and category, and the memberships used by every breakdown.

Every aggregate is per LA and for England: ``with_england`` counts each row once under its own ``la_code`` and
once under ``ENGLAND`` ("ALL" = every LA in the lakehouse), so one aggregation gives both levels.
"""
from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ENGLAND = "ALL"


def with_rows_again(df: DataFrame, values: dict[str, Column]) -> DataFrame:
    """Each row as it is and once more with ``values`` in its columns of those names, in one pass. A union of
    ``df`` with a changed copy of itself would compute ``df`` twice (plans are not shared between branches)."""
    own = F.struct(*[F.col(name) for name in values])
    again = F.struct(*[value.cast(df.schema[name].dataType).alias(name) for name, value in values.items()])
    both = df.withColumn("_again", F.explode(F.array(own, again)))
    return both.select(*[F.col("_again")[c].alias(c) if c in values else F.col(c) for c in df.columns])


def with_england(df: DataFrame) -> DataFrame:
    """The rows under their own ``la_code`` and again under ``ENGLAND``."""
    return with_rows_again(df, {"la_code": F.lit(ENGLAND)})


def with_every_category(df: DataFrame) -> DataFrame:
    """The rows under their own category and again under ``all`` (category id null)."""
    return with_rows_again(df, {"category_id": F.lit(None), "category_name": F.lit("all")})


def rate_by_year_and_category(df: DataFrame, year_col: str, flag_col: str, count_name: str, flag_name: str,
                              rate_name: str) -> DataFrame:
    """Columns: la_code (each LA and ``ENGLAND``), ``year_col``, category_name ("all"; "unknown" when null),
    ``count_name``, ``flag_name``, ``rate_name``."""
    category = F.coalesce(F.col("category_name"), F.lit("unknown"))
    by_category = df.select("la_code", year_col, category.alias("category_name"), flag_col)
    stacked = with_england(with_rows_again(by_category, {"category_name": F.lit("all")}))
    return (stacked.groupBy("la_code", year_col, "category_name")
            .agg(F.count(F.lit(1)).alias(count_name), F.sum(F.col(flag_col).cast("long")).alias(flag_name))
            .withColumn(rate_name, F.col(flag_name) / F.col(count_name))
            .select("la_code", year_col, "category_name", count_name, flag_name, rate_name))


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
