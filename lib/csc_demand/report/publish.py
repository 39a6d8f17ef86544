"""STUB until H3's publish module lands on main (the API of briefs/CONTRACT.md); deleted on merging theirs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from csc_demand.config import DisclosureConf


@dataclass(frozen=True)
class TableRule:
    counts: tuple[str, ...]
    derived: tuple[str, ...] = ()
    totals: tuple[tuple[str, str], ...] = ()
    complements: tuple[tuple[str, str], ...] = ()


@dataclass
class Published:
    frame: pd.DataFrame
    checks: list[dict] = field(default_factory=list)


def publish(frame: pd.DataFrame, name: str, rule: TableRule, conf: DisclosureConf) -> Published:
    out = frame.copy()
    small = pd.Series(False, index=out.index)
    for c in rule.counts:
        v = pd.to_numeric(out[c], errors="coerce")
        is_small = v.notna() & (v < conf.min_count)
        small |= is_small
        rounded = (np.floor(v / conf.round_to + 0.5) * conf.round_to)
        out[c] = rounded.where(~is_small).astype("Float64")
    for c in rule.derived:
        out[c] = out[c].where(~small)
    return Published(out, [])


class OutputCheckLog:
    def __init__(self):
        self.entries: list[dict] = []

    def add(self, output: str, published: Published, rule: TableRule, conf: DisclosureConf, note: str = "") -> None:
        self.entries.append({"output": output, "rule": str(rule), "checks": published.checks, "note": note})

    def write(self, out_dir: str) -> None:
        Path(out_dir, "output_check.json").write_text(json.dumps(self.entries, indent=1, default=str))


def _neutral(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda s: s.map(lambda v: "'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v))


def write_csv(frame: pd.DataFrame, path: str) -> None:
    _neutral(frame).to_csv(path, index=False)


def write_workbook(frames: dict[str, pd.DataFrame], path: str) -> None:
    with pd.ExcelWriter(path) as writer:
        for name, frame in frames.items():
            _neutral(frame).to_excel(writer, sheet_name=name[:31], index=False)


def scan_outputs(out_dir: str, conf: DisclosureConf, forbidden: Iterable[str] = ()) -> list[str]:
    problems = []
    forbidden = [f for f in forbidden if f]
    for path in Path(out_dir).rglob("*"):
        if path.suffix in (".csv", ".html", ".md", ".json"):
            text = path.read_text(errors="replace")
            problems += [f"{path}: contains {f!r}" for f in forbidden if f in text]
    return problems
