"""The report for one LA at scale 0.01: wall time of `csc-demand report --la CODE` in a fresh process (Spark
start-up, reading the gold tables, publishing, charts, writing and scanning the folder), with the time of each
progress line from the run summary as the profile. Target: under 60 s.

The lakehouse is prepared once with `csc-demand run` at scale 0.01 (not timed) unless --lakehouse already holds
one. Run under the heavy-job lock and give the load average with the figure:

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_report.py [--lakehouse DIR] [--repeat 2]
Writes benchmarks/results/report.json (earlier runs kept under "previous").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "report.json"
CLI = [sys.executable, "-m", "csc_demand"]
KEY = "synthetic-benchmark-key-not-for-real-records"


def profile(lakehouse: Path) -> list[dict]:
    """The progress lines of the newest report run with the seconds since the verb started (run summary): where
    the time goes (Spark start-up before the first line, reading gold, each page, the scan)."""
    newest = max((lakehouse / "_runs").glob("report-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(newest.read_text())["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", default="/tmp/csc-bench-report/lakehouse")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    lakehouse = Path(args.lakehouse)
    env = {**os.environ, "CSC_PSEUDONYM_KEY": KEY}
    settings = ["--lakehouse", str(lakehouse), "--set", f"synth.scale={args.scale}"]
    prepare = None
    if not (lakehouse / "gold" / "category_trends").exists():
        start = time.perf_counter()
        subprocess.run([*CLI, "run", *settings], check=True, env=env)
        prepare = round(time.perf_counter() - start, 1)
    # `run` ended with the report of every LA: take the first LA's page
    la = sorted(p.stem[3:] for p in (lakehouse / "report").glob("la_*.html"))[0]
    runs = []
    for i in range(args.repeat):
        out = lakehouse.parent / f"report-bench-{i}"
        load_before = load()
        start = time.perf_counter()
        subprocess.run([*CLI, "report", *settings, "--la", la, "--out", str(out)], check=True, env=env)
        runs.append({"seconds": round(time.perf_counter() - start, 1),
                     "load_before": load_before, "load_after": load(),
                     "steps": profile(lakehouse)})
        print(f"report for LA {la}: {runs[-1]['seconds']} s (load before {runs[-1]['load_before']}, "
              f"after {runs[-1]['load_after']})")
        for step in runs[-1]["steps"]:
            print(f"  {step['t']:7.1f} s  {step['message']}")
    save_keeping_previous(RESULTS, {
        "benchmark": "report for one LA", "scale": args.scale, "la": la, "commit": commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "prepare_seconds": prepare,
        "runs": runs, "best_seconds": min(r["seconds"] for r in runs), "target_seconds": 60})


if __name__ == "__main__":
    main()
