"""Progress lines stay whole when a stage logs from several threads (ingest writes tables four at a time)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LIB = Path(__file__).parents[1] / "lib"
LOGGING_FROM_THREADS = f"""
import sys, threading
sys.path.insert(0, {str(LIB)!r})
from csc_demand.runlog import RunLog
log = RunLog("ingest", None)
def steps(n):
    for i in range(2000):
        log.step(f"bronze.table{{n}}: {{i}} rows")
threads = [threading.Thread(target=steps, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
assert len(log.summary["steps"]) == 8000
"""


def test_progress_lines_from_several_threads_are_never_merged():
    # through a pipe, as a parent process reads them (print() used to write a line and its newline apart)
    done = subprocess.run([sys.executable, "-c", LOGGING_FROM_THREADS], capture_output=True, text=True, check=True)
    lines = done.stderr.splitlines()
    assert len(lines) == 8000
    assert all(line.startswith("[csc-demand ingest]") and line.count("[csc-demand") == 1 for line in lines)
    assert sorted(line.split("s  ", 1)[1] for line in lines) == sorted(
        f"bronze.table{n}: {i} rows" for n in range(4) for i in range(2000))
