"""The quick start as a regression benchmark: `csc-demand run` at the default scale, end to end in a fresh process
on a fresh lakehouse, each stage's time printed beside the previous run's figure.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_quickstart.py             # synth included
    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_quickstart.py --cached-synth /tmp/csc-quickstart-source

Without --cached-synth the run synthesises its own input, as `make run` does (synth not cached). With it, the
synthetic set in that folder is reused when it was made with the same scale and seed (made there first, not timed,
when missing) and `run --source` starts at ingest. Each run appends to benchmarks/results/quickstart.json (earlier
runs kept under "previous") with its date, commit and load average; a figure is only comparable with a previous
one of the same mode at a similar load.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from csc_demand.config import load_config
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "quickstart.json"
CLI = [sys.executable, "-m", "csc_demand"]
KEY = "synthetic-benchmark-key-not-for-real-records"
STAGES = ["synth", "ingest", "fit", "classify", "outcomes", "report"]


def cached_source(folder: Path, scale: float, seed: int, env: dict) -> None:
    """Make the synthetic set in folder unless it is already there for this scale and seed."""
    summary = folder / "_summary.json"
    if summary.exists():
        made = json.loads(summary.read_text())
        if (made["scale"], made["seed"]) == (scale, seed):
            return
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([*CLI, "synth", "--out", str(folder), "--scale", str(scale), "--seed", str(seed)], check=True,
                   env=env)


def previous_run(mode: str) -> dict | None:
    """The newest earlier run of the same mode in the results file."""
    if not RESULTS.exists():
        return None
    latest = json.loads(RESULTS.read_text())
    return next((r for r in [latest, *latest.get("previous", [])] if r.get("mode") == mode), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached-synth", metavar="DIR", type=Path,
                        help="reuse (or make once) the synthetic set in DIR and time the run from ingest on")
    parser.add_argument("--keep", action="store_true", help="keep the lakehouse (its path is printed)")
    args = parser.parse_args(argv)
    synth = load_config(profile="local").synth  # the defaults `make run` uses
    mode = "synth cached" if args.cached_synth else "synth included"
    env = {k: v for k, v in os.environ.items() if k != "CSC_PSEUDONYM_KEY"}  # as a new user: no key set
    command = [*CLI, "run"]
    if args.cached_synth:
        env["CSC_PSEUDONYM_KEY"] = KEY
        cached_source(args.cached_synth, synth.scale, synth.seed, env)
        command += ["--source", str(args.cached_synth)]
    lakehouse = Path(tempfile.mkdtemp(prefix="csc-quickstart-")) / "lakehouse"
    load_before = load()
    started = time.perf_counter()
    subprocess.run([*command, "--lakehouse", str(lakehouse)], check=True, env=env)
    seconds = round(time.perf_counter() - started, 1)
    summary = json.loads(max((lakehouse / "_runs").glob("run-*.json"), key=lambda p: p.stat().st_mtime).read_text())
    stages = {verb: summary["metrics"][f"{verb}_seconds"] for verb in STAGES if f"{verb}_seconds" in summary["metrics"]}
    # Python and Spark start-up, and anything between stages
    stages["start-up and between stages"] = round(seconds - sum(stages.values()), 1)
    result = {"benchmark": "quick start", "mode": mode, "scale": synth.scale, "seed": synth.seed,
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(),
              "load_average_before": load_before, "load_average_after": load(), "seconds": seconds,
              "stages": stages, "target_seconds": 180}
    before = previous_run(mode)
    print(f"quick start ({mode}, scale {synth.scale}) at {result['commit']}, {result['date']}, load "
          f"{load_before} -> {result['load_average_after']}")
    if before:
        print(f"previous: {before['commit']}, {before['date']}, load {before['load_average_before']} -> "
              f"{before['load_average_after']}")
    for name, value in [*stages.items(), ("total", seconds)]:
        old = (before or {}).get("stages", {}).get(name) if name != "total" else (before or {}).get("seconds")
        print(f"  {name:30s} {value:8.1f} s" + (f"   previous {old:8.1f} s" if old is not None else ""))
    save_keeping_previous(RESULTS, result)
    if args.keep:
        print(f"lakehouse kept: {lakehouse}")
    else:
        shutil.rmtree(lakehouse.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
