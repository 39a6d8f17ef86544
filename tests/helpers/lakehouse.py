"""The configuration every test lakehouse uses."""
from __future__ import annotations

from csc_demand.config import Config, load_config

TEST_PSEUDONYM_KEY = "test-key-not-secret-0123456789abcdef"  # of real length (config.MIN_KEY_LENGTH)


def lakehouse_config(lakehouse) -> Config:
    """The local profile pointed at a temporary lakehouse, sized for tiny fixtures."""
    return load_config(profile="local", overrides={
        "lakehouse": str(lakehouse),
        "pseudonym_key": TEST_PSEUDONYM_KEY,
        "spark.shuffle_partitions": 2,
        "spark.driver_memory": "4g",
    })
