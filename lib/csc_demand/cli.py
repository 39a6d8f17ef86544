"""``csc-demand <verb>``: one verb per stage, each in ``csc_demand.stages.<verb>``.

A stage module defines ``HELP`` (one line), ``add_arguments(parser)`` for its own options and
``run(args, cfg, log) -> int`` (exit code). Options every verb shares are added here.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable

from csc_demand import __version__, interrupt, locations
from csc_demand.config import load_config, parse_set_option
from csc_demand.errors import ConcurrentWriteError, CscDemandError, SparkStartError
from csc_demand.runlog import RunLog

OK, FILES_REFUSED, USAGE, UNEXPECTED, INTERRUPTED = 0, 1, 2, 3, 130  # 130: the shells' code for Ctrl-C
EXIT_CODES = {OK: "every step done", FILES_REFUSED: "some input files were refused (named in the progress lines "
              "and the run summary); the others were loaded", USAGE: "usage or configuration error (bad option, "
              "missing or short pseudonymisation key, missing input)", UNEXPECTED: "unexpected error (a bug or "
              "an environment fault): traceback printed, run summary saved as failed; or other processes kept "
              "writing the same Delta tables through every retry, or Spark could not start (its JVM on a second try, "
              "or nothing answers at the master or Connect server given): one line says so",
              INTERRUPTED: "interrupted (Ctrl-C): Spark's running jobs cancelled (Spark still starting: stopped once "
              "started); run summary saved as interrupted; each Delta table keeps its last committed version (a write "
              "stopped midway commits nothing): run the verb again"}
# Order is the pipeline's order; `run` chains them.
VERBS = ["synth", "ingest", "fit", "classify", "outcomes", "report", "run"]
# The one path for parameters: a verb's flag is a shorthand for its config key (a flag given wins over --set and
# the config file); stages read only the config.
FLAG_KEYS = {
    "synth": {"scale": "synth.scale", "seed": "synth.seed", "defects": "synth.defects",
              "first_year": "synth.first_year", "last_year": "synth.last_year"},
    "fit": {"k": "model.k", "k_min": "model.k_min", "k_max": "model.k_max", "starts": "model.n_starts",
            "seed": "model.seed"},
}


def _stage(verb: str):
    return importlib.import_module(f"csc_demand.stages.{verb}")


def available_verbs() -> list[str]:
    """Verbs whose stage module exists in this build."""
    return [verb for verb in VERBS if importlib.util.find_spec(f"csc_demand.stages.{verb}") is not None]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    common = parser.add_argument_group("common options")
    common.add_argument("--config", dest="conf", metavar="FILE",
                        help="YAML config file (default: the profile's conf/<profile>.yml)")
    # The old spelling clashed with spark-submit's own --conf k=v; still accepted, with a warning.
    common.add_argument("--conf", dest="deprecated_conf", metavar="FILE", help=argparse.SUPPRESS)
    common.add_argument("--profile", choices=["local", "cluster", "databricks"],
                        help="config profile when --config is not given (default: local, or databricks there)")
    common.add_argument("--lakehouse", metavar="DIR", help="root of the Delta tables, run summaries and MLflow store")
    common.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                        help="override any config key, e.g. --set model.k=12 (repeatable), or several at once: "
                             "--set \"{catalog: c, model: {k: 12}}\"")


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI; with ``verb``, only that verb's stage module is imported (the others, with their imports
    such as MLflow, SciPy and matplotlib, are not needed to parse its options)."""
    parser = argparse.ArgumentParser(
        prog="csc-demand", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Demand analysis of children's social care records: synthetic data, ingestion into Delta, "
                    "latent class model, outcomes and reports.",
        epilog="exit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items()))
    parser.add_argument("--version", action="version", version=f"csc-demand {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name in available_verbs():
        if verb not in (None, name):
            continue
        stage = _stage(name)
        p = sub.add_parser(name, help=stage.HELP, description=stage.HELP)
        stage.add_arguments(p)
        add_common_arguments(p)
    return parser


def config_from_args(args: argparse.Namespace):
    if getattr(args, "deprecated_conf", None):
        print("csc-demand: --conf FILE is deprecated (spark-submit's --conf k=v means something else): use "
              "--config FILE", file=sys.stderr)
        args.conf = args.conf or args.deprecated_conf
    overrides = parse_set_option(args.overrides)
    for flag, key in FLAG_KEYS.get(args.verb, {}).items():
        if getattr(args, flag, None) is not None:
            overrides[key] = getattr(args, flag)
    overrides["lakehouse"] = args.lakehouse
    cfg = load_config(args.conf, args.profile, overrides)
    if locations.is_local(cfg.lakehouse):
        locations.refuse_file_as_folder("--lakehouse" if args.lakehouse else "lakehouse (config)", cfg.lakehouse)
    return cfg


def interrupted_as_such(run: Callable[[], int]) -> int:
    """``run()``; an error that follows a Ctrl-C (a cancelled Spark job's) is raised as the KeyboardInterrupt it
    is."""
    try:
        return run()
    except Exception as err:
        if interrupt.requested():
            raise KeyboardInterrupt from err
        raise


def main(argv: list[str] | None = None) -> int:
    """Run one verb; returns its exit code (EXIT_CODES). Usage errors exit 2 through argparse."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # no verb: the whole help, which lists them, rather than argparse's one line
        build_parser().print_help(sys.stderr)
        return USAGE
    args = build_parser(argv[0] if argv and argv[0] in VERBS else None).parse_args(argv)
    try:
        cfg = config_from_args(args)
    except CscDemandError as err:
        print(f"csc-demand {args.verb}: configuration error: {err}", file=sys.stderr)
        return USAGE
    log = RunLog(args.verb, cfg.runs_dir)
    try:
        with log.heartbeat(), interrupt.handled():
            code = interrupted_as_such(lambda: _stage(args.verb).run(args, cfg, log))
    except (ConcurrentWriteError, SparkStartError) as err:  # known and explained: one line is enough
        log.step(f"stopped: {err}")
        log.save("failed")
        print(f"csc-demand {args.verb}: stopped: {err}", file=sys.stderr)
        return UNEXPECTED
    except CscDemandError as err:  # the project's own errors say what was wrong and what to do: one line
        log.step(f"failed: {err}")
        log.save("failed")
        print(f"csc-demand {args.verb}: error: {err}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:  # Ctrl-C: Spark's running jobs cancelled (csc_demand.interrupt)
        log.step("interrupted")
        log.save("interrupted")
        left = ("its folder holds an incomplete report" if args.verb == "report"
                else "each Delta table keeps its last committed version")
        print(f"csc-demand {args.verb}: interrupted: {left}; run `csc-demand {args.verb}` again to finish. The run "
              f"summary is in {cfg.runs_dir}", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:  # anything else, Spark's own ValueErrors too: a crash, with its traceback
        log.step(f"failed unexpectedly: {type(err).__name__}: {err}")
        log.save("failed")
        traceback.print_exc()
        print(f"csc-demand {args.verb}: unexpected error ({type(err).__name__}), exit code {UNEXPECTED}: the "
              "traceback above says where; the run summary is in " + str(cfg.runs_dir), file=sys.stderr)
        return UNEXPECTED
    log.save("ok" if code == 0 else "failed")
    return code


if __name__ == "__main__":
    sys.exit(main())
