"""Time `synth` at several scales and write the figures to benchmarks/results/synth.json.

    .venv/bin/python benchmarks/bench_synth.py                 # scales 0.01 0.1 1.0
    .venv/bin/python benchmarks/bench_synth.py --scales 0.01 0.1 --out /tmp/synth-bench

Each scale runs in this process's Spark session (local[2], 8g driver by default); output folders are deleted
after measuring unless --keep is given. Figures: wall seconds, assessments, rows per second, bytes written.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

from csc_demand.config import load_config
from csc_demand.spark import get_spark
from csc_demand.synth import generate
from results_file import load

RESULTS = Path(__file__).parent / "results" / "synth.json"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "_truth" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("--out", default="/tmp/csc-demand-synth-bench")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_config(profile="local", overrides={"spark.driver_memory": args.driver_memory,
                                                  "spark.shuffle_partitions": 8})
    spark = get_spark(cfg, "csc-demand-bench-synth")
    runs = []
    for scale in args.scales:
        out = Path(args.out) / f"scale_{scale}"
        started = time.time()
        summary = generate(spark, out, scale, args.seed,
                           log_step=lambda m, s=scale, t0=started: print(f"[scale {s}] {time.time() - t0:7.1f}s {m}",
                                                             flush=True))
        seconds = time.time() - started
        headline = summary["headline"]
        runs.append({
            "scale": scale, "seconds": round(seconds, 1), "children": summary["children"],
            "referrals_all_years": summary["referrals_all_years"], "assessments_2015_2021": headline["assessments"],
            "assessments_with_factors": headline["assessments_with_factors"],
            "assessments_per_second": round(headline["assessments"] / seconds, 1),
            "files": summary["files"], "bytes_written": folder_bytes(out),
            "rereferral_12m_dfe": headline["rereferral_12m_dfe"], "repeat_cpp_share": headline["repeat_cpp_share"],
            "max_abs_diff_pp_vs_dfe_c3_by_year": {
                year: entry.get("max_abs_diff_pp_factors_above_5pct")
                for year, entry in summary["factor_marginals_vs_dfe_c3"].items()},
            "class_sizes_realised": headline["class_sizes_realised"],
            "load_average_after": load(),
        })
        print(json.dumps(runs[-1]), flush=True)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # Runs of other scales from earlier invocations are kept; a scale measured now replaces its old figures.
    earlier = json.loads(RESULTS.read_text())["runs"] if RESULTS.exists() else []
    measured = {run["scale"] for run in runs}
    runs = sorted([r for r in earlier if r["scale"] not in measured] + runs, key=lambda r: r["scale"])
    RESULTS.write_text(json.dumps({
        "benchmark": "synth", "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "master": cfg.spark.master, "driver_memory": args.driver_memory},
        "runs": runs}, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
