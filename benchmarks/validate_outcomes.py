"""Outcome figures on synthetic data vs the generator's truth (synth -> ingest -> fit -> classify -> outcomes).

Classifies with the **fitted** model (``fit --k 12``, then ``classify`` with the registered champion); fitted
categories are matched to the generator's classes by the keys of conf/categories.yml (the generator's class names).
Reports
- each headline figure against the target the generator was built to produce (pass = within 3 percentage
  points), from ``_truth/targets.json``;
- the category ordering of re-referral (KM cumulative incidence at 365 days) and pathway rates (CP plan, care
  within 12 months). The fair truth is not the order of the generator's parameters (a finite, censored dataset
  need not realise it) but the same measure computed on the same gold rows grouped by the generator's true
  class (``_truth/assessments.parquet``, linked by re-deriving the silver keys; assessments without factors
  are "No factors identified" on both sides, as the model cannot place them). Classes whose true values are
  within sampling error of each other (|difference| < 1.96 standard errors) have no reliable order; the
  pipeline's ordering agrees when it swaps only such pairs (``tests/helpers/ranking.py``);
- pathways: the CP-plan and care rates of gold.pathway_rates against an independent count on the truth files
  (``_truth/events.parquet``: a plan or period of care starting on or after the assessment's start and within 12
  months of it, complete windows only), overall and by class (pass = within 10%);
- education: attainment, suspension and exclusion ratios to never-referred pupils by involvement, against the
  same ratios on the same pupils grouped by their true involvement (``_truth/pupils.parquet``; pass = within 10%)
  and the generator's targets, the share of truly involved pupils counted as never referred, the SEN relative
  gaps and their difference in differences;
- trends: assessments and category shares by year of authorisation against the truth assessments.
Writes benchmarks/results/validate_outcomes.json. Long at scale 0.1: on a shared machine run it under the lock:

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/validate_outcomes.py [--scale 0.1] [--work DIR]
    .venv/bin/python benchmarks/validate_outcomes.py --work DIR --report-only   # re-read an existing run
    .venv/bin/python benchmarks/validate_outcomes.py --work DIR --outcomes-only # new outcomes code, same model
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from csc_demand.cli import main as cli_main
from csc_demand.config import load_config
from csc_demand.io import delta
from csc_demand.model.labelling import NO_FACTORS_NAME, load_categories
from csc_demand.outcomes.estimates import survival_estimates
from csc_demand.outcomes.followup import CATEGORY_COLUMNS, referral_categories
from csc_demand.outcomes.pathways import pathway_rates
from csc_demand.spark import get_spark
from csc_demand.stats.survival import Z_95
from csc_demand.transform.pseudonymise import pseudonymise, pupil_pseudonym
from csc_demand.transform.silver_cin import hashed
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from results_file import load, save_keeping_previous

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/helpers, shared with the tests
from helpers.ranking import compare_rankings  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "validate_outcomes.json"
TOLERANCE = 0.03
RELATIVE_TOLERANCE = 0.10
PSEUDONYM_KEY = "synthetic-validation-key-not-for-real-records"
# target key -> (survival measure, horizon) or a headline metric name in the stage's run summary
FIGURES = {"km_365": ("rereferral_after_closure", 365), "km_2190": ("rereferral_after_closure", 2190),
           "reentry_365": ("reentry_after_return_home", 365), "reentry_2190": ("reentry_after_return_home", 2190),
           "rereferral_12m_dfe": "dfe_rereferral_rate", "repeat_cpp_share": "repeat_plan_rate"}
NOT_A_CLASS = ("unknown", NO_FACTORS_NAME)
CLASS_OF_CATEGORY = {c.name: c.key for c in load_categories()}  # fitted category name -> generator class name
TRUE_INVOLVEMENT = {"never": "never_referred", "cin": "child_in_need", "cpp": "cp_plan", "cla": "in_care"}


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


def england(df: DataFrame) -> DataFrame:
    """The England rows of an aggregate (tables without an LA dimension are all England)."""
    return df.where(F.col("la_code") == "ALL") if "la_code" in df.columns else df


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
    for r in england(km).where(F.col("group_by") == "category_name").collect():
        # Greenwood interval (log-log scale) read back as a standard error: half its width over 1.96.
        result["rereferral"][r["group_value"]] = (r["cumulative_incidence"], (r["ci_upper"] - r["ci_lower"])
                                                  / (2 * Z_95), r["subjects"])
    rates = england(pathway_rates(pathways, ["category_name"]))
    for r in rates.where(F.col("group_by") == "category_name").collect():
        n = r["assessments"]
        for measure, rate in (("cp_plan", r["cp_plan_rate"]), ("care", r["care_rate"])):
            result[measure][r["group_value"]] = (rate, (rate * (1 - rate) / n) ** 0.5, n)
    return {m: {CLASS_OF_CATEGORY.get(g, g): v for g, v in groups.items() if g not in NOT_A_CLASS}
            for m, groups in result.items()}


def within(found: float | None, truth: float | None) -> bool:
    return found is not None and truth not in (None, 0) and abs(found / truth - 1) <= RELATIVE_TOLERANCE


def pathway_truth(truth_assessments: DataFrame, events: DataFrame, end_date: str, from_date: str) -> dict:
    """CP-plan and care rates per true class and overall, counted on the truth files alone: authorised
    assessments (authorised from ``from_date`` to the data end) whose child has a plan / period of care starting
    on or after the assessment's start and within 12 months of it; complete windows (start + 12 months <= end)."""
    start = F.to_date("assessment_start_date")
    assessments = (truth_assessments.where(F.to_date("authorised_date").between(F.lit(from_date), F.lit(end_date))
                                           & (F.add_months(start, 12) <= F.lit(end_date)))
                   .select("la_code", "child_id", "referral_date", "assessment_number", "class_name",
                           start.alias("start")))
    hits = (assessments.join(events.withColumn("event_date", F.to_date("start_date")), ["la_code", "child_id"])
            .where((F.col("event_date") >= F.col("start")) & (F.col("event_date") <= F.add_months("start", 12)))
            .select("la_code", "child_id", "referral_date", "assessment_number", "event").distinct()
            .groupBy("la_code", "child_id", "referral_date", "assessment_number")
            .agg(F.max((F.col("event") == "cp_plan").cast("int")).alias("cp"),
                 F.max((F.col("event") == "care").cast("int")).alias("care")))
    flagged = assessments.join(hits, ["la_code", "child_id", "referral_date", "assessment_number"], "left")
    result = {}
    for r in (flagged.groupBy(F.coalesce("class_name", F.lit(NO_FACTORS_NAME)).alias("g"))
              .agg(F.count(F.lit(1)).alias("n"), F.sum(F.coalesce("cp", F.lit(0))).alias("cp"),
                   F.sum(F.coalesce("care", F.lit(0))).alias("care")).collect()):
        result[r["g"]] = {"assessments": r["n"], "cp_plan_rate": r["cp"] / r["n"], "care_rate": r["care"] / r["n"]}
    n = sum(v["assessments"] for v in result.values())
    result["all"] = {"assessments": n, **{m: sum(v[m] * v["assessments"] for v in result.values()) / n
                                          for m in ("cp_plan_rate", "care_rate")}}
    return result


def group_outcomes(pupils: DataFrame, group: str) -> dict[str, dict]:
    """Per group: pupils, mean Attainment 8 and suspension / permanent / any exclusion rates, and their ratios to
    the group's never_referred row."""
    any_exclusion = (F.coalesce(F.col("suspended"), F.lit(False)) | F.coalesce(F.col("permanently_excluded"),
                                                                               F.lit(False))).cast("double")
    rows = {r["g"]: r.asDict() for r in pupils.groupBy(F.col(group).alias("g")).agg(
        F.count(F.lit(1)).alias("pupils"), F.avg("att8").alias("att8"),
        F.avg(F.coalesce(F.col("suspended").cast("double"), F.lit(0.0))).alias("suspension"),
        F.avg(F.coalesce(F.col("permanently_excluded").cast("double"), F.lit(0.0))).alias("exclusion"),
        F.avg(any_exclusion).alias("any_exclusion")).collect()}
    never = rows.get("never_referred")
    for r in rows.values():
        for m in ("att8", "suspension", "exclusion", "any_exclusion"):
            r[f"{m}_ratio"] = r[m] / never[m] if never and never[m] else None
    return rows


def education_report(spark, cfg, source: Path, key: str, targets: dict) -> dict:
    involvement = delta.read_table(spark, cfg, "gold", "education_involvement")
    truth = (spark.read.parquet(str(source / "_truth" / "pupils.parquet"))
             .select(pupil_pseudonym("PMR", F.col("pmr"), key).alias("pupil_key"),
                     F.element_at(F.create_map(*[F.lit(x) for kv in TRUE_INVOLVEMENT.items() for x in kv]),
                                  F.col("level")).alias("true_involvement")))
    pupils = involvement.join(truth, "pupil_key", "left").persist()
    measured, true = group_outcomes(pupils, "involvement"), group_outcomes(pupils, "true_involvement")
    link = pupils.agg(F.count(F.lit(1)).alias("pupils"), F.count("true_involvement").alias("linked"),
                      F.sum(((F.col("true_involvement") != "never_referred")).cast("int")).alias("truly_involved"),
                      F.sum(((F.col("true_involvement") != "never_referred")
                             & (F.col("involvement") == "never_referred")).cast("int")).alias("missed")).collect()[0]
    look = pupils.select("history_from", "ks4_years").limit(1).collect()
    report = {"history_from": look[0]["history_from"] if look else None,
              "ks4_years": look[0]["ks4_years"] if look else None, "pupils": link["pupils"],
              "linked_to_truth": link["linked"], "truly_involved": link["truly_involved"],
              "truly_involved_counted_never_referred": link["missed"],
              "share_missed": link["missed"] / link["truly_involved"] if link["truly_involved"] else None,
              "ratios": {}}
    print(f"education: KS4 cohorts {report['ks4_years']} (CIN history from {report['history_from']}); "
          f"{link['pupils']:,} pupils, {link['linked']:,} linked to the truth; truly involved counted never "
          f"referred: {link['missed']:,} of {link['truly_involved']:,} ({(report['share_missed'] or 0):.1%})")
    published = {(r["involvement"]): r for r in delta.read_table(spark, cfg, "gold", "education_gaps")
                 .where("la_code = 'ALL' AND breakdown = 'involvement'").collect()}
    generator_targets = {("att8_ratio", "child_in_need"): "att8_ratio_cin_vs_never",
                         ("att8_ratio", "in_care"): "att8_ratio_cla_vs_never",
                         ("any_exclusion_ratio", "child_in_need"): "exclusion_ratio_cin_vs_never",
                         ("any_exclusion_ratio", "cp_plan"): "exclusion_ratio_cpp_vs_never"}
    print(f"{'ratio to never referred':<34} {'measured':>9} {'truth':>9} {'target':>7}  within 10% of truth")
    for measure in ("att8_ratio", "suspension_ratio", "exclusion_ratio", "any_exclusion_ratio"):
        for group in ("child_in_need", "cp_plan", "in_care"):
            found, reference = measured.get(group, {}).get(measure), true.get(group, {}).get(measure)
            target = targets.get(generator_targets.get((measure, group), ""))
            ok = within(found, reference)
            report["ratios"][f"{measure}.{group}"] = {"measured": found, "truth_same_pupils": reference,
                                                      "generator_target": target, "within_10pct": ok}
            print(f"{measure + ' ' + group:<34} {found or float('nan'):9.3f} {reference or float('nan'):9.3f} "
                  f"{target if target is not None else '':>7}  {ok}")
    # The gold table is the same computation as the measured side (a consistency check of the stage).
    report["gold_matches_measured"] = all(
        abs((published[g]["att8_ratio_to_never_referred"] or 0) - (measured[g]["att8_ratio"] or 0)) < 1e-9
        for g in published if g in measured)
    sen = delta.read_table(spark, cfg, "gold", "education_sen_gaps").where("la_code = 'ALL'").collect()
    report["sen_gaps"] = {r["involvement"]: {k: r[k] for k in ("att8_gap", "att8_relative_gap", "did_estimate",
                                                                "did_ci_lower", "did_ci_upper")} for r in sen}
    for r in sorted(sen, key=lambda r: r["involvement"]):
        did = ("" if r["did_estimate"] is None else
               f"; DiD {r['did_estimate']:+.3f} ({r['did_ci_lower']:+.3f} to {r['did_ci_upper']:+.3f})")
        print(f"  SEN gap {r['involvement']:<15} {r['att8_gap']:.1f} points, "
              f"relative {r['att8_relative_gap']:.3f}{did}")
    report["measured_by_involvement"], report["truth_by_true_involvement"] = measured, true
    pupils.unpersist()
    return report


def trend_report(spark, cfg, truth_assessments: DataFrame, years: range) -> dict:
    """Assessments with factors and category shares by year of authorisation: gold.category_trends vs truth."""
    trends = delta.read_table(spark, cfg, "gold", "category_trends").where("la_code = 'ALL'")
    year_column = "authorised_year" if "authorised_year" in trends.columns else "collection_year"
    found: dict[int, dict[str, int]] = {}
    for r in trends.where(F.col("category_id") >= 1).collect():
        found.setdefault(r[year_column], {})[CLASS_OF_CATEGORY.get(r["category_name"], r["category_name"])] = \
            r["assessments"]
    truth: dict[int, dict[str, int]] = {}
    with_factors = ~F.coalesce(F.col("factor_codes"), F.lit("")).isin("", "21")  # the truth classes code 21 too
    for r in (truth_assessments.where(with_factors & F.col("authorised_date").isNotNull())
              .groupBy("collection_year", "class_name").count().collect()):
        truth.setdefault(r["collection_year"], {})[r["class_name"]] = r["count"]
    report = {"year_column": year_column, "by_year": {}}
    print(f"trends by {year_column}: assessments with factors (pipeline vs truth), largest share difference")
    for year in years:
        f, t = found.get(year, {}), truth.get(year, {})
        nf, nt = sum(f.values()), sum(t.values())
        shares = {g: {"pipeline": f.get(g, 0) / nf if nf else None, "truth": t[g] / nt} for g in t}
        worst = max(shares, key=lambda g: abs((shares[g]["pipeline"] or 0) - shares[g]["truth"]))
        diff = (shares[worst]["pipeline"] or 0) - shares[worst]["truth"]
        order = compare_rankings({g: v["pipeline"] or 0 for g, v in shares.items()},
                                 {g: (v["truth"], (v["truth"] * (1 - v["truth"]) / nt) ** 0.5)
                                  for g, v in shares.items()})
        report["by_year"][year] = {"assessments_pipeline": nf, "assessments_truth": nt, "shares": shares,
                                   "largest_share_difference": {"class": worst, "pp": 100 * diff},
                                   "ordering_agrees_within_sampling_error": order["agrees_within_sampling_error"],
                                   "ordering_spearman": order["spearman"]}
        print(f"  {year}: {nf:,} vs {nt:,} ({nf / nt - 1 if nt else 0:+.1%}); {worst} {100 * diff:+.1f} pp; "
              f"share ordering Spearman {order['spearman']:.3f}, agrees within sampling error "
              f"{order['agrees_within_sampling_error']}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--work", default="/tmp/csc-validate")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--k", type=int, default=12, help="classes fitted (the study's 12)")
    parser.add_argument("--report-only", action="store_true", help="report on the gold tables already in --work")
    parser.add_argument("--outcomes-only", action="store_true",
                        help="keep the fitted categories in --work: run only the outcomes stage, then report")
    args = parser.parse_args()
    work = Path(args.work)
    source, lakehouse = work / "source", str(work / "lakehouse")
    os.environ.setdefault("CSC_PSEUDONYM_KEY", PSEUDONYM_KEY)
    common = ["--lakehouse", lakehouse, "--set", f"spark.driver_memory={args.driver_memory}"]
    cfg = load_config(profile="local", overrides={"lakehouse": lakehouse, "spark.driver_memory": args.driver_memory})
    spark = get_spark(cfg)
    report: dict = {"scale": args.scale, "seed": args.seed, "load_average_at_start": load(),
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
        if not args.outcomes_only:
            seconds["fit"] = run_verb(["fit", "--k", str(args.k), *common])
            seconds["classify"] = run_verb(["classify", *common])
        seconds["outcomes"] = run_verb(["outcomes", *common])
        for verb, s in seconds.items():
            print(f"{verb:<10} {s:8.1f} s")
    report["load_average_after_pipeline"] = load()

    targets = json.loads((source / "_truth" / "targets.json").read_text())
    survival = england(delta.read_table(spark, cfg, "gold", "survival_estimates")).collect()
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
    as_class = F.element_at(F.create_map(*[F.lit(x) for kv in CLASS_OF_CATEGORY.items() for x in kv]),
                            F.col("fitted"))
    agreement = (delta.read_table(spark, cfg, "gold", "assessment_category")
                 .select("assessment_key", F.col("category_name").alias("fitted"))
                 .join(truth.where(F.col("category_name").isNotNull()), "assessment_key")
                 .join(assessments.where("has_factors").select("assessment_key"), "assessment_key")
                 .agg(F.count(F.lit(1)).alias("n"), F.avg((as_class == F.col("category_name")).cast("double"))
                      .alias("share")).collect()[0])
    report["fitted_vs_true_class"] = {"assessments_with_factors": agreement["n"], "same_class": agreement["share"]}
    print(f"fitted model: the category's class is the true class for {agreement['share'] or 0:.1%} of "
          f"{agreement['n']:,} assessments with factors")
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
    synth_summary = json.loads((source / "_summary.json").read_text())
    years = range(synth_summary["first_year"], synth_summary["last_year"] + 1)
    end_date = summary["metrics"]["end_date"]
    raw_truth = spark.read.parquet(str(source / "_truth" / "assessments.parquet"))
    expected = pathway_truth(raw_truth, spark.read.parquet(str(source / "_truth" / "events.parquet")), end_date,
                             f"{years[0] - 1}-04-01")
    rates = england(delta.read_table(spark, cfg, "gold", "pathway_rates"))
    found_rates = {("all" if r["group_by"] == "all" else CLASS_OF_CATEGORY.get(r["group_value"], r["group_value"])): r
                   for r in rates.where("group_by IN ('all', 'category_name')").collect()}
    report["pathways"] = {}
    print("pathways (12 months from the assessment's start): pipeline vs independent count on the truth files")
    for measure in ("cp_plan_rate", "care_rate"):
        found, truth_rate = found_rates["all"][measure], expected["all"][measure]
        ok = within(found, truth_rate)
        order = compare_rankings({g: found_rates[g][measure] for g in found_rates if g != "all"},
                                 {g: (v[measure], (v[measure] * (1 - v[measure]) / v["assessments"]) ** 0.5)
                                  for g, v in expected.items() if g not in ("all", *NOT_A_CLASS)})
        report["pathways"][measure] = {
            "found": found, "truth": truth_rate, "within_10pct": ok, "assessments_pipeline":
            found_rates["all"]["assessments"], "assessments_truth": expected["all"]["assessments"],
            "ordering_vs_truth_by_true_class": {k: order[k] for k in (
                "exact_match", "spearman", "agrees_within_sampling_error", "swapped_pairs")},
            "truth_by_class": {g: v[measure] for g, v in expected.items()}}
        print(f"  {measure:<14} {found:.4f} vs {truth_rate:.4f} ({found / truth_rate - 1:+.1%}) within 10% {ok}; "
              f"class ordering Spearman {order['spearman']:.3f}, agrees within sampling error "
              f"{order['agrees_within_sampling_error']}")
    report["education"] = education_report(spark, cfg, source, cfg.resolve_pseudonym_key(), targets)
    report["trends"] = trend_report(spark, cfg, raw_truth, years)
    report["load_average_at_end"] = load()
    save_keeping_previous(RESULTS, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
