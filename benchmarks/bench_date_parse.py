"""Strict ISO date parsing (`quality.checks.parse_date`) against Spark's own ways, side by side in one session.

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_date_parse.py [--rows 6000000]

Every silver rule parses the dates it reads again (a rule's condition is its own expression), so at national scale
this expression runs hundreds of millions of times: a profile of silver (JFR, 2026-12-04) found UTF8String
substrings and character counts, the previous shape check's, in 18% of the executor's samples. Times each
expression on the same cached strings (2% in another layout) after a warm-up, best of --repeats, against the bare
cast (no shape check: the floor), Spark's pattern parser (`try_to_date` with yyyy-MM-dd, as strict) and the
previous shape check (substrings). Appends to benchmarks/results/date_parse.json with date, commit and load.
"""
from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_quickstart import commit, load
from csc_demand.config import load_config
from csc_demand.quality.checks import ISO_DATE, parse_date
from csc_demand.spark import get_spark
from pyspark.sql import Column
from pyspark.sql import functions as F
from results_file import save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "date_parse.json"


def substring_shape(text: Column) -> Column:
    """parse_date's shape check until 2026-12-04: a character count and three substrings."""
    shaped = ((F.length(text) == 10) & (F.substring(text, 5, 1) == "-") & (F.substring(text, 8, 1) == "-")
              & F.substring(text, 10, 1).between("0", "9"))
    return F.when(shaped, text.try_cast("date"))


PEERS = {"parse_date": lambda t: parse_date(t, ISO_DATE), "substring shape (before)": substring_shape,
         "try_to_date pattern": lambda t: F.try_to_date(t, ISO_DATE), "cast alone (floor)": lambda t: t.try_cast("date")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    spark = get_spark(load_config(profile="local"), "csc-demand-bench-date-parse")
    day = F.date_add(F.lit("2010-01-01").cast("date"), (F.col("id") % 4000).cast("int"))
    texts = spark.range(args.rows).select(
        F.when(F.col("id") % 50 == 0, F.lit("2015-1-5")).otherwise(F.date_format(day, ISO_DATE)).alias("t")).cache()
    texts.count()
    load_before, seconds = load(), {}
    for name, parse in PEERS.items():
        runs = []
        for _ in range(args.repeats + 1):  # the first run warms up
            started = time.perf_counter()
            texts.select(parse(F.col("t")).alias("d")).agg(F.count("d"), F.max("d")).collect()
            runs.append(time.perf_counter() - started)
        seconds[name] = round(min(runs[1:]), 3)
    spark.stop()
    floor = seconds["cast alone (floor)"]
    result = {"benchmark": "ISO date parse", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "commit": commit(), "rows": args.rows, "seconds": seconds,
              "ratio_to_parse_date": {k: round(v / seconds["parse_date"], 2) for k, v in seconds.items()},
              "shape_check_seconds": {k: round(v - floor, 3) for k, v in seconds.items() if k != "cast alone (floor)"},
              "load_average_before": load_before, "load_average_after": load()}
    for name, value in seconds.items():
        print(f"{name:26s} {value:6.3f} s  x{result['ratio_to_parse_date'][name]}")
    save_keeping_previous(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
