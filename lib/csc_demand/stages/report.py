"""``csc-demand report``: gold aggregate tables -> a disclosure-controlled report (HTML per LA and for England,
CSV, XLSX, output-check log). Spark only reads the small gold aggregates into pandas; the rest is pandas and
matplotlib, and the output opens on any laptop."""
from __future__ import annotations

import argparse
import os
import tempfile

from pyspark.sql import functions as F

from csc_demand import locations
from csc_demand.config import Config
from csc_demand.errors import ConfigurationError, MissingTableError
from csc_demand.io import delta, hadoop_fs
from csc_demand.report.build import (COMPARISONS, REPORT_TABLES, absent_reason, build_report, las_in,
                                     select_report_columns)
from csc_demand.report.identifiers import lakehouse_identifiers
from csc_demand.report.tables import ENGLAND
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark

HELP = "write the disclosure-controlled report (an HTML page per LA and for England, CSV, XLSX, output-check log)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR",
                        help="folder for the report (default <lakehouse>/report; on Databricks a volume path)")
    parser.add_argument("--la", metavar="CODE", nargs="+", help="3-digit LA codes to report (default: every LA)")
    parser.add_argument("--compare", choices=sorted(COMPARISONS), default="england",
                        help="what the LA pages compare with: 'england' (all LAs in the lakehouse, labelled England; "
                             "the default) or 'all-las' (the same rows, labelled as all LAs in this lakehouse, for a "
                             "lakehouse that does not hold all of England)")


def read_gold(spark, cfg: Config, las: list[str] | None, log: RunLog):
    """Every report table present, as pandas (rows of the chosen LAs and England), and why the others are not."""
    gold, absent = {}, {}
    for name in REPORT_TABLES:
        if not delta.table_exists(spark, cfg, "gold", name):
            absent[name] = absent_reason(name)
            continue
        frame = delta.read_table(spark, cfg, "gold", name)
        log.read(f"gold.{name}", delta.table_version(spark, cfg, "gold", name))
        if las is not None and "la_code" in frame.columns:
            frame = frame.where(F.col("la_code").isin([*las, ENGLAND]))
        selected, reason = select_report_columns(name, frame.limit(0).toPandas())
        if reason:
            absent[name] = reason
            continue
        gold[name] = frame.select(*selected.columns).toPandas()
    return gold, absent


def forbidden_strings(spark, cfg: Config) -> set[str]:
    """What must never appear in the report: every child and pupil identifier in the lakehouse (raw and
    pseudonymous) and the pseudonym key itself."""
    secrets = {s for s in (os.environ.get(cfg.pseudonym_key_env), cfg.pseudonym_key) if s}
    return lakehouse_identifiers(spark, cfg) | secrets


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    out = args.out or locations.join(cfg.lakehouse, "report")
    spark = get_spark(cfg)
    log.step("reading gold aggregate tables")
    gold, absent = read_gold(spark, cfg, args.la, log)
    if not gold and all(reason == absent_reason(name) for name, reason in absent.items()):
        raise MissingTableError(f"no gold tables to report on in {cfg.lakehouse}: run `csc-demand classify` and "
                                f"`csc-demand outcomes` first")
    for name, reason in absent.items():
        log.step(f"gold.{name}: {reason}; its section says so")
    found = las_in(gold)
    las = args.la or found
    unknown = sorted(set(las) - set(found))
    if unknown:
        raise ConfigurationError(f"--la {' '.join(unknown)}: no such LA in the gold tables of {cfg.lakehouse} "
                         f"(LAs there: {' '.join(found) or 'none'})")
    forbidden = forbidden_strings(spark, cfg)
    log.step(f"building the report for England and {len(las)} LA(s) into {out} (the output scan will look for "
             f"{len(forbidden)} identifiers)")
    if locations.is_local(out):
        index = build_report(gold, absent, las, locations.local_path(out), cfg.disclosure, args.compare, forbidden,
                             log.step)
    else:  # object storage: built and scanned in a local folder, then copied through Hadoop's FileSystem
        with tempfile.TemporaryDirectory(prefix="csc-report-") as folder:
            built = build_report(gold, absent, las, folder, cfg.disclosure, args.compare, forbidden, log.step)
            hadoop_fs.copy_folder_from_local(spark, folder, out)
        index = locations.join(out, str(built.relative_to(folder)))
    log.metric("report", str(index))
    log.metric("report_las", len(las))
    log.step(f"report written: {index}")
    return 0
