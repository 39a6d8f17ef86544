"""`csc-demand run`: every stage in pipeline order on one lakehouse, in one Spark session.

Without ``--source`` a small synthetic set (``synth.scale``, ``synth.seed`` from config) is written to
``<lakehouse>/_source`` first. Each stage is called through its own ``run(args, cfg, log)`` with the
arguments its own parser gives by default, so defaults live in one place; each stage also saves its own
run summary, exactly as if its verb had been run alone.
"""
from __future__ import annotations

import argparse
import os

from csc_demand import cli, locations
from csc_demand.config import SYNTHETIC_ONLY_KEY, Config
from csc_demand.runlog import RunLog

HELP = ("run every stage in order (ingest, fit, classify, outcomes, report) on synthetic or given input; prints the "
        "path of the report (<lakehouse>/report/index.html)")

COMMON_OPTIONS = ("conf", "profile", "lakehouse", "overrides")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="DIR",
                        help="folder of returns to ingest (default: synthesise a small set into <lakehouse>/_source "
                             "with synth.scale and synth.seed from the config)")


def pipeline_verbs() -> list[str]:
    """The stages `run` chains after the input is in place, in the CLI's order (later stages join by name)."""
    return [verb for verb in cli.VERBS if verb not in ("synth", "run")]


def stage_args(verb: str, argv: list[str], common: argparse.Namespace) -> argparse.Namespace:
    """``argv`` parsed by the stage's own options, plus the shared options of this `run` invocation."""
    parser = argparse.ArgumentParser(prog=f"csc-demand {verb}", add_help=False)
    cli._stage(verb).add_arguments(parser)
    args = parser.parse_args(argv)
    for option in COMMON_OPTIONS:
        setattr(args, option, getattr(common, option, None))
    args.verb = verb
    return args


def run_stage(verb: str, argv: list[str], common: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    """One stage with its own run log (saved as that verb's summary); returns its exit code."""
    stage_log = RunLog(verb, cfg.runs_dir)
    log.step(f"{verb}: started")
    try:
        code = cli.interrupted_as_such(lambda: cli._stage(verb).run(stage_args(verb, argv, common), cfg, stage_log))
    except KeyboardInterrupt:
        stage_log.save("interrupted")
        raise
    except Exception:
        stage_log.save("failed")
        log.step(f"{verb}: failed (see the error below)")
        raise
    stage_log.save("ok" if code == 0 else "failed")
    seconds = round(stage_log.summary["seconds"], 1)
    log.metric(f"{verb}_seconds", seconds)
    for table, version in stage_log.summary["versions_written"].items():
        log.wrote(table, version)
    if code == cli.FILES_REFUSED:
        log.step(f"{verb}: some input files were refused (named above), the others loaded ({seconds}s). Stopped "
                 f"here so that the model and the report are not made without them: fix or replace those files and "
                 f"run again, or go on without them with `csc-demand fit`, `classify`, `outcomes` and `report`")
    else:
        log.step(f"{verb}: {'done' if code == 0 else f'failed with exit code {code}'} in {seconds}s")
    return code


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    available = set(cli.available_verbs())
    source = args.source
    if source is None:
        if "synth" not in available:
            log.step("no --source given and the synth stage is not in this build: nothing to ingest")
            return 2
        if not locations.is_local(cfg.lakehouse):
            log.step(f"no --source given: synth writes files on this machine, not in {cfg.lakehouse}; pass --source")
            return 2
        source = locations.join(cfg.lakehouse, "_source")
        if not (os.environ.get(cfg.pseudonym_key_env) or cfg.pseudonym_key):
            cfg.pseudonym_key = SYNTHETIC_ONLY_KEY
            log.step(f"no {cfg.pseudonym_key_env} set: pseudonymising the synthetic set with a fixed demo key")
        log.step(f"no --source: synthesising scale {cfg.synth.scale}, seed {cfg.synth.seed} into {source}")
        code = run_stage("synth", ["--out", source], args, cfg, log)
        if code:
            return code
    for verb in pipeline_verbs():
        if verb not in available:
            log.step(f"{verb}: skipped (stage not in this build)")
            continue
        code = run_stage(verb, ["--source", source] if verb == "ingest" else [], args, cfg, log)
        if code:
            return code
    log.step("pipeline finished")
    if "report" in available:
        index = locations.join(cfg.lakehouse, "report", "index.html")
        log.step(f"report: {index}")
        print(index)
    return 0
