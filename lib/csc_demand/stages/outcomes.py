"""``csc-demand outcomes``: silver (+ gold.assessment_category when present) -> outcome gold tables + MLflow run.

Steps: read inputs and record their Delta versions; hold the assessments, their categories, the children and each
referral's category in memory by their keys (``held_by``); fix the end of follow-up; build and write each measure's
row-level table, then the aggregates from the written table (so each heavy computation runs once), a few tables
at a time; log headline figures to an MLflow run named "outcomes" whose params are the input versions.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from functools import partial

from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.concurrency import concurrently
from csc_demand.config import Config
from csc_demand.errors import MissingTableError
from csc_demand.io import delta
from csc_demand.model.labelling import load_categories
from csc_demand.outcomes.combinations import pathway_factor_combinations
from csc_demand.outcomes.demographics import category_demographics
from csc_demand.outcomes.education import (
    education_by_category,
    education_gaps,
    lookback,
    pupil_involvement,
    sen_gaps,
)
from csc_demand.outcomes.estimates import survival_estimates
from csc_demand.outcomes.followup import (
    CATEGORY_COLUMNS,
    check_end_date,
    first_collection_day,
    referral_categories,
    referral_years,
)
from csc_demand.outcomes.pathways import (
    assessment_pathways,
    pathway_odds_ratios,
    pathway_rates,
    with_la_code,
)
from csc_demand.outcomes.rates import ENGLAND
from csc_demand.outcomes.reentry import (
    care_periods_by_category,
    care_reentry,
    dated_categories,
)
from csc_demand.outcomes.repeat_plans import (
    cp_plans_by_abuse,
    plan_sequence,
    repeat_plan_rates,
)
from csc_demand.outcomes.rereferral import referral_windows, rereferral_rates
from csc_demand.outcomes.thresholds import category_thresholds
from csc_demand.outcomes.trends import category_trends, complexity_trends
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark
from csc_demand.stats.regression import ODDS_RATIO_SCHEMA
from csc_demand.stats.survival import HORIZONS_DAYS
from csc_demand.table_schemas import check_schema

HELP = ("compute the outcomes: re-referral windows and survival, repeat CP plans, re-entry to care, pathways, "
        "education, trends and the findings tables, per LA and for England (gold tables + MLflow)")
SILVER_INPUTS = ("children", "referrals", "assessments", "cp_plans", "care_periods", "school_outcomes")
SURVIVAL_MEASURES = ("rereferral_after_closure", "repeat_cp_plan", "reentry_after_return_home")


def calendar_date(text: str) -> date:
    """An option's YYYY-MM-DD value; argparse names the option in front of the reason."""
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD ({err})") from err


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--end-date", metavar="YYYY-MM-DD", type=calendar_date,
                        help="end of follow-up, within the collection years of silver.referrals (default: "
                             "outcomes.end_date from config, else 31 March of the latest one)")


def _read_inputs(spark: SparkSession, cfg: Config, log: RunLog
                 ) -> tuple[dict[str, DataFrame], DataFrame | None, DataFrame | None]:
    """The silver inputs by name, silver.cin_plans and gold.assessment_category (None when absent)."""
    frames = {}
    for table in SILVER_INPUTS:
        frames[table] = check_schema(delta.read_table(spark, cfg, "silver", table), "silver", table)
        log.read(f"silver.{table}", delta.table_version(spark, cfg, "silver", table))
    # CIN plans are collected from 2021-22 only: without the table, gold.category_thresholds has no cin_plan rows.
    cin_plans = None
    if delta.table_exists(spark, cfg, "silver", "cin_plans"):
        cin_plans = check_schema(delta.read_table(spark, cfg, "silver", "cin_plans"), "silver", "cin_plans")
        log.read("silver.cin_plans", delta.table_version(spark, cfg, "silver", "cin_plans"))
    categories = None
    if delta.table_exists(spark, cfg, "gold", "assessment_category"):
        categories = check_schema(delta.read_table(spark, cfg, "gold", "assessment_category"),
                                  "gold", "assessment_category")
        log.read("gold.assessment_category", delta.table_version(spark, cfg, "gold", "assessment_category"))
    return frames, cin_plans, categories


# The columns of silver.assessments and silver.children the measures read (not the 34 indicators).
ASSESSMENT_COLUMNS = ("assessment_key", "referral_key", "child_key", "la_code", "start_date", "authorised_date",
                      "factor_codes", "n_factors", "has_factors", "collection_year")
CHILD_COLUMNS = ("child_key", "la_code", "pupil_key", "birth_date", "sex", "ethnic_group")


def held_by(frame: DataFrame, key: str, columns: tuple[str, ...]) -> DataFrame:
    """``frame``'s ``columns`` read once into memory, hash-partitioned and sorted by ``key``. The measures join the
    assessments with their categories, and events with the children's attributes, again and again: on such frames
    a join on ``key`` reads memory with neither a shuffle nor a sort (the windows' rows are partitioned by child
    already). ``unpersist`` it when done."""
    held = frame.select(*columns).repartition(key).sortWithinPartitions(key).persist(StorageLevel.MEMORY_AND_DISK)
    held.count()  # filled now: until then the planner does not know how the cache is partitioned, and shuffles
    return held


def refuse_unclassified(assessments: DataFrame, categories: DataFrame) -> None:
    """Every assessment needs its row in gold.assessment_category (classify writes one for each, category 0 without
    factors): one without came from an ingest after the last classify, and would be left out of every measure by
    category without a word."""
    unclassified = assessments.join(categories, "assessment_key", "left_anti").count()
    if unclassified:
        raise MissingTableError(
            f"{unclassified} of {assessments.count()} assessments in silver.assessments have no row in "
            f"gold.assessment_category: it was written before the latest `csc-demand ingest`. Run `csc-demand "
            f"classify` again (or `fit` then `classify` for a model of the new data), then `csc-demand outcomes`")


def _write(df: DataFrame, cfg: Config, log: RunLog, table: str) -> DataFrame:
    """Write a gold table, log its version and row count, and return it read back from Delta."""
    spark = df.sparkSession
    version = delta.write_table(df, cfg, "gold", table)
    _, metrics = delta.last_commit_metrics(spark, cfg, "gold", table)
    rows = int(metrics.get("numOutputRows", -1))
    log.wrote(f"gold.{table}", version)
    log.table(f"gold.{table}", accepted=rows)
    log.step(f"wrote gold.{table} (version {version}, {rows} rows)")
    return delta.read_table(spark, cfg, "gold", table, version)


def _odds_ratios_or_empty(pathways: DataFrame, with_categories: bool, log: RunLog) -> DataFrame:
    log.step("fitting pathway logistic regressions (MLlib GLR, binomial)")
    try:
        return pathway_odds_ratios(pathways, with_categories)
    except PySparkException as err:  # e.g. a singular design on a tiny extract: report it, keep the rest
        log.step(f"pathway odds ratios not estimable on this data ({type(err).__name__}: {str(err)[:300]}); "
                 "writing an empty gold.pathway_odds_ratios")
        log.metric("pathway_odds_ratios_error", str(err)[:300])
        return with_la_code(pathways.sparkSession.createDataFrame([], ODDS_RATIO_SCHEMA))


def headline_figures(survival: DataFrame, rereferrals: DataFrame, plans: DataFrame, pathways: DataFrame,
                     from_year: int) -> dict[str, float]:
    """England's figures ("ALL" rows) for MLflow: KM cumulative incidence at 365 and 2190 days per measure, and
    overall rates.

    Re-referral and repeat-plan rates count years from ``from_year`` (``headline_from_year``).
    """
    figures: dict[str, float | None] = {}  # None: undefined, left out
    england = F.col("la_code") == ENGLAND
    headline_horizon = F.col("horizon_days").isin(*HORIZONS_DAYS)
    for row in survival.where(england & (F.col("group_by") == "all") & headline_horizon).collect():  # a few rows
        figures[f"{row['measure']}_{row['horizon_days']}d"] = row["cumulative_incidence"]
        figures[f"{row['measure']}_{row['horizon_days']}d_raw_share"] = row["raw_share"]
    for name, table, year, flag, count in (
            ("dfe_rereferral_rate", rereferrals, "referral_year", "rereferrals_12m", "referrals"),
            ("repeat_plan_rate", plans, "start_year", "repeat_plans", "plans")):
        totals = (table.where(england & (F.col("category_name") == "all") & (F.col(year) >= from_year))
                  .agg(F.sum(flag), F.sum(count)).collect()[0])
        figures[name] = totals[0] / totals[1] if totals[1] else None
    overall = pathways.where(england & (F.col("group_by") == "all")).collect()
    if overall:
        figures["pathway_cp_plan_rate"] = overall[0]["cp_plan_rate"]
        figures["pathway_care_rate"] = overall[0]["care_rate"]
    return {k: float(v) for k, v in figures.items() if v is not None}


def headline_from_year(referrals: DataFrame, assessments: DataFrame) -> int:
    """The first year the headline rates count: the study years (those with assessments; earlier NPD history years
    are look-back only), never the first collection year in silver.referrals (it has no look-back, so it
    under-counts re-referrals and earlier plans)."""
    first_referral_year = referrals.agg(F.min("collection_year")).collect()[0][0]
    first_assessment_year = assessments.agg(F.min("collection_year")).collect()[0][0]
    return max(first_referral_year + 1, first_assessment_year or first_referral_year)


def log_to_mlflow(cfg: Config, log: RunLog, end_date: date, figures: dict[str, float]) -> str:
    import mlflow

    from csc_demand.model import tracking

    tracking.configure(cfg)
    with mlflow.start_run(run_name="outcomes", tags=tracking.run_tags(cfg)) as run:
        mlflow.log_params({f"version.{name}": v for name, v in log.summary["versions_read"].items()})
        mlflow.log_params({"end_date": end_date.isoformat(), "cross_la": cfg.outcomes.cross_la,
                           "pathway_window_months": cfg.outcomes.pathway_window_months})
        mlflow.log_metrics(figures)
    return run.info.run_id


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    delta.refuse_missing_local_tables(cfg, [("silver", table) for table in SILVER_INPUTS])
    spark = get_spark(cfg)
    log.step("reading silver tables")
    inputs, cin_plans, categories = _read_inputs(spark, cfg, log)
    referrals_from, data_end = referral_years(inputs["referrals"])
    end_date = args.end_date or cfg.outcomes.end_date or data_end
    check_end_date(end_date, (referrals_from, data_end))
    if categories is None:
        log.step("gold.assessment_category not found: measures are computed without demand categories")
    log.step("holding silver.assessments, silver.children" + (", gold.assessment_category and each referral's "
             "category" if categories is not None else "") + " in memory, by their keys")
    tasks: list[Callable[[], DataFrame]] = [
        partial(held_by, inputs["assessments"], "assessment_key", ASSESSMENT_COLUMNS),
        partial(held_by, inputs["children"], "child_key", CHILD_COLUMNS)]
    if categories is not None:
        tasks.append(partial(held_by, categories, "assessment_key", ("assessment_key", *CATEGORY_COLUMNS)))
    held = concurrently(tasks)  # their jobs' small last tasks overlap
    inputs["assessments"], inputs["children"] = held[0], held[1]
    by_referral = None
    if categories is not None:
        categories = held[2]
        # Both the referral windows and the CP plan sequence take each referral's category: found once.
        by_referral = referral_categories(inputs["assessments"], categories)
        if by_referral is not None:
            by_referral = held_by(by_referral, "referral_key", ("referral_key", *CATEGORY_COLUMNS))
            held.append(by_referral)
    try:
        if categories is not None:
            refuse_unclassified(inputs["assessments"], categories)
        return _write_measures(cfg, log, inputs, end_date, referrals_from, cin_plans, categories, by_referral)
    finally:
        for frame in held:
            frame.unpersist()


def _write_measures(cfg: Config, log: RunLog, inputs: dict[str, DataFrame], end_date: date, referrals_from: date,
                    cin_plans: DataFrame | None, categories: DataFrame | None, by_referral: DataFrame | None) -> int:
    cross_la, window = cfg.outcomes.cross_la, cfg.outcomes.pathway_window_months
    log.metric("end_date", end_date.isoformat())
    log.step(f"follow-up ends {end_date}; pathway window {window} months; cross-LA linking {cross_la}")
    children, groupings = inputs["children"], (["category_name"] if categories is not None else [])

    authorised_from = first_collection_day(inputs["assessments"], "silver.assessments")
    log.step(f"pathways and trends: assessments authorised from {authorised_from} (the first collection year with "
             "assessments; earlier ones are in the returns only because their referral was still open)")
    log.metric("pathway_authorised_from", authorised_from.isoformat())
    look = lookback(inputs["school_outcomes"], referrals_from, cfg.outcomes.education_lookback_years)
    log.step(f"education: CIN history from {look.history_from}; KS4 cohorts with "
             f"{cfg.outcomes.education_lookback_years} observable years before the end of KS4: "
             f"{look.label or 'none (education tables are empty)'}")
    log.metric("education_history_from", look.history_from.isoformat())
    log.metric("education_ks4_years", look.label)

    # Two waves of tables written a few at a time: the row-level tables, then what is aggregated from them (read
    # back from Delta, so each heavy computation runs once).
    def write(table: str, build: Callable[[], DataFrame]) -> Callable[[], DataFrame]:
        return lambda: _write(build(), cfg, log, table)
    complex_ids = [c.id for c in load_categories() if c.complex]
    windows, plans, reentry, pathways, involvement, *_ = concurrently([
        write("referral_windows", lambda: referral_windows(
            inputs["referrals"], children, end_date, by_referral, cross_la)),
        write("cp_plan_sequence", lambda: plan_sequence(
            inputs["cp_plans"], children, end_date, by_referral, cross_la)),
        write("care_reentry", lambda: care_reentry(
            inputs["care_periods"], children, end_date, dated_categories(inputs["assessments"], categories), cross_la)),
        write("assessment_pathways", lambda: assessment_pathways(
            inputs["assessments"], inputs["cp_plans"], inputs["care_periods"], children, end_date, authorised_from,
            window, categories, cross_la)),
        write("education_involvement", lambda: pupil_involvement(
            inputs["school_outcomes"], children, inputs["referrals"], inputs["cp_plans"], inputs["care_periods"],
            inputs["assessments"], categories, look)),
        write("category_trends", lambda: category_trends(categories, inputs["assessments"], authorised_from)),
        write("complexity_trends", lambda: complexity_trends(
            inputs["assessments"], categories, complex_ids, authorised_from)),
        write("category_thresholds", lambda: category_thresholds(
            inputs["assessments"], categories, cin_plans, inputs["cp_plans"], inputs["care_periods"],
            authorised_from))])
    rereferrals, plan_rates, survival, rates, *_ = concurrently([
        write("rereferral_rates", lambda: rereferral_rates(windows)),
        write("repeat_plan_rates", lambda: repeat_plan_rates(plans)),
        write("survival_estimates", lambda: survival_estimates(windows, SURVIVAL_MEASURES[0], groupings)
              .unionByName(survival_estimates(plans, SURVIVAL_MEASURES[1], groupings))
              .unionByName(survival_estimates(reentry, SURVIVAL_MEASURES[2], groupings))),
        write("pathway_rates", lambda: pathway_rates(pathways)),
        write("cp_plans_by_abuse", lambda: cp_plans_by_abuse(plans, inputs["cp_plans"], children)),
        write("care_periods_by_category", lambda: care_periods_by_category(reentry)),
        write("pathway_factor_combinations", lambda: pathway_factor_combinations(pathways, inputs["assessments"])),
        write("category_demographics", lambda: category_demographics(pathways)),
        write("education_gaps", lambda: education_gaps(involvement)),
        write("education_sen_gaps", lambda: sen_gaps(involvement)),
        write("education_by_category", lambda: education_by_category(involvement))])
    # In this thread: a Spark Connect client's MLlib calls need the session active in the calling thread.
    _write(_odds_ratios_or_empty(pathways, categories is not None, log), cfg, log, "pathway_odds_ratios")

    figures = headline_figures(survival, rereferrals, plan_rates, rates,
                               headline_from_year(inputs["referrals"], inputs["assessments"]))
    for name, value in figures.items():
        log.metric(name, round(value, 6))
    run_id = log_to_mlflow(cfg, log, end_date, figures)
    log.metric("mlflow_run_id", run_id)
    log.step(f"logged {len(figures)} headline figures to MLflow run {run_id} (experiment {cfg.mlflow.experiment})")
    return 0
