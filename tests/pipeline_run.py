"""One small whole-pipeline run in local mode (in this process, on the session's Spark), shared by
test_pipeline.py (checks the run) and test_cluster.py (compares it with the same run under spark-submit).

conftest.py imports the fixture so that both modules get the same session-scoped run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from csc_demand import cli
from csc_demand.config import LAYERS
from helpers.lakehouse import TEST_PSEUDONYM_KEY

# Small and fixed: a tiny synthetic set and a small model with few random starts, so a run takes seconds.
PIPELINE_SETTINGS = ["synth.scale=0.002", "model.k=4", "model.n_starts=2"]


def set_options(settings: list[str]) -> list[str]:
    return [arg for setting in settings for arg in ("--set", setting)]


@dataclass
class PipelineRun:
    lakehouse: Path
    exit_code: int

    def summaries(self, verb: str) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.lakehouse / "_runs").glob(f"{verb}-*.json"))]


def delta_tables(lakehouse: Path) -> dict[str, Path]:
    """``layer.table`` -> folder, for every Delta table (a folder with a _delta_log) under the layer folders."""
    return {f"{layer}.{log.parent.name}": log.parent
            for layer in LAYERS for log in sorted((lakehouse / layer).glob("*/_delta_log"))}


@pytest.fixture(scope="session")
def local_pipeline(spark, tmp_path_factory) -> PipelineRun:
    lakehouse = tmp_path_factory.mktemp("local-pipeline") / "lakehouse"
    code = cli.main(["run", "--profile", "local", "--lakehouse", str(lakehouse),
                     *set_options([*PIPELINE_SETTINGS, f"pseudonym_key={TEST_PSEUDONYM_KEY}"])])
    return PipelineRun(lakehouse, code)
