"""Education outcomes by the highest level of social care involvement reached before the end of KS4.

Levels: never referred (0) < child in need (1: any referral) < CP plan (2) < in care (3). An event counts when
it starts on or before 31 August of the KS4 academic year (``ks4_year``). Pupils are linked to children by
``pupil_key`` (a pupil may have several child keys, one per LA; the highest level over all of them counts).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

INVOLVEMENT_LEVELS = {0: "never_referred", 1: "child_in_need", 2: "cp_plan", 3: "in_care"}
PUPIL_INVOLVEMENT_COLUMNS = ("pupil_key", "ks4_year", "involvement_level", "involvement", "episodes",
                             "episodes_group", "sen_provision", "sen_status", "att8", "suspended",
                             "permanently_excluded")
EDUCATION_GAP_COLUMNS = (
    "breakdown", "involvement", "sen_status", "episodes_group", "pupils", "att8_pupils", "mean_att8",
    "att8_ratio_to_never_referred", "suspended", "suspension_rate", "suspension_rate_ratio",
    "permanently_excluded", "exclusion_rate", "exclusion_rate_ratio")


def pupil_involvement(school_outcomes: DataFrame, children: DataFrame, referrals: DataFrame,
                      cp_plans: DataFrame, care_periods: DataFrame) -> DataFrame:
    """gold.education_involvement: one row per KS4 pupil (columns PUPIL_INVOLVEMENT_COLUMNS)."""
    events = (referrals.select("child_key", F.col("referral_date").alias("event_date"), F.lit(1).alias("level"))
              .unionByName(cp_plans.select("child_key", F.col("start_date").alias("event_date"),
                                           F.lit(2).alias("level")))
              .unionByName(care_periods.select("child_key", F.col("period_start").alias("event_date"),
                                               F.lit(3).alias("level"))))
    # Children with a KS4 result first (few), then their events: the many event rows are shuffled only once.
    ks4_children = (children.where(F.col("pupil_key").isNotNull()).select("child_key", "pupil_key")
                    .join(school_outcomes.select("pupil_key", "ks4_year"), on="pupil_key", how="inner"))
    reached = (events.join(ks4_children, on="child_key", how="inner")
               .where(F.col("event_date") <= F.make_date(F.col("ks4_year"), F.lit(8), F.lit(31)))
               .groupBy("pupil_key")
               .agg(F.max("level").alias("involvement_level"),
                    F.sum(F.when(F.col("level") == 1, 1).otherwise(0)).alias("episodes")))
    level_name = F.element_at(F.create_map(*[F.lit(x) for kv in INVOLVEMENT_LEVELS.items() for x in kv]),
                              F.col("involvement_level"))
    return (school_outcomes.join(reached, on="pupil_key", how="left")
            .withColumn("involvement_level", F.coalesce("involvement_level", F.lit(0)))
            .withColumn("episodes", F.coalesce("episodes", F.lit(0)).cast("long"))
            .withColumn("involvement", level_name)
            .withColumn("episodes_group", F.when(F.col("involvement_level") == 0, F.lit("none"))
                        .when(F.col("episodes") <= 1, F.lit("one")).otherwise(F.lit("several")))
            .withColumn("sen_status", F.when(F.col("sen_provision").isin("E", "K"), F.lit("SEN"))
                        .when(F.col("sen_provision") == "N", F.lit("no SEN")).otherwise(F.lit("unknown")))
            .select(*PUPIL_INVOLVEMENT_COLUMNS))


def education_gaps(involvement: DataFrame) -> DataFrame:
    """gold.education_gaps: attainment and exclusion by involvement, with ratios to never-referred pupils.

    Breakdowns: ``involvement`` (sen_status and episodes_group "all"), ``involvement_by_sen`` (ratios to
    never-referred pupils of the same SEN status) and ``episodes`` (one vs several CIN episodes among involved
    pupils, ratios to all never-referred pupils). Mean Attainment 8 is over pupils with a score.
    """
    rows = involvement.select(
        "involvement", "sen_status", "episodes_group", "att8",
        F.col("suspended").cast("long").alias("s"), F.col("permanently_excluded").cast("long").alias("p"),
        F.explode(F.array(
            F.struct(F.lit("involvement").alias("breakdown"), F.lit("all").alias("sen_key"),
                     F.lit("all").alias("episodes_key")),
            F.struct(F.lit("involvement_by_sen").alias("breakdown"), F.col("sen_status").alias("sen_key"),
                     F.lit("all").alias("episodes_key")),
            F.struct(F.lit("episodes").alias("breakdown"), F.lit("all").alias("sen_key"),
                     F.col("episodes_group").alias("episodes_key")))).alias("b"))
    cells = (rows.groupBy("b.breakdown", F.col("involvement"), F.col("b.sen_key").alias("sen_status"),
                          F.col("b.episodes_key").alias("episodes_group"))
             .agg(F.count(F.lit(1)).alias("pupils"), F.count("att8").alias("att8_pupils"),
                  F.avg("att8").alias("mean_att8"), F.sum(F.coalesce("s", F.lit(0))).alias("suspended"),
                  F.sum(F.coalesce("p", F.lit(0))).alias("permanently_excluded"))
             .withColumn("suspension_rate", F.col("suspended") / F.col("pupils"))
             .withColumn("exclusion_rate", F.col("permanently_excluded") / F.col("pupils")))
    # Episodes rows compare with all never-referred pupils, whose own row sits under episodes_group "none".
    never = (cells.where(F.col("involvement") == INVOLVEMENT_LEVELS[0])
             .select(F.col("breakdown"), F.col("sen_status"), F.col("mean_att8").alias("never_att8"),
                     F.col("suspension_rate").alias("never_susp"), F.col("exclusion_rate").alias("never_excl")))
    return (cells.join(never, on=["breakdown", "sen_status"], how="left")
            # try_divide: a reference rate of 0 gives a null ratio, not an ANSI division error.
            .withColumn("att8_ratio_to_never_referred", F.try_divide("mean_att8", "never_att8"))
            .withColumn("suspension_rate_ratio", F.try_divide("suspension_rate", "never_susp"))
            .withColumn("exclusion_rate_ratio", F.try_divide("exclusion_rate", "never_excl"))
            .select(*EDUCATION_GAP_COLUMNS))


def sen_gaps(gaps: DataFrame) -> DataFrame:
    """gold.education_sen_gaps: per involvement group, SEN vs no-SEN attainment gap and exclusion ratios.

    Columns: involvement, att8_sen, att8_no_sen, att8_gap (no SEN minus SEN), suspension_ratio_sen,
    exclusion_ratio_sen (SEN rate / no-SEN rate).
    """
    by_sen = gaps.where(F.col("breakdown") == "involvement_by_sen")

    def of(status: str, column: str):
        return F.max(F.when(F.col("sen_status") == status, F.col(column)))

    return (by_sen.groupBy("involvement")
            .agg(of("SEN", "mean_att8").alias("att8_sen"), of("no SEN", "mean_att8").alias("att8_no_sen"),
                 F.try_divide(of("SEN", "suspension_rate"), of("no SEN", "suspension_rate"))
                 .alias("suspension_ratio_sen"),
                 F.try_divide(of("SEN", "exclusion_rate"), of("no SEN", "exclusion_rate")).alias("exclusion_ratio_sen"))
            .select("involvement", "att8_sen", "att8_no_sen", (F.col("att8_no_sen") - F.col("att8_sen"))
                    .alias("att8_gap"), "suspension_ratio_sen", "exclusion_ratio_sen"))
