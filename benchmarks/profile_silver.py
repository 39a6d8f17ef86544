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
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import csc_demand
from bench_quickstart import KEY, commit, load
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark
from csc_demand.stages.ingest import build_silver
from profile_synth import event_log_config, events
from results_file import save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "silver_profile.json"


def spark_stages(event_dir: Path, top: int) -> dict:
    """The slowest stages from the event log, with their query's description and summed task metrics."""
    tasks: dict = defaultdict(lambda: defaultdict(float))
    stages, query_of_job, job_of_stage, queries, job_started = {}, {}, {}, {}, {}
    first = None
    for event in events(event_dir):
        kind = event["Event"]
        first = first or event.get("time") or event.get("Timestamp")
        if kind.endswith("SQLExecutionStart"):
            # a write runs its jobs in nested queries (rootExecutionId: the write's): count them as the write's
            root = event.get("rootExecutionId", event["executionId"])
            queries[event["executionId"]] = {"query": event.get("description", ""), "started": event["time"],
                                             "job_seconds": 0.0, "root": root}
        elif kind.endswith("SQLExecutionEnd"):
            queries[event["executionId"]]["seconds"] = (event["time"] - queries[event["executionId"]]["started"]) / 1000
        elif kind == "SparkListenerJobStart":
            query_of_job[event["Job ID"]] = event.get("Properties", {}).get("spark.sql.execution.id")
            job_started[event["Job ID"]] = event["Submission Time"]
            for stage in event["Stage IDs"]:
                job_of_stage.setdefault(stage, event["Job ID"])
        elif kind == "SparkListenerJobEnd" and query_of_job.get(event["Job ID"]) is not None:
            query = queries.get(int(query_of_job[event["Job ID"]]))
            if query is not None:
                seconds = (event["Completion Time"] - job_started[event["Job ID"]]) / 1000
                queries.get(query["root"], query)["job_seconds"] += seconds
        elif kind == "SparkListenerTaskEnd" and event.get("Task Metrics"):
            m, s = event["Task Metrics"], tasks[event["Stage ID"]]
            s["task_seconds"] += m["Executor Run Time"] / 1000
            s["shuffle_read_mb"] += (m["Shuffle Read Metrics"]["Remote Bytes Read"]
                                     + m["Shuffle Read Metrics"]["Local Bytes Read"]) / 2**20
            s["shuffle_write_mb"] += m["Shuffle Write Metrics"]["Shuffle Bytes Written"] / 2**20
            s["spilled_mb"] += m["Disk Bytes Spilled"] / 2**20
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            if "Submission Time" in info:
                stages[info["Stage ID"]] = info
    rows = []
    for stage_id, info in stages.items():
        query = query_of_job.get(job_of_stage.get(stage_id))
        rows.append({"stage": stage_id, "seconds": round((info["Completion Time"] - info["Submission Time"]) / 1000, 1),
                     "tasks": info["Number of Tasks"], "name": info["Stage Name"],
                     "query": queries[int(query)]["query"] if query is not None and int(query) in queries else None,
                     **{k: round(v, 1) for k, v in tasks[stage_id].items()}})
    rows.sort(key=lambda r: -r["seconds"])
    # a query's time outside its jobs (and its nested queries' jobs) is the driver's: planning it, generating
    # code, committing; jobs of one query can overlap, so the sum of their times can exceed the query's
    by_query = sorted(({"query": q["query"], "at": round((q["started"] - first) / 1000, 1),
                        "seconds": round(q.get("seconds", 0), 1),
                        "outside_jobs_seconds": round(q.get("seconds", 0) - q["job_seconds"], 1)}
                       for i, q in queries.items() if q["root"] == i or q["root"] not in queries),
                      key=lambda q: -q["seconds"])
    return {"queries": len(by_query), "query_seconds": round(sum(q["seconds"] for q in by_query), 1),
            "outside_jobs_seconds": round(sum(q["outside_jobs_seconds"] for q in by_query), 1),
            "slowest_queries": by_query[:top], "stages": len(rows),
            "task_seconds": round(sum(r.get("task_seconds", 0) for r in rows), 1),
            "shuffle_write_mb": round(sum(r.get("shuffle_write_mb", 0) for r in rows), 1),
            "spilled_mb": round(sum(r.get("spilled_mb", 0) for r in rows), 1), "slowest": rows[:top],
            # the same records shuffled again by another query shows as the same size written twice
            "shuffle_writes": sorted(([r["stage"], r["tasks"], r["shuffle_write_mb"], r["query"]] for r in rows
                                      if r.get("shuffle_write_mb", 0) >= 0.1), key=lambda w: -w[2])}


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
