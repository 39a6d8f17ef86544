"""Outcome figures on synthetic data vs the generator's truth (synth -> ingest -> classify -> outcomes).

Classifies with the generator's true parameter file (``_truth/params.json``) so categories carry the generator's
class names. Reports
- each headline figure against the target the generator was built to produce (pass = within 3 percentage
  points), from ``_truth/targets.json``;
- the category ordering of re-referral (KM cumulative incidence at 365 days) and pathway rates (CP plan, care
  within 12 months). The fair truth is not the order of the generator's parameters (a finite, censored dataset
  need not realise it) but the same measure computed on the same gold rows grouped by the generator's true
  class (``_truth/assessments.parquet``, linked by re-deriving the silver keys; assessments without factors
  are "No factors identified" on both sides, as the model cannot place them). Classes whose true values are
  within sampling error of each other (|difference| < 1.96 standard errors) have no reliable order; the
  pipeline's ordering agrees when it swaps only such pairs (``csc_demand.stats.ranking``).
Writes benchmarks/results/validate_outcomes.json. Long at scale 0.1: on a shared machine run it under the lock:

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/validate_outcomes.py [--scale 0.1] [--work DIR]
    .venv/bin/python benchmarks/validate_outcomes.py --work DIR --report-only   # re-read an existing run
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from results_file import save_keeping_previous
from csc_demand.cli import main as cli_main
from csc_demand.config import load_config
from csc_demand.io import delta
from csc_demand.model.labelling import NO_FACTORS_NAME
from csc_demand.outcomes.estimates import survival_estimates
from csc_demand.outcomes.followup import CATEGORY_COLUMNS, referral_categories
from csc_demand.outcomes.pathways import pathway_rates
from csc_demand.spark import get_spark
from csc_demand.stats.ranking import compare_rankings
from csc_demand.stats.survival import Z_95
from csc_demand.transform.pseudonymise import pseudonymise
from csc_demand.transform.silver_cin import hashed

RESULTS = Path(__file__).parent / "results" / "validate_outcomes.json"
TOLERANCE = 0.03
PSEUDONYM_KEY = "synthetic-validation-key-not-for-real-records"
# target key -> (survival measure, horizon) or a headline metric name in the stage's run summary
FIGURES = {"km_365": ("rereferral_after_closure", 365), "km_2190": ("rereferral_after_closure", 2190),
           "reentry_365": ("reentry_after_return_home", 365), "reentry_2190": ("reentry_after_return_home", 2190),
           "rereferral_12m_dfe": "dfe_rereferral_rate", "repeat_cpp_share": "repeat_plan_rate"}
NOT_A_CLASS = ("unknown", NO_FACTORS_NAME)


def run_verb(argv: list[str]) -> float:
    start = time.perf_counter()
    code = cli_main(argv)
    if code != 0:
        raise SystemExit(f"`csc-demand {' '.join(argv)}` failed with exit code {code}")
    return time.perf_counter() - start


def true_classes(truth_assessments: DataFrame, key: str) -> DataFrame:
    """assessment_key, category_id, category_name: the generator's class, keyed as silver keys assessments."""
    child_key = pseudonymise(F.col("la_code"), F.col("child_id"), key)
    referral_key = hashed("la_code", child_key, F.to_date("referral_date").cast("string"))
    return truth_assessments.select(
        hashed(referral_key, F.to_date("assessment_start_date").cast("string")).alias("assessment_key"),
        F.col("class_id").alias("category_id"), F.col("class_name").alias("category_name"))


def as_the_pipeline_labels(truth: DataFrame, assessments: DataFrame) -> DataFrame:
    """True classes with assessments without factors relabelled "No factors identified", as the pipeline labels
    them (the model cannot place them; the generator gives them a class), so both rank the same assessments."""
    no_factors = F.coalesce(~F.col("has_factors"), F.lit(False))
    return (truth.join(assessments.select("assessment_key", "has_factors"), on="assessment_key", how="left")
            .select("assessment_key", F.when(no_factors, F.lit(0)).otherwise(F.col("category_id")).alias("category_id"),
                    F.when(no_factors, F.lit(NO_FACTORS_NAME)).otherwise(F.col("category_name")).alias("category_name")))


def by_class(windows: DataFrame, pathways: DataFrame, assessments: DataFrame,
             categories: DataFrame | None) -> dict[str, dict[str, tuple[float, float, int]]]:
    """Per measure and class: (value, standard error, subjects), from the gold row-level tables.

    ``categories`` None keeps the pipeline's categories; otherwise they replace them (assessment_key,
    category_id, category_name), each referral taking its first authorised assessment's class, as the stage does.
    """
    if categories is not None:
        windows = windows.drop(*CATEGORY_COLUMNS).join(referral_categories(assessments, categories),
                                                       on="referral_key", how="left")
        pathways = pathways.drop(*CATEGORY_COLUMNS).join(categories, on="assessment_key", how="left")
    km = survival_estimates(windows, "rereferral_after_closure", ["category_name"], horizons=(365,))
    result: dict[str, dict] = {"rereferral": {}, "cp_plan": {}, "care": {}}
    for r in km.where(F.col("group_by") == "category_name").collect():
        # Greenwood interval (log-log scale) read back as a standard error: half its width over 1.96.
        result["rereferral"][r["group_value"]] = (r["cumulative_incidence"], (r["ci_upper"] - r["ci_lower"])
                                                  / (2 * Z_95), r["subjects"])
    for r in pathway_rates(pathways, ["category_name"]).where(F.col("group_by") == "category_name").collect():
        n = r["assessments"]
        for measure, rate in (("cp_plan", r["cp_plan_rate"]), ("care", r["care_rate"])):
            result[measure][r["group_value"]] = (rate, (rate * (1 - rate) / n) ** 0.5, n)
    return {m: {g: v for g, v in groups.items() if g not in NOT_A_CLASS} for m, groups in result.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--work", default="/tmp/csc-validate")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--report-only", action="store_true", help="report on the gold tables already in --work")
    args = parser.parse_args()
    work = Path(args.work)
    source, lakehouse = work / "source", str(work / "lakehouse")
    os.environ.setdefault("CSC_PSEUDONYM_KEY", PSEUDONYM_KEY)
    common = ["--lakehouse", lakehouse, "--set", f"spark.driver_memory={args.driver_memory}"]
    cfg = load_config(profile="local", overrides={"lakehouse": lakehouse, "spark.driver_memory": args.driver_memory})
    spark = get_spark(cfg)
    report: dict = {"scale": args.scale, "seed": args.seed, "load_average_at_start": os.getloadavg(),
                    "seconds": {}, "figures": {}}
    if not args.report_only:
        seconds = report["seconds"]
        if not (source / "_truth" / "targets.json").exists():
            from csc_demand.synth import generate

            start = time.perf_counter()
            generate(spark, str(source), args.scale, args.seed)
            seconds["synth"] = time.perf_counter() - start
        if not Path(lakehouse, "silver", "referrals").exists():
            seconds["ingest"] = run_verb(["ingest", "--source", str(source), *common])
        seconds["classify"] = run_verb(["classify", "--params", str(source / "_truth" / "params.json"), *common])
        seconds["outcomes"] = run_verb(["outcomes", *common])
        for verb, s in seconds.items():
            print(f"{verb:<10} {s:8.1f} s")
    report["load_average_after_pipeline"] = os.getloadavg()

    targets = json.loads((source / "_truth" / "targets.json").read_text())
    survival = delta.read_table(spark, cfg, "gold", "survival_estimates").collect()
    summary = json.loads(sorted(Path(cfg.runs_dir).glob("outcomes-*.json"))[-1].read_text())
    print(f"{'figure':<20} {'found':>8} {'target':>8}  within 3 pp")
    for key, source_of in FIGURES.items():
        if isinstance(source_of, tuple):
            (row,) = [r for r in survival if r["group_by"] == "all" and r["measure"] == source_of[0]
                      and r["horizon_days"] == source_of[1]]
            found, extra = row["cumulative_incidence"], {"ci": [row["ci_lower"], row["ci_upper"]],
                                                         "raw_share": row["raw_share"], "subjects": row["subjects"]}
        else:
            found, extra = summary["metrics"].get(source_of), {}
        ok = found is not None and abs(found - targets[key]) <= TOLERANCE
        report["figures"][key] = {"found": found, "target": targets[key], "within_3pp": ok, **extra}
        print(f"{key:<20} {found if found is None else round(found, 4):>8} {targets[key]:>8}  {ok}")

    windows = delta.read_table(spark, cfg, "gold", "referral_windows")
    pathways = delta.read_table(spark, cfg, "gold", "assessment_pathways")
    assessments = delta.read_table(spark, cfg, "silver", "assessments")
    truth = true_classes(spark.read.parquet(str(source / "_truth" / "assessments.parquet")),
                         cfg.resolve_pseudonym_key()).persist()
    linked = assessments.join(truth, on="assessment_key", how="left").agg(
        F.count(F.lit(1)).alias("assessments"), F.count("category_name").alias("with_true_class")).collect()[0]
    report["truth_link"] = linked.asDict()
    print(f"silver assessments linked to a true class: {linked['with_true_class']:,} of {linked['assessments']:,}")
    pipeline = by_class(windows, pathways, assessments, None)
    fair = by_class(windows, pathways, assessments, as_the_pipeline_labels(truth, assessments))
    parameter_orders = targets["category_orderings"]
    report["orderings"] = {}
    for measure in ("rereferral", "cp_plan", "care"):
        comparison = compare_rankings({g: v[0] for g, v in pipeline[measure].items()},
                                      {g: v[:2] for g, v in fair[measure].items()})
        by_parameters = compare_rankings({g: -parameter_orders[measure].index(g) for g in parameter_orders[measure]},
                                         {g: v[:2] for g, v in fair[measure].items()})
        report["orderings"][measure] = {
            **comparison,
            "pipeline_by_category": {g: {"value": v, "se": se, "n": n} for g, (v, se, n) in pipeline[measure].items()},
            "truth_by_true_class": {g: {"value": v, "se": se, "n": n} for g, (v, se, n) in fair[measure].items()},
            "generator_parameter_order": parameter_orders[measure],
            "parameter_order_vs_true_class_order": {k: by_parameters[k] for k in (
                "exact_match", "spearman", "agrees_within_sampling_error")}}
        print(f"ordering {measure}: exact {comparison['exact_match']}, Spearman {comparison['spearman']:.3f}, "
              f"agrees within sampling error {comparison['agrees_within_sampling_error']} "
              f"(the generator's parameter order vs true classes: exact {by_parameters['exact_match']}, "
              f"Spearman {by_parameters['spearman']:.3f})")
        for g in comparison["reference_order"]:
            print(f"  {g:<32} true class {fair[measure][g][0]:.4f} (se {fair[measure][g][1]:.4f})  "
                  f"pipeline {pipeline[measure][g][0]:.4f}  rank {comparison['found_order'].index(g) + 1}")
        for pair in comparison["swapped_pairs"]:
            verdict = "within sampling error" if pair["within_sampling_error"] else "NOT within sampling error"
            print(f"  swapped: {pair['higher']} > {pair['lower']} in truth by {pair['difference']:.4f} "
                  f"(z {pair['z']:.2f}): {verdict}")
    report["load_average_at_end"] = os.getloadavg()
    save_keeping_previous(RESULTS, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
