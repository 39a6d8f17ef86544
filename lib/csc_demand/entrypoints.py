"""Launchers outside the `csc-demand` console script: spark-submit job scripts and Databricks wheel tasks.

Both hand their arguments to ``csc_demand.cli.main``, so every launcher runs the same stage code with the
same options; only the default profile and the way a failure is signalled differ.
"""
from __future__ import annotations

import sys

from csc_demand.cli import main


def with_default_profile(argv: list[str], profile: str) -> list[str]:
    """``argv`` plus ``--profile <profile>`` unless it already names a profile or a config file."""
    chosen = any(arg in ("--config", "--conf", "--profile") or arg.startswith(("--config=", "--conf=", "--profile="))
                 for arg in argv)
    return list(argv) if chosen else [*argv, "--profile", profile]


def submit_job(verb: str, argv: list[str] | None = None) -> int:
    """A ``jobs/<verb>.py`` script under spark-submit: the cluster profile (master and packages come from
    spark-submit) unless ``--config``/``--profile`` is given."""
    return main([verb, *with_default_profile(sys.argv[1:] if argv is None else argv, "cluster")])


def wheel_task() -> None:
    """Databricks ``python_wheel_task`` entry point: parameters are ``VERB [OPTIONS]`` as for ``csc-demand``.

    A wheel task fails only when its function raises, so a nonzero exit code becomes ``SystemExit``.
    """
    code = main(sys.argv[1:])
    if code:
        raise SystemExit(code)
