"""`csc-demand run`: every stage in order on a small synthetic set (local mode), and how it chains stages."""
from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from chispa.schema_comparer import assert_schema_equality
from csc_demand import cli
from csc_demand.runlog import RunLog
from csc_demand.stages import run as run_stage_module
from csc_demand.table_schemas import TABLES
from pipeline_run import delta_tables
from pyspark.sql.types import StructType

pytestmark = pytest.mark.integration


def _latest_commit(table_folder) -> int:
    """The table version read straight from the Delta log's commit files."""
    return max(int(p.stem) for p in (table_folder / "_delta_log").glob("*.json"))


def test_run_chains_every_stage_in_order_and_each_saves_its_summary(local_pipeline):
    assert local_pipeline.exit_code == 0
    stages = ["synth", "ingest", "fit", "classify", "outcomes", "report"]
    (summary,) = local_pipeline.summaries("run")
    assert summary["status"] == "ok"
    finished = [s["message"].split(":")[0] for s in summary["steps"] if " done in " in s["message"]]
    assert finished == stages
    for verb in stages:
        assert [s["status"] for s in local_pipeline.summaries(verb)] == ["ok"], verb


def test_run_summary_records_the_version_of_every_table_written(local_pipeline):
    (summary,) = local_pipeline.summaries("run")
    on_disk = delta_tables(local_pipeline.lakehouse)
    recorded = summary["versions_written"]
    assert sorted(recorded) == sorted(on_disk)
    assert {name: _latest_commit(folder) for name, folder in on_disk.items()} == recorded


def _delta_metadata(table_folder) -> dict:
    """The table's latest metaData action, read straight from the Delta log (no checkpoint in a run this small)."""
    actions = [json.loads(line) for commit in sorted((table_folder / "_delta_log").glob("*.json"),
                                                    key=lambda p: int(p.stem))
               for line in commit.read_text().splitlines()]
    return [a["metaData"] for a in actions if "metaData" in a][-1]


def test_written_tables_have_the_registry_schema_comments_and_constraints(local_pipeline):
    """Every silver and gold table the run wrote: the columns, types, NOT NULLs and column comments of
    csc_demand.table_schemas in its order, its description as the table comment, its CHECKs as constraints."""
    on_disk = delta_tables(local_pipeline.lakehouse)
    assert {f"{layer}.{table}" for layer, table in TABLES} == {t for t in on_disk if not t.startswith("bronze.")}
    for (layer, table), schema in TABLES.items():
        metadata = _delta_metadata(on_disk[f"{layer}.{table}"])
        assert_schema_equality(StructType.fromJson(json.loads(metadata["schemaString"])), schema.struct)
        assert metadata["description"] == schema.description
        constraints = {k.removeprefix("delta.constraints."): v for k, v in metadata["configuration"].items()
                       if k.startswith("delta.constraints.")}
        assert constraints == schema.checks, f"{layer}.{table}"


def test_stage_args_are_the_stage_defaults_plus_the_run_options():
    common = argparse.Namespace(conf=None, profile="local", lakehouse="/tmp/lh", overrides=["model.k=3"])
    args = run_stage_module.stage_args("run", ["--source", "/data/returns"], common)
    assert vars(args) == {"source": "/data/returns", "conf": None, "profile": "local", "lakehouse": "/tmp/lh",
                          "overrides": ["model.k=3"], "verb": "run"}
    assert run_stage_module.stage_args("run", [], common).source is None


def _fake_stage(monkeypatch, verb: str, exit_code: int, calls: list[str], option: str = "--flag") -> None:
    """A stage module as cli finds them (importable as csc_demand.stages.<verb>), recording its calls."""
    name = f"csc_demand.stages.{verb}"
    module = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(name, None))
    module.HELP = f"fake {verb}"
    module.add_arguments = lambda parser: parser.add_argument(option, default="stage-default")

    def run(args, cfg, log):
        calls.append(f"{verb}:{getattr(args, option[2:])}:{args.lakehouse}:{cfg.pseudonym_key}")
        log.step("working")
        return exit_code

    module.run = run
    monkeypatch.setitem(sys.modules, name, module)


def test_run_skips_absent_stages_and_stops_at_the_first_failure(monkeypatch, cfg):
    calls: list[str] = []
    _fake_stage(monkeypatch, "fake_ok", 0, calls)
    _fake_stage(monkeypatch, "fake_failing", 3, calls)
    _fake_stage(monkeypatch, "fake_never", 0, calls)
    monkeypatch.setattr(cli, "VERBS", ["synth", "fake_absent", "fake_ok", "fake_failing", "fake_never", "run"])
    log = RunLog("run", None)
    args = argparse.Namespace(source="/given", conf=None, profile=None, lakehouse=cfg.lakehouse, overrides=None)

    assert run_stage_module.run(args, cfg, log) == 3

    key = cfg.pseudonym_key
    assert calls == [f"fake_ok:stage-default:{cfg.lakehouse}:{key}", f"fake_failing:stage-default:{cfg.lakehouse}:{key}"]
    messages = [s["message"] for s in log.summary["steps"]]
    assert "fake_absent: skipped (stage not in this build)" in messages
    assert messages[-1].startswith("fake_failing: failed with exit code 3 in ")
    saved = {p.name.split("-")[0]: json.loads(p.read_text())["status"] for p in Path(cfg.runs_dir).glob("*.json")}
    assert saved == {"fake_ok": "ok", "fake_failing": "failed"}


def test_run_stops_after_an_ingest_that_refused_files_and_says_how_to_go_on(monkeypatch, cfg):
    calls: list[str] = []
    _fake_stage(monkeypatch, "ingest", cli.FILES_REFUSED, calls, option="--source")
    _fake_stage(monkeypatch, "fit", 0, calls)
    monkeypatch.setattr(cli, "VERBS", ["synth", "ingest", "fit", "run"])
    log = RunLog("run", None)
    args = argparse.Namespace(source="/given", conf=None, profile=None, lakehouse=cfg.lakehouse, overrides=None)

    assert run_stage_module.run(args, cfg, log) == 1
    assert [call.split(":")[0] for call in calls] == ["ingest"]
    assert re.fullmatch(r"ingest: some input files were refused \(named above\), the others loaded \([0-9.]+s\)\. "
                        r"Stopped here so that the model and the report are not made without them: fix or replace "
                        r"those files and run again, or go on without them with `csc-demand fit`, `classify`, "
                        r"`outcomes` and `report`", log.summary["steps"][-1]["message"])


def test_a_stage_of_run_stopped_by_ctrl_c_saves_its_summary_as_interrupted(monkeypatch, cfg):
    _fake_stage(monkeypatch, "fake_stopped", 0, [])

    def interrupted(args, cfg, log):
        raise KeyboardInterrupt
    sys.modules["csc_demand.stages.fake_stopped"].run = interrupted
    monkeypatch.setattr(cli, "VERBS", ["synth", "fake_stopped", "run"])
    args = argparse.Namespace(source="/given", conf=None, profile=None, lakehouse=cfg.lakehouse, overrides=None)
    with pytest.raises(KeyboardInterrupt):
        run_stage_module.run(args, cfg, RunLog("run", None))
    (summary,) = Path(cfg.runs_dir).glob("fake_stopped-*.json")
    assert json.loads(summary.read_text())["status"] == "interrupted"


def test_without_source_run_synthesises_into_the_lakehouse_and_ingests_that(monkeypatch, cfg):
    calls: list[str] = []
    _fake_stage(monkeypatch, "synth", 0, calls, option="--out")
    _fake_stage(monkeypatch, "ingest", 0, calls, option="--source")
    monkeypatch.setattr(cli, "VERBS", ["synth", "ingest", "run"])
    monkeypatch.delenv(cfg.pseudonym_key_env, raising=False)
    cfg.pseudonym_key = None
    args = argparse.Namespace(source=None, conf=None, profile=None, lakehouse=cfg.lakehouse, overrides=None)

    assert run_stage_module.run(args, cfg, RunLog("run", None)) == 0

    source = f"{cfg.lakehouse}/_source"
    demo_key = run_stage_module.SYNTHETIC_ONLY_KEY
    assert calls == [f"synth:{source}:{cfg.lakehouse}:{demo_key}", f"ingest:{source}:{cfg.lakehouse}:{demo_key}"]
