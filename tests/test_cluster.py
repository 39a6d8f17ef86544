"""The whole pipeline under spark-submit on a standalone cluster (a master and two 1-core workers on loopback)
writes the same Delta tables as the same pipeline in local mode.

Started and stopped with deploy/standalone/{start,stop}.sh; submitted with deploy/spark-submit.sh, exactly as
docs/running.md tells users to.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from chispa import assert_approx_df_equality
from helpers.lakehouse import TEST_PSEUDONYM_KEY
from pipeline_run import PIPELINE_SETTINGS, delta_tables, set_options

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}
# Columns that record when or by which run a row was written (ingest's load id and load time), so they
# differ between any two runs.
VOLATILE_COLUMNS = {"load_id", "loaded_at"}


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


def test_pipeline_on_the_cluster_writes_the_same_tables_as_local_mode(standalone, local_pipeline, spark, tmp_path):
    run_dir, env = standalone
    assert local_pipeline.exit_code == 0
    lakehouse = tmp_path / "lakehouse"
    submitted = subprocess.run(
        [str(ROOT / "deploy/spark-submit.sh"), "jobs/pipeline.py", "--lakehouse", str(lakehouse),
         # 3 shuffle partitions against the local run's 2: equal tables must not depend on partitioning.
         *set_options([*PIPELINE_SETTINGS, "spark.shuffle_partitions=3", "spark.ui=false",
                       "spark.extra={spark.databricks.delta.snapshotPartitions: 2}"])],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "MASTER": env["SPARK_MASTER_URL"], "CSC_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
             "WHEEL_DIR": str(tmp_path / "dist")})
    assert submitted.returncode == 0, submitted.stderr[-5000:]

    # It really ran on the cluster: the master lists one finished application that had both 1-core workers
    # (named by the first stage that built the session, e.g. csc-demand-synth).
    status = json.load(urllib.request.urlopen(env["SPARK_MASTER_WEBUI"] + "/json/", timeout=10))
    assert [(app["name"].startswith("csc-demand"), app["cores"]) for app in status["completedapps"]] == [(True, 2)]

    local_tables, cluster_tables = delta_tables(local_pipeline.lakehouse), delta_tables(lakehouse)
    assert sorted(cluster_tables) == sorted(local_tables)
    for name in sorted(local_tables):
        expected = spark.read.format("delta").load(str(local_tables[name]))
        actual = spark.read.format("delta").load(str(cluster_tables[name]))
        keep = [c for c in expected.columns if c not in VOLATILE_COLUMNS]
        # Doubles are compared to 1e-9: a sum over other partitions adds in another order (last bits differ).
        assert_approx_df_equality(actual.select(keep), expected.select(keep), precision=1e-9,
                                  ignore_row_order=True, ignore_nullable=False, allow_nan_equality=True)


def test_stop_ends_exactly_the_processes_start_began(standalone):
    run_dir, env = standalone
    pids = [env["MASTER_PID"], env["WORKER_1_PID"], env["WORKER_2_PID"]]
    stopped = subprocess.run([str(ROOT / "deploy/standalone/stop.sh"), str(run_dir)],
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert sorted(line.split("pid ")[1].rstrip(")") for line in stopped.stdout.splitlines()) == sorted(pids)
    assert [pid for pid in pids if alive(pid)] == []
    assert not (run_dir / "cluster.env").exists()
