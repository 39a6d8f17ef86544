"""Progress lines and the JSON run summary every verb writes under ``<lakehouse>/_runs/``.

A long step is never silent: while a verb runs, a heartbeat line follows the last progress line whenever
``HEARTBEAT_SECONDS`` pass without one, saying what is running and how far Spark has got (stages and tasks done
out of total, from Spark's status tracker).
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from csc_demand import locations

_STEP_LOCK = threading.Lock()
logger = logging.getLogger("csc_demand")  # progress lines at INFO: a notebook user can quieten them with setLevel


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest and notebooks replace it after import)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


if not logger.handlers:
    logger.addHandler(_CurrentStderr())
    logger.setLevel(logging.INFO)
    logger.propagate = False  # one copy of each line, also where the root logger prints too
HEARTBEAT_SECONDS = 10.0


@dataclass
class _LastLine:
    """The last progress line of any RunLog in this process (`run` nests one RunLog per stage)."""
    log: RunLog | None = None
    message: str = ""
    at: float = 0.0  # when that progress line was written
    output_at: float = 0.0  # when anything (a progress or a heartbeat line) was last written


_last = _LastLine()


def _write_line(verb: str, elapsed: float, message: str) -> None:
    logger.info(f"[csc-demand {verb}] {elapsed:7.1f}s  {message}")


# Spark Connect: the latest progress of each running operation, as the server reports it (spark.get_spark registers
# record_connect_progress with the session); a finished operation's entry is removed.
_connect_progress: dict[str, str] = {}
_CONNECT_LOCK = threading.Lock()


def record_connect_progress(stages: Iterable[Any] | None, inflight_tasks: int, operation_id: str | None,
                            done: bool) -> None:
    """A Connect ``ProgressHandler``: pyspark calls it on the thread running the operation."""
    key = operation_id or ""
    with _CONNECT_LOCK:
        if done:
            _connect_progress.pop(key, None)
            return
        _connect_progress[key] = "; ".join(
            f"stage {s.stage_id}: {s.num_completed_tasks}/{s.num_tasks} tasks"
            for s in sorted(stages or (), key=lambda s: s.stage_id) if not s.done)


def spark_progress() -> str:
    """Active Spark stages with tasks done out of total, e.g. "stage 12 (save at ...): 5/8 tasks"; "" if none.

    Reads the process's SparkContext from any thread (the active SparkSession is per thread); under Spark Connect,
    the progress the server last reported for each running operation (stage numbers and tasks, no names).
    """
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        with _CONNECT_LOCK:
            return "; ".join(p for p in _connect_progress.values() if p)
    try:
        tracker = context.statusTracker()
        stages = [tracker.getStageInfo(stage_id) for stage_id in sorted(tracker.getActiveStageIds())]
    except Exception:  # a context still starting or already stopping has no tracker yet; the beat goes on
        return ""
    return describe_stages(s for s in stages if s is not None)


def describe_stages(stages: Iterable[Any]) -> str:
    """"stage 12 (save): 5/8 tasks; ..." from Spark's StageInfo; a name Scala made up for a closure
    ("$anonfun$withThreadLocalCaptured$2", a broadcast's) says nothing to a reader and is left out."""
    parts = []
    for s in stages:
        name = s.name.split(" at ")[0]
        parts.append(f"stage {s.stageId}{'' if not name or name.startswith('$') else f' ({name})'}: "
                     f"{s.numCompletedTasks}/{s.numTasks} tasks")
    return "; ".join(parts)


class RunLog:
    """One per verb invocation: ``step()`` prints a progress line, ``save()`` writes the summary.

    The summary records, per table, rows received / accepted / quarantined and the Delta versions read
    and written, plus any metrics the stage reports.
    """

    def __init__(self, verb: str, runs_dir: str | None):
        self.verb = verb
        self.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        self.runs_dir = str(runs_dir) if runs_dir else None  # a local path or a URI (csc_demand.locations)
        self.started = time.time()
        self.summary: dict[str, Any] = {
            "verb": verb, "run_id": self.run_id,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": {}, "versions_read": {}, "versions_written": {}, "metrics": {}, "steps": [],
        }

    def step(self, message: str) -> None:
        now = time.time()
        with _STEP_LOCK:  # stages log from several threads
            _write_line(self.verb, now - self.started, message)
            _last.log, _last.message, _last.at, _last.output_at = self, message, now, now
            self.summary["steps"].append({"t": round(now - self.started, 2), "message": message})

    @contextmanager
    def heartbeat(self, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
        """While the block runs, a line after every ``every`` seconds without a progress line (not in the summary)."""
        stop = threading.Event()
        _last.output_at = max(_last.output_at, time.time())

        def beat() -> None:
            while not stop.wait(every / 4):
                if time.time() - _last.output_at < every:
                    continue
                progress = spark_progress() or "no Spark stage running"
                with _STEP_LOCK:
                    now, log = time.time(), _last.log or self
                    _write_line(log.verb, now - log.started,
                                f"... still at: {_last.message or 'starting'} ({now - (_last.at or self.started):.0f}s"
                                f" since); {progress}")
                    _last.output_at = now

        thread = threading.Thread(target=beat, name="csc-demand-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

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
            from csc_demand.io.hadoop_fs import (
                write_text,  # Spark only for a lakehouse off this machine
            )

            write_text(path, text)
        return path
