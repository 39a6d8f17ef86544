"""One local SparkSession (Delta on, UTC, UI off, few shuffle partitions) for the whole test run."""
from __future__ import annotations

import pytest

from csc_demand.config import Config, load_config
from csc_demand.spark import get_spark

TEST_PSEUDONYM_KEY = "test-key-not-secret-0123456789abcdef"  # of real length (config.MIN_KEY_LENGTH)


def test_config(lakehouse) -> Config:
    """The local profile pointed at a temporary lakehouse, sized for tiny fixtures."""
    return load_config(profile="local", overrides={
        "lakehouse": str(lakehouse),
        "pseudonym_key": TEST_PSEUDONYM_KEY,
        "spark.shuffle_partitions": 2,
        "spark.driver_memory": "4g",
    })


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    session = get_spark(test_config(tmp_path_factory.mktemp("session-lakehouse")), "csc-demand-tests")
    yield session
    session.stop()


@pytest.fixture
def cfg(tmp_path) -> Config:
    """A fresh lakehouse per test."""
    return test_config(tmp_path / "lakehouse")


from pipeline_run import local_pipeline  # noqa: E402,F401  (one shared pipeline run per session; tests/pipeline_run.py)
