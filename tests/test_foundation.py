"""The session module and the CLI shell: Delta on, UTC, help on every verb."""
import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from csc_demand import cli
from csc_demand.io import delta
from csc_demand.io.delta import (
    delete_rows,
    ensure_table,
    last_commit_metrics,
    merge_table,
    read_table,
    replace_rows,
    sync_table,
    table_exists,
    table_version,
    write_table,
)
from csc_demand.table_schemas import TABLES
from delta.tables import DeltaTable


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


def test_the_last_commit_read_from_the_log_is_what_describe_history_says(spark, cfg):
    # stages read a write's version and row counts from the newest commit file instead of a DESCRIBE HISTORY query
    def history() -> tuple[int, dict]:
        row = spark.sql(f"DESCRIBE HISTORY delta.`{cfg.table_name('silver', 'commits')}` LIMIT 1").collect()[0]
        return row["version"], dict(row["operationMetrics"])

    rows = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "id int, v string")
    write_table(rows, cfg, "silver", "commits")
    assert last_commit_metrics(spark, cfg, "silver", "commits") == history()
    assert history()[0] == 0 and history()[1]["numOutputRows"] == "3"
    assert sync_table(rows.filter("id < 3"), cfg, "silver", "commits", ["id"]) == (1, 2)  # a MERGE's source rows
    assert last_commit_metrics(spark, cfg, "silver", "commits") == history()
    assert replace_rows(rows.filter("id = 1"), cfg, "silver", "commits", "id = 1") == history()
    assert delete_rows(spark, cfg, "silver", "commits", "id = 2") == history()[0] == 3
    assert history()[1]["numDeletedRows"] == "1"


def test_a_new_registry_table_is_created_with_its_rows_in_one_commit_and_then_overwritten(spark, cfg):
    # a gold table of the registry: description and column comments come with its first commit (CREATE TABLE AS
    # SELECT); a later write overwrites the same table (its id kept: not a replace); stray files in a folder with
    # no Delta log (a write killed before its commit) are overwritten too
    registered = TABLES[("gold", "category_profiles")]
    comments = {c.name: c.comment for c in registered.columns}
    rows = spark.createDataFrame([(1, "Neglect")], "category_id int, category_name string")
    path = Path(cfg.table_name("gold", "category_profiles"))
    assert write_table(rows, cfg, "gold", "category_profiles") == 0
    first = DeltaTable.forPath(spark, str(path)).detail().collect()[0]
    assert first["description"] == registered.description
    assert {f.name: f.metadata["comment"] for f in read_table(spark, cfg, "gold", "category_profiles").schema} == {
        "category_id": comments["category_id"], "category_name": comments["category_name"]}
    assert sorted(p.name for p in (path / "_delta_log").glob("*.json")) == ["00000000000000000000.json"]
    assert write_table(rows.selectExpr("2 AS category_id", "'Disability' AS category_name"), cfg, "gold",
                       "category_profiles") == 1
    second = DeltaTable.forPath(spark, str(path)).detail().collect()[0]
    assert (second["id"], second["description"]) == (first["id"], registered.description)
    assert [tuple(r) for r in read_table(spark, cfg, "gold", "category_profiles").collect()] == [(2, "Disability")]
    stray = Path(cfg.table_name("gold", "category_trends"))
    stray.mkdir(parents=True)
    (stray / "part-00000-killed.snappy.parquet").write_bytes(b"not parquet")
    assert write_table(rows, cfg, "gold", "category_trends") == 1  # the rows, then the description
    assert [tuple(r) for r in read_table(spark, cfg, "gold", "category_trends").collect()] == [(1, "Neglect")]
    assert (DeltaTable.forPath(spark, str(stray)).detail().collect()[0]["description"]
            == TABLES[("gold", "category_trends")].description)


def test_a_registry_table_another_process_created_after_this_one_looked_is_overwritten_and_nothing_more(
        spark, cfg, monkeypatch):
    # Two ingests writing gold.data_quality at once: the other's CREATE TABLE AS SELECT committed after this one
    # found no table, so this one's create finds it there. This one overwrites the rows and commits nothing else:
    # the table has its description from the other (a COMMENT here would be one more commit to meet the other's).
    registered = TABLES[("gold", "data_quality")]
    rows = spark.range(2).selectExpr(*[f"CAST(NULL AS {f.dataType.simpleString()}) AS `{f.name}`"
                                       for f in registered.struct.fields])
    assert write_table(rows, cfg, "gold", "data_quality") == 0  # the other process's
    looked = iter([False])
    monkeypatch.setattr(delta, "table_exists", lambda *args: next(looked, True))
    assert write_table(rows.limit(1), cfg, "gold", "data_quality") == 1
    history = DeltaTable.forPath(spark, cfg.table_name("gold", "data_quality")).history().orderBy("version")
    assert [r["operation"] for r in history.collect()] == ["CREATE TABLE AS SELECT", "WRITE"]
    assert read_table(spark, cfg, "gold", "data_quality").count() == 1


@pytest.mark.parametrize("left_behind", [[], [".00000000000000000000.json.5f1c.tmp"]])
def test_a_table_whose_creation_was_killed_before_its_first_commit_is_created_again(spark, cfg, left_behind):
    # what a run killed while Delta created a table leaves: a log folder without a commit (Delta then refuses to
    # create the table there); a committed table beside it must be left alone
    log = Path(cfg.table_name("silver", "half_made")) / "_delta_log"
    log.mkdir(parents=True)
    for name in left_behind:
        (log / name).write_text("{}")
    an_hour_ago = time.time() - 3600  # killed earlier: a young log is another run's creation, waited for
    for path in [log, *log.iterdir()]:
        os.utime(path, (an_hour_ago, an_hour_ago))
    kept = spark.createDataFrame([(1, "a")], "id int, v string")
    write_table(kept, cfg, "silver", "committed")
    assert ensure_table(spark, cfg, "silver", "half_made", kept.schema) is True
    assert read_table(spark, cfg, "silver", "half_made").count() == 0
    assert ensure_table(spark, cfg, "silver", "committed", kept.schema) is False
    assert [tuple(r) for r in read_table(spark, cfg, "silver", "committed").collect()] == [(1, "a")]


def test_a_young_log_without_a_commit_is_waited_for_until_it_is_stale(spark, cfg, monkeypatch):
    # a log folder that changed recently may be another run's creation under way: left alone until it is stale
    monkeypatch.setattr(delta, "STALE_CREATION_SECONDS", 3)
    log = Path(cfg.table_name("silver", "being_made")) / "_delta_log"
    log.mkdir(parents=True)
    started = time.time()
    schema = spark.createDataFrame([(1, "a")], "id int, v string").schema
    assert ensure_table(spark, cfg, "silver", "being_made", schema) is True
    assert time.time() - started >= 3
    assert read_table(spark, cfg, "silver", "being_made").count() == 0


def test_a_table_another_process_committed_after_this_one_looked_counts_as_existing(spark, cfg):
    # Two ingests creating one table: this JVM saw the other's log folder without a commit (Delta caches that),
    # then the other committed (here: its commit file copied in). The table exists and is not created again.
    from delta.tables import DeltaTable

    other = spark.createDataFrame([(1, "a")], "id int, v string")
    write_table(other, cfg, "silver", "made_elsewhere_source")
    target = Path(cfg.table_name("silver", "made_elsewhere"))
    (target / "_delta_log").mkdir(parents=True)
    assert DeltaTable.isDeltaTable(spark, str(target)) is False
    shutil.copytree(Path(cfg.table_name("silver", "made_elsewhere_source")) / "_delta_log", target / "_delta_log",
                    dirs_exist_ok=True)
    assert DeltaTable.isDeltaTable(spark, str(target)) is False  # Delta's cached answer: why we look at the files
    assert table_exists(spark, cfg, "silver", "made_elsewhere") is True
    assert ensure_table(spark, cfg, "silver", "made_elsewhere", other.schema) is False


def test_a_table_another_process_commits_while_this_one_fails_to_create_it_counts_as_existing(spark, cfg,
                                                                                               monkeypatch):
    # The interleaving a CI run lost (exit 3, DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION on bronze.cin_census):
    # this process found no table and no log; the other's log folder appeared before this one's create, and the
    # other committed before this one looked again. Staged at those two moments: the table is the other's.
    other = spark.createDataFrame([(1, "a")], "id int, v string")
    write_table(other, cfg, "silver", "raced_source")
    target = Path(cfg.table_name("silver", "raced"))
    real_age, real_exists = delta._uncommitted_log_age, delta.table_exists
    looks = []

    def age_then_the_other_starts(*args):
        age = real_age(*args)
        (target / "_delta_log").mkdir(parents=True, exist_ok=True)
        return age

    def exists_then_the_other_commits(*args):
        looks.append(real_exists(*args))
        if len(looks) == 2:  # this one's look after its create failed
            shutil.copytree(cfg.table_name("silver", "raced_source"), target, dirs_exist_ok=True)
        return looks[-1]

    monkeypatch.setattr(delta, "_uncommitted_log_age", age_then_the_other_starts)
    monkeypatch.setattr(delta, "table_exists", exists_then_the_other_commits)
    monkeypatch.setattr(delta.time, "sleep", lambda seconds: None)  # the pause before looking again
    assert ensure_table(spark, cfg, "silver", "raced", other.schema) is False
    assert looks == [False, False, True]
    assert [tuple(r) for r in spark.read.format("delta").load(str(target)).collect()] == [(1, "a")]


def test_missing_table_error_says_what_to_run(spark, cfg):
    with pytest.raises(FileNotFoundError, match=r"silver.referrals not found at .*`csc-demand ingest`"):
        read_table(spark, cfg, "silver", "referrals")


def test_every_verb_has_help(capsys):
    verbs = ["synth", "ingest", "fit", "classify", "outcomes", "report", "run"]
    assert cli.available_verbs() == verbs
    for verb in verbs:
        with pytest.raises(SystemExit) as exited:
            cli.main([verb, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: csc-demand {verb}" in out
        assert "--lakehouse DIR" in out
        first_word = importlib.import_module(f"csc_demand.stages.{verb}").HELP.split()[0]
        assert first_word.islower(), f"{verb}: the verbs' one-line help each starts with a verb in lower case"


def test_a_verb_loads_only_its_own_stage():
    # A fresh interpreter: this one has every stage loaded already. `ingest` must not pay for MLflow's import.
    code = ("import contextlib, io, sys\nfrom csc_demand import cli\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.main(['ingest', '--help'])\n"
            "print(*(m for m in ('csc_demand.stages.ingest', 'csc_demand.stages.fit', 'mlflow') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == ["csc_demand.stages.ingest"]


def test_bad_config_key_exits_2_with_message(capsys):
    verb = cli.available_verbs()[0]
    code = cli.main([verb, "--set", "model.kk=1", *_required_args(verb)])
    assert code == 2
    assert "unknown key 'kk'" in capsys.readouterr().err


def _required_args(verb: str) -> list[str]:
    return {"synth": ["--out", "/tmp/unused"], "ingest": ["--source", "/tmp/unused"]}.get(verb, [])
