"""Statistical disclosure control for aggregate outputs that leave the secure environment.

Counts under ``min_count`` are suppressed (null) and every other count is rounded to the nearest ``round_to``
(halves away from zero). Values derived from a row's counts (rates, means, ratios) are suppressed together with
any suppressed count of that row, so a small group cannot be recovered from its rate.
"""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.config import DisclosureConf


def disclose(df: DataFrame, count_cols: Sequence[str], derived_cols: Sequence[str] = (),
             rules: DisclosureConf | None = None) -> DataFrame:
    """Suppress small counts, round the others and blank derived values on suppressed rows.

    Example with min_count 10 and round_to 5: 0 -> null, 9 -> null, 10 -> 10, 12 -> 10, 13 -> 15, 22.5 -> 25.
    Column order and all other columns are kept.
    """
    rules = rules or DisclosureConf()
    small = {c: F.col(c).isNotNull() & (F.col(c) < rules.min_count) for c in count_cols}
    any_small = F.lit(False)
    for condition in small.values():
        any_small = any_small | condition
    step = rules.round_to
    replaced = {}
    for c in count_cols:
        rounded = (F.round(F.col(c) / step, 0) * step) if step > 1 else F.col(c)
        replaced[c] = F.when(small[c], F.lit(None)).otherwise(rounded.cast("long")).cast("long")
    for c in derived_cols:
        replaced[c] = F.when(any_small, F.lit(None)).otherwise(F.col(c))
    return df.select(*[replaced.get(c, F.col(c)).alias(c) for c in df.columns])
