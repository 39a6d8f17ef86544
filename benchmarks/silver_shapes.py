"""National-size silver-shaped tables for benchmarks, generated with spark.range and hashing (no synth needed).

Deterministic from ``seed`` (xxhash64 of ids), so any partitioning gives the same rows. Shapes follow
docs/tables.md; sizes follow DfE national counts (about 600k referrals a year over 7 collection years).
"""
from __future__ import annotations

from datetime import date

from csc_demand.outcomes.contract import INPUT_SCHEMAS, required_columns
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

FIRST_DAY = date(2014, 4, 1)
DAYS = 7 * 365  # seven collection years, 2014-15 to 2020-21
END = date(2021, 3, 31)


def _u(seed: int, *parts) -> F.Column:
    """A deterministic non-negative pseudo-random long from the seed and the given columns."""
    return F.abs(F.xxhash64(F.lit(seed), *parts))


def _day(offset: F.Column) -> F.Column:
    return F.date_add(F.lit(FIRST_DAY), offset.cast("int"))


def _shaped(df: DataFrame, table: str) -> DataFrame:
    schema = {f.split(" ", 1)[0]: f.split(" ", 1)[1] for f in INPUT_SCHEMAS[table].split(", ")}
    return df.select(*[F.col(c).cast(schema[c]).alias(c) for c in required_columns(table)])


def children(spark: SparkSession, n_children: int, seed: int) -> DataFrame:
    ids = spark.range(n_children)
    return _shaped(ids.select(
        F.sha2(F.col("id").cast("string"), 256).alias("child_key"),
        (200 + F.col("id") % 152).cast("string").alias("la_code"),
        F.sha2(F.concat(F.lit("p"), F.col("id").cast("string")), 256).alias("pupil_key"),
        F.date_add(F.lit(date(1998, 1, 1)), (_u(seed, "id", F.lit(1)) % (22 * 365)).cast("int")).alias("birth_date"),
        F.element_at(F.array(F.lit("M"), F.lit("F")), (F.col("id") % 2 + 1).cast("int")).alias("sex"),
        F.lit("WBRI").alias("ethnicity"),
        F.element_at(F.array(*[F.lit(g) for g in ("White", "White", "White", "Mixed", "Asian", "Black", "Other")]),
                     (_u(seed, "id", F.lit(2)) % 7 + 1).cast("int")).alias("ethnic_group"),
        F.lit(False).alias("disabled")), "children")


def referrals(spark: SparkSession, n_children: int, seed: int) -> DataFrame:
    """About 2 referrals per child (1-3), dates over seven years, ~85% closed within 400 days."""
    per_child = (spark.range(n_children)
                 .withColumn("n", (_u(seed, "id", F.lit(3)) % 3 + 1).cast("int"))
                 .select("id", F.explode(F.sequence(F.lit(1), F.col("n"))).alias("j")))
    dated = per_child.select(
        "id", _day(_u(seed, "id", "j", F.lit(4)) % DAYS).alias("referral_date"),
        (_u(seed, "id", "j", F.lit(5)) % 400).alias("length"), (_u(seed, "id", "j", F.lit(6)) % 100).alias("p"))
    closure = F.date_add("referral_date", F.col("length").cast("int"))
    rows = dated.select(
        F.sha2(F.col("id").cast("string"), 256).alias("child_key"),
        (200 + F.col("id") % 152).cast("string").alias("la_code"), "referral_date",
        F.when((F.col("p") >= 15) & (closure <= F.lit(END)), closure).alias("closure_date"))
    # silver's key is (la, child, referral_date): same-day duplicates are one episode there too
    rows = rows.dropDuplicates(["child_key", "referral_date"])
    return _shaped(rows.select(
        F.sha2(F.concat_ws("|", "la_code", "child_key", F.col("referral_date").cast("string")), 256)
        .alias("referral_key"), "child_key", "la_code", "referral_date", "closure_date",
        F.when(F.col("closure_date").isNotNull(), F.lit("RC1")).alias("closure_reason"),
        F.lit(False).alias("referral_nfa"), F.lit("1A").alias("referral_source"), F.lit("N1").alias("primary_need"),
        (F.year(F.coalesce("closure_date", F.lit(END))) + F.when(
            F.month(F.coalesce("closure_date", F.lit(END))) >= 4, 1).otherwise(0)).alias("collection_year")),
        "referrals")


def assessments(referral_rows: DataFrame, seed: int) -> DataFrame:
    """One assessment for ~75% of referrals, authorised 10-40 days after the referral."""
    picked = referral_rows.where(_u(seed, "referral_key", F.lit(7)) % 100 < 75)
    return _shaped(picked.select(
        F.sha2(F.concat("referral_key", F.lit("a")), 256).alias("assessment_key"), "referral_key", "child_key",
        "la_code", F.date_add("referral_date", 3).alias("start_date"),
        F.date_add("referral_date", (10 + _u(seed, "referral_key", F.lit(8)) % 30).cast("int"))
        .alias("authorised_date"),
        F.array(F.lit("3B")).alias("factor_codes"), F.array(F.lit(1)).alias("indicators"),
        F.lit(1).alias("n_factors"), F.lit(True).alias("has_factors"), "collection_year"), "assessments")


def cp_plans(referral_rows: DataFrame, seed: int) -> DataFrame:
    """A plan for ~10% of referrals, starting 30 days in and lasting up to a year."""
    picked = referral_rows.where(_u(seed, "referral_key", F.lit(9)) % 100 < 10)
    start = F.date_add("referral_date", 30)
    end = F.date_add(start, (60 + _u(seed, "referral_key", F.lit(10)) % 300).cast("int"))
    return _shaped(picked.select(
        F.sha2(F.concat_ws("|", "child_key", start.cast("string")), 256).alias("cp_plan_key"), "referral_key",
        "child_key", "la_code", start.alias("start_date"), F.when(end <= F.lit(END), end).alias("end_date"),
        F.lit("NEG").alias("initial_category"), F.lit("NEG").alias("latest_category"),
        F.lit(0).alias("number_of_previous_cpp")), "cp_plans")


def care_periods(referral_rows: DataFrame, seed: int) -> DataFrame:
    """A period of care for ~4% of referrals; half end with a return home."""
    picked = referral_rows.where(_u(seed, "referral_key", F.lit(11)) % 100 < 4)
    start = F.date_add("referral_date", 45)
    end = F.date_add(start, (30 + _u(seed, "referral_key", F.lit(12)) % 500).cast("int"))
    return _shaped(picked.select(
        "child_key", "la_code", start.alias("period_start"), F.when(end <= F.lit(END), end).alias("period_end"),
        F.when(end > F.lit(END), F.lit(None)).when(_u(seed, "referral_key", F.lit(13)) % 2 == 0, F.lit("E4A"))
        .otherwise(F.lit("E13")).alias("end_rec"),
        F.lit(1).alias("period_number"), F.lit(1).alias("n_episodes"), F.lit(1).alias("n_placements")),
        "care_periods").dropDuplicates(["child_key", "period_start"])


def school_outcomes(spark: SparkSession, n_children: int, seed: int) -> DataFrame:
    """KS4 results for a third of the children (their pupil keys) and as many never-referred pupils."""
    ids = spark.range(2 * n_children // 3).withColumn("linked", F.col("id") % 2 == 0)
    pupil = F.when(F.col("linked"), F.sha2(F.concat(F.lit("p"), (F.col("id") * 3 / 2).cast("long").cast("string")), 256)
                   ).otherwise(F.sha2(F.concat(F.lit("q"), F.col("id").cast("string")), 256))
    return _shaped(ids.select(
        pupil.alias("pupil_key"), (2015 + F.col("id") % 7).alias("ks4_year"),
        (_u(seed, "id", F.lit(14)) % 800 / 10.0).alias("att8"), F.lit(0.0).alias("p8"),
        (_u(seed, "id", F.lit(15)) % 100 < 8).alias("suspended"),
        (_u(seed, "id", F.lit(16)) % 1000 < 3).alias("permanently_excluded"),
        F.element_at(F.array(F.lit("N"), F.lit("N"), F.lit("N"), F.lit("K"), F.lit("E")),
                     (_u(seed, "id", F.lit(17)) % 5 + 1).cast("int")).alias("sen_provision")),
        "school_outcomes")
