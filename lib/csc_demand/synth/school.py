"""School outcomes for every pupil of each KS4 cohort: children in need, on CP plans and in care do progressively
worse than never-referred pupils; multiple episodes worse than one; SEN gaps as the briefing describes."""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.synth import params as P
from csc_demand.synth.population import pmr_for
from csc_demand.synth.rand import exponential, literal_array, normal, uniform

NOT_IN_STATE_SCHOOL = 0.03
NEVER_REFERRED_ID_OFFSET = 10**9  # pupil ids of never-referred pupils, disjoint from child ids
NEVER_DISABLED = 0.04


def ks4_year(birth: Column) -> Column:
    """Academic year (ending) in which a child born on this date finishes KS4 (born Sep Y-17 .. Aug Y-16)."""
    return F.year(birth) + F.lit(16) + F.when(F.month(birth) >= 9, 1).otherwise(0)


def involvement(referrals: DataFrame, children: DataFrame, first_year: int, last_year: int) -> DataFrame:
    """Referred children of the KS4 cohorts with their involvement up to the end of their KS4 year."""
    kids = (children.withColumn("ks4_year", ks4_year(F.col("birth_date")))
            .where(F.col("ks4_year").between(first_year, last_year)))
    end = F.make_date(F.col("ks4_year"), F.lit(8), F.lit(31))
    census = F.make_date(F.col("ks4_year"), F.lit(3), F.lit(31))
    refs = referrals.select("child_id", "referral_date", "closure_date", "cp", "cp_start", "care", "care_start")
    joined = kids.select("child_id", "pmr", "ks4_year", "disabled").join(refs, "child_id", "left")
    before = F.col("referral_date") <= end
    agg = joined.groupBy("child_id", "pmr", "ks4_year", "disabled").agg(
        F.sum(before.cast("int")).alias("n_episodes"),
        F.max(F.col("cp") & (F.col("cp_start") <= end)).alias("ever_cp"),
        F.max(F.col("care") & (F.col("care_start") <= end)).alias("ever_care"),
        F.max((F.col("referral_date") <= census) & (F.col("closure_date") > census)).alias("open_31_march"))
    level = (F.when(F.coalesce(F.col("ever_care"), F.lit(False)), "cla")
             .when(F.coalesce(F.col("ever_cp"), F.lit(False)), "cpp")
             .when(F.col("n_episodes") > 0, "cin").otherwise("never"))
    return agg.select(F.col("child_id").alias("pupil_id"), "pmr", "ks4_year", "disabled",
                      F.coalesce(F.col("n_episodes"), F.lit(0)).alias("n_episodes"), level.alias("level"),
                      F.coalesce(F.col("open_31_march"), F.lit(False)).alias("open_31_march"))


def never_referred(spark: SparkSession, counts: dict[int, int], seed: int) -> DataFrame:
    """Pupils never referred, counts[year] of them per KS4 year."""
    years = sorted(counts)
    cum, acc = [], 0
    for y in years:
        acc += counts[y]
        cum.append(acc)
    df = spark.range(acc).withColumnRenamed("id", "n")
    year_index = F.array_position(F.transform(literal_array(cum), lambda c: c > F.col("n")), True)
    pupil_id = F.col("n") + F.lit(NEVER_REFERRED_ID_OFFSET)
    return df.select(
        pupil_id.alias("pupil_id"), pmr_for(pupil_id, seed).alias("pmr"),
        F.element_at(literal_array(years), year_index.cast("int")).alias("ks4_year"),
        (uniform(seed, pupil_id, F.lit("disabled")) < NEVER_DISABLED).alias("disabled"),
        F.lit(0).alias("n_episodes"), F.lit("never").alias("level"), F.lit(False).alias("open_31_march"))


def _by_level(values: dict) -> Column:
    return F.element_at(F.create_map(*[x for k, v in values.items() for x in (F.lit(k), F.lit(v))]), F.col("level"))


def outcomes(pupils: DataFrame, seed: int) -> DataFrame:
    """SEN provision, Attainment 8, Progress 8 and exclusions for each pupil."""
    def u(purpose: str) -> Column:
        return uniform(seed, F.col("pupil_id"), F.lit("school"), F.lit(purpose))

    csc = F.col("level") != "never"
    p_e = F.when(csc, P.SEN_PROBS["csc"][0]).otherwise(P.SEN_PROBS["never"][0]) + \
        F.when(F.col("disabled"), P.SEN_DISABLED_EXTRA_E).otherwise(0.0)
    p_k = F.when(csc, P.SEN_PROBS["csc"][1]).otherwise(P.SEN_PROBS["never"][1])
    sen = F.when(u("sen") < p_e, "E").when(u("sen") < p_e + p_k, "K").otherwise("N")
    df = pupils.where(u("school") >= NOT_IN_STATE_SCHOOL).withColumn("sen", sen)

    def by_sen(values: dict) -> Column:
        return F.element_at(F.create_map(*[x for k, v in values.items() for x in (F.lit(k), F.lit(v))]),
                            F.col("sen"))

    extra_episodes = F.least(F.greatest(F.col("n_episodes") - 1, F.lit(0)), F.lit(5))
    mean = (F.lit(P.ATT8_NEVER_MEAN) * _by_level(P.ATT8_LEVEL_MULT)
            * F.when(F.col("open_31_march"), P.ATT8_OPEN_AT_31_MARCH_MULT).otherwise(1.0)
            * F.pow(F.lit(P.ATT8_PER_EXTRA_EPISODE_MULT), extra_episodes)
            * by_sen(P.ATT8_SEN_MULT)
            * F.when(csc & (F.col("sen") != "N"), P.ATT8_SEN_AND_CSC_MULT).otherwise(1.0))
    att8 = F.round(F.least(F.greatest(mean * (1 + P.ATT8_SD_SHARE * normal(u("a1"), u("a2"))), F.lit(0.0)),
                           F.lit(90.0)), 1)
    df = df.withColumn("att8", att8)
    p8 = F.round((F.col("att8") - F.lit(P.TARGETS["att8_all_pupils"])) / 12.0
                 + 0.25 * normal(u("p1"), u("p2")), 2)
    sen_mult = F.when(csc, by_sen(P.EXCLUSION_SEN_MULT_CSC)).otherwise(by_sen(P.EXCLUSION_SEN_MULT_NEVER))
    excluded = u("excl") < _by_level(P.EXCLUSION_PROB) * sen_mult
    permanent = excluded & (u("perm") < P.PERMANENT_SHARE)
    suspensions = F.when(~excluded, 0).when(permanent & (u("susp0") < 0.5), 0)\
        .otherwise(F.lit(1) + F.floor(exponential(u("susp"), 1.2)).cast("int"))
    return df.select("*", p8.alias("p8"), excluded.alias("excluded"), permanent.alias("permanent"),
                     suspensions.alias("suspensions"))
