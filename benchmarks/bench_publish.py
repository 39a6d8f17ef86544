"""Publish speed: disclosure control of a national-sized LA x category x year table with both margins.

151 LA rows (150 LAs and England, "ALL") x 13 categories ("all" included) x 7 years, counts drawn with many small
cells, margins the sums of their parts; totals (category_name, all) and (la_code, ALL) so secondary suppression
runs over both dimensions. Times ``publish`` alone (pandas; no Spark).

With ``--workbook-from REPORT`` also times ``write_workbook`` on the published CSVs of a report folder (e.g. the
national one ``bench_national.py --keep`` leaves) beside pandas' ``to_excel``, which it replaced, one after the other.

Usage: python benchmarks/bench_publish.py [--las 150] [--repeats 3] [--workbook-from REPORT]
Writes benchmarks/results/publish.json (earlier runs kept under "previous").
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from csc_demand.config import DisclosureConf
from csc_demand.report.publish import TEXT_AS_TEXT, TableRule, _neutralised, _sheet_name, publish, write_workbook
from results_file import commit, load, save_keeping_previous

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


def pandas_workbook(frames: dict[str, pd.DataFrame], path: str) -> None:
    """The workbook as write_workbook wrote it with pandas (the same options, sheet names and neutralising)."""
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": TEXT_AS_TEXT}) as writer:
        used: set[str] = set()
        for name, frame in frames.items():
            _neutralised(frame).to_excel(writer, sheet_name=_sheet_name(name, used), index=False)


def workbook_side_by_side(report: Path) -> dict:
    frames = {p.stem: pd.read_csv(p, low_memory=False) for p in sorted((report / "data").glob("*.csv"))}
    result: dict = {"report": str(report), "sheets": len(frames), "cells": int(sum(f.size for f in frames.values()))}
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, write in (("write_workbook", write_workbook), ("pandas_to_excel", pandas_workbook)):
            start = time.perf_counter()
            write(frames, f"{folder}/{name}.xlsx")
            seconds[name] = time.perf_counter() - start
    result.update({f"{name}_seconds": round(s, 1) for name, s in seconds.items()})
    result["ratio_pandas_to_ours"] = round(seconds["pandas_to_excel"] / seconds["write_workbook"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--las", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workbook-from", type=Path, metavar="REPORT",
                        help="a report folder whose data/*.csv to write as a workbook, ours beside pandas'")
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
              "load_average": load(), "machine": platform.platform(),
              "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), "commit": commit()}
    if args.workbook_from:
        result["workbook"] = workbook_side_by_side(args.workbook_from)
        result["load_average_after"] = load()
    print(result)
    save_keeping_previous(RESULTS, result)


if __name__ == "__main__":
    main()
