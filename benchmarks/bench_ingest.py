"""Ingest timing at scale: the national NPD flat extracts, and the CIN XML returns of the largest LA.

    flock /tmp/csc-heavy.lock python benchmarks/bench_ingest.py --scale 0.1 [--source DIR] [--work DIR]

Generates the synthetic set once per scale (csc_demand.synth.generate, clean data) unless ``--source`` names one,
then runs `csc-demand ingest` twice into fresh lakehouses: once on the `npd/` folder alone, once on the largest
LA's CIN XML files alone. Figures (seconds, records, records per second, load averages before and after, per-step
times) go to benchmarks/results/ingest.json under ``scale_<scale>``; figures from before the current ingest code
stay under ``previous``. Targets on a 2-core machine: national flat extracts < 5 min; the largest LA's XML < 2 min.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

from csc_demand import cli
from csc_demand.config import load_config
from csc_demand.spark import get_spark
from csc_demand.synth import generate
from results_file import load

RESULTS = Path(__file__).parent / "results" / "ingest.json"
SETTINGS = ["spark.shuffle_partitions=8", "pseudonym_key=benchmark-key-not-secret-0123456789abcdef"]


def largest_la_xml(source: Path) -> tuple[str, list[Path]]:
    sizes: dict[str, int] = defaultdict(int)
    files: dict[str, list[Path]] = defaultdict(list)
    for path in (source / "cin_census").rglob("cin_*.xml"):
        la = path.stem.split("_")[1]
        sizes[la] += path.stat().st_size
        files[la].append(path)
    la = max(sizes, key=sizes.get)
    return la, sorted(files[la])


def linked_source(target: Path, files: list[Path], root: Path) -> Path:
    """A source folder holding only ``files`` (symlinked, keeping their relative paths)."""
    shutil.rmtree(target, ignore_errors=True)
    for path in files:
        link = target / path.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path, link)
    return target


def timed_ingest(source: Path, lakehouse: Path, driver_memory: str) -> dict:
    shutil.rmtree(lakehouse, ignore_errors=True)
    args = ["ingest", "--source", str(source), "--lakehouse", str(lakehouse)]
    for setting in [*SETTINGS, f"spark.driver_memory={driver_memory}"]:
        args += ["--set", setting]
    load_before = load()
    started = time.time()
    code = cli.main(args)
    seconds = time.time() - started
    load_after = load()
    summary = json.loads(next((lakehouse / "_runs").glob("ingest-*.json")).read_text())
    bronze_rows = sum(t.get("accepted", 0) for name, t in summary["tables"].items() if name.startswith("bronze."))
    return {"exit_code": code, "seconds": round(seconds, 1), "load_average_before": load_before,
            "load_average_after": load_after, "bronze_records": bronze_rows,
            "records_per_second": round(bronze_rows / seconds, 1),
            "input_bytes": sum(p.stat().st_size for p in source.rglob("*") if p.is_file()),
            "silver_rows": {n: t.get("rows") for n, t in summary["tables"].items() if n.startswith("silver.")},
            "steps": summary["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", required=True)
    parser.add_argument("--work", default="/tmp/csc-bench")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--source", help="an existing synth output to use instead of generating one")
    parser.add_argument("--parts", nargs="+", choices=["xml", "npd"], default=["xml", "npd"],
                        help="which ingests to time (each is saved as soon as it is done)")
    args = parser.parse_args()
    work = Path(args.work)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if results and "previous" not in results:
        results = {"previous": results}
    cfg = load_config(profile="local", overrides={"lakehouse": str(work / "lh"),
                                                  "spark.driver_memory": args.driver_memory})
    spark = get_spark(cfg)
    for scale in args.scale:
        source = Path(args.source) if args.source else work / f"synth-{scale}"
        started = time.time()
        if not (source / "_summary.json").exists():
            generate(spark, source, scale=scale, seed=args.seed)
        figures = results.setdefault(f"scale_{scale}", {})
        figures.update({"machine": f"{os.cpu_count()} cores, local[2], driver {args.driver_memory}",
                        "generate_seconds": round(time.time() - started, 1)})
        for part in args.parts:
            if part == "xml":
                la, xml_files = largest_la_xml(source)
                xml = timed_ingest(linked_source(work / f"xml-{scale}", xml_files, source), work / f"lh-xml-{scale}",
                                   args.driver_memory)
                figures["largest_la_xml"] = {"la_code": la, "files": len(xml_files), **xml, "target_seconds": 120,
                                             "meets_target": xml["seconds"] < 120}
            else:
                npd = timed_ingest(linked_source(work / f"npd-only-{scale}", sorted((source / "npd").glob("*.csv")),
                                                 source), work / f"lh-npd-{scale}", args.driver_memory)
                figures["npd_flat_national"] = {**npd, "target_seconds": 300, "meets_target": npd["seconds"] < 300}
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2))
            print(json.dumps(figures, indent=2, default=str)[:3000], flush=True)


if __name__ == "__main__":
    main()
