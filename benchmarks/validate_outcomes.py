"""Outcome figures on synthetic data vs the generator's targets (synth -> ingest -> classify -> outcomes).

Classifies with the generator's true parameter file (``_truth/params.json``) so categories carry the generator's
class names and the category orderings can be compared by name. Prints each headline figure against its target
(pass = within 3 percentage points) and the category orderings of re-referral and pathway rates against
``targets.json["category_orderings"]``; writes benchmarks/results/validate_outcomes.json.

    .venv/bin/python benchmarks/validate_outcomes.py [--scale 0.1] [--seed 20240601] [--work /tmp/csc-validate]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from pyspark.sql import functions as F
from scipy.stats import spearmanr

from csc_demand.cli import main as cli_main
from csc_demand.config import load_config
from csc_demand.io import delta
from csc_demand.spark import get_spark

RESULTS = Path(__file__).parent / "results" / "validate_outcomes.json"
TOLERANCE = 0.03
# target key -> (survival measure, horizon) or a headline metric name in the stage's run summary
FIGURES = {"km_365": ("rereferral_after_closure", 365), "km_2190": ("rereferral_after_closure", 2190),
           "reentry_365": ("reentry_after_return_home", 365), "reentry_2190": ("reentry_after_return_home", 2190),
           "rereferral_12m_dfe": "dfe_rereferral_rate", "repeat_cpp_share": "repeat_plan_rate"}


def run_verb(argv: list[str]) -> float:
    start = time.perf_counter()
    code = cli_main(argv)
    if code != 0:
        raise SystemExit(f"`csc-demand {' '.join(argv)}` failed with exit code {code}")
    return time.perf_counter() - start


def ordering(rows, value: str) -> list[str]:
    return [r["group_value"] for r in sorted(rows, key=lambda r: -r[value]) if r["group_value"] != "unknown"]


def compare_orderings(found: list[str], truth: list[str]) -> dict:
    common = [c for c in truth if c in found]
    rho = spearmanr([truth.index(c) for c in common], [found.index(c) for c in common]).statistic
    return {"found": found, "truth": truth, "exact_match": found == common == truth, "spearman": float(rho)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--work", default="/tmp/csc-validate")
    parser.add_argument("--driver-memory", default="8g")
    args = parser.parse_args()
    work = Path(args.work)
    source, lakehouse = work / "source", str(work / "lakehouse")
    os.environ.setdefault("CSC_PSEUDONYM_KEY", "synthetic-validation-key-not-for-real-records")
    common = ["--lakehouse", lakehouse, "--set", f"spark.driver_memory={args.driver_memory}"]
    spark = get_spark(load_config(profile="local", overrides={"lakehouse": lakehouse,
                                                                "spark.driver_memory": args.driver_memory}))
    seconds = {}
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

    targets = json.loads((source / "_truth" / "targets.json").read_text())
    cfg = load_config(profile="local", overrides={"lakehouse": lakehouse})
    survival = delta.read_table(spark, cfg, "gold", "survival_estimates").collect()
    summary = json.loads(sorted(cfg.runs_dir.glob("outcomes-*.json"))[-1].read_text())
    report: dict = {"scale": args.scale, "seed": args.seed, "seconds": seconds, "figures": {}}
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

    by_category = [r for r in survival if r["group_by"] == "category_name" and r["horizon_days"] == 365
                   and r["measure"] == "rereferral_after_closure"]
    rates = delta.read_table(spark, cfg, "gold", "pathway_rates").where(F.col("group_by") == "category_name").collect()
    truth = targets["category_orderings"]
    report["orderings"] = {
        "rereferral": compare_orderings(ordering(by_category, "cumulative_incidence"), truth["rereferral"]),
        "cp_plan": compare_orderings(ordering(rates, "cp_plan_rate"), truth["cp_plan"]),
        "care": compare_orderings(ordering(rates, "care_rate"), truth["care"])}
    for name, result in report["orderings"].items():
        print(f"ordering {name}: exact {result['exact_match']}, Spearman {result['spearman']:.3f}\n"
              f"  found {result['found']}\n  truth {result['truth']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
