"""Local authorities and the children who are ever referred: LA, first referral, type, demographics, identifiers.

A child's "type" is the demand class of their first referral; demographics are drawn given the type (risks outside
the home: older, male, Black children over-represented; disability: disabled, more often male).
"""
from __future__ import annotations

import math
from datetime import date

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from csc_demand.codes import DISABILITY_CODES, ETHNICITY_GROUP
from csc_demand.synth import params as P
from csc_demand.synth.rand import (
    add_uniforms,
    cumulative,
    literal_array,
    literal_table,
    pick_index,
    uniform,
)

N_LA_NATIONAL = 152
# Children ever referred 2007-2021 at scale 1.0: 3.9M gave 3.82M assessments in 2014-15..2020-21 (seed 7,
# scale 0.01), so 4.3M gives the ~4.2M the study reports.
CHILDREN_NATIONAL = 4_300_000
HISTORY_YEARS = 7  # referrals start this many years before the first collection year's 1 April

# Stable 3-digit LA codes in the ranges DfE's old LA codes use.
LA_CODES: tuple[str, ...] = tuple(
    str(c) for c in [*range(201, 214), *range(301, 321), *range(330, 337), *range(340, 345), *range(350, 360),
                     *range(370, 374), *range(380, 385), *range(390, 395), *range(800, 883)])
assert len(LA_CODES) == N_LA_NATIONAL

ETHNICITY_SHARES = {
    "WBRI": 0.62, "WIRI": 0.004, "WIRT": 0.003, "WOTH": 0.06, "WROM": 0.008, "MWBC": 0.03, "MWBA": 0.01,
    "MWAS": 0.01, "MOTH": 0.025, "AIND": 0.013, "APKN": 0.025, "ABAN": 0.01, "AOTH": 0.015, "BCRB": 0.012,
    "BAFR": 0.04, "BOTH": 0.015, "CHNE": 0.002, "OOTH": 0.03, "REFU": 0.01, "NOBT": 0.058,
}
ETHNICITY_CODES = tuple(ETHNICITY_SHARES)
BLACK_CODES = tuple(c for c in ETHNICITY_CODES if ETHNICITY_GROUP[c] == "Black")
DISABILITY_LIST = tuple(c for c in DISABILITY_CODES if c != "NONE")


def n_las(scale: float) -> int:
    return max(3, min(N_LA_NATIONAL, round(N_LA_NATIONAL * scale)))


def la_weights(n: int, seed: int) -> list[float]:
    """Relative LA sizes: log-normal spread, fixed by the seed (pure Python: only n numbers)."""
    import random
    rng = random.Random(seed)
    return [math.exp(rng.gauss(0.0, 0.45)) for _ in range(n)]


def referral_window(first_year: int, last_year: int) -> tuple[date, date]:
    return date(first_year - 1 - HISTORY_YEARS, 4, 1), date(last_year, 3, 31)


def _ethnicity_cum_by_type() -> list[list[float]]:
    rows = []
    for cls in P.CLASS_NAMES:
        mult = P.EFFECTS[cls].black_multiplier
        rows.append(cumulative([ETHNICITY_SHARES[c] * (mult if c in BLACK_CODES else 1.0) for c in ETHNICITY_CODES]))
    return rows


def collection_year(d) -> F.Column:
    """Collection year (ending 31 March) of a date column."""
    return F.year(d) + F.when(F.month(d) >= 4, 1).otherwise(0)


def class_cum_by_year() -> list[list[float]]:
    """Row i: cumulative class sizes for collection year 2008 + i (2008..2026)."""
    return [cumulative(P.draw_weights(y)) for y in range(2008, 2027)]


def draw_class(u, year) -> F.Column:
    """A class drawn from the year's class sizes (years clamped to 2008..2026)."""
    row = F.least(F.greatest(year, F.lit(2008)), F.lit(2026)) - F.lit(2007)
    return pick_index(u, F.element_at(literal_table(class_cum_by_year()), row), P.K)


def permuted_digits(x, multiplier: int, offset: int, modulus: int, width: int) -> F.Column:
    """A bijection of 0..modulus-1 written as zero-padded digits: collision-free pseudonymous numbers."""
    value = F.pmod(x * F.lit(multiplier) + F.lit(offset % modulus), F.lit(modulus))
    return F.lpad(value.cast("string"), width, "0")


def pmr_for(child_id, seed: int) -> F.Column:
    """PupilMatchingRefAnonymous: 'P' + 11 digits, bijective in the id."""
    return F.concat(F.lit("P"), permuted_digits(child_id, 69621, seed * 7919, 10**11, 11))


def children(spark: SparkSession, scale: float, seed: int, first_year: int, last_year: int) -> DataFrame:
    """One row per child ever referred in the simulated window, with everything fixed for life."""
    n_children = max(50, round(CHILDREN_NATIONAL * scale))
    n_la = n_las(scale)
    la_cum = cumulative(la_weights(n_la, seed))
    start, end = referral_window(first_year, last_year)
    n_days = (end - start).days
    eff = [P.EFFECTS[c] for c in P.CLASS_NAMES]

    def u(purpose: str):
        return uniform(seed, F.col("child_id"), F.lit(purpose))

    df = spark.range(n_children).withColumnRenamed("id", "child_id")
    df = add_uniforms(df, seed, [F.col("child_id")], ["la", "type", "eth"])
    df = (df
          .withColumn("la_index", pick_index(F.col("u_la"), la_cum))
          .withColumn("first_referral", F.date_add(F.lit(start), F.floor(u("first") * n_days).cast("int")))
          .withColumn("child_type", draw_class(F.col("u_type"), collection_year(F.col("first_referral")))))
    type_pos = F.col("child_type") + F.lit(1)

    def by_type(values):
        return F.element_at(literal_array(values), type_pos)

    age_lo, age_hi = by_type([e.age_lo for e in eff]), by_type([e.age_hi for e in eff])
    age_days = F.floor((age_lo + (age_hi - age_lo) * u("age")) * F.lit(365.25)).cast("int")
    disabled = u("disabled") < by_type([e.disabled_share for e in eff])
    dis1 = F.floor(u("dis1") * len(DISABILITY_LIST)).cast("int")
    dis2 = F.pmod(dis1 + F.lit(1) + F.floor(u("dis2") * (len(DISABILITY_LIST) - 1)).cast("int"),
                  F.lit(len(DISABILITY_LIST)))
    dis_list = literal_array(DISABILITY_LIST)
    disability_codes = F.when(~disabled, F.array(F.lit("NONE"))).when(
        u("dis_n") < 0.3, F.array_sort(F.array(F.element_at(dis_list, dis1 + 1), F.element_at(dis_list, dis2 + 1)))
    ).otherwise(F.array(F.element_at(dis_list, dis1 + 1)))
    ethnicity = F.element_at(
        literal_array(ETHNICITY_CODES),
        pick_index(F.col("u_eth"), F.element_at(literal_table(_ethnicity_cum_by_type()), type_pos), len(ETHNICITY_CODES)) + 1)
    df = (df
          .withColumn("la_code", F.element_at(literal_array(LA_CODES[:n_la]), F.col("la_index") + 1))
          .withColumn("birth_date", F.date_sub(F.col("first_referral"), age_days))
          .withColumn("sex", F.when(u("sex") < by_type([e.male_share for e in eff]), "M").otherwise("F"))
          .withColumn("ethnicity", ethnicity)
          .withColumn("disabled", disabled)
          .withColumn("disabilities", disability_codes))
    df = (df
          .withColumn("birthday_18", F.add_months(F.col("birth_date"), 18 * 12))
          .withColumn("black", F.col("ethnicity").isin(*BLACK_CODES))
          .withColumn("upn", F.concat(F.lit("A"), F.col("la_code"),
                                      permuted_digits(F.col("child_id"), 48271, seed, 10**9, 9)))
          .withColumn("pmr", pmr_for(F.col("child_id"), seed)))
    # LAchildID: a sequence within the LA (so the same id occurs in different LAs, as in real returns).
    within_la = Window.partitionBy("la_code").orderBy("child_id")
    df = df.withColumn("la_child_id", F.concat(F.lit("C"), F.lpad(F.row_number().over(within_la).cast("string"), 7, "0")))
    return df.select("child_id", "la_code", "la_child_id", "upn", "pmr", "birth_date", "birthday_18", "sex",
                     "ethnicity", "black", "disabled", "disabilities", "child_type", "first_referral")
