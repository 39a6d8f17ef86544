"""Referral histories: one round per referral of a child, each round a pure function of the child and round number.

Round k turns a child's k-th referral into a whole episode (assessments and factors, Section 47, CP plan, CIN plan,
periods of care, closure) and decides whether and when the next referral comes. The hazard of coming back, the
pathway after assessment and the care history depend on the demand class and on age and ethnicity (params.py).
Rounds are materialised one at a time (parquet under the work folder) so lineage stays short.
"""
from __future__ import annotations

from datetime import date
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.codes import ABUSE_CATEGORIES, REFERRAL_SOURCES
from csc_demand.synth import params as P
from csc_demand.synth.factors import class_table_rows, raw_codes, with_indicators
from csc_demand.synth.population import collection_year, draw_class
from csc_demand.synth.rand import (
    add_uniforms,
    bernoulli_logit,
    cumulative,
    exponential,
    literal_array,
    lognormal_days,
    pick,
    pick_index,
    uniform,
)

MAX_ROUNDS = 25
# Referrals stop two months before the 18th birthday, so every episode's assessment falls before it.
LAST_REFERRAL_BEFORE_18_DAYS = 60
CHILD_COLUMNS = ("child_id", "birth_date", "birthday_18", "black", "child_type")

REFERRAL_SOURCE_WEIGHTS = {"1A": 0.02, "1B": 0.03, "1C": 0.02, "1D": 0.01, "2A": 0.17, "2B": 0.01, "3A": 0.05,
                           "3B": 0.02, "3C": 0.02, "3D": 0.03, "3E": 0.02, "3F": 0.01, "4": 0.02, "5A": 0.06,
                           "5B": 0.03, "5C": 0.02, "5D": 0.01, "6": 0.29, "7": 0.02, "8": 0.02, "9": 0.09, "10": 0.03}
assert tuple(REFERRAL_SOURCE_WEIGHTS) == REFERRAL_SOURCES
# Reason a period of care ends, by age at exit: (codes, weights).
EXIT_UNDER_5 = (("E4A", "E11", "E12", "E43", "E41", "E44", "E13", "E15"),
                (0.40, 0.18, 0.04, 0.10, 0.08, 0.06, 0.08, 0.06))
EXIT_5_PLUS = (("E4A", "E4B", "E41", "E43", "E45", "E13", "E5", "E7", "E3", "E15", "E9"),
               (0.50, 0.06, 0.06, 0.06, 0.02, 0.11, 0.04, 0.06, 0.03, 0.04, 0.02))
# Reasons only an older child leaves care for (DfE 387: independent living from 14; 389: adult social care from
# 16); a younger child drawn one leaves to live with parents, relatives or others (E13) instead.
MIN_AGE_AT_EXIT = {"E5": 14, "E7": 16}
YOUNGER_EXIT = "E13"
# At 18: remained with their carers (E17, staying put: 18 or over only, DfE 460) or ceased for another reason (E8).
EXIT_AT_18 = (("E8", "E17"), (0.80, 0.20))
MAX_EXTRA_EPISODES = 3  # 903 episodes of a period after its first (changes of placement or legal status)


def _days(start: Column, n: Column) -> Column:
    return F.date_add(start, n.cast("int"))


EFFECT_COLUMNS = ("cp_logit", "care_logit", "return_prob", "return_mean_days", "cin_plan_prob", "reentry_prob",
                  "extra_episodes_mean", "primary_need")


def _effect(cls: Column, name: str) -> Column:
    """A per-class parameter, from the class table joined onto each referral."""
    return F.col(f"k_{name}")


def class_table(spark: SparkSession) -> DataFrame:
    """Small (12-row) table of per-class parameters, broadcast-joined on latent_class."""
    rows = []
    for k, probs, signature in class_table_rows():
        eff = P.EFFECTS[P.CLASS_NAMES[k]]
        rows.append((k, probs, signature, cumulative(eff.cp_category),
                     *[float(getattr(eff, n)) if n != "primary_need" else eff.primary_need for n in EFFECT_COLUMNS]))
    schema = ("latent_class int, k_probs array<double>, k_signature int, k_cat_cum array<double>, "
              + ", ".join(f"k_{n} {'string' if n == 'primary_need' else 'double'}" for n in EFFECT_COLUMNS))
    return spark.createDataFrame(rows, schema)


def _exit_code(u: Column, birth: Column, end: Column) -> Column:
    """Reason care ended on ``end`` before the 18th birthday (minimum ages as the DfE's rules count them)."""
    age = F.datediff(end, birth) / F.lit(365.25)
    drawn = F.when(age < 5, pick(u, *EXIT_UNDER_5)).otherwise(pick(u, *EXIT_5_PLUS))
    too_young = reduce(Column.__or__, [(drawn == code) & (F.add_months(birth, 12 * age) > end)
                                       for code, age in MIN_AGE_AT_EXIT.items()])
    return F.when(too_young, F.lit(YOUNGER_EXIT)).otherwise(drawn)


def _care_period(u, start: Column, birth: Column, b18: Column, n: int) -> dict[str, Column]:
    """One period of care from its start: end (capped at 18), reason it ended, number of 903 episodes."""
    duration = lognormal_days(u(f"p{n}d1"), u(f"p{n}d2"), P.CARE_PERIOD_MEDIAN_DAYS, 1.0)
    end_raw = _days(start, duration)
    end = F.least(end_raw, b18)
    rec = F.when(end_raw >= b18, pick(F.col(f"u_p{n}rec"), *EXIT_AT_18)).otherwise(
        _exit_code(F.col(f"u_p{n}rec"), birth, end))
    return {"start": start, "end": end, "rec": rec}


def assessment_step(state: DataFrame, seed: int, k: int) -> DataFrame:
    """Round k, first half: class, NFA / no-factor flags, assessments and their factors."""
    def u(purpose: str) -> Column:
        return uniform(seed, F.col("child_id"), F.lit(k), F.lit(purpose))

    r, birth, b18 = F.col("referral_date"), F.col("birth_date"), F.col("birthday_18")
    df = state.withColumn("cy", collection_year(r)).withColumn(
        "age_at_referral", F.datediff(r, birth) / F.lit(365.25))
    df = add_uniforms(df, seed, [F.col("child_id"), F.lit(k)], ["class"])
    latent = (F.col("child_type") if k == 0 else
              F.when(u("persist") < P.CLASS_PERSISTENCE, F.col("prev_class"))
              .otherwise(draw_class(F.col("u_class"), F.col("cy"))))
    df = df.withColumn("latent_class", latent.cast("int")).join(
        F.broadcast(class_table(state.sparkSession)), on="latent_class", how="inner")
    df = (df
          .withColumn("referral_nfa", u("nfa") < P.NFA_PROB)
          .withColumn("no_factor", ~F.col("referral_nfa") & (u("nofac") < P.NO_FACTOR_PROB)))
    cls = F.col("latent_class")
    assessed = ~F.col("referral_nfa")
    classed = assessed & ~F.col("no_factor")
    df = df.withColumn("class_id", F.when(classed, cls))

    # ---- assessments --------------------------------------------------------------------------------------
    a1_start = _days(r, F.floor(u("a1s") * 8))
    a1_auth = F.least(_days(a1_start, F.lit(7) + F.least(F.floor(exponential(u("a1d"), 22.0)), F.lit(110))), b18)
    df = (df.withColumn("a1_start", F.when(assessed, a1_start))
          .withColumn("a1_auth", F.when(assessed, a1_auth)))
    a2_start = _days(F.col("a1_auth"), F.lit(5) + F.floor(u("a2s") * 60))
    a2_auth = _days(a2_start, F.lit(7) + F.least(F.floor(exponential(u("a2d"), 22.0)), F.lit(110)))
    has_a2 = assessed & (u("a2") < P.SECOND_ASSESSMENT_PROB) & (a2_auth < b18)
    df = (df.withColumn("a2_start", F.when(has_a2, a2_start))
          .withColumn("a2_auth", F.when(has_a2, a2_auth)))
    # A second assessment of the same episode finds the same factors (codes follow its own year).
    df = with_indicators(df, "a1_ind", seed, [F.col("child_id"), F.lit(k)], F.col("k_probs"),
                         F.col("k_signature"), classed)
    df = df.withColumn("a2_ind", F.when(F.col("a2_start").isNotNull(), F.col("a1_ind")))
    for n in (1, 2):
        df = df.withColumn(f"a{n}_codes", F.when(F.col(f"a{n}_start").isNull(), F.lit(None))
                           .when(F.col("no_factor"), F.array(F.lit("21")))
                           .otherwise(raw_codes(seed, [F.col("child_id"), F.lit(k), F.lit(n)], F.col("a1_ind"),
                                                collection_year(F.col(f"a{n}_auth")))))
    return df


def pathway_step(df: DataFrame, seed: int, k: int, data_end: date) -> DataFrame:
    """Round k, second half: S47, CP plan, CIN plan, care, closure and the next referral."""
    def u(purpose: str) -> Column:
        return uniform(seed, F.col("child_id"), F.lit(k), F.lit(purpose))

    r, birth, b18 = F.col("referral_date"), F.col("birth_date"), F.col("birthday_18")
    cls = F.col("latent_class")
    classed = F.col("class_id").isNotNull()
    df = add_uniforms(df, seed, [F.col("child_id"), F.lit(k)], ["cat", "src", "p1rec", "p2rec"])
    n_factors = F.size(F.array_remove(F.col("a1_ind"), 0))
    neglect = F.element_at(F.col("a1_ind"), P.IDX["neglect"] + 1)

    # ---- pathway: CP plan, care, S47, CIN plan ---------------------------------------------------------------
    older = (F.col("age_at_referral") >= 13).cast("double")
    black = F.col("black").cast("double")
    cp_logit = (_effect(cls, "cp_logit") + F.lit(P.CP_NEGLECT) * neglect
                + F.lit(P.CP_PER_EXTRA_FACTOR) * (n_factors - 1) + F.lit(P.CP_AGE_13_PLUS) * older
                + F.lit(P.CP_BLACK) * black + F.lit(P.CP_AFTER_PREVIOUS_PLAN) * (F.col("cpp_count") > 0).cast("double"))
    care_logit = _effect(cls, "care_logit") + F.lit(P.CARE_AGE_13_PLUS) * older + F.lit(P.CARE_BLACK) * black
    df = (df.withColumn("cp", classed & bernoulli_logit(u("cp"), cp_logit))
          .withColumn("care_drawn", classed & bernoulli_logit(u("care"), care_logit)))
    df = df.withColumn("s47", F.col("cp") | (classed & (u("s47") < P.S47_WITHOUT_PLAN)))
    s47_start = _days(F.col("a1_start"), F.floor(u("s47s") * 10))
    df = (df.withColumn("s47_start", F.when(F.col("s47"), s47_start))
          .withColumn("icpc_date", F.when(F.col("cp"), _days(s47_start, F.lit(10) + F.floor(u("icpc") * 6)))))
    cp_duration = lognormal_days(u("cpd1"), u("cpd2"), P.CP_PLAN_MEDIAN_DAYS, 0.6)
    care_start = F.when(F.col("cp"), _days(F.col("icpc_date"), F.lit(1) + F.floor(u("cs") * (cp_duration - 1))))\
        .otherwise(_days(F.col("a1_start"), F.floor(u("cs") * 60)))
    df = df.withColumn("care", F.col("care_drawn") & (care_start < F.date_sub(b18, 7)))
    df = df.withColumn("care_start", F.when(F.col("care"), care_start))
    cp_end = F.when(F.col("care"), F.col("care_start")).otherwise(_days(F.col("icpc_date"), cp_duration))
    initial = F.element_at(literal_array(ABUSE_CATEGORIES), pick_index(F.col("u_cat"), F.col("k_cat_cum"), len(ABUSE_CATEGORIES)) + F.lit(1))
    df = (df.withColumn("cp_start", F.col("icpc_date"))
          .withColumn("cp_end", F.when(F.col("cp"), F.least(cp_end, b18)))
          .withColumn("cp_initial_category", F.when(F.col("cp"), initial))
          .withColumn("cp_latest_category", F.when(F.col("cp"), F.when(u("latest") < 0.85, initial)
                                                   .otherwise(F.lit("MUL"))))
          .withColumn("cp_previous", F.when(F.col("cp"), F.col("cpp_count"))))
    plan_days = F.datediff(F.col("cp_end"), F.col("cp_start"))
    n_reviews = F.when(plan_days > 90, F.floor((plan_days - 91) / 180).cast("int") + 1).otherwise(0)
    df = df.withColumn("cp_reviews", F.when(
        F.col("cp") & (n_reviews > 0),
        F.transform(F.sequence(F.lit(0), n_reviews - 1), lambda i: F.date_add(F.col("cp_start"), i * 180 + 90))))
    step_down = F.col("cp") & ~F.col("care") & (u("sd") < P.STEP_DOWN_CIN_PROB)
    cin_only = classed & ~F.col("cp") & ~F.col("care") & (u("cin") < _effect(cls, "cin_plan_prob"))
    cin_start = (F.when(cin_only, _days(F.col("a1_auth"), F.floor(u("cins") * 14)))
                 .when(step_down, F.date_add(F.col("cp_end"), 1)))
    cin_duration = lognormal_days(u("cind1"), u("cind2"), P.CIN_PLAN_MEDIAN_DAYS, 0.7)
    df = df.withColumn("cin_plan_start", F.when(cin_start < b18, cin_start))
    df = df.withColumn("cin_plan_end", F.when(F.col("cin_plan_start").isNotNull(),
                                              F.least(_days(F.col("cin_plan_start"), cin_duration), b18)))

    # ---- periods of care (at most two per episode: a first period and a re-entry after returning home) ---------
    p1 = _care_period(u, F.col("care_start"), birth, b18, 1)
    returned_home = p1["rec"].isin("E4A", "E4B")
    reentry_start = _days(p1["end"], F.lit(1) + F.floor(exponential(u("regap"), P.REENTRY_MEAN_DAYS)))
    reentry = (F.col("care") & returned_home & (u("re") < _effect(cls, "reentry_prob"))
               & (reentry_start < F.date_sub(b18, 7)))
    p2 = _care_period(u, reentry_start, birth, b18, 2)

    def period(n: int, p: dict) -> Column:
        extra = F.least(F.lit(MAX_EXTRA_EPISODES), F.floor(exponential(u(f"p{n}ne"), _effect(cls, "extra_episodes_mean"))))
        n_eps = F.when(F.datediff(p["end"], p["start"]) < 8, 1).otherwise(F.lit(1) + extra).cast("int")
        return F.struct(F.lit(n).alias("period_no"), p["start"].alias("start"), p["end"].alias("end"),
                        p["rec"].alias("rec"), n_eps.alias("n_episodes"))

    df = df.withColumn("care_periods", F.when(F.col("care"), F.when(reentry, F.array(period(1, p1), period(2, p2)))
                                              .otherwise(F.array(period(1, p1)))))
    last_care = F.element_at(F.col("care_periods"), -1)

    # ---- closure ----------------------------------------------------------------------------------------------
    last_activity = F.greatest(F.col("a1_auth"), F.col("a2_auth"), F.col("cp_end"), F.col("cin_plan_end"),
                               last_care["end"])
    closure_raw = F.when(F.col("referral_nfa"), _days(r, F.floor(u("nfac") * 3)))\
        .otherwise(_days(last_activity, F.floor(u("cl") * 21)))
    df = df.withColumn("closure_raw", closure_raw).withColumn("closure_date", F.least(closure_raw, b18))
    after_assessment = F.when(u("rc") < 0.55, F.lit("RC8")).otherwise(F.lit("RC9"))
    reason = (F.when(F.col("referral_nfa"), F.lit("RC8"))
              .when(F.col("closure_raw") >= b18, F.lit("RC7"))
              .when(F.col("care") & last_care["rec"].isin("E11", "E12"), F.lit("RC1"))
              .when(F.col("care") & last_care["rec"].isin("E43", "E44", "E45"), F.lit("RC4"))
              .when(F.col("care") & (last_care["rec"] == "E41"), F.lit("RC3"))
              .when(F.col("care") | F.col("cp") | F.col("s47") | F.col("cin_plan_start").isNotNull(),
                    F.when(u("rc") < 0.05, F.lit("RC5")).otherwise(F.lit("RC7")))
              .otherwise(after_assessment))
    df = (df.withColumn("closure_reason", reason)
          .withColumn("referral_source", pick(F.col("u_src"), REFERRAL_SOURCES, list(REFERRAL_SOURCE_WEIGHTS.values())))
          .withColumn("primary_need", F.when(classed, _effect(cls, "primary_need")).otherwise(F.lit("N9"))))

    # ---- the next referral --------------------------------------------------------------------------------------
    return_prob = F.when(classed, _effect(cls, "return_prob")).otherwise(F.lit(P.UNCLASSED_RETURN[0]))
    return_prob = return_prob * F.when(F.col("cp"), F.lit(P.RETURN_AFTER_CP)).otherwise(F.lit(1.0))
    # Gaps are a mixture: a quick return (likelier after a short episode: NFA or assessment only) or the class's
    # slower return; this is what puts about 22% of referrals within 12 months of the previous one.
    short_episode = ~F.col("cp") & ~F.col("care") & F.col("cin_plan_start").isNull()
    quick = u("quick") < F.when(short_episode, F.lit(P.QUICK_RETURN_SHARE[0])).otherwise(F.lit(P.QUICK_RETURN_SHARE[1]))
    gap_mean = F.when(quick, F.lit(P.QUICK_RETURN_MEAN_DAYS)).when(
        classed, _effect(cls, "return_mean_days")).otherwise(F.lit(P.UNCLASSED_RETURN[1]))
    next_referral = _days(F.col("closure_date"), F.lit(1) + F.floor(exponential(u("gap"), gap_mean)))
    has_next = ((u("ret") < return_prob) & (F.col("closure_reason") != "RC1") & (F.col("closure_raw") < b18)
                & (next_referral <= F.lit(data_end))
                & (next_referral <= F.date_sub(b18, LAST_REFERRAL_BEFORE_18_DAYS)))
    df = df.withColumn("next_referral_date", F.when(has_next, next_referral))
    return df.select(
        *CHILD_COLUMNS, F.lit(k).alias("round"), "referral_date", "cy", "age_at_referral", "latent_class",
        "class_id", "referral_nfa", "no_factor", "referral_source", "primary_need", "closure_date",
        "closure_reason", "a1_start", "a1_auth", "a1_ind", "a1_codes", "a2_start", "a2_auth", "a2_ind", "a2_codes",
        "s47", "s47_start", "icpc_date", "cp", "cp_start", "cp_end", "cp_initial_category", "cp_latest_category",
        "cp_previous", "cp_reviews", "cin_plan_start", "cin_plan_end", "care", "care_start", "care_periods",
        "next_referral_date", "cpp_count")


def simulate_referrals(spark: SparkSession, children: DataFrame, seed: int, data_end: date, work_dir: Path,
                       log_step=None) -> DataFrame:
    """All referrals of all children (one row per episode), materialised round by round under work_dir."""
    state = children.select(*CHILD_COLUMNS, F.col("first_referral").alias("referral_date"),
                            F.lit(-1).alias("prev_class"), F.lit(0).alias("cpp_count"))
    for k in range(MAX_ROUNDS):
        # Two materialised halves: one query per round would generate code too large to compile.
        half = str(work_dir / "assessed" / f"round={k}")
        assessment_step(state, seed, k).write.mode("overwrite").parquet(half)
        path = str(work_dir / "referrals" / f"round={k}")
        (pathway_step(spark.read.parquet(half), seed, k, data_end).drop("round")
         .write.mode("overwrite").parquet(path))
        done = spark.read.parquet(path)
        state = done.where(F.col("next_referral_date").isNotNull()).select(
            *CHILD_COLUMNS, F.col("next_referral_date").alias("referral_date"),
            F.col("latent_class").alias("prev_class"),
            (F.col("cpp_count") + F.col("cp").cast("int")).alias("cpp_count"))
        remaining = state.count()
        if log_step:
            log_step(f"referral round {k} done: {remaining} children come back")
        if remaining == 0:
            break
    else:
        raise RuntimeError(f"children still being re-referred after {MAX_ROUNDS} rounds: raise MAX_ROUNDS")
    return spark.read.parquet(str(work_dir / "referrals"))
