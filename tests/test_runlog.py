"""Progress lines stay whole when a stage logs from several threads (ingest writes tables four at a time)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from csc_demand.runlog import RunLog

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


def heartbeat_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "... still at:" in line]


def test_a_long_spark_step_prints_heartbeats_with_tasks_done_out_of_total(spark, capsys):
    import time

    log = RunLog("outcomes", None)
    with log.heartbeat(every=0.3):
        log.step("windows over 4 partitions")
        # 4 tasks of 0.6 s each on 2 cores: about 1.2 s with no progress line
        slow = spark.range(0, 4, 1, 4).mapInPandas(lambda batches: (time.sleep(0.6) or b for b in batches),
                                                   "id long")
        assert slow.count() == 4
    lines = heartbeat_lines(capsys.readouterr().err)
    with_tasks = [line for line in lines if "/4 tasks" in line]
    assert with_tasks, lines
    assert all(line.startswith("[csc-demand outcomes]") and "still at: windows over 4 partitions (" in line
               for line in lines)
    assert len(log.summary["steps"]) == 1  # heartbeats are not steps of the summary


def test_no_heartbeat_while_progress_lines_keep_coming(capsys):
    import time

    log = RunLog("ingest", None)
    with log.heartbeat(every=0.5):
        for i in range(10):
            log.step(f"file {i}")
            time.sleep(0.1)
    assert heartbeat_lines(capsys.readouterr().err) == []


def test_a_quiet_driver_step_says_no_spark_stage_is_running(capsys):
    import time

    log = RunLog("fit", None)
    with log.heartbeat(every=0.2):
        log.step("EM on compressed patterns")
        time.sleep(0.7)
    lines = heartbeat_lines(capsys.readouterr().err)
    assert 2 <= len(lines) <= 4
    assert all(line.endswith("since); no Spark stage running") for line in lines)
    assert heartbeat_threads() == []  # stopped at the end of the block


def heartbeat_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "csc-demand-heartbeat"]


def test_the_heartbeat_stops_when_the_step_fails(capsys):
    import time

    import pytest

    log = RunLog("fit", None)
    with pytest.raises(ZeroDivisionError), log.heartbeat(every=0.2):
        log.step("EM on compressed patterns")
        time.sleep(0.3)
        raise ZeroDivisionError("the step failed")
    assert heartbeat_threads() == []
    assert heartbeat_lines(capsys.readouterr().err)  # it was beating when the error came
    time.sleep(0.3)  # and stays silent afterwards
    assert heartbeat_lines(capsys.readouterr().err) == []


def test_a_spark_context_without_a_tracker_yet_gives_no_progress(monkeypatch):
    # seen while Spark was starting: the context object exists before its Java side (_jsc)
    from csc_demand.runlog import spark_progress
    from pyspark import SparkContext

    starting = SparkContext.__new__(SparkContext)
    monkeypatch.setattr(SparkContext, "_active_spark_context", starting)
    assert spark_progress() == ""


def test_under_spark_connect_progress_comes_from_the_servers_reports(monkeypatch):
    # no SparkContext in a Connect client: the heartbeat shows what the progress handler last heard per operation
    from csc_demand.runlog import record_connect_progress, spark_progress
    from pyspark import SparkContext
    from pyspark.sql.connect.shell.progress import StageInfo

    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    record_connect_progress([StageInfo(7, 8, 5, 0, False), StageInfo(6, 2, 2, 0, True)], 3, "op-1", False)
    record_connect_progress([StageInfo(9, 4, 1, 0, False)], 1, "op-2", False)
    assert spark_progress() == "stage 7: 5/8 tasks; stage 9: 1/4 tasks"
    record_connect_progress(None, 0, "op-1", True)  # op-1 finished
    record_connect_progress(None, 0, "op-2", True)
    assert spark_progress() == ""


def test_a_stage_named_after_a_scala_closure_is_shown_by_its_number_only():
    from types import SimpleNamespace

    from csc_demand.runlog import describe_stages
    stages = [SimpleNamespace(stageId=23, name="$anonfun$withThreadLocalCaptured$2 at <unknown>:0", numCompletedTasks=0,
                              numTasks=2),
              SimpleNamespace(stageId=24, name="save at NativeMethodAccessorImpl.java:0", numCompletedTasks=1,
                              numTasks=8)]
    assert describe_stages(stages) == "stage 23: 0/2 tasks; stage 24 (save): 1/8 tasks"
