"""Progress lines and the JSON run summary every verb writes under ``<lakehouse>/_runs/``."""
from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from csc_demand import locations


_STEP_LOCK = threading.Lock()


class RunLog:
    """One per verb invocation: ``step()`` prints a progress line, ``save()`` writes the summary.

    The summary records, per table, rows received / accepted / quarantined and the Delta versions read
    and written, plus any metrics the stage reports.
    """

    def __init__(self, verb: str, runs_dir: str | None):
        self.verb = verb
        self.run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        self.runs_dir = str(runs_dir) if runs_dir else None  # a local path or a URI (csc_demand.locations)
        self.started = time.time()
        self.summary: dict[str, Any] = {
            "verb": verb, "run_id": self.run_id,
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "tables": {}, "versions_read": {}, "versions_written": {}, "metrics": {}, "steps": [],
        }

    def step(self, message: str) -> None:
        elapsed = time.time() - self.started
        line = f"[csc-demand {self.verb}] {elapsed:7.1f}s  {message}\n"
        with _STEP_LOCK:  # stages log from several threads; print() writes a line and its newline separately
            sys.stderr.write(line)
            sys.stderr.flush()
            self.summary["steps"].append({"t": round(elapsed, 2), "message": message})

    def table(self, name: str, **counts: Any) -> None:
        self.summary["tables"].setdefault(name, {}).update(counts)

    def read(self, name: str, version: int) -> None:
        self.summary["versions_read"][name] = version

    def wrote(self, name: str, version: int) -> None:
        self.summary["versions_written"][name] = version

    def metric(self, name: str, value: Any) -> None:
        self.summary["metrics"][name] = value

    def save(self, status: str = "ok") -> str | None:
        self.summary["status"] = status
        self.summary["seconds"] = round(time.time() - self.started, 2)
        if self.runs_dir is None:
            return None
        path = locations.join(self.runs_dir, f"{self.verb}-{self.run_id}.json")
        text = json.dumps(self.summary, indent=2, default=str)
        if locations.is_local(path):
            Path(locations.local_path(path)).parent.mkdir(parents=True, exist_ok=True)
            Path(locations.local_path(path)).write_text(text)
        else:
            from csc_demand.io.hadoop_fs import write_text  # Spark only for a lakehouse off this machine

            write_text(path, text)
        return path
