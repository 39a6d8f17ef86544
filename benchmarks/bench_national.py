"""The national pipeline in one command: `csc-demand run` on a cached synthetic national set, each stage's time,
rows per second and peak memory, and how time grows with the data.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_national.py                      # scale 1.0
    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_national.py --scales 0.1 1.0     # + scaling ratio
    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_national.py --largest-la --driver-memory 4g

Each scale's synthetic set is made once under --cache (not timed; reused while its scale and seed match), then
`csc-demand run --source` ingests every LA's XML and 903 returns and the NPD extracts, fits with the default
selection (k 2..15, 10 starts), classifies, computes the outcomes and publishes the report, in a fresh process on a
fresh lakehouse. Peak memory is the largest proportional set size of the run's process tree (Python, the Spark
JVM and their workers: a page shared by n processes counts 1/n in each) sampled every second, attributed to the
stage running at the time; the largest sum of resident sets, which counts a shared page once per process, is kept
beside it as earlier runs recorded it. --largest-la runs the largest local authority's
own returns alone (its XML and 903 files, the NPD rows of its children and its share of never-referred pupils), as
an LA analyst's laptop would.
Appends the run to benchmarks/results/national.json (earlier runs kept under "previous") with date, commit, load.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

from bench_quickstart import CLI, KEY, STAGES, cached_source
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "national.json"
PIPELINE = STAGES[1:]  # synth is cached, not timed


def _pss_bytes(pid: int) -> int:
    """A process's proportional set size: each page it shares with n processes counted as 1/n of a page."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:")) * 1024


def tree_memory_bytes(pid: int) -> tuple[int, int]:
    """Memory of a process and all its descendants, from /proc: (sum of resident sets, sum of proportional set
    sizes). Forked Python workers share pages with their parent, which the first sum counts once per process and
    the second once in all."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while we looked
    total_rss, total_pss, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        total_rss += rss.get(current, 0)
        try:
            total_pss += _pss_bytes(current)
        except (OSError, StopIteration, ValueError):
            pass  # ended while we looked
        todo.extend(children.get(current, []))
    return total_rss, total_pss


class MemorySampler:
    """Samples a process tree's memory every second: [(seconds since start, resident bytes, proportional bytes)]."""

    def __init__(self, pid: int, started: float):
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pid, started), daemon=True)
        self._thread.start()

    def _run(self, pid: int, started: float) -> None:
        while not self._stop.wait(1.0):
            self.samples.append((time.perf_counter() - started, *tree_memory_bytes(pid)))

    def stop(self) -> list[tuple[float, int, int]]:
        self._stop.set()
        self._thread.join()
        return self.samples


def stage_windows(run_summary: dict) -> dict[str, tuple[float, float]]:
    """Each stage's (start, end) in seconds since the run began, from the `run` summary's progress lines."""
    windows, starts = {}, {}
    for step in run_summary["steps"]:
        match = re.match(r"(\w+): (started|done|failed)", step["message"])
        if match and match.group(2) == "started":
            starts[match.group(1)] = step["t"]
        elif match and match.group(1) in starts:
            windows[match.group(1)] = (starts[match.group(1)], step["t"])
    return windows


def stage_rows(summaries: dict[str, dict]) -> dict[str, tuple[str, int]]:
    """What each stage's rows per second counts: records ingested, assessments fitted, classified, analysed."""
    ingested = sum(t.get("received", 0) for name, t in summaries["ingest"]["tables"].items()
                   if name.startswith("bronze.") and name != "bronze.files")
    fitted = summaries["fit"]["tables"]["silver.assessments"]["accepted"]
    classified = summaries["classify"]["tables"]["gold.assessment_category"]["accepted"]
    return {"ingest": ("records received", ingested), "fit": ("assessments with factors", fitted),
            "classify": ("assessments", classified), "outcomes": ("assessments", classified),
            "report": ("assessments", classified)}


def latest_summaries(lakehouse: Path) -> dict[str, dict]:
    runs = lakehouse / "_runs"
    out = {}
    for verb in ["run", *PIPELINE]:
        newest = max(runs.glob(f"{verb}-*.json"), key=lambda p: p.stat().st_mtime)
        out[verb] = json.loads(newest.read_text())
    return out


def largest_la_source(national: Path, out: Path) -> str:
    """The largest LA's own returns (by CIN XML bytes) and the NPD rows of its children, copied into out."""
    sizes: dict[str, int] = {}
    for path in (national / "cin_census").rglob("*.xml"):
        la = path.stem.split("_")[1]
        sizes[la] = sizes.get(la, 0) + path.stat().st_size
    la = max(sizes, key=lambda code: sizes[code])
    if (out / "_la.txt").exists() and (out / "_la.txt").read_text() == la:
        return la
    shutil.rmtree(out, ignore_errors=True)
    for folder in ("cin_census", "ssda903"):
        for path in (national / folder).rglob(f"*_{la}_*"):
            target = out / path.relative_to(national)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    mine, referred = _children(national, la)
    share = len(mine) / len(referred)
    for path in sorted((national / "npd").glob("*.csv")):
        target = out / "npd" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open(newline="") as src, target.open("w", newline="") as dst:
            rows = csv.reader(src)
            writer = csv.writer(dst, lineterminator="\n")
            header = next(rows)
            writer.writerow(header)
            pmr = header.index("PupilMatchingRefAnonymous")
            # pupils never referred anywhere have no LA in the set: the LA's share of them, drawn by a hash
            writer.writerows(row for row in rows if row[pmr] in mine or (
                row[pmr] not in referred and zlib.crc32(row[pmr].encode()) % 10_000 < share * 10_000))
    (out / "_la.txt").write_text(la)
    return la


def _children(national: Path, la: str) -> tuple[set[str], set[str]]:
    """Pupil matching references of the LA's children and of every child in the set (from the synthetic truth)."""
    import pyarrow.parquet as pq

    table = pq.read_table(national / "_truth" / "children.parquet", columns=["la_code", "pmr"])
    codes, pmrs = table.column("la_code").to_pylist(), table.column("pmr").to_pylist()
    return {p for c, p in zip(codes, pmrs, strict=True) if c == la and p}, {p for p in pmrs if p}


def run_once(source: Path, driver_memory: str | None, env: dict, keep: Path | None = None) -> dict:
    lakehouse = (keep or Path(tempfile.mkdtemp(prefix="csc-national-"))) / "lakehouse"
    command = [*CLI, "run", "--source", str(source), "--lakehouse", str(lakehouse)]
    if driver_memory:
        command += ["--set", f"spark.driver_memory={driver_memory}"]
    load_before = load()
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    sampler = MemorySampler(process.pid, started)
    if process.wait():
        raise SystemExit(f"csc-demand run failed with exit code {process.returncode}; lakehouse kept: {lakehouse}")
    seconds = time.perf_counter() - started
    samples = sampler.stop()
    summaries = latest_summaries(lakehouse)
    windows = stage_windows(summaries["run"])
    rows = stage_rows(summaries)
    stages = {}
    for verb in PIPELINE:
        begin, end = windows[verb]
        during = [(rss, pss) for t, rss, pss in samples if begin <= t <= end + 1]
        what, n = rows[verb]
        stage_seconds = summaries["run"]["metrics"][f"{verb}_seconds"]
        stages[verb] = {"seconds": stage_seconds, "rows": n, "rows_are": what,
                        "rows_per_second": round(n / stage_seconds, 1), **peaks(during)}
    fit = summaries["fit"]["metrics"]
    if keep is None:
        shutil.rmtree(lakehouse.parent, ignore_errors=True)
    return {"seconds": round(seconds, 1), "stages": stages,
            "start_up_and_between_stages_seconds": round(seconds - sum(s["seconds"] for s in stages.values()), 1),
            **peaks([(rss, pss) for _, rss, pss in samples]),
            "fit": {"chosen_k": fit.get("chosen_k"), "n_patterns": fit.get("n_patterns")},
            "load_average_before": load_before, "load_average_after": load()}


def peaks(samples: list[tuple[int, int]]) -> dict:
    """The largest sums sampled: of resident sets (as earlier runs recorded) and of proportional set sizes."""
    return {"peak_rss_gb": round(max((rss for rss, _ in samples), default=0) / 2**30, 2),
            "peak_pss_gb": round(max((pss for _, pss in samples), default=0) / 2**30, 2)}


def print_run(label: str, run: dict) -> None:
    print(f"{label}: {run['seconds']:.1f} s, peak {run['peak_pss_gb']} GB proportional ({run['peak_rss_gb']} GB as the "
          f"sum of resident sets), load {run['load_average_before']} -> {run['load_average_after']}")
    for verb, stage in run["stages"].items():
        print(f"  {verb:10s} {stage['seconds']:8.1f} s  {stage['rows_per_second']:10.1f} {stage['rows_are']}/s  "
              f"peak {stage['peak_pss_gb']:5.2f} GB ({stage['peak_rss_gb']:5.2f} GB resident sets)")
    print(f"  {'start-up and between stages':30s} {run['start_up_and_between_stages_seconds']:.1f} s")


def scaling(result: dict) -> dict | None:
    """How time grows with the data, between the smallest and largest scale run so far (this run's scales, else the
    newest earlier run of each scale with the same driver memory, all LAs)."""
    if result["largest_la"]:
        return None
    runs = {}
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for entry in reversed([earlier, *earlier.get("previous", [])] if earlier else []):  # oldest first: newest wins
        if not entry.get("largest_la") and entry.get("driver_memory") == result["driver_memory"]:
            runs.update({scale: {**run, "date": entry["date"], "commit": entry["commit"]}
                         for scale, run in entry["runs"].items()})
    runs.update({scale: {**run, "date": result["date"], "commit": result["commit"]}
                 for scale, run in result["runs"].items()})
    if len(runs) < 2:
        return None
    small, large = (runs[s] for s in (min(runs, key=float), max(runs, key=float)))
    both = [verb for verb in PIPELINE if all(r["stages"].get(verb, {}).get("seconds") for r in (small, large))]
    return {"scales": [min(runs, key=float), max(runs, key=float)], "runs": [
                {"date": r["date"], "commit": r["commit"], "seconds": r["seconds"]} for r in (small, large)],
            "data_ratio": round(large["stages"]["classify"]["rows"] / small["stages"]["classify"]["rows"], 2),
            "time_ratio": round(large["seconds"] / small["seconds"], 2) if large["seconds"] and small["seconds"]
            else None,
            "stages_compared": both,  # a stopped run has no end-to-end time: compare the stages both finished
            "time_ratio_of_those_stages": round(sum(large["stages"][v]["seconds"] for v in both)
                                                / sum(small["stages"][v]["seconds"] for v in both), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/csc-demand-national"),
                        help="where each scale's synthetic set is made once and kept (scale_<s>/)")
    parser.add_argument("--driver-memory", help="spark.driver_memory for the run (default: the local profile's)")
    parser.add_argument("--largest-la", action="store_true",
                        help="run the largest LA's own returns alone instead of every LA's")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the run's lakehouse in DIR/lakehouse (to profile a stage on it; one scale only)")
    args = parser.parse_args(argv)
    env = {**os.environ, "CSC_PSEUDONYM_KEY": KEY}
    result: dict = {"benchmark": "national pipeline", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "commit": commit(), "seed": args.seed, "driver_memory": args.driver_memory or "local profile",
                    "largest_la": args.largest_la, "target_seconds": 900, "runs": {}}
    for scale in args.scales:
        national = args.cache / f"scale_{scale}"
        made = time.perf_counter()
        cached_source(national, scale, args.seed, env)
        print(f"scale {scale}: synthetic set ready in {national} ({time.perf_counter() - made:.0f} s, not timed)")
        source = national
        if args.largest_la:
            source = args.cache / f"scale_{scale}_largest_la"
            result["la_code"] = largest_la_source(national, source)
        run = run_once(source, args.driver_memory, env, args.keep)
        result["runs"][str(scale)] = run
        print_run(f"scale {scale}" + (f", LA {result['la_code']}" if args.largest_la else ""), run)
    result["scaling"] = scaling(result)
    if result["scaling"]:
        print(f"scaling: {result['scaling']}")
    save_keeping_previous(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
