"""A benchmark's results file, kept with its earlier runs, and what every run records beside its figures: the
commit and the load average."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path


def commit() -> str:
    """The checked-out commit (short hash), with "+changes" when tracked files other than the results differ from
    it (the figures are then not of that commit); "unknown" outside a git checkout."""
    git = ["git", "-C", str(Path(__file__).parents[1])]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!benchmarks/results"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def load() -> list[float]:
    """The load averages over 1, 5 and 15 minutes."""
    return [round(x, 2) for x in os.getloadavg()]


def save_keeping_previous(path: Path, result: dict) -> None:
    """Write result to path; the file's earlier runs move under result["previous"], newest first."""
    if path.exists():
        earlier = json.loads(path.read_text())
        result["previous"] = [{k: v for k, v in earlier.items() if k != "previous"}, *earlier.get("previous", [])]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {path}")
