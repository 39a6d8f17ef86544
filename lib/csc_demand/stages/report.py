"""``csc-demand report``: gold aggregate tables -> a disclosure-controlled report (HTML per LA and for England,
CSV, XLSX, output-check log). The small gold aggregates are read into pandas (with delta-rs on this machine, with
Spark on object storage or Databricks); the rest is pandas and matplotlib, and the output opens on any laptop. Beside it, for the data owner, the restricted data-quality workbook
(quarantined records with the LA's own ids) under ``<lakehouse>/restricted``, never in the report."""
from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from csc_demand import locations
from csc_demand.config import Config
from csc_demand.errors import ConfigurationError, MissingTableError
from csc_demand.io import delta, hadoop_fs
from csc_demand.report.build import (
    COMPARISONS,
    REPORT_TABLES,
    absent_reason,
    build_report,
    las_in,
    page_processes,
    remove_previous_report,
    select_report_columns,
)
from csc_demand.report.data_quality import restricted_folder, write_restricted_workbook
from csc_demand.report.identifiers import lakehouse_identifiers
from csc_demand.report.publish import STRING, ForbiddenStrings
from csc_demand.report.tables import ENGLAND
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark

HELP = ("write the disclosure-controlled report (an HTML page per LA and for England, CSV, XLSX, output-check log), "
        "and the data owner's restricted data-quality workbook under <lakehouse>/restricted")
# Each table read is a few small Spark jobs (Delta log replay, the scan) whose time is mostly driver-side waiting,
# so reading several at once overlaps them (profile in benchmarks/bench_report.py).
READERS = 4
T = TypeVar("T")
R = TypeVar("R")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR",
                        help="folder or URI for the report (default <lakehouse>/report; on Databricks a volume path; "
                             "on object storage it is built locally and copied there)")
    parser.add_argument("--la", metavar="CODE", nargs="+", help="3-digit LA codes to report (default: every LA)")
    parser.add_argument("--compare", choices=sorted(COMPARISONS), default="england",
                        help="what the LA pages compare with: 'england' (the default: all LAs in the lakehouse "
                             "pooled, labelled England) or 'all-las' (the other LAs of the lakehouse one by one: "
                             "charts by category show the median LA with the interquartile range of the LAs' "
                             "published values; curves over time stay pooled; for a lakehouse of a region or "
                             "consortium rather than all of England; reads every LA)")


def in_parallel(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> dict[T, R]:
    items = list(items)
    return dict(zip(items, pool.map(fn, items), strict=True))


def keep_las(args: argparse.Namespace) -> list[str] | None:
    """The LAs whose rows the report reads (None: all). Against the distribution across LAs every LA's rows are
    needed, whatever --la asks to report."""
    return None if args.compare == "all-las" else args.la


def read_gold(spark: Callable[[], SparkSession], cfg: Config, las: list[str] | None, log: RunLog | None,
              pool: ThreadPoolExecutor) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every report table present, as pandas (rows of the chosen LAs and England), and why the others are not;
    the versions read go to ``log``'s summary.

    Tables on this machine are read with delta-rs: Spark spent most of a report's time on the first read of
    each small table (benchmark); those on object storage or in a catalog go through Spark (``spark`` gives the
    session, asked for only then)."""
    keep = None if las is None else [*las, ENGLAND]

    def read_local(name: str, folder: str) -> tuple[pd.DataFrame | None, int | None, str | None]:
        if not DeltaTable.is_deltatable(folder):
            return None, None, absent_reason(name)
        table = DeltaTable(folder)
        selected, reason = select_report_columns(name, [f.name for f in table.schema().fields])
        if selected is None:
            return None, table.version(), reason
        rows = [("la_code", "in", keep)] if keep and "la_code" in selected else None
        return table.to_pandas(columns=selected, filters=rows), table.version(), None

    def read(name: str) -> tuple[pd.DataFrame | None, int | None, str | None]:
        folder = delta.local_folder(cfg, "gold", name)
        if folder is not None:
            return read_local(name, folder)
        return read_spark(name, spark())

    def read_spark(name: str, spark: SparkSession) -> tuple[pd.DataFrame | None, int | None, str | None]:
        if not delta.table_exists(spark, cfg, "gold", name):
            return None, None, absent_reason(name)
        frame = delta.read_table(spark, cfg, "gold", name)
        version = delta.table_version(spark, cfg, "gold", name)
        selected, reason = select_report_columns(name, frame.columns)
        if selected is None:
            return None, version, reason
        if keep and "la_code" in frame.columns:
            frame = frame.where(F.col("la_code").isin(keep))
        return frame.select(*selected).toPandas(), version, None

    gold, absent = {}, {}
    for name, (frame, version, reason) in in_parallel(pool, read, REPORT_TABLES).items():
        if version is not None and log is not None:
            log.read(f"gold.{name}", version)
        if reason:
            absent[name] = reason
        elif frame is not None:  # no reason: the table was read
            gold[name] = frame
    return gold, absent


def forbidden_strings(spark: Callable[[], SparkSession], cfg: Config, pool: ThreadPoolExecutor) -> ForbiddenStrings:
    """What must never appear in the report: every child and pupil identifier in the lakehouse (raw and
    pseudonymous) and the pseudonym key itself, split for the output scan."""
    keys = pa.array([s for s in (os.environ.get(cfg.pseudonym_key_env), cfg.pseudonym_key) if s], STRING)
    return ForbiddenStrings.of(pa.concat_arrays([lakehouse_identifiers(cfg, spark, pool.map), keys]))


def restricted_workbook(spark: SparkSession, cfg: Config, out: str, log: RunLog) -> str | None:
    """The data owner's workbook of quarantined records with the LA's own ids, under ``<lakehouse>/restricted``
    (never under ``out``); None, said in a progress line, when there is no ``silver.quarantine`` to list."""
    if not delta.table_exists(spark, cfg, "silver", "quarantine"):
        log.step("no silver.quarantine in the lakehouse (run `csc-demand ingest`): no restricted data-quality workbook")
        return None
    path = write_restricted_workbook(spark, cfg, report_out=out)
    log.step(f"restricted data-quality workbook written: {path}. It holds the LA's own child and pupil ids (to "
             f"correct its returns at source): it stays inside the secure environment and is never part of the report")
    return path


def report_folder(args: argparse.Namespace, cfg: Config) -> str:
    """``--out``, else ``<lakehouse>/report``: a local path for a lakehouse on this machine (``file:`` URIs too),
    else a URI the report is copied to."""
    out = args.out or locations.join(cfg.lakehouse, "report")
    return locations.local_path(out) if locations.is_local(out) else out


def remove_previous_report_at(spark: SparkSession, location: str) -> int:
    """``remove_previous_report`` in a report folder reached through Hadoop's FileSystem (object storage)."""
    if not hadoop_fs.is_dir(spark, location):
        return 0
    root = hadoop_fs.qualified(spark, location).rstrip("/") + "/"
    names = [f[len(root):] for f in hadoop_fs.list_files(spark, location) if f.startswith(root)]
    return remove_previous_report(names, lambda name: hadoop_fs.read_text(spark, locations.join(location, name)),
                                  lambda name: hadoop_fs.delete_file(spark, locations.join(location, name)))


def no_gold_tables(cfg: Config) -> MissingTableError:
    return MissingTableError(f"no gold tables to report on in {cfg.lakehouse}: run `csc-demand classify` and "
                             "`csc-demand outcomes` first")


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    out = report_folder(args, cfg)
    restricted_folder(cfg, report_out=out)  # refuses an --out overlapping it before any work
    if locations.is_local(out):
        locations.refuse_file_as_folder("--out", out)
    if all(delta.local_table_missing(cfg, "gold", name) for name in REPORT_TABLES):
        raise no_gold_tables(cfg)  # before Spark starts, when the lakehouse is on this machine
    # Three background tasks: Spark's start-up (needed only for the restricted workbook and for tables not on this
    # machine), then that workbook and the identifiers for the final scan, all while the pages are drawn.
    with ThreadPoolExecutor(READERS) as pool, ThreadPoolExecutor(3) as background:
        session: Future[SparkSession] = background.submit(get_spark, cfg)
        log.step("reading gold aggregate tables")
        gold, absent = read_gold(session.result, cfg, keep_las(args), log, pool)
        if not gold and all(reason == absent_reason(name) for name, reason in absent.items()):
            raise no_gold_tables(cfg)
        log.step(f"read {len(gold)} gold tables ({sum(len(f) for f in gold.values())} rows)")
        for name, reason in absent.items():
            log.step(f"gold.{name}: {reason}; its section says so")
        found = las_in(gold)
        las = list(dict.fromkeys(args.la)) if args.la else found  # a code given twice is one page
        unknown = sorted(set(las) - set(found))
        if unknown:
            if keep_las(args) is not None:  # the tables were read for the LAs asked for only: read them all to say
                found = las_in(read_gold(session.result, cfg, None, None, pool)[0])
            raise ConfigurationError(f"--la {' '.join(unknown)}: no such LA in the gold tables of {cfg.lakehouse} "
                                     f"(LAs there: {' '.join(found) or 'none'})")
        if args.compare == "all-las" and len(found) < 2:  # its median and quartiles would be this LA's own values
            raise ConfigurationError(f"--compare all-las compares each LA with the LAs of the lakehouse, and "
                                     f"{cfg.lakehouse} holds {' '.join(found) or 'none'}: give a lakehouse of "
                                     f"several LAs, or --compare england")
        restricted: Future[str | None] = background.submit(
            lambda: restricted_workbook(session.result(), cfg, out, log))
        # The identifier list is needed only by the final scan: it is read while the LA pages are drawn in other
        # processes; not while this process draws England's page or starts those (Python runs one thread at a time).
        identifiers: dict[str, Future[ForbiddenStrings]] = {}

        def read_identifiers() -> None:
            identifiers["read"] = background.submit(forbidden_strings, session.result, cfg, pool)

        def forbidden() -> ForbiddenStrings:
            return identifiers["read"].result()

        processes = page_processes(len(las), gold)
        log.step(f"building the report for England and {len(las)} LA(s) into {out}"
                 f"{f' (LA pages in {processes} processes)' if processes > 1 else ''}; meanwhile the restricted "
                 f"data-quality workbook is written, and from the LA pages on the identifiers of the lakehouse are "
                 f"read for the output scan")
        try:
            if locations.is_local(out):
                index: Path | str = build_report(gold, absent, las, out, cfg.disclosure, args.compare, forbidden,
                                                 log.step, processes, read_identifiers)
            else:  # object storage: built and scanned in a local folder, then copied through Hadoop's FileSystem
                with tempfile.TemporaryDirectory(prefix="csc-report-") as folder:
                    built = build_report(gold, absent, las, folder, cfg.disclosure, args.compare, forbidden,
                                         log.step, processes, read_identifiers)
                    removed = remove_previous_report_at(session.result(), out)
                    if removed:
                        log.step(f"removed the {removed} files of the report written to {out} before")
                    hadoop_fs.copy_folder_from_local(session.result(), folder, out)
                index = locations.join(out, str(built.relative_to(folder)))
            workbook = restricted.result()
        finally:
            pool.shutdown(cancel_futures=True)  # on a failure, do not wait for table reads nobody needs
    log.metric("report", str(index))
    if workbook:
        log.metric("restricted_workbook", workbook)
    log.metric("report_las", len(las))
    log.step(f"report written: {index}")
    return 0
