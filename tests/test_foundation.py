"""The session module and the CLI shell: Delta on, UTC, help on every verb."""
import subprocess
import sys

import pytest

from csc_demand import cli
from csc_demand.io.delta import merge_table, read_table, table_version, write_table


def test_session_is_local_with_delta_and_utc(spark):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.master") == "local[2]"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert spark.conf.get("spark.ui.enabled") == "false"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"


def test_write_merge_and_version_a_delta_table(spark, cfg):
    first = spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string")
    assert write_table(first, cfg, "silver", "demo") == 0
    update = spark.createDataFrame([(2, "B"), (3, "c")], "id int, v string")
    assert merge_table(update, cfg, "silver", "demo", keys=["id"]) == 1
    rows = sorted(tuple(r) for r in read_table(spark, cfg, "silver", "demo").collect())
    assert rows == [(1, "a"), (2, "B"), (3, "c")]
    assert table_version(spark, cfg, "silver", "demo") == 1
    assert [tuple(r) for r in read_table(spark, cfg, "silver", "demo", version=0).orderBy("id").collect()] == \
        [(1, "a"), (2, "b")]


def test_missing_table_error_says_what_to_run(spark, cfg):
    with pytest.raises(FileNotFoundError, match=r"silver.referrals not found at .*`csc-demand ingest`"):
        read_table(spark, cfg, "silver", "referrals")


def test_every_verb_has_help():
    verbs = cli.available_verbs()
    assert verbs, "no stage modules found"
    for verb in verbs:
        out = subprocess.run([sys.executable, "-m", "csc_demand", verb, "--help"],
                             capture_output=True, text=True, check=True).stdout
        assert f"usage: csc-demand {verb}" in out
        assert "--lakehouse DIR" in out


def test_bad_config_key_exits_2_with_message(capsys):
    verb = cli.available_verbs()[0]
    code = cli.main([verb, "--set", "model.kk=1", *_required_args(verb)])
    assert code == 2
    assert "unknown key 'kk'" in capsys.readouterr().err


def _required_args(verb: str) -> list[str]:
    return {"synth": ["--out", "/tmp/unused"], "ingest": ["--source", "/tmp/unused"]}.get(verb, [])
