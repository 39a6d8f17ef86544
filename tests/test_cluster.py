"""The whole pipeline under spark-submit on a standalone cluster (a master and two 1-core workers on loopback), with
the source and the lakehouse in an S3-compatible object store (moto's server on loopback), writes the same Delta
tables as the same pipeline in local mode.

Started and stopped with deploy/standalone/{start,stop}.sh; submitted with deploy/spark-submit.sh, exactly as
docs/running.md tells users to: hadoop-aws through --packages, the executors' Python shipped with --archives.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import urllib.request
from pathlib import Path

import boto3
import pytest
from helpers.lakehouse import TEST_PSEUDONYM_KEY
from moto.server import ThreadedMotoServer
from pipeline_run import PIPELINE_SETTINGS, assert_same_tables, set_options

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}
BUCKET = "csc-demand"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def object_store():
    """moto's S3 server on a free loopback port, with one bucket; yields (endpoint URL, boto3 client)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                              aws_secret_access_key="testing", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        server.stop()


def s3a_settings(endpoint: str) -> list[str]:
    """spark-submit --conf options: S3A against the loopback endpoint, path-style, plain HTTP."""
    settings = {"endpoint": endpoint, "endpoint.region": "us-east-1", "path.style.access": "true",
                "connection.ssl.enabled": "false", "access.key": "testing", "secret.key": "testing"}
    return [arg for key, value in settings.items() for arg in ("--conf", f"spark.hadoop.fs.s3a.{key}={value}")]


def upload(client, folder: Path, prefix: str) -> int:
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        client.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return len(files)


def download(client, prefix: str, folder: Path) -> list[str]:
    """Every object under prefix/ into folder; their paths relative to prefix/. (An empty object named like
    ``report/``, S3A's marker of a folder it made, would otherwise become a file in the folder's place.)"""
    keys = [obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
            for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]  # not S3A's directory markers
    for key in keys:
        target = folder / key[len(prefix) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(BUCKET, key, str(target))
    return [key[len(prefix) + 1:] for key in keys]


def read_cluster_env(run_dir: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (run_dir / "cluster.env").read_text().splitlines() if "=" in line)
    return {key: value.strip('"') for key, value in pairs}


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("standalone")
    subprocess.run([str(ROOT / "deploy/standalone/start.sh"), str(run_dir)], check=True, timeout=180)
    try:
        yield run_dir, read_cluster_env(run_dir)
    finally:
        subprocess.run([str(ROOT / "deploy/standalone/stop.sh"), str(run_dir)], timeout=120)


def _address(hex_address: str) -> str:
    """/proc/net/tcp{,6} addresses are little-endian 32-bit words in hex."""
    raw = b"".join(bytes.fromhex(hex_address[i:i + 8])[::-1] for i in range(0, len(hex_address), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listening_sockets(pids: list[str]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state held by these processes."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:
                address, port = local.split(":")
                found.add((_address(address), int(port, 16)))
    return found


def alive(pid: str) -> bool:
    """Running (an unreaped zombie has an empty command line)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    return cmdline.exists() and cmdline.read_bytes() != b""


def test_daemons_listen_on_loopback_only_on_the_reported_ports(standalone):
    _, env = standalone
    sockets = listening_sockets([env["MASTER_PID"], env["WORKER_1_PID"], env["WORKER_2_PID"]])
    assert {address for address, _ in sockets} <= LOOPBACK
    reported = {int(env["SPARK_MASTER_URL"].rsplit(":", 1)[1]), int(env["SPARK_MASTER_WEBUI"].rsplit(":", 1)[1]),
                *map(int, env["WORKER_PORTS"].split()),
                *(int(url.rsplit(":", 1)[1]) for url in env["WORKER_WEBUIS"].split())}
    assert {port for _, port in sockets} == reported


@pytest.mark.timeout(3600)  # a loaded 2-core machine: the whole pipeline on two 1-core workers
def test_pipeline_on_the_cluster_with_s3a_writes_the_same_tables_as_local_mode(standalone, object_store,
                                                                              local_pipeline, spark, tmp_path):
    run_dir, env = standalone
    endpoint, client = object_store
    assert local_pipeline.exit_code == 0
    # the local run's own synthetic set, so both runs read the same files
    assert upload(client, local_pipeline.lakehouse / "_source", "source") > 0
    submitted = subprocess.run(
        [str(ROOT / "deploy/spark-submit.sh"), *s3a_settings(endpoint), str(ROOT / "jobs/pipeline.py"),
         "--source", f"s3a://{BUCKET}/source", "--lakehouse", f"s3a://{BUCKET}/lakehouse",
         # 3 shuffle partitions against the local run's 2: equal tables must not depend on partitioning.
         *set_options([*PIPELINE_SETTINGS, "spark.shuffle_partitions=3", "spark.ui=false",
                       "spark.extra={spark.databricks.delta.snapshotPartitions: 2}",
                       f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}"])],
        cwd=tmp_path, capture_output=True, text=True, timeout=3000,
        env={**os.environ, **S3_CREDENTIALS, "MASTER": env["SPARK_MASTER_URL"], "CSC_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
             "WHEEL_DIR": str(tmp_path / "dist"), "MLFLOW_S3_ENDPOINT_URL": endpoint})
    # the whole driver output stays in the test's folder (kept by pytest for the last runs) for a failure's cause
    (tmp_path / "spark-submit.log").write_text(submitted.stdout + "\n--- stderr ---\n" + submitted.stderr)
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]

    # It really ran on the cluster: the master lists one finished application that had both 1-core workers
    # (named by the first stage that built the session, e.g. csc-demand-ingest).
    status = json.load(urllib.request.urlopen(env["SPARK_MASTER_WEBUI"] + "/json/", timeout=10))
    assert [(app["name"].startswith("csc-demand"), app["cores"]) for app in status["completedapps"]] == [(True, 2)]
    # Executors ran the shipped environment, unpacked by Spark in an executor's folder (the workers were given no
    # Python): the interpreter of the session's first Python task.
    # (spark-submit's PythonRunner copies the driver's stderr to its own stdout)
    executors_python = Path(re.search(r"executors' Python: (\S+)", submitted.stdout).group(1))
    assert executors_python.parts[-3:] == ("environment", "bin", "python")
    assert executors_python.is_relative_to(run_dir)

    # run summaries, MLflow artifacts and the report went to the object store too, nothing to the working folder
    assert not any(tmp_path.glob("s3a*")) and not (tmp_path / "mlruns").exists()
    lakehouse = tmp_path / "lakehouse"
    stored = download(client, "lakehouse", lakehouse)
    assert {p.split("/")[0] for p in stored} >= {"bronze", "silver", "gold", "_runs", "mlflow-artifacts", "report"}
    assert "report/index.html" in stored
    assert sorted(p.split("/")[1].split("-")[0] for p in stored if p.startswith("_runs/")) == [
        "classify", "fit", "ingest", "outcomes", "report", "run"]
    assert any(p.endswith("/MLmodel") for p in stored if p.startswith("mlflow-artifacts/"))

    assert_same_tables(spark, local_pipeline.lakehouse, lakehouse)


def test_stop_ends_exactly_the_processes_start_began(standalone):
    run_dir, env = standalone
    pids = [env["MASTER_PID"], env["WORKER_1_PID"], env["WORKER_2_PID"]]
    stopped = subprocess.run([str(ROOT / "deploy/standalone/stop.sh"), str(run_dir)],
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert sorted(line.split("pid ")[1].rstrip(")") for line in stopped.stdout.splitlines()) == sorted(pids)
    assert [pid for pid in pids if alive(pid)] == []
    assert not (run_dir / "cluster.env").exists()
