"""Annual returns as at 31 March: each episode once per collection year it was open in, showing only what had
happened by the census reference date (later closures, authorisations, plan ends are not yet known)."""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.synth.population import collection_year

CHILD_ATTRS = ("la_code", "la_child_id", "upn", "pmr", "sex", "ethnicity", "disabilities")
# The referral columns the returns (XML, NPD) read: only these are exploded, joined and materialised.
EPISODE_COLUMNS = ("child_id", "round", "birth_date", "cy", "referral_date", "referral_source", "primary_need",
                   "referral_nfa", "class_id", "closure_date", "closure_reason", "a1_start", "a1_auth", "a1_codes",
                   "a2_start", "a2_auth", "a2_codes", "s47_start", "icpc_date", "cp", "cp_start", "cp_end",
                   "cp_initial_category", "cp_latest_category", "cp_previous", "cp_reviews", "cin_plan_start",
                   "cin_plan_end")


def iso(d: Column) -> Column:
    return F.date_format(d, "yyyy-MM-dd")


def shown(d: Column, value: Column | None = None) -> Column:
    """A field known at the reference date: the value when its date is on or before it, else null."""
    return F.when(d <= F.col("ref_date"), d if value is None else value)


def annual_snapshots(referrals: DataFrame, children: DataFrame, first_year: int, last_year: int) -> DataFrame:
    """One row per (episode, collection year of a return that holds it)."""
    first = F.greatest(F.col("cy"), F.lit(first_year))
    last = F.least(collection_year(F.col("closure_date")), F.lit(last_year))
    df = (referrals.select(*EPISODE_COLUMNS).where(last >= first)
          .withColumn("file_year", F.explode(F.sequence(first, last)))
          .join(children.select("child_id", *CHILD_ATTRS), on="child_id", how="inner")
          .withColumn("ref_date", F.make_date(F.col("file_year"), F.lit(3), F.lit(31))))
    return df.select(
        "*",
        shown(F.col("closure_date")).alias("closure_shown"),
        shown(F.col("closure_date"), F.col("closure_reason")).alias("closure_reason_shown"),
        F.coalesce(F.col("a1_start") <= F.col("ref_date"), F.lit(False)).alias("a1_in"),
        shown(F.col("a1_auth")).alias("a1_auth_shown"),
        shown(F.col("a1_auth"), F.col("a1_codes")).alias("a1_codes_shown"),
        F.coalesce(F.col("a2_start") <= F.col("ref_date"), F.lit(False)).alias("a2_in"),
        shown(F.col("a2_auth")).alias("a2_auth_shown"),
        shown(F.col("a2_auth"), F.col("a2_codes")).alias("a2_codes_shown"),
        F.coalesce(F.col("s47_start") <= F.col("ref_date"), F.lit(False)).alias("s47_in"),
        shown(F.col("icpc_date")).alias("icpc_shown"),
        F.coalesce(F.col("cp_start") <= F.col("ref_date"), F.lit(False)).alias("cp_in"),
        shown(F.col("cp_end")).alias("cp_end_shown"),
        F.filter(F.coalesce(F.col("cp_reviews"), F.array().cast("array<date>")),
                 lambda d: d <= F.col("ref_date")).alias("cp_reviews_shown"),
        F.coalesce((F.col("file_year") >= 2022) & (F.col("cin_plan_start") <= F.col("ref_date")),
                   F.lit(False)).alias("cin_plan_in"),
        shown(F.col("cin_plan_end")).alias("cin_plan_end_shown"),
    )
