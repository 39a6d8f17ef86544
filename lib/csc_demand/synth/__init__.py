"""Synthetic national children's social care data in the real formats, with ground truth (docs/synth.md).

``generate(spark, out_dir, scale, seed, defects=0.0, first_year=2015, last_year=2021, log_step=None) -> dict``;
``check_settings(scale, defects, first_year, last_year)`` refuses what it cannot use, before any Spark session.
"""
from csc_demand.synth.generate import check_settings, generate

__all__ = ["check_settings", "generate"]
