"""Where building silver spends its time: ingest's silver step alone, on the bronze tables of a kept lakehouse.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/profile_silver.py --from LAKEHOUSE [--note TEXT]

The bronze tables of LAKEHOUSE (e.g. one `bench_national.py --keep DIR` left) are copied into a fresh lakehouse
(LAKEHOUSE is only read), and silver is built there as `ingest` builds it, with Spark's event log on. Printed and
appended to benchmarks/results/silver_profile.json (earlier runs kept under "previous") with date, commit and load:
the progress lines' times and Spark's stages by wall time, each with its tasks, the time its tasks ran, the shuffle
it read and wrote and what spilled.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import csc_demand
from bench_quickstart import KEY
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark
from csc_demand.stages.ingest import build_silver
from profile_synth import event_log_config, spark_stages
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "silver_profile.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="LAKEHOUSE",
                        help="a lakehouse on this machine whose bronze tables to build silver from (only read)")
    parser.add_argument("--note", default="", help="what this run measures (e.g. the change being tried)")
    parser.add_argument("--top", type=int, default=25, help="how many of the slowest stages to keep")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="csc-silver-profile-"))
    shutil.copytree(args.source / "bronze", work / "lakehouse" / "bronze")
    event_dir = work / "events"
    event_dir.mkdir()
    cfg = replace(event_log_config(event_dir), lakehouse=str(work / "lakehouse"))
    os.environ.setdefault(cfg.pseudonym_key_env, KEY)
    spark = get_spark(cfg, "csc-demand-profile-silver")
    log = RunLog("ingest", None)
    load_before = load()
    started = time.time()
    with log.heartbeat():
        build_silver(spark, cfg, log, datetime.now(UTC).replace(microsecond=0))
    seconds = time.time() - started
    load_after = load()
    spark.stop()
    result = {"benchmark": "silver profile", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "commit": commit(), "lib": str(Path(csc_demand.__file__).parent.parent), "note": args.note,
              "bronze_from": str(args.source), "seconds": round(seconds, 1), "load_average_before": load_before,
              "load_average_after": load_after, "steps": log.summary["steps"],
              "spark": spark_stages(event_dir, args.top)}
    print(json.dumps(result, indent=1))
    save_keeping_previous(RESULTS, result)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
