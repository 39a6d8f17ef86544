"""Where the outcomes stage spends its time: `outcomes` alone on the silver tables of a kept lakehouse.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/profile_outcomes.py --from LAKEHOUSE [--note TEXT]

LAKEHOUSE's silver tables and gold.assessment_category (e.g. those a `bench_national.py --keep DIR` run left) are
linked into a fresh lakehouse (LAKEHOUSE is only read) and the stage runs there as `outcomes` runs it, with Spark's
event log on and each gold table's jobs labelled with its name. The tables are written a few at a time, so the
stage's wall time cannot be split between them; the time their tasks ran can. Printed and appended to
benchmarks/results/outcomes_profile.json (earlier runs kept under "previous") with date, commit and load: the
progress lines' times, task-seconds per gold table and each table's heaviest stages.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import csc_demand
from bench_quickstart import KEY
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark
from csc_demand.stages import outcomes
from profile_synth import event_log_config, events
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "outcomes_profile.json"


def labelled_writes(spark) -> None:
    """Label the jobs of each gold table the stage writes with the table's name (Spark's job description is per
    thread, and the stage builds and writes each table in one thread)."""
    write = outcomes._write

    def labelled(df, cfg, log, table):
        spark.sparkContext.setJobDescription(f"gold.{table}")
        return write(df, cfg, log, table)
    outcomes._write = labelled


def task_seconds_by_table(event_dir: Path, top: int) -> dict:
    """Task-seconds per job label (unlabelled: holding the inputs and the stage's own queries) and the heaviest
    stages of each."""
    label_of_stage, per_stage = {}, defaultdict(float)
    for event in events(event_dir):
        if event["Event"] == "SparkListenerJobStart":
            # Delta's own jobs wrap the description ("Delta: gold.x: Filtering files for query")
            label = re.search(r"gold\.\w+", event.get("Properties", {}).get("spark.job.description") or "")
            for stage in event["Stage IDs"]:
                label_of_stage.setdefault(stage, label.group(0) if label else "(unlabelled)")
        elif event["Event"] == "SparkListenerTaskEnd" and event.get("Task Metrics"):
            per_stage[event["Stage ID"]] += event["Task Metrics"]["Executor Run Time"] / 1000
    tables: dict[str, dict] = defaultdict(lambda: {"task_seconds": 0.0, "stages": []})
    for stage, seconds in per_stage.items():
        table = tables[label_of_stage.get(stage, "(unlabelled)")]
        table["task_seconds"] += seconds
        table["stages"].append([stage, round(seconds, 1)])
    return {label: {"task_seconds": round(t["task_seconds"], 1),
                    "heaviest_stages": sorted(t["stages"], key=lambda s: -s[1])[:top]}
            for label, t in sorted(tables.items(), key=lambda kv: -kv[1]["task_seconds"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="LAKEHOUSE",
                        help="a lakehouse on this machine with silver tables (and gold.assessment_category) to read")
    parser.add_argument("--note", default="", help="what this run measures (e.g. the change being tried)")
    parser.add_argument("--top", type=int, default=4, help="how many of each table's heaviest stages to keep")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="move the gold tables written to DIR (e.g. to compare two versions' tables)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="csc-outcomes-profile-"))
    lakehouse, event_dir = work / "lakehouse", work / "events"
    for folder in (lakehouse / "gold", event_dir):
        folder.mkdir(parents=True)
    (lakehouse / "silver").symlink_to((args.source / "silver").resolve())
    if (args.source / "gold" / "assessment_category").exists():
        (lakehouse / "gold" / "assessment_category").symlink_to(
            (args.source / "gold" / "assessment_category").resolve())
    cfg = replace(event_log_config(event_dir), lakehouse=str(lakehouse))
    os.environ.setdefault(cfg.pseudonym_key_env, KEY)
    spark = get_spark(cfg, "csc-demand-profile-outcomes")
    labelled_writes(spark)
    log = RunLog("outcomes", None)
    load_before = load()
    started = time.time()
    with log.heartbeat():
        outcomes.run(argparse.Namespace(end_date=None), cfg, log)
    seconds = time.time() - started
    load_after = load()
    spark.stop()
    by_table = task_seconds_by_table(event_dir, args.top)
    result = {"benchmark": "outcomes profile", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "commit": commit(),
              "lib": str(Path(csc_demand.__file__).parent.parent), "note": args.note, "silver_from": str(args.source),
              "seconds": round(seconds, 1), "task_seconds": round(sum(t["task_seconds"] for t in by_table.values()), 1),
              "load_average_before": load_before, "load_average_after": load_after, "steps": log.summary["steps"],
              "by_table": by_table}
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=1))
    save_keeping_previous(RESULTS, result)
    if args.keep:
        (lakehouse / "gold" / "assessment_category").unlink(missing_ok=True)
        shutil.move(lakehouse / "gold", args.keep)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
