"""Education outcomes by the highest level of social care involvement reached before the end of KS4.

Levels: never referred (0) < child in need (1: any referral) < CP plan (2) < in care (3). An event counts when
it starts on or before 31 August of the KS4 academic year (``ks4_year``). Pupils are linked to children by
``pupil_key`` (a pupil may have several child keys, one per LA; the highest level over all of them counts).

Look-back: CIN history is observable from ``history_from`` (1 April of the first collection year in
silver.referrals). A KS4 cohort is reported only when that history covers its last ``lookback_years`` academic
years up to the end of KS4; otherwise involvement before the data began would count pupils as never referred.
Every education table carries ``history_from`` and ``ks4_years`` (the cohorts reported).

LA rows: an involved pupil belongs to the LA of their latest event before the end of KS4; never-referred pupils
have no LA, so every ratio (LA rows too) compares with England's never-referred pupils (``la_code`` "ALL").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.outcomes.followup import CATEGORY_COLUMNS
from csc_demand.outcomes.trends import ENGLAND
from csc_demand.stats.survival import Z_95

INVOLVEMENT_LEVELS = {0: "never_referred", 1: "child_in_need", 2: "cp_plan", 3: "in_care"}
NEVER = INVOLVEMENT_LEVELS[0]
LOOKBACK_COLUMNS = ("history_from", "ks4_years")
PUPIL_INVOLVEMENT_COLUMNS = ("pupil_key", "ks4_year", "la_code", "involvement_level", "involvement", "episodes",
                             "episodes_group", "category_id", "category_name", "sen_provision", "sen_status", "att8",
                             "suspended", "permanently_excluded", *LOOKBACK_COLUMNS)
OUTCOME_COLUMNS = ("pupils", "att8_pupils", "mean_att8", "att8_ratio_to_never_referred", "suspended",
                   "suspension_rate", "suspension_rate_ratio", "permanently_excluded", "exclusion_rate",
                   "exclusion_rate_ratio")
EDUCATION_GAP_COLUMNS = ("la_code", "breakdown", "involvement", "sen_status", "episodes_group", *OUTCOME_COLUMNS,
                         *LOOKBACK_COLUMNS)
EDUCATION_BY_CATEGORY_COLUMNS = ("la_code", *CATEGORY_COLUMNS, *OUTCOME_COLUMNS, *LOOKBACK_COLUMNS)
SEN_GAP_COLUMNS = ("la_code", "involvement", "pupils_sen", "pupils_no_sen", "att8_sen", "att8_no_sen", "att8_gap",
                   "att8_relative_gap", "did_estimate", "did_ci_lower", "did_ci_upper", "suspension_ratio_sen",
                   "exclusion_ratio_sen", *LOOKBACK_COLUMNS)


@dataclass(frozen=True)
class Lookback:
    history_from: date
    ks4_years: tuple[int, ...]  # the observable cohorts, ascending

    @property
    def label(self) -> str:
        """The cohorts as ranges: (2015, 2016, 2017, 2019) -> "2015-2017, 2019"."""
        runs: list[list[int]] = []
        for year in self.ks4_years:
            if runs and year == runs[-1][-1] + 1:
                runs[-1].append(year)
            else:
                runs.append([year])
        return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def lookback(school_outcomes: DataFrame, history_from: date, lookback_years: int) -> Lookback:
    """The KS4 cohorts whose last ``lookback_years`` academic years (from 1 September) lie within the history."""
    first_september = F.make_date(F.col("ks4_year") - F.lit(lookback_years), F.lit(9), F.lit(1))
    years = (school_outcomes.where(first_september >= F.lit(history_from)).select("ks4_year").distinct()
             .collect())
    return Lookback(history_from, tuple(sorted(r[0] for r in years)))


def _with_lookback(df: DataFrame, look: Lookback) -> DataFrame:
    return df.withColumn("history_from", F.lit(look.history_from)).withColumn("ks4_years", F.lit(look.label))


def _categorised_assessments(assessments: DataFrame, categories: DataFrame | None) -> DataFrame | None:
    """Authorised assessments with their category, as rows of the pupils' timeline (``_date``: the authorisation,
    ``_latest``: what makes the last one)."""
    if categories is None:
        return None
    return (assessments.where(F.col("authorised_date").isNotNull())
            .join(categories.select("assessment_key", *CATEGORY_COLUMNS), on="assessment_key", how="inner")
            .select("child_key", F.col("authorised_date").alias("_date"),
                    F.struct("authorised_date", "start_date", "assessment_key").alias("_latest"),
                    F.struct(*CATEGORY_COLUMNS).alias("_category")))


def pupil_involvement(school_outcomes: DataFrame, children: DataFrame, referrals: DataFrame,
                      cp_plans: DataFrame, care_periods: DataFrame, assessments: DataFrame,
                      categories: DataFrame | None, look: Lookback) -> DataFrame:
    """gold.education_involvement: one row per KS4 pupil of the observable cohorts (PUPIL_INVOLVEMENT_COLUMNS).

    ``la_code``: LA of the latest event before the end of KS4 (null when never referred); ``category_name``:
    category of the last assessment authorised by then ("unknown" for involved pupils without one).
    """
    pupils = school_outcomes.where(F.col("ks4_year").isin(list(look.ks4_years)))
    ks4_end = F.make_date(F.col("ks4_year"), F.lit(8), F.lit(31))
    events = (referrals.select("child_key", "la_code", F.col("referral_date").alias("_date"), F.lit(1).alias("level"))
              .unionByName(cp_plans.select("child_key", "la_code", F.col("start_date").alias("_date"),
                                           F.lit(2).alias("level")))
              .unionByName(care_periods.select("child_key", "la_code", F.col("period_start").alias("_date"),
                                               F.lit(3).alias("level"))))
    assessed = _categorised_assessments(assessments, categories)
    if assessed is not None:  # on the same timeline: the pupils' children are joined with the rows once
        events = events.unionByName(assessed, allowMissingColumns=True)
    # Children with a KS4 result first (few), then their events: the many event rows are shuffled only once.
    ks4_children = (children.where(F.col("pupil_key").isNotNull()).select("child_key", "pupil_key")
                    .join(pupils.select("pupil_key", "ks4_year"), on="pupil_key", how="inner"))
    event = F.col("level").isNotNull()
    aggregates = [F.max("level").alias("involvement_level"),
                  F.sum(F.when(F.col("level") == 1, 1).otherwise(0)).alias("episodes"),
                  F.max(F.when(event, F.struct("_date", "level", "la_code")))["la_code"].alias("la_code")]
    if assessed is not None:
        aggregates.append(F.max_by("_category", "_latest").alias("_category"))
    reached = (events.join(ks4_children, on="child_key", how="inner")
               .where(F.col("_date") <= ks4_end)
               .groupBy("pupil_key").agg(*aggregates))
    category = [F.col(f"_category.{c}").alias(c) for c in CATEGORY_COLUMNS] if assessed is not None else [
        F.lit(None).cast("int").alias("category_id"), F.lit(None).cast("string").alias("category_name")]
    involved = F.col("involvement_level") > 0
    level_name = F.element_at(F.create_map(*[F.lit(x) for kv in INVOLVEMENT_LEVELS.items() for x in kv]),
                              F.col("involvement_level"))
    df = (pupils.join(reached, on="pupil_key", how="left").select("*", *category)
          .withColumn("involvement_level", F.coalesce("involvement_level", F.lit(0)))
          .withColumn("episodes", F.coalesce("episodes", F.lit(0)).cast("long"))
          .withColumn("involvement", level_name)
          .withColumn("episodes_group", F.when(~involved, F.lit("none"))
                      .when(F.col("episodes") <= 1, F.lit("one")).otherwise(F.lit("several")))
          .withColumn("category_id", F.when(involved, F.col("category_id")))
          .withColumn("category_name", F.when(involved, F.coalesce("category_name", F.lit("unknown"))))
          .withColumn("sen_status", F.when(F.col("sen_provision").isin("E", "K"), F.lit("SEN"))
                      .when(F.col("sen_provision") == "N", F.lit("no SEN")).otherwise(F.lit("unknown"))))
    return _with_lookback(df, look).select(*PUPIL_INVOLVEMENT_COLUMNS)


def _las(involvement: DataFrame) -> Column:
    """The la_code rows a pupil counts in: England, and their own LA when involved."""
    own = (F.col("involvement_level") > 0) & F.col("la_code").isNotNull()
    return F.explode(F.when(own, F.array(F.lit(ENGLAND), F.col("la_code"))).otherwise(F.array(F.lit(ENGLAND))))


def _outcomes() -> list:
    return [F.count(F.lit(1)).alias("pupils"), F.count("att8").alias("att8_pupils"), F.avg("att8").alias("mean_att8"),
            F.sum(F.coalesce(F.col("suspended").cast("long"), F.lit(0))).alias("suspended"),
            F.sum(F.coalesce(F.col("permanently_excluded").cast("long"), F.lit(0))).alias("permanently_excluded")]


def _with_rates(cells: DataFrame) -> DataFrame:
    return (cells.withColumn("suspension_rate", F.try_divide("suspended", "pupils"))
            .withColumn("exclusion_rate", F.try_divide("permanently_excluded", "pupils")))


def _with_ratios(cells: DataFrame, never: DataFrame, on: list[str]) -> DataFrame:
    """Ratios of each cell's mean Attainment 8 and rates to the reference row of ``never`` (joined on ``on``)."""
    reference = never.select(*on, F.col("mean_att8").alias("never_att8"), F.col("suspension_rate").alias("never_susp"),
                             F.col("exclusion_rate").alias("never_excl"))
    joined = cells.join(reference, on=on if on else F.lit(True), how="left")
    # try_divide: a reference rate of 0 gives a null ratio, not an ANSI division error.
    return (joined.withColumn("att8_ratio_to_never_referred", F.try_divide("mean_att8", "never_att8"))
            .withColumn("suspension_rate_ratio", F.try_divide("suspension_rate", "never_susp"))
            .withColumn("exclusion_rate_ratio", F.try_divide("exclusion_rate", "never_excl")))


def education_gaps(involvement: DataFrame) -> DataFrame:
    """gold.education_gaps: attainment and exclusion by LA and involvement, with ratios to never-referred pupils.

    Breakdowns: ``involvement`` (sen_status and episodes_group "all"), ``involvement_by_sen`` (ratios to
    never-referred pupils of the same SEN status) and ``episodes`` (one vs several CIN episodes among involved
    pupils, ratios to all never-referred pupils). Mean Attainment 8 is over pupils with a score. References are
    England's never-referred pupils, for LA rows too.
    """
    rows = involvement.select(
        "involvement", "att8", "suspended", "permanently_excluded", *LOOKBACK_COLUMNS, _las(involvement).alias("la"),
        F.explode(F.array(
            F.struct(F.lit("involvement").alias("breakdown"), F.lit("all").alias("sen_key"),
                     F.lit("all").alias("episodes_key")),
            F.struct(F.lit("involvement_by_sen").alias("breakdown"), F.col("sen_status").alias("sen_key"),
                     F.lit("all").alias("episodes_key")),
            F.struct(F.lit("episodes").alias("breakdown"), F.lit("all").alias("sen_key"),
                     F.col("episodes_group").alias("episodes_key")))).alias("b"))
    cells = _with_rates(rows.groupBy(F.col("la").alias("la_code"), "b.breakdown", "involvement",
                                     F.col("b.sen_key").alias("sen_status"),
                                     F.col("b.episodes_key").alias("episodes_group"), *LOOKBACK_COLUMNS)
                        .agg(*_outcomes()))
    # Episodes rows compare with all never-referred pupils, whose own row sits under episodes_group "none".
    never = cells.where((F.col("la_code") == ENGLAND) & (F.col("involvement") == NEVER))
    return _with_ratios(cells, never, ["breakdown", "sen_status"]).select(*EDUCATION_GAP_COLUMNS)


def education_by_category(involvement: DataFrame) -> DataFrame:
    """gold.education_by_category: involved pupils by LA and category of their last assessment before the end of
    KS4 ("unknown": none categorised; "all": every involved pupil), with ratios to England's never-referred."""
    involved = involvement.where(F.col("involvement_level") > 0)
    categories = F.explode(F.array(F.struct(*CATEGORY_COLUMNS),
                                   F.struct(F.lit(None).cast("int").alias("category_id"),
                                            F.lit("all").alias("category_name"))))
    rows = involved.select("att8", "suspended", "permanently_excluded", *LOOKBACK_COLUMNS,
                           _las(involved).alias("la_code"), categories.alias("c"))
    cells = _with_rates(rows.groupBy("la_code", "c.category_id", "c.category_name", *LOOKBACK_COLUMNS)
                        .agg(*_outcomes()))
    never = _with_rates(involvement.where(F.col("involvement_level") == 0).agg(*_outcomes()))
    return _with_ratios(cells, never, []).select(*EDUCATION_BY_CATEGORY_COLUMNS)


def _relative_gap(sen: str, no_sen: str) -> tuple[Column, Column]:
    """(relative gap 1 - S/N, its delta-method variance) from the columns ``<x>_mean``, ``<x>_var``, ``<x>_n``."""
    s, n = F.col(f"{sen}_mean"), F.col(f"{no_sen}_mean")
    var_s, var_n = F.col(f"{sen}_var") / F.col(f"{sen}_n"), F.col(f"{no_sen}_var") / F.col(f"{no_sen}_n")
    gap = F.lit(1.0) - F.try_divide(s, n)
    variance = var_s / (n * n) + (s * s) * var_n / (n * n * n * n)
    return gap, variance


def sen_gaps(involvement: DataFrame) -> DataFrame:
    """gold.education_sen_gaps: per LA and involvement group, the SEN vs no-SEN attainment gap and exclusion ratios.

    ``att8_gap`` = no-SEN minus SEN mean (points); ``att8_relative_gap`` = that over the no-SEN mean; the
    interaction ``did_estimate`` = relative gap of the group minus that of England's never-referred pupils (a
    difference in differences on the relative scale: positive = the SEN gap widens with involvement), with a
    95% interval from the delta-method variance of the four independent means. ``pupils_sen``/``pupils_no_sen``:
    pupils with a score each mean rests on.
    """
    sen = F.col("sen_status") == "SEN"
    no_sen = F.col("sen_status") == "no SEN"

    def rate(flag: str, where: Column) -> Column:
        return F.avg(F.when(where, F.coalesce(F.col(flag).cast("double"), F.lit(0.0))))

    stats = []
    for name, where in (("sen", sen), ("no_sen", no_sen)):
        att8 = F.when(where, F.col("att8"))
        stats += [F.count(att8).alias(f"{name}_n"), F.avg(att8).alias(f"{name}_mean"),
                  F.var_samp(att8).alias(f"{name}_var")]
    cells = (involvement.select("*", _las(involvement).alias("la"))
             .groupBy(F.col("la").alias("la_code"), "involvement", *LOOKBACK_COLUMNS)
             .agg(*stats,
                  F.try_divide(rate("suspended", sen), rate("suspended", no_sen)).alias("suspension_ratio_sen"),
                  F.try_divide(rate("permanently_excluded", sen), rate("permanently_excluded", no_sen))
                  .alias("exclusion_ratio_sen")))
    gap, variance = _relative_gap("sen", "no_sen")
    cells = cells.withColumn("att8_relative_gap", gap).withColumn("gap_var", variance)
    never = cells.where((F.col("la_code") == ENGLAND) & (F.col("involvement") == NEVER)).select(
        F.col("att8_relative_gap").alias("never_gap"), F.col("gap_var").alias("never_var"))
    did = F.when(F.col("involvement") != NEVER, F.col("att8_relative_gap") - F.col("never_gap"))
    half_width = F.lit(Z_95) * F.sqrt(F.col("gap_var") + F.col("never_var"))
    return (cells.join(never, on=F.lit(True), how="left")
            .withColumn("did_estimate", did)
            .select("*", (F.col("did_estimate") - half_width).alias("did_ci_lower"),
                    (F.col("did_estimate") + half_width).alias("did_ci_upper"),
                    F.col("sen_n").alias("pupils_sen"), F.col("no_sen_n").alias("pupils_no_sen"),
                    F.col("sen_mean").alias("att8_sen"), F.col("no_sen_mean").alias("att8_no_sen"),
                    (F.col("no_sen_mean") - F.col("sen_mean")).alias("att8_gap"))
            .select(*SEN_GAP_COLUMNS))
