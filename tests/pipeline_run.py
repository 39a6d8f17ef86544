"""One small whole-pipeline run in local mode (in this process, on the session's Spark), shared by
test_pipeline.py (checks the run) and test_cluster.py (compares it with the same run under spark-submit).

conftest.py imports the fixture so that both modules get the same session-scoped run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from chispa import assert_approx_df_equality
from csc_demand import cli
from csc_demand.config import LAYERS
from helpers.lakehouse import TEST_PSEUDONYM_KEY

# Small and fixed: a tiny synthetic set and a small model with few random starts, so a run takes seconds.
PIPELINE_SETTINGS = ["synth.scale=0.002", "model.k=4", "model.n_starts=2"]
# Columns that record when or by which run a row was written (ingest's load id and load time), so they
# differ between any two runs.
VOLATILE_COLUMNS = {"load_id", "loaded_at"}


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


def assert_same_tables(spark, expected_lakehouse: Path, actual_lakehouse: Path, nested_nullability: bool = True) -> None:
    """The same Delta tables, each holding the same rows (but for VOLATILE_COLUMNS; doubles to 1e-9) with the same
    schema; ``nested_nullability=False``: columns' own nullability alike, an array's elements' may differ."""
    expected_tables, actual_tables = delta_tables(expected_lakehouse), delta_tables(actual_lakehouse)
    assert sorted(actual_tables) == sorted(expected_tables)
    for name in sorted(expected_tables):
        expected = spark.read.format("delta").load(str(expected_tables[name]))
        actual = spark.read.format("delta").load(str(actual_tables[name]))
        keep = [c for c in expected.columns if c not in VOLATILE_COLUMNS]
        assert [(f.name, f.nullable) for f in actual.schema] == [(f.name, f.nullable) for f in expected.schema], name
        # Doubles are compared to 1e-9: a sum over other partitions adds in another order (last bits differ).
        assert_approx_df_equality(actual.select(keep), expected.select(keep), precision=1e-9,
                                  ignore_row_order=True, ignore_nullable=not nested_nullability,
                                  allow_nan_equality=True)


@pytest.fixture(scope="session")
def local_pipeline(spark, tmp_path_factory) -> PipelineRun:
    lakehouse = tmp_path_factory.mktemp("local-pipeline") / "lakehouse"
    code = cli.main(["run", "--profile", "local", "--lakehouse", str(lakehouse),
                     *set_options([*PIPELINE_SETTINGS, f"pseudonym_key={TEST_PSEUDONYM_KEY}"])])
    return PipelineRun(lakehouse, code)
