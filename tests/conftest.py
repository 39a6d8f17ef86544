"""One local SparkSession (Delta on, UTC, UI off, few shuffle partitions) for the whole test run."""
from __future__ import annotations

import pytest
from csc_demand.config import Config
from csc_demand.spark import get_spark
from helpers.lakehouse import lakehouse_config


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    session = get_spark(lakehouse_config(tmp_path_factory.mktemp("session-lakehouse")), "csc-demand-tests")
    yield session
    session.stop()


@pytest.fixture
def cfg(tmp_path) -> Config:
    """A fresh lakehouse per test."""
    return lakehouse_config(tmp_path / "lakehouse")


from pipeline_run import local_pipeline  # noqa: E402,F401  (one shared pipeline run per session; tests/pipeline_run.py)
