"""The report from gold aggregates already in pandas: one self-contained HTML page per LA and a national page
(index.html), a tidy CSV per published table, one XLSX workbook and the output-check log, then a scan of the
whole folder that fails the run if anything disclosive got through."""
from __future__ import annotations

import html
import json
import multiprocessing
import os
import re
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from pathlib import Path

import pandas as pd

from csc_demand.config import DisclosureConf
from csc_demand.report import sections
from csc_demand.report.page import Page, Publisher, without_categories
from csc_demand.report.publish import (
    CHECK_LOG_CELLS,
    CHECK_LOG_JSON,
    CHECK_LOG_MD,
    ForbiddenStrings,
    OutputCheckLog,
    Published,
    TableRule,
    scan_outputs,
    write_csv,
    write_workbook,
)
from csc_demand.report.tables import ENGLAND

LOOK_BACK = ("history_from", "ks4_years")  # every education table: how far back CIN history reaches, KS4 cohorts
# Gold table -> the columns the report reads (CONTRACT.md); nothing else leaves the lakehouse.
REPORT_TABLES: dict[str, tuple[str, ...]] = {
    "category_trends": ("authorised_year", "la_code", "category_id", "category_name", "assessments"),
    "category_profiles": ("category_id", "category_name", "class_size", "indicator", "factor_codes",
                          "indicator_label", "probability"),
    "complexity_trends": ("authorised_year", "la_code", "assessments", "factors", "mean_factors", "with_2plus_groups",
                          "with_3plus_groups", "in_complex_categories", "share_2plus_groups", "share_3plus_groups",
                          "share_complex_categories"),
    "category_thresholds": ("la_code", "threshold", "category_id", "category_name", "count"),
    "survival_estimates": ("la_code", "measure", "group_by", "group_value", "horizon_days", "cumulative_incidence",
                           "ci_lower", "ci_upper", "n_at_risk", "events", "subjects", "n_complete", "raw_share"),
    "rereferral_rates": ("la_code", "referral_year", "category_name", "referrals", "rereferrals_12m"),
    "repeat_plan_rates": ("la_code", "start_year", "category_name", "plans", "repeat_plans"),
    "cp_plans_by_abuse": ("la_code", "initial_category", "age_band", "plans", "repeat_plans"),
    "pathway_rates": ("la_code", "group_by", "group_value", "assessments", "cp_plans", "care_entries"),
    "pathway_factor_combinations": ("la_code", "combination", "assessments", "cp_plans", "care_entries"),
    "care_periods_by_category": ("la_code", "category_id", "category_name", "children", "children_multiple_periods",
                                 "returned_home_followed_12m", "reentries_12m"),
    "pathway_odds_ratios": ("la_code", "outcome", "covariate", "level", "reference", "odds_ratio", "ci_lower",
                            "ci_upper", "coefficient", "std_error", "p_value", "n_level", "n_total"),
    "education_by_category": ("la_code", "category_id", "category_name", "pupils", "att8_pupils", "mean_att8",
                              "att8_ratio_to_never_referred", "suspended", "suspension_rate", "suspension_rate_ratio",
                              "permanently_excluded", "exclusion_rate", "exclusion_rate_ratio", *LOOK_BACK),
    "education_gaps": ("la_code", "breakdown", "involvement", "sen_status", "episodes_group", "pupils", "att8_pupils",
                       "mean_att8", "att8_ratio_to_never_referred", "suspended", "permanently_excluded",
                       "exclusion_rate_ratio", *LOOK_BACK),
    "education_sen_gaps": ("la_code", "involvement", "att8_sen", "att8_no_sen", "att8_relative_gap", "did_estimate",
                           "did_ci_lower", "did_ci_upper", "pupils_sen", "pupils_no_sen", *LOOK_BACK),
    "data_quality": ("la_code", "collection_year", "source_file", "table_name", "rule_id", "received", "accepted",
                     "quarantined", "message"),
}
# The verb that writes each table, for the "run this first" line.
WRITTEN_BY = {"category_profiles": "classify", "data_quality": "ingest"}
COMPARISONS = {"england": "England", "all-las": "all LAs in this lakehouse"}

SECTIONS: tuple[tuple[str, str, Callable[[Page], str]], ...] = (
    ("demand", "Demand profile", sections.demand_profile),
    ("complexity", "Complexity over time", sections.complexity),
    ("thresholds", "Risk at thresholds", sections.thresholds),
    ("outcomes", "Outcomes by category", sections.outcomes),
    ("problems", "Key problem areas", sections.key_problems),
    ("quality", "Data quality", sections.data_quality),
)

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:0;color:#1d1d1d;background:#fff}
header{background:#1f5f8b;color:#fff;padding:1em 2em}header a{color:#fff}
nav{padding:.4em 2em;background:#eef3f7;position:sticky;top:0}nav a{margin-right:1.2em;color:#1f5f8b}
main{padding:0 2em 2em;max-width:1200px}h2{border-bottom:2px solid #1f5f8b;padding-top:.6em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #ccd;padding:2px 6px}
th{background:#eef3f7;text-align:left}.scroll{overflow-x:auto}.absent{color:#8a4b00;font-style:italic}
.summary{background:#f7f7f2;border-left:4px solid #d95f02;padding:.6em 1.4em}.note{font-size:.85em;color:#555}
"""


class DisclosureError(ValueError):
    """The written report failed the output scan: it must not leave the secure environment."""


def select_report_columns(name: str, columns: Iterable[str]) -> tuple[list[str] | None, str | None]:
    """The contract's columns of a gold table with the given columns, or None and why not (older table without
    them)."""
    wanted, present = REPORT_TABLES[name], set(columns)
    lacking = [c for c in wanted if c not in present]
    if lacking:
        verb = WRITTEN_BY.get(name, "outcomes")
        return None, f"columns {', '.join(lacking)} missing: written by an older version, run `csc-demand {verb}`"
    return list(wanted), None


def las_in(gold: dict[str, pd.DataFrame]) -> list[str]:
    """Every LA code in the tables, sorted (not England; not the null LA of NPD returns in gold.data_quality)."""
    return sorted({code for frame in gold.values() if "la_code" in frame.columns
                   for code in frame["la_code"].unique() if isinstance(code, str)} - {ENGLAND})


def absent_reason(name: str) -> str:
    return f"not in the lakehouse: run `csc-demand {WRITTEN_BY.get(name, 'outcomes')}` first"


WORKBOOK = "csc_demand_report.xlsx"
OWN_FILES = re.compile("|".join([r"(index|la_\d+)\.html", *map(re.escape, (CHECK_LOG_JSON, CHECK_LOG_MD,
                                                                            CHECK_LOG_CELLS, WORKBOOK))]))


def previous_report(names: Iterable[str], check_log: str | None) -> list[str]:
    """Of the files in a report folder (names relative to it, with "/"), those of a report written there before:
    its pages, output-check logs and workbook by name, its tables as its output-check log (``check_log``, the
    text of its output_check.json) lists them. Left there, an LA page or a table this report does not write would
    be shared with it, out of date and outside its output check; anything else in the folder is kept."""
    try:
        listed = {entry["output"] for entry in json.loads(check_log)["outputs"]} if check_log else set()
    except (ValueError, KeyError, TypeError):  # not a log this tool wrote: its tables cannot be told from others
        listed = set()
    return sorted(name for name in names if OWN_FILES.fullmatch(name) or name in listed)


def remove_previous_report(names: list[str], read: Callable[[str], str], delete: Callable[[str], None]) -> int:
    """Delete the files of a report written to a folder before (``previous_report``); how many. ``names`` are the
    folder's files; ``read`` and ``delete`` take one of them: the folder may be local or on object storage."""
    old = previous_report(names, read(CHECK_LOG_JSON) if CHECK_LOG_JSON in names else None)
    for name in old:
        delete(name)
    return len(old)


def remove_previous_local_report(folder: Path) -> int:
    """``remove_previous_report`` in a local ``folder`` (before Spark has started)."""
    if not folder.is_dir():
        return 0
    names = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    return remove_previous_report(names, lambda name: (folder / name).read_text(), lambda name: (folder / name).unlink())


def render_page(page: Page, links: list[str], generated: str) -> str:
    bodies = {anchor: fn(page) for anchor, _, fn in SECTIONS if not (page.national and anchor == "problems")}
    published = page.shown
    parts = []
    if page.national:
        parts.append(("headlines", "The study briefing's figures beside this run", sections.headlines(page, published)))
    parts += [(anchor, title, bodies[anchor]) for anchor, title, _ in SECTIONS if anchor in bodies]
    if page.national and links:
        items = "".join(f'<li><a href="{html.escape(link)}.html">LA {html.escape(link[3:])}</a></li>' for link in links)
        parts.append(("las", "Local authority pages", f"<ul>{items}</ul>"))
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in parts)
    body = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{b}</section>' for a, t, b in parts)
    back = "" if page.national else f' · <a href="index.html">{html.escape(page.comparison)} and all LA pages</a>'
    title = f"Children's social care demand analysis: {page.name}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><header><h1>{html.escape(title)}</h1><p>Made by csc-demand on {generated}{back}. Counts under '
            f'{page.conf.min_count} are suppressed and others rounded to the nearest {page.conf.round_to}; '
            f'a dash marks a suppressed or unavailable value.</p></header><nav>{nav}</nav><main>'
            f'<div class="summary"><h2>Summary</h2><ul>{sections.summary(page, published)}</ul></div>'
            f'{body}</main></body></html>')


# An LA page takes seconds of matplotlib and pandas under the GIL; from this many pages on they are drawn in
# processes (each started afresh: the report's own threads are reading the lakehouse at the time, so no fork).
POOL_FROM_PAGES = 8
# A page process holds the interpreter, the gold tables, the tables published from them and its charts: estimated
# as a base plus a multiple of the gold tables' size (measured at national scale: benchmarks/results/national.json).
WORKER_BASE_BYTES, WORKER_GOLD_FACTOR = 512 * 2**20, 5


def available_memory() -> int | None:
    """Bytes of memory available to new processes now (Linux's MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None
    return kib * 1024


def page_processes(las: int, gold: dict[str, pd.DataFrame]) -> int:
    """Processes for ``las`` LA pages: one per core this process may use, but one for a few pages (starting a
    process and handing it the gold tables costs more than it saves), and no more than half the memory available
    now holds (the report's own read of the lakehouse's identifiers grows meanwhile, and in `run` Spark's driver
    keeps what earlier stages took)."""
    if las < POOL_FROM_PAGES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    processes, available = min(cores, las), available_memory()
    if available is not None:
        gold_bytes = sum(int(frame.memory_usage(deep=True).sum()) for frame in gold.values())
        processes = min(processes, available // 2 // (WORKER_BASE_BYTES + WORKER_GOLD_FACTOR * gold_bytes))
    return max(1, processes)


class PageWriter:
    """Renders one page at a time into ``out``, publishing through one Publisher (tables over every LA)."""

    def __init__(self, out: Path, gold: dict[str, pd.DataFrame], absent: dict[str, str], publisher: Publisher,
                 las: list[str], comparison: str, generated: str):
        self.out, self.gold, self.absent, self.publisher = out, gold, absent, publisher
        self.las, self.comparison, self.generated = las, comparison, generated

    def write(self, la: str) -> str:
        """Write ``la``'s page (ENGLAND: the national one) and return its progress line."""
        page = Page(la, self.gold, self.absent, self.publisher, self.las, COMPARISONS[self.comparison],
                    distribution=self.comparison == "all-las")
        (self.out / f"{page.slug}.html").write_text(
            render_page(page, [f"la_{code}" for code in self.las], self.generated), encoding="utf-8")
        return f"wrote the {page.name} page ({len(page.shown)} published tables)"

    def write_collecting(self, la: str) -> tuple[str, dict[str, tuple[Published, TableRule]]]:
        """``write``, with the tables this page published first (in a worker process: for the parent's merge)."""
        before = set(self.publisher.tables)
        line = self.write(la)
        return line, {name: entry for name, entry in self.publisher.tables.items() if name not in before}


_worker: PageWriter | None = None


def _start_worker(pages: PageWriter) -> None:
    global _worker
    _worker = pages
    # A terminal's Ctrl-C reaches these processes too: the report's own process stops the pool (each prints a
    # traceback otherwise)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_page(la: str) -> tuple[str, dict[str, tuple[Published, TableRule]]]:
    assert _worker is not None, "worker not started"
    return _worker.write_collecting(la)


def _worker_workbook(names: list[str], path: Path) -> bool:
    """In a page process: the report's workbook of the tables ``names`` this process published (all of them once it
    drew an LA page), or False when it lacks one."""
    assert _worker is not None, "worker not started"
    if not all(name in _worker.publisher.tables for name in names):
        return False
    write_report_workbook(_worker.publisher, names, path)
    return True


def write_report_workbook(publisher: Publisher, names: list[str], path: Path) -> None:
    """The workbook of the published tables ``names``, a sheet each in that order (none without a table: a workbook
    needs a sheet)."""
    if names:
        write_workbook({name: publisher.tables[name][0].frame for name in names}, str(path))


def write_la_pages(pages: PageWriter, step: Callable[[str], None], processes: int, workbook: Path | None = None,
                   started: Callable[[], None] = lambda: None) -> Callable[[], None]:
    """Every LA page, in ``processes`` processes when more than one. Each worker starts with the tables published
    so far (England's page publishes most); a table first published by an LA page is built from the same gold
    tables whichever process builds it, and is kept in page order, so the tables, their order and every file are
    what one process writes. ``started`` is called once the page processes are started (spawning them pickles
    the tables in this process; Python runs one thread at a time), or at once when there are none.

    Then the report's ``workbook`` (when given) of every table published: by a page process, which holds them all,
    while this one goes on (writing the CSVs, scanning). Returns a function that returns once it is written (by
    this process if no page process could)."""
    done, writing, begun = 0, None, False
    if processes > 1:
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(pages,))
        try:
            drawn = pool.map(_worker_page, pages.las)  # starts the processes
            started()
            begun = True
            for line, published in drawn:
                for name, entry in published.items():
                    pages.publisher.tables.setdefault(name, entry)
                step(line)
                done += 1
            if workbook is not None:
                writing = pool.submit(_worker_workbook, list(pages.publisher.tables), workbook)
        except BrokenProcessPool as error:  # e.g. the kernel stopped one for memory: the pages can still be drawn
            step(f"a process drawing LA pages stopped ({error}); drawing the other {len(pages.las) - done} in this one")
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        pool.shutdown(wait=False)  # its processes end once the workbook is written
    if not begun:
        started()
    for la in pages.las[done:]:
        step(pages.write(la))

    def written() -> None:
        if workbook is None:
            return
        try:
            if writing is not None and writing.result():
                return
        except BrokenProcessPool:
            pass
        write_report_workbook(pages.publisher, list(pages.publisher.tables), workbook)
    return written


def build_report(gold: dict[str, pd.DataFrame], absent: dict[str, str], las: Iterable[str], out_dir: str | Path,
                 conf: DisclosureConf, comparison: str = "england",
                 forbidden: Iterable[str] | ForbiddenStrings | Callable[[], Iterable[str] | ForbiddenStrings] = (),
                 step: Callable[[str], None] = lambda message: None, processes: int = 1,
                 la_pages_started: Callable[[], None] = lambda: None) -> Path:
    """Write the report under ``out_dir`` and return the national page's path. ``forbidden``: the identifiers the
    output scan looks for, or a function giving them (called only when the scan starts, so they can be read
    while the pages are built). ``processes``: how many processes draw the LA pages (``page_processes``).
    ``la_pages_started``: called once England's page is written and the LA pages' processes are started (e.g. to
    start work in a thread of this process then, when it would no longer slow this process's own work).

    Raises DisclosureError naming every problem ``scan_outputs`` finds in the written folder."""
    absent = {**{name: absent_reason(name) for name in REPORT_TABLES if name not in gold}, **absent}
    for name, reason in without_categories(gold).items():
        absent[name] = reason
        step(f"gold.{name}: {reason}; its section says so")
    out = Path(out_dir)
    removed = remove_previous_local_report(out)
    if removed:
        step(f"removed the {removed} files of the report written to {out} before (pages, tables, logs, workbook)")
    (out / "data").mkdir(parents=True, exist_ok=True)
    las = list(las)
    pages = PageWriter(out, gold, absent, Publisher(conf), las, comparison, date.today().isoformat())
    step(pages.write(ENGLAND))
    workbook = out / WORKBOOK
    workbook_written = write_la_pages(pages, step, processes, workbook, la_pages_started)
    publisher = pages.publisher
    log = OutputCheckLog()
    for name, (result, rule) in publisher.tables.items():
        write_csv(result.frame, str(out / "data" / f"{name}.csv"))
        log.add(f"data/{name}.csv", result, rule, conf, note=f"also a sheet of {workbook.name}")
    log.write(str(out))
    step(f"wrote {len(publisher.tables)} published tables as CSV and the output-check log; scanning the report "
         f"folder while the same tables are written to {workbook.name}")
    problems = scan_outputs(str(out), conf, forbidden() if callable(forbidden) else forbidden,
                            pending={workbook.name: workbook_written})
    if problems:
        raise DisclosureError(f"the report folder {out} failed the output scan, do not share it: " + "; ".join(problems[:20]))
    step(f"output scan clean: {out}")
    return out / "index.html"
