"""Where `synth` spends its time: step times, the Python profile (cProfile) and Spark's time per query.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/profile_synth.py [--scale 0.01] [--note TEXT] [--keep DIR]

Spark's event log gives each query's wall time and the time its jobs ran; the rest of a query's time, and the time
between queries, is driver work: building and planning expressions, compiling generated code, committing files.
py4j round trips (Python asking the JVM to build a Column) show as `send_command` in the Python profile. The slowest
queries and stages (``spark_stages``: each stage's tasks, task time, shuffle and spill) say which step's data work
costs most. Appends the run to benchmarks/results/synth_profile.json (earlier runs kept under "previous") with date, commit and load.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from csc_demand.config import Config, load_config
from csc_demand.spark import get_spark
from csc_demand.synth import generate
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "synth_profile.json"
WATCHED = ["histories_and_returns", "histories", "episode_round", "children", "indicators", "raw_code_index",
           "draw_class", "uniform", "withColumn", "write_files", "_materialise", "send_command",
           "getActiveSession"]


def event_log_config(event_dir: Path) -> Config:
    """The local profile with Spark's event log written to event_dir."""
    local = load_config(profile="local")
    return load_config(profile="local", overrides={"spark.extra": {
        **local.spark.extra, "spark.eventLog.enabled": "true", "spark.eventLog.dir": str(event_dir)}})


def events(event_dir: Path) -> Iterator[dict]:
    """The events of the (zstd-compressed) event logs in event_dir."""
    for path in event_dir.rglob("events_*"):
        text = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            yield json.loads(line)


def spark_queries(event_dir: Path) -> dict:
    """Seconds in SQL queries and in their jobs, from the event log."""
    query_seconds = job_seconds = 0.0
    starts: dict = {}
    for event in events(event_dir):
        kind = event["Event"]
        if kind.endswith("SQLExecutionStart"):
            starts[("q", event["executionId"])] = event["time"]
        elif kind.endswith("SQLExecutionEnd"):
            query_seconds += (event["time"] - starts.pop(("q", event["executionId"]))) / 1000
        elif kind == "SparkListenerJobStart":
            starts[("j", event["Job ID"])] = event["Submission Time"]
        elif kind == "SparkListenerJobEnd":
            job_seconds += (event["Completion Time"] - starts.pop(("j", event["Job ID"]))) / 1000
    return {"query_seconds": round(query_seconds, 1), "job_seconds": round(job_seconds, 1)}


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


def python_profile(profile: cProfile.Profile | str) -> dict:
    stats = pstats.Stats(profile, stream=io.StringIO())
    out = {}
    for (file, line, name), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if name in WATCHED and ("csc_demand" in file or name in ("send_command", "getActiveSession", "withColumn")):
            key = name if name not in out else f"{name} ({Path(file).name}:{line})"
            out[key] = {"calls": calls, "cumulative_seconds": round(cumulative, 1)}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["cumulative_seconds"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--note", default="", help="what this run measures (e.g. the change being tried)")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="write the synthetic set to DIR and keep it (e.g. as bench_national.py's cached input)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="csc-synth-profile-"))
    event_dir = work / "events"
    event_dir.mkdir()
    cfg = event_log_config(event_dir)
    spark = get_spark(cfg, "csc-demand-profile-synth")
    load_before = load()
    steps: list[dict] = []
    started = time.time()
    profile = cProfile.Profile()
    profile.enable()
    generate(spark, args.keep or work / "out", args.scale, args.seed,
             log_step=lambda m: steps.append({"t": round(time.time() - started, 1), "step": m}) or print(
                 f"{time.time() - started:7.1f}s {m}", flush=True))
    profile.disable()
    seconds = time.time() - started
    spark.stop()
    result = {"benchmark": "synth profile", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "commit": commit(), "note": args.note, "scale": args.scale, "seconds": round(seconds, 1),
              "load_average_before": load_before, "load_average_after": load(),
              "spark": spark_queries(event_dir), "python": python_profile(profile), "steps": steps,
              "spark_stages": spark_stages(event_dir, 15)}
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=1))
    save_keeping_previous(RESULTS, result)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
