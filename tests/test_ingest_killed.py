"""A real `csc-demand ingest` process killed (SIGKILL, Spark's JVM with it) part way leaves every Delta table
readable, and running ingest again gives the same tables as a run that was never interrupted."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from csc_demand import cli
from helpers.lakehouse import TEST_PSEUDONYM_KEY

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
LIB = Path(__file__).parents[1] / "lib"
FILES = ["la/cin_census/2015/cin_201_2015.xml", "la/cin_census/2016/cin_201_2016.xml",
         "la/ssda903/2015/ssda903_201_2015_header.csv", "la/ssda903/2015/ssda903_201_2015_episodes.csv",
         "national/npd/cin_2016.csv", "national/npd/cpp_2016.csv"]
SETTINGS = ["--set", f"pseudonym_key={TEST_PSEUDONYM_KEY}", "--set", "spark.shuffle_partitions=2",
            "--set", "spark.driver_memory=1g"]
PER_RUN = {"load_id", "loaded_at"}  # differ between runs by design


def ingest_args(source: Path, lakehouse: Path) -> list[str]:
    return ["ingest", "--source", str(source), "--lakehouse", str(lakehouse), *SETTINGS]


def delta_tables(lakehouse: Path) -> list[Path]:
    """Tables with at least one commit. A kill can land after a writer created `_delta_log/` but before its first
    commit (bronze tables are written side by side); Delta rightly says no table exists there yet."""
    return sorted({p.parent.parent for p in lakehouse.glob("*/*/_delta_log/*.json")})


def contents(spark, lakehouse: Path) -> dict[str, list]:
    """Every Delta table's rows (without the per-run columns), sorted; reading each proves it readable."""
    tables = {}
    for path in delta_tables(lakehouse):
        df = spark.read.format("delta").load(str(path))
        kept = [c for c in df.columns if c not in PER_RUN]
        tables[f"{path.parent.name}.{path.name}"] = sorted(map(repr, df.select(*kept).collect()))
    return tables


def ingest_killed_after(source: Path, lakehouse: Path, progress: str) -> list[str]:
    """Run ingest in a child process and SIGKILL its whole process group once a progress line starts with
    ``progress``; returns the progress lines seen."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(LIB), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-m", "csc_demand", *ingest_args(source, lakehouse)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    for line in child.stderr:
        if line.startswith("[csc-demand ingest]"):
            seen.append(line.split("s  ", 1)[1].strip())
            if seen[-1].startswith(progress):
                os.killpg(child.pid, signal.SIGKILL)
                break
    child.wait()
    assert child.returncode == -signal.SIGKILL, seen
    return seen


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("killed") / "source"
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / rel, root / rel)
    return root


@pytest.fixture(scope="module")
def uninterrupted(spark, source, tmp_path_factory) -> dict[str, list]:
    lakehouse = tmp_path_factory.mktemp("uninterrupted") / "lakehouse"
    assert cli.main(ingest_args(source, lakehouse)) == 0
    return contents(spark, lakehouse)


def test_runs_killed_in_bronze_then_in_silver_leave_tables_readable_and_a_rerun_completes_them(
        spark, source, uninterrupted, tmp_path):
    lakehouse = tmp_path / "lakehouse"
    # the second run starts on what the first left, so it is also a rerun after a kill in bronze; being killed at
    # its silver line, it got through bronze again
    for progress in ["bronze.cin_census:", "silver.referrals:"]:
        seen = ingest_killed_after(source, lakehouse, progress)
        partial = contents(spark, lakehouse)  # every table there can be read
        assert 0 < len(partial) < len(uninterrupted), seen
    assert cli.main(ingest_args(source, lakehouse)) == 0
    assert contents(spark, lakehouse) == uninterrupted
