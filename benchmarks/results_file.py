"""Writing a benchmark's results file without losing earlier runs."""
from __future__ import annotations

import json
from pathlib import Path


def save_keeping_previous(path: Path, result: dict) -> None:
    """Write result to path; the file's earlier runs move under result["previous"], newest first."""
    if path.exists():
        earlier = json.loads(path.read_text())
        result["previous"] = [{k: v for k, v in earlier.items() if k != "previous"}, *earlier.get("previous", [])]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {path}")
