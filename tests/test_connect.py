"""The whole pipeline as a Spark Connect client (no SparkContext, RDDs or JVM in the client, as on Databricks
serverless) writes the same Delta tables as the same pipeline in local mode.

The server is a Spark Connect server from the pip-installed pyspark with Delta's SQL extension and catalog, on
loopback, started and stopped with deploy/connect/{start,stop}.sh as docs/running.md tells users to; the pipeline
runs in a subprocess (`csc-demand run --set spark.remote=sc://...`), since this process holds the tests' classic
session.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable
from helpers.lakehouse import TEST_PSEUDONYM_KEY
from mlflow import MlflowClient
from pipeline_run import PIPELINE_SETTINGS, assert_same_tables, delta_tables, set_options
from test_cluster import LOOPBACK, alive, listening_sockets

pytestmark = pytest.mark.connect

ROOT = Path(__file__).resolve().parents[1]


def read_env(run_dir: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (run_dir / "connect.env").read_text().splitlines() if "=" in line)


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("connect")
    # The server's Python workers run this interpreter with this checkout's package (mapInArrow, UDFs).
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT / "lib")}
    subprocess.run([str(ROOT / "deploy/connect/start.sh"), str(run_dir)], check=True, timeout=600, env=env)
    try:
        yield run_dir, read_env(run_dir)
    finally:
        if (run_dir / "connect.env").exists():
            subprocess.run([str(ROOT / "deploy/connect/stop.sh"), str(run_dir)], timeout=120)


def test_server_listens_on_loopback_only(connect_server):
    _, env = connect_server
    sockets = listening_sockets([env["SERVER_PID"]])
    assert sockets and {address for address, _ in sockets} <= LOOPBACK
    assert int(env["SPARK_REMOTE"].rsplit(":", 1)[1]) in {port for _, port in sockets}


@pytest.mark.timeout(1800)
def test_pipeline_as_a_connect_client_writes_the_same_tables_as_local_mode(connect_server, local_pipeline, spark,
                                                                           tmp_path):
    _, env = connect_server
    assert local_pipeline.exit_code == 0
    lakehouse = tmp_path / "lakehouse"
    ran = subprocess.run(
        [sys.executable, "-m", "csc_demand", "run", "--profile", "local", "--lakehouse", str(lakehouse),
         # the local run's own synthetic set, so both runs read the same files
         "--source", str(local_pipeline.lakehouse / "_source"),
         *set_options([*PIPELINE_SETTINGS, f"spark.remote={env['SPARK_REMOTE']}",
                       f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}"])],
        cwd=tmp_path, capture_output=True, text=True, timeout=1700,
        env={**os.environ, "PYTHONPATH": str(ROOT / "lib"), "CSC_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY})
    (tmp_path / "run.log").write_text(ran.stdout + "\n--- stderr ---\n" + ran.stderr)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    # a Connect client: the server's Python workers answered the session-start check
    assert f"Spark Connect server {env['SPARK_REMOTE']}; its Python workers: {sys.executable}" in ran.stderr
    summaries = sorted(p.name.split("-")[0] for p in (lakehouse / "_runs").glob("*.json"))
    assert summaries == ["classify", "fit", "ingest", "outcomes", "report", "run"]
    assert all(json.loads(p.read_text())["status"] == "ok" for p in (lakehouse / "_runs").glob("*.json"))
    # ingest's file checks ran (binaryFile + mapInArrow): every file was checked and loaded
    (ingest,) = [json.loads(p.read_text()) for p in (lakehouse / "_runs").glob("ingest-*.json")]
    (local_ingest,) = local_pipeline.summaries("ingest")
    assert ingest["tables"] == local_ingest["tables"]
    assert (lakehouse / "report" / "index.html").is_file()
    # fit logged its input table to MLflow with the rows it counted as the dataset's profile
    (fit,) = [json.loads(p.read_text()) for p in (lakehouse / "_runs").glob("fit-*.json")]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    (dataset,) = [i.dataset for r in runs for i in r.inputs.dataset_inputs]
    assert json.loads(dataset.profile) == {"approx_count": fit["tables"]["silver.assessments"]["accepted"]}
    # Under Connect a table is created in Delta's SQL, whose types cannot say that an array's elements are never
    # null (silver.assessments' factor_codes and indicators): that alone may differ (docs/running.md)
    assert_same_tables(spark, local_pipeline.lakehouse, lakehouse, nested_nullability=False)
    # created in Delta's SQL under Connect, by the DeltaTable builder locally: the same constraints, table
    # properties (deletion vectors, statistics columns), descriptions and protocol features
    for name, folder in delta_tables(local_pipeline.lakehouse).items():
        expected, actual = DeltaTable(str(folder)), DeltaTable(str(lakehouse / name.replace(".", "/")))
        assert (actual.metadata().configuration, actual.metadata().description) == (
            expected.metadata().configuration, expected.metadata().description), name
        assert actual.protocol() == expected.protocol(), name


CHECK_FILES = """
import dataclasses, json, sys
from pyspark.sql import SparkSession
from csc_demand.io.discover import discover
from csc_demand.io.file_check import check_files
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
files, unrecognised = discover(spark, sys.argv[2])
print(json.dumps([[dataclasses.asdict(c) for c in check_files(spark, files)], unrecognised]))
"""


def test_file_checks_give_the_same_results_and_reasons_as_on_a_classic_session(connect_server, spark, tmp_path):
    # the ingest fixture's returns (truncated, misnamed, wrongly headed files among them) in a folder whose name has
    # glob characters and a space, read by binaryFile + mapInArrow on the server and by binaryFiles here
    from csc_demand.io.discover import discover
    from csc_demand.io.file_check import check_files

    _, env = connect_server
    folder = tmp_path / "returns [2016] a*"
    shutil.copytree(ROOT / "tests/fixtures/ingest/la", folder)
    files, unrecognised = discover(spark, str(folder))
    classic = json.loads(json.dumps([[dataclasses.asdict(c) for c in check_files(spark, files)], unrecognised]))
    ran = subprocess.run([sys.executable, "-c", CHECK_FILES, env["SPARK_REMOTE"], str(folder)], capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT / "lib")})
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout) == classic
    assert any(not check["ok"] for check in classic[0]) and any(check["ok"] for check in classic[0])


def test_stop_ends_the_server(connect_server):
    run_dir, env = connect_server
    stopped = subprocess.run([str(ROOT / "deploy/connect/stop.sh"), str(run_dir)], capture_output=True, text=True,
                             timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert not alive(env["SERVER_PID"])
    assert not (run_dir / "connect.env").exists()
