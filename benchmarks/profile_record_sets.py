"""What each of silver's record sets costs: ingest's validated record sets cached one at a time, on the bronze of a
kept lakehouse, each timed alone, with its rows per rule to compare two versions by.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/profile_record_sets.py --from LAKEHOUSE [--label TEXT]

Silver's build computes every record set in one Spark job (profile_silver.py times the whole step); here the
shared sets come first (the XML referrals, the NPD CIN rows, the SSDA903 header's children), then each silver
table's validated records, each cached and counted before the next starts, so a change to one set shows in its
own line. Shuffle partitions as ingest sets them for that bronze. Printed and appended to
benchmarks/results/record_sets.json (earlier runs kept under "previous") with date, commit, the library's path and
load. Run it for two versions side by side (``PYTHONPATH`` naming each one's lib) and compare seconds and rules.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import csc_demand
from bench_quickstart import KEY
from csc_demand.config import load_config
from csc_demand.spark import get_spark
from csc_demand.stages.ingest import bronze_versions, read_bronze, row_count, shuffle_partitions_for
from csc_demand.transform.silver_tables import validated_records
from pyspark import StorageLevel
from pyspark.sql import functions as F
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "record_sets.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="LAKEHOUSE",
                        help="a lakehouse on this machine whose bronze tables to read (only read)")
    parser.add_argument("--label", default="", help="which version this is (e.g. main, or the change tried)")
    args = parser.parse_args(argv)
    cfg = replace(load_config(profile="local"), lakehouse=str(args.source))
    os.environ.setdefault(cfg.pseudonym_key_env, KEY)
    spark = get_spark(cfg, "csc-demand-profile-record-sets")
    bronze = read_bronze(spark, cfg, bronze_versions(spark, cfg))
    partitions = shuffle_partitions_for(row_count(bronze.values()), int(spark.conf.get("spark.sql.shuffle.partitions")))
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    validated, shared = validated_records(bronze, cfg.resolve_pseudonym_key())
    load_before = load()
    sets = []
    for name, df in [*shared.items(), *validated.items()]:
        started = time.perf_counter()
        df.persist(StorageLevel.MEMORY_AND_DISK)
        rows = df.count()
        seconds = round(time.perf_counter() - started, 1)
        rules = ({str(r["rule_id"]): r["n"] for r in df.groupBy("rule_id").agg(F.count("*").alias("n")).collect()}
                 if name not in shared else {})
        sets.append({"set": name, "rows": rows, "seconds": seconds, "rules": rules})
        print(f"{name:18s} {rows:>11,d} rows {seconds:7.1f} s  load {os.getloadavg()[0]:.2f}", flush=True)
    result = {"benchmark": "record sets", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "commit": commit(), "lib": str(Path(csc_demand.__file__).parent.parent), "label": args.label,
              "bronze_from": str(args.source), "shuffle_partitions": partitions,
              "seconds": round(sum(s["seconds"] for s in sets), 1), "load_average_before": load_before,
              "load_average_after": load(), "sets": sets}
    spark.stop()
    print(f"total {result['seconds']} s")
    save_keeping_previous(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
