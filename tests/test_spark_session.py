"""A job submitted without Delta's jars, or whose executors cannot start Python, stops at session start with what
to do, not with py4j's "'JavaPackage' object is not callable" at the first table read or a Python task's failure
hours later."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyspark
import pytest
from csc_demand.config import load_config
from csc_demand.errors import ConfigurationError, SparkStartError
from csc_demand.spark import (
    executors_python,
    get_spark,
    refuse_unanswered_connect,
    refuse_unanswered_master,
)

ROOT = Path(__file__).resolve().parents[1]


def test_a_job_submitted_without_delta_stops_with_how_to_submit_it(tmp_path):
    # pyspark's own spark-submit with no --packages: the mistake deploy/spark-submit.sh exists to prevent
    submitted = subprocess.run(
        [str(Path(pyspark.__file__).parent / "bin/spark-submit"), "--master", "local[1]",
         str(ROOT / "jobs/synth.py"), "--out", str(tmp_path / "out"), "--lakehouse", str(tmp_path),
         "--set", "spark.ui=false"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"})
    # spark-submit's PythonRunner copies the driver's stderr to its own stdout
    assert submitted.returncode == 2, submitted.stdout[-3000:]
    assert ("csc-demand synth: error: Delta Lake is not on the Spark classpath. Submit jobs with "
            "deploy/spark-submit.sh, which adds it") in submitted.stdout
    assert "JavaPackage" not in submitted.stdout + submitted.stderr


def test_a_jvm_that_cannot_fetch_its_jars_is_retried_once_then_stops_with_what_to_check(tmp_path):
    # A package that is not a Maven coordinate: spark-submit refuses it and the JVM exits before it starts, as it
    # does when a jar cannot be fetched (an unknown coordinate, Maven Central out of reach, another process half-way
    # through writing the same jar into the Ivy cache), only sooner: Ivy's search for an unknown one takes 35 s.
    missing = "not-a-maven-coordinate"
    started = subprocess.run(
        [sys.executable, "-m", "csc_demand", "synth", "--out", str(tmp_path / "out"), "--lakehouse", str(tmp_path),
         "--set", f"spark.packages=[{missing}]"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    assert started.returncode == 3, started.stderr[-3000:]
    assert started.stderr.count("[csc-demand] Spark's JVM exited before it started; retrying in 10 s") == 1
    assert (f"csc-demand synth: stopped: Spark's JVM exited before it started, twice (its messages are above). "
            f"In local mode it first fetches Delta's jars and {missing} from Maven Central") in started.stderr
    assert "Traceback" not in started.stderr


@pytest.mark.parametrize("java", ['echo \'openjdk version "25.0.3" 2026-04-21 LTS\' >&2; exit 1', None])
def test_a_java_spark_does_not_run_on_stops_at_once_with_which_java_and_what_to_do(tmp_path, java):
    # Java 25 (on this machine beside Java 17) stops inside Hadoop's client before Spark's context exists; a stand-in
    # that answers as it does (its version, then exit 1) fails the same way, sooner. None: JAVA_HOME without a java.
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    if java is not None:
        (home / "bin" / "java").write_text(f"#!/bin/sh\n{java}\n")
        (home / "bin" / "java").chmod(0o755)
    started = subprocess.run(
        [sys.executable, "-m", "csc_demand", "synth", "--out", str(tmp_path / "out"), "--lakehouse", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "JAVA_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"})
    assert started.returncode == 3, started.stderr[-3000:]
    found = (f"Spark 4.1 runs on Java 17 or 21, and {home}/bin/java is Java 25" if java is not None
             else f"no Java found (JAVA_HOME={home})")
    assert (f"csc-demand synth: stopped: Spark's JVM exited before it started: {found}: install Java 17, which this "
            "project is tested on (Debian: openjdk-17-jdk-headless), and set JAVA_HOME to it") in started.stderr
    assert "retrying" not in started.stderr and "Maven Central" not in started.stderr and "Traceback" not in started.stderr


def test_executors_that_cannot_start_python_stop_the_job_with_what_to_do(spark, monkeypatch):
    # The interpreter each Python task asks its executor to run, as spark.pyspark.python sets it under spark-submit;
    # a path no worker has is the mistake of a worker without the environment.
    monkeypatch.setattr(spark.sparkContext, "pythonExec", "/nonexistent/environment/bin/python")
    with pytest.raises(ConfigurationError) as error:
        executors_python(spark)
    assert str(error.value).startswith(
        "the executors cannot run Python (spark.pyspark.python=/nonexistent/environment/bin/python): "
        'Cannot run program "/nonexistent/environment/bin/python"')
    assert "Submit with deploy/spark-submit.sh, which ships the executors' Python environment" in str(error.value)


def test_a_session_started_on_another_thread_is_used_as_it_is(spark, tmp_path):
    """The report stage asks for Spark on a background thread, where no session is active: it gets the running one
    with its settings untouched (a new builder with the local profile's 8 shuffle partitions once overwrote them)."""
    cfg = load_config(profile="local", overrides={"lakehouse": str(tmp_path), "spark.shuffle_partitions": 7})
    before = spark.conf.get("spark.sql.shuffle.partitions")
    with ThreadPoolExecutor(1) as thread:
        got = thread.submit(get_spark, cfg).result()
    assert got._jsparkSession.equals(spark._jsparkSession)
    assert spark.conf.get("spark.sql.shuffle.partitions") == before == "2"


def test_python_tasks_do_not_carry_the_packages_jars_on_their_path(spark):
    # A Python task re-reads every archive on its path when it starts; spark-submit put Delta's 33 jars there.
    import pyarrow as pa

    def python_path(batches):
        for _ in batches:
            pass
        yield pa.RecordBatch.from_pydict({"entry": sys.path})

    entries = [row["entry"] for row in spark.range(1).mapInArrow(python_path, "entry string").collect()]
    assert any(entry.endswith("pyspark.zip") for entry in entries)  # the path was read
    assert [entry for entry in entries if "userFiles" in entry and entry.endswith(".jar")] == []
    assert spark.sparkContext._python_includes == []


def test_a_standalone_master_or_connect_server_nothing_answers_at_is_said_at_once(monkeypatch):
    for proxy in ("grpc_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with socket.socket() as listening:  # a master's or server's port: something answers
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        answering = listening.getsockname()[1]
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            silent = closed.getsockname()[1]  # bound, never listening: connections to it are refused
            for master in (f"spark://127.0.0.1:{answering}", f"spark://127.0.0.1:{silent},127.0.0.1:{answering}",
                           "local[2]"):
                refuse_unanswered_master(master)
            refuse_unanswered_connect(f"sc://127.0.0.1:{answering}/;user_id=x")
            with pytest.raises(SparkStartError) as master_refused:
                refuse_unanswered_master(f"spark://127.0.0.1:{silent}")
            with pytest.raises(SparkStartError) as connect_refused:
                refuse_unanswered_connect(f"sc://127.0.0.1:{silent}/;user_id=x")
            monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
            refuse_unanswered_connect(f"sc://127.0.0.1:{silent}")  # behind a proxy gRPC goes through it: not checked
    assert str(master_refused.value) == (
        f"nothing answers at spark.master spark://127.0.0.1:{silent}: start the standalone master (e.g. "
        "deploy/standalone/start.sh) or give the master's address (spark://HOST:PORT, port 7077 by default), then "
        "run again")
    assert str(connect_refused.value) == (
        f"nothing answers at spark.remote sc://127.0.0.1:{silent}/;user_id=x: start the Connect server (e.g. "
        "deploy/connect/start.sh) or give its address (sc://HOST:PORT, port 15002 by default), then run again")
