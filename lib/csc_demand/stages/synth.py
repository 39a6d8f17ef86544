"""`csc-demand synth`: write a synthetic national dataset in the real formats, with ground truth apart."""
from __future__ import annotations

import argparse

from csc_demand import locations
from csc_demand.config import Config
from csc_demand.errors import ConfigurationError
from csc_demand.io.synthetic_files import would_be_lost
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark

HELP = "write synthetic CIN census XML, SSDA903 CSV and NPD extracts (with ground truth under _truth/)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (layout: docs/formats.md)")
    parser.add_argument("--scale", type=float, help="1.0 = national (152 LAs, ~4.2M assessments); default: config")
    parser.add_argument("--seed", type=int, help="random seed (default: config synth.seed)")
    parser.add_argument("--defects", type=float, metavar="RATE",
                        help="chance that a record carries an injected fault, recorded in _truth/defects.csv")
    parser.add_argument("--first-year", type=int, help="first collection year (ending 31 March), default 2015")
    parser.add_argument("--last-year", type=int, help="last collection year, default 2021")


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    from csc_demand.synth import check_settings, generate

    conf = cfg.synth
    check_settings(conf.scale, conf.defects, conf.first_year, conf.last_year)
    locations.refuse_file_as_folder("--out", args.out)
    lost = would_be_lost(args.out)
    if lost:
        raise ConfigurationError(
            f"--out {args.out}: synth replaces the cin_census/, ssda903/ and npd/ folders there, and {len(lost)} "
            f"file(s) in them are not ones it wrote (e.g. {', '.join(lost[:3])}): give an empty folder, or one synth "
            "wrote, so that no returns are deleted")
    spark = get_spark(cfg, "csc-demand-synth")
    summary = generate(spark, args.out, scale=conf.scale, seed=conf.seed, defects=conf.defects,
                       first_year=conf.first_year, last_year=conf.last_year, log_step=log.step)
    headline = summary["headline"]
    log.table("synth_referrals", received=summary["referrals_all_years"], accepted=headline["referrals"],
              quarantined=0)
    for key in ("children", "files", "seconds"):
        log.metric(key, summary[key])
    for key in ("assessments", "assessments_with_factors", "rereferral_12m_dfe", "repeat_cpp_share"):
        log.metric(key, headline[key])
    log.metric("defects_injected", sum(d["count"] for d in summary["defects_injected"]))
    return 0
