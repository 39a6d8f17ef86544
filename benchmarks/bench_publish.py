"""Publish speed: disclosure control of a national-sized LA x category x year table with both margins.

151 LA rows (150 LAs and England, "ALL") x 13 categories ("all" included) x 7 years, counts drawn with many small
cells, margins the sums of their parts; totals (category_name, all) and (la_code, ALL) so secondary suppression
runs over both dimensions. Times ``publish`` alone (pandas; no Spark).

Usage: python benchmarks/bench_publish.py [--las 150] [--repeats 3]
Writes benchmarks/results/publish.json (earlier runs kept under "previous").
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from csc_demand.config import DisclosureConf
from csc_demand.report.publish import TableRule, publish
from results_file import save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "publish.json"
RULE = TableRule(counts=("assessments",), derived=("share",),
                 totals=(("category_name", "all"), ("la_code", "ALL")))


def national_table(las: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for year in range(2015, 2022):
        grid = pd.DataFrame(rng.choice([0, 1, 3, 8, 9, 10, 14, 40, 120, 400], size=(las, 12)),
                            index=[f"{200 + i}" for i in range(las)], columns=[f"category {i}" for i in range(1, 13)])
        grid["all"] = grid.sum(axis=1)
        grid.loc["ALL"] = grid.sum(axis=0)
        frame = grid.rename_axis(index="la_code", columns="category_name").stack().rename("assessments")
        frame = frame.reset_index()
        frame.insert(0, "authorised_year", year)
        frame["share"] = frame["assessments"] / frame.groupby(["la_code"])["assessments"].transform("max")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--las", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frame = national_table(args.las)
    seconds, published = [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        published = publish(frame, "category_trends", RULE, DisclosureConf())
        seconds.append(round(time.perf_counter() - start, 3))
    classes: dict[str, int] = {}
    for check in published.checks:
        classes[check["value_class"]] = classes.get(check["value_class"], 0) + 1
    result = {"rows": len(frame), "seconds": seconds, "cells_by_class": classes,
              "load_average": [round(x, 2) for x in os.getloadavg()], "machine": platform.platform(),
              "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(result)
    save_keeping_previous(RESULTS, result)


if __name__ == "__main__":
    main()
