"""The one publish step: disclosure control for every table that leaves the secure environment.

Gold aggregates stay unrounded and unsuppressed inside the lakehouse; the report and any export pass each table
through ``publish`` (pandas in, pandas out: aggregates are small) and write it with ``write_csv`` or
``write_workbook``. The rules, in order:

1. primary: a count of 1 to ``min_count - 1`` is suppressed ("<10"); zeros are published unless
   ``disclosure.zeros_are_disclosive``;
2. complements: for a (whole, part) pair of one row, a part whose complement (whole - part) is small is suppressed;
3. secondary: for every (dimension, total value) in ``TableRule.totals``, a group of rows that differ only in that
   dimension and whose total is published never has exactly one suppressed cell in a count column (else the
   smallest other cell is suppressed too, or the total when there is none), repeated over every dimension until
   nothing changes, so no suppressed cell is the difference of a published total and published parts;
4. derived values (rates, shares, means, intervals, ratios) are blanked on every row with a suppressed count;
5. every published count is rounded to ``round_to``, halves up (12.5 -> 15).

Each suppressed or blanked cell gets one check entry saying why; ``OutputCheckLog`` writes them beside the outputs
for an output checker to sign off, in the spirit of ACRO (the SACRO project's output checker).
"""
from __future__ import annotations

import csv
import html.parser
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from python_calamine import CalamineWorkbook

from csc_demand.config import DisclosureConf

PRIMARY, COMPLEMENT, SECONDARY, DERIVED = "<{min_count}", "complement", "secondary", "derived"
# Text that a spreadsheet would run as a formula (OWASP "CSV injection"): prefixed with a quote when written.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHECK_LOG_JSON, CHECK_LOG_MD, CHECK_LOG_CELLS = "output_check.json", "output_check.md", "output_check_cells.csv"


@dataclass(frozen=True)
class TableRule:
    """Which columns of a table are counts, which are derived from them, and which rows are totals of others.

    List a total only for tables published whole (every part beside its total): publish each table once with all
    its LAs and slice pages from the result, because pages published apart would hand a reader the parts again.
    """
    counts: tuple[str, ...]                    # suppressed under min_count, others rounded to round_to
    derived: tuple[str, ...] = ()              # blanked when any count of the row is suppressed
    totals: tuple[tuple[str, str], ...] = ()   # (dimension column, value that is the total of its other values)
    complements: tuple[tuple[str, str], ...] = ()  # (whole, part) count columns of one row
    # (derived column, the counts it is built from) for a derived value built from only some counts of its row: it
    # is blanked when one of those is suppressed (e.g. a share of plans stays when the row's repeat plans are not)
    bases: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def dimensions(self, frame: pd.DataFrame) -> list[str]:
        """The columns that identify a row: everything that is neither a count nor derived."""
        return [c for c in frame.columns if c not in self.counts and c not in self.derived]


@dataclass
class Published:
    frame: pd.DataFrame          # the disclosure-controlled table
    checks: list[dict]           # one entry per suppressed cell: row, column, value_class, rule


def round_half_up(values, step: int):
    """Nearest multiple of ``step``, halves up: 12 -> 10, 12.5 -> 15, 13 -> 15 (Python's round() would give 10).
    Takes a number or an array."""
    return np.floor(np.asarray(values, dtype="float64") / step + 0.5) * step


def publish(frame: pd.DataFrame, name: str, rule: TableRule, conf: DisclosureConf) -> Published:
    """Apply primary, complement and secondary suppression, blank derived values and round the counts.

    ``name`` names the table in errors. Returns a copy with the same columns and rows: suppressed counts are <NA>
    (nullable Int64), blanked derived values NaN/None.
    """
    missing = [c for c in (*rule.counts, *rule.derived, *(d for d, _ in rule.totals),
                           *(c for pair in rule.complements for c in pair),
                           *(c for derived, counts in rule.bases for c in (derived, *counts))) if c not in frame.columns]
    if missing:
        raise ValueError(f"publish {name!r}: the rule names columns the table lacks: {missing}; "
                         f"the table has {list(frame.columns)}")
    frame = frame.reset_index(drop=True)
    dims = rule.dimensions(frame)
    values = {c: frame[c].to_numpy(dtype="float64", na_value=np.nan) for c in rule.counts}
    reasons: dict[tuple[int, str], tuple[str, str]] = {}

    primary_rule = (f"count {'0' if conf.zeros_are_disclosive else '1'} to {conf.min_count - 1} "
                    f"(under disclosure.min_count {conf.min_count})")
    for c in rule.counts:
        for i in map(int, np.flatnonzero(_small(values[c], conf))):
            reasons[(i, c)] = (PRIMARY.format(min_count=conf.min_count), primary_rule)

    for whole, part in rule.complements:
        rest = values[whole] - values[part]
        for i in map(int, np.flatnonzero(_small(rest, conf))):
            if (i, whole) not in reasons and (i, part) not in reasons:
                reasons[(i, part)] = (COMPLEMENT, f"{whole} - {part} = {rest[i]:g} is under {conf.min_count}")

    _secondary(frame, dims, rule, values, reasons)

    out = frame.copy()
    columns = {d: frame[d].tolist() for d in dims}
    rows = [{d: columns[d][i] for d in dims} for i in range(len(frame))]
    for c in rule.counts:
        hidden = np.array([(i, c) in reasons for i in range(len(frame))], dtype=bool)
        out[c] = pd.array(np.where(hidden, np.nan, round_half_up(values[c], conf.round_to)),
                          dtype="Float64").astype("Int64")
    checks = [_check(rows[i], c, *reasons[(i, c)]) for i, c in sorted(reasons, key=_cell_order(rule))]
    bases = dict(rule.bases)
    for c in rule.derived:
        blank = np.zeros(len(frame), dtype=np.bool_)
        blank[sorted({i for i, k in reasons if k in bases.get(c, rule.counts)})] = True
        for i in map(int, np.flatnonzero(blank & frame[c].notna().to_numpy())):
            checks.append(_check(rows[i], c, DERIVED, "derived from a suppressed count of the same row"))
        # pandas-stubs lists no overload of where() with other=None, which pandas accepts (an empty cell)
        out[c] = out[c].astype("object").where(~blank, None) if out[c].dtype == object else out[c].mask(blank)  # type: ignore[call-overload]
    return Published(frame=out, checks=checks)


def _small(values: np.ndarray, conf: DisclosureConf) -> np.ndarray:
    lowest = 0 if conf.zeros_are_disclosive else 1
    with np.errstate(invalid="ignore"):
        return (values >= lowest) & (values < conf.min_count)  # NaN compares false: a missing count is not small


def _secondary(frame: pd.DataFrame, dims: list[str], rule: TableRule, values: dict[str, np.ndarray],
               reasons: dict) -> None:
    """Suppress further cells until no group with a published total has exactly one suppressed part."""
    groups = []  # (count column, total row, part rows)
    for dim, total_value in rule.totals:
        labels = _labels_of(frame, dim)
        others = [d for d in dims if d != dim and d not in labels]
        is_total = (frame[dim].astype(str) == str(total_value)).to_numpy()
        keyed = frame.groupby(others, dropna=False, sort=False).indices.values() if others else [range(len(frame))]
        for positions in keyed:
            parts = [int(i) for i in positions if not is_total[i]]
            groups += [(c, int(total), parts) for total in positions if is_total[total] for c in rule.counts]
    changed = True
    while changed:
        changed = False
        for c, total, parts in groups:
            if (total, c) in reasons or np.isnan(values[c][total]):
                continue
            hidden = [i for i in parts if (i, c) in reasons]
            if len(hidden) != 1:
                continue
            shown = [i for i in parts if (i, c) not in reasons and not np.isnan(values[c][i])]
            # The smallest cell loses least; a zero partner would leave the margin difference equal to the hidden
            # cell, so zeros are taken only when nothing else is left.
            shown.sort(key=lambda i: (values[c][i] == 0, values[c][i]))
            target = shown[0] if shown else total
            where = ", ".join(f"{d}={frame.at[hidden[0], d]}" for d in dims)
            reasons[(target, c)] = (SECONDARY, f"protects the suppressed {c} of ({where}) from subtraction "
                                               f"from its published total")
            changed = True


def _labels_of(frame: pd.DataFrame, dim: str) -> list[str]:
    """Columns with one value per value of ``dim`` (category_id beside category_name, a rule's message beside its
    id): they label the dimension rather than split its groups, so grouping by them would leave every part alone."""
    per_value = frame.groupby(dim, dropna=False).nunique(dropna=False)
    return [c for c in per_value.columns if per_value[c].max() <= 1]


def _cell_order(rule: TableRule):
    position = {c: n for n, c in enumerate(rule.counts)}
    return lambda cell: (cell[0], position[cell[1]])


def _check(row: dict, column: str, value_class: str, why: str) -> dict:
    return {"row": {d: _plain(v) for d, v in row.items()}, "column": column, "value_class": value_class, "rule": why}


def _plain(value):
    """A JSON-friendly scalar (numpy ints and dates become Python ints and strings)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (int, float, str, bool)) else str(value)


@dataclass
class OutputCheckLog:
    """The output-check log written beside the outputs: per output, the rule applied and a count of the cells
    suppressed by class and reason; every suppressed or blanked cell in one CSV beside it."""
    entries: list[dict] = field(default_factory=list)
    cells: list[tuple[str, dict]] = field(default_factory=list)  # (output, check) in the order logged

    def add(self, output: str, published: Published, rule: TableRule, conf: DisclosureConf, note: str = "") -> None:
        by_class: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        for check in published.checks:
            by_class[check["value_class"]] = by_class.get(check["value_class"], 0) + 1
            reason = _reason_kind(check)
            by_reason[reason] = by_reason.get(reason, 0) + 1
        self.entries.append({
            "output": output,
            "rows": len(published.frame),
            "columns": list(published.frame.columns),
            "rule": {"counts": list(rule.counts), "derived": list(rule.derived),
                     "totals": [list(t) for t in rule.totals], "complements": [list(c) for c in rule.complements],
                     "bases": {derived: list(counts) for derived, counts in rule.bases},
                     "min_count": conf.min_count, "round_to": conf.round_to,
                     "zeros_are_disclosive": conf.zeros_are_disclosive},
            "status": "pass" if not published.checks else "pass with suppression",
            "suppressed_by_class": by_class,
            "suppressed_by_reason": by_reason,
            "cells": len(published.checks),
            "note": note,
        })
        self.cells += [(output, check) for check in published.checks]

    def write(self, out_dir: str, shown_per_output: int = 20) -> None:
        """``output_check.json`` (machine-readable summary), ``output_check_cells.csv`` (every suppressed or
        blanked cell: output, row, column, class, reason) and ``output_check.md`` (for the output checker to sign:
        the summary and each output's first ``shown_per_output`` cells; a national report has millions)."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        (folder / CHECK_LOG_JSON).write_text(json.dumps(
            {"created": created, "cells_file": CHECK_LOG_CELLS, "outputs": self.entries}, indent=1, default=str))
        with open(folder / CHECK_LOG_CELLS, "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(["output", "row", "column", "value_class", "reason"])
            writer.writerows([neutralise(v) for v in (output, _row_label(check["row"]), check["column"],
                                                      check["value_class"], check["rule"])]
                             for output, check in self.cells)
        cells: dict[str, list[dict]] = {}
        for output, check in self.cells:
            listed = cells.setdefault(output, [])
            if len(listed) < shown_per_output:
                listed.append(check)
        lines = [f"# Output check log ({created})", "",
                 "Every table below was passed through `csc_demand.report.publish`: counts under `min_count` "
                 "suppressed, secondary suppression over the listed totals, derived values blanked with their "
                 f"counts, other counts rounded (halves up). Every suppressed or blanked cell is listed in "
                 f"`{CHECK_LOG_CELLS}` with its reason.", ""]
        for entry in self.entries:
            r = entry["rule"]
            lines += [f"## {entry['output']}", "",
                      f"- status: {entry['status']}; {entry['rows']} rows",
                      f"- counts: {', '.join(r['counts']) or '-'}; derived: {', '.join(r['derived']) or '-'}",
                      f"- totals: {', '.join(f'{d} = {v}' for d, v in r['totals']) or '-'}; complements: "
                      f"{', '.join(f'{w} - {p}' for w, p in r['complements']) or '-'}",
                      f"- min_count {r['min_count']}, round_to {r['round_to']}, zeros disclosive: "
                      f"{r['zeros_are_disclosive']}",
                      f"- suppressed: {', '.join(f'{k} {v}' for k, v in entry['suppressed_by_class'].items()) or 'none'}"]
            lines += [f"- {n} cells: {reason}" for reason, n in entry["suppressed_by_reason"].items()]
            if entry["note"]:
                lines.append(f"- note: {entry['note']}")
            listed = cells.get(entry["output"], [])
            if listed:
                more = entry["cells"] - len(listed)
                lines += ["", f"The first {len(listed)} of {entry['cells']} cells" + (
                    f" ({more} more in `{CHECK_LOG_CELLS}`):" if more else ":"),
                          "", "| row | column | class | reason |", "|---|---|---|---|"]
                lines += [f"| {_row_label(cell['row'])} | {cell['column']} | {cell['value_class']} | "
                          f"{cell['rule']} |" for cell in listed]
            lines.append("")
        lines += ["Checked by: ______________________  Date: ____________  Decision: release / do not release", ""]
        (folder / CHECK_LOG_MD).write_text("\n".join(lines))


def _row_label(row: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.items())


def _reason_kind(check: dict) -> str:
    """A check's reason without the cell it names (a secondary suppression names the cell it protects)."""
    if check["value_class"] == SECONDARY:
        return f"secondary: protects a suppressed {check['column']} from subtraction from its published total"
    if check["value_class"] == COMPLEMENT:
        return f"complement: {check['rule'].split(' = ')[0]} is under the minimum count"
    return f"{check['value_class']}: {check['rule']}"


def neutralise(value):
    """Text a spreadsheet would read as a formula gets a leading quote; numbers (negative too) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """A tidy CSV (no index, empty cells for suppressed values), formula-like text neutralised."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # CRLF line ends (RFC 4180) also make the writer quote any field holding a bare CR or LF
    _neutralised(frame).to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384  # a sheet's limits
# XlsxWriter's options that store text as text, never as a formula, link or number
TEXT_AS_TEXT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def write_workbook(frames: dict[str, pd.DataFrame], path: str) -> None:
    """One sheet per table (names cut to Excel's 31 characters) under a header row in pandas' style, formula-like
    text neutralised; missing values are empty cells.

    Written row by row with XlsxWriter itself: pandas' ``to_excel`` makes and styles an object per cell, which was
    most of a national report's table time (benchmarks/bench_publish.py). Text is stored as text
    (``TEXT_AS_TEXT``); ``constant_memory`` writes each row out as it goes (text inline in the
    sheet, which every reader takes) instead of holding the whole workbook."""
    for name, frame in frames.items():  # before any is written: XlsxWriter would drop what does not fit
        if len(frame) + 1 > EXCEL_ROWS or len(frame.columns) > EXCEL_COLUMNS:
            raise ValueError(f"table {name} has {len(frame)} rows and {len(frame.columns)} columns: an Excel sheet "
                             f"holds at most {EXCEL_ROWS - 1} rows under its header and {EXCEL_COLUMNS} columns")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    options = {**TEXT_AS_TEXT, "constant_memory": True, "default_date_format": "YYYY-MM-DD"}  # pandas' date format
    with xlsxwriter.Workbook(path, options) as workbook:
        header = workbook.add_format({"bold": True, "border": 1, "align": "center", "valign": "top"})
        used: set[str] = set()
        for name, frame in frames.items():
            sheet = workbook.add_worksheet(_sheet_name(name, used))
            table = _neutralised(frame)
            sheet.write_row(0, 0, list(table.columns), header)
            for row, values in enumerate(zip(*(_cell_values(table[c]) for c in table.columns), strict=True), start=1):
                sheet.write_row(row, 0, values)


def _cell_values(column: pd.Series) -> list:
    """A column's values as Python numbers, booleans and text; None for a missing value (NaN, NA, NaT)."""
    return [None if missing else value for value, missing in zip(column.tolist(), column.isna().tolist(), strict=True)]


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "_", name)[:31] or "sheet"
    sheet, n = base, 1
    while sheet.lower() in used:
        n += 1
        sheet = f"{base[:31 - len(str(n)) - 1]}_{n}"
    used.add(sheet.lower())
    return sheet


# ---- scanning what was written -----------------------------------------------------------------------------
STRING = pa.large_string()  # the Arrow type of forbidden strings and of the words they are looked up among
NO_STRINGS: pa.Array = pa.array([], STRING)


@dataclass(frozen=True)
class ForbiddenStrings:
    """What the output scan looks for, split once (``of``): every string, as an Arrow array (a national list is tens
    of millions long: as Python strings it took a gigabyte and seconds of the interpreter's time), looked up in one
    batch among the words of every file scanned; and those that are not words (letters, digits and underscores),
    also found anywhere as substrings."""
    words: pa.Array
    others: frozenset[str]

    @classmethod
    def of(cls, strings: Iterable | pa.Array | pa.ChunkedArray) -> ForbiddenStrings:
        if isinstance(strings, pa.ChunkedArray):
            strings = strings.combine_chunks()
        if not isinstance(strings, pa.Array):
            strings = pa.array([s if isinstance(s, str) else str(s) for s in strings], STRING)
        words = strings.cast(STRING)
        words = words.filter(pc.not_equal(words, ""))  # nulls dropped too
        return cls(words, frozenset(words.filter(pc.match_substring_regex(words, _NOT_WORD)).to_pylist()))


def scan_outputs(out_dir: str, conf: DisclosureConf, forbidden: Iterable | ForbiddenStrings = (),
                 pending: Mapping[str, Callable[[], object]] | None = None) -> list[str]:
    """Problems found in every CSV/XLSX/HTML under out_dir: a count cell 1..min_count-1, a value not a multiple
    of round_to in a count column, any string from `forbidden` (identifiers, keys). Empty list = clean.

    Count columns are those the output-check logs under ``out_dir`` name as counts (matched on the column header,
    also with underscores read as spaces, case-insensitive); without a log every all-integer column whose name
    does not mark it as a year, id, code or number of days is taken as a count. Forbidden strings made of letters,
    digits and underscores (keys, LAchildIDs, UPNs) are found as whole words, others anywhere (``forbidden`` may
    come split already: ``ForbiddenStrings.of``). ``pending``: files still being written (path under out_dir ->
    a function that returns once the file is written), scanned after every other file.
    """
    root = Path(out_dir)
    found = forbidden if isinstance(forbidden, ForbiddenStrings) else ForbiddenStrings.of(forbidden)
    logged = _logged_counts(root)
    pending = pending or {}
    scanned = [_scan_file(root, path, found, logged, conf) for path in sorted(
        p for p in root.rglob("*") if p.is_file() and str(p.relative_to(root)) not in pending)]
    for name, written in pending.items():
        written()
        if (root / name).is_file():
            scanned.append(_scan_file(root, root / name, found, logged, conf))
    words = _words_found(found.words, [tokens for texts, _ in scanned for _, tokens, _ in texts])
    problems = []
    for texts, table_problems in scanned:
        for label, tokens, others in texts:
            here = set(tokens.filter(pc.is_in(tokens, value_set=words)).to_pylist()) if len(words) else set()
            problems += [f"{label}: contains the forbidden identifier {f!r}" for f in sorted(here | others)]
        problems += table_problems
    return problems


# per file: (label, its words, the non-word forbidden strings in it) per text, and the problems of its tables
_Scanned = tuple[list[tuple[str, pa.Array, set[str]]], list[str]]


def _scan_file(root: Path, path: Path, found: ForbiddenStrings, logged: set[str] | None,
               conf: DisclosureConf) -> _Scanned:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".html", ".htm"):
        return [], []
    where = str(path.relative_to(root))
    if suffix == ".xlsx":
        tables = _xlsx_tables(path)
        texts = [(f"{where} [{sheet}]", "\n".join("\t".join(map(str, r)) for r in rows)) for sheet, rows in tables]
    else:
        text = path.read_text(errors="replace")
        texts = [(where, text)]
        tables = _csv_tables(path, logged) if suffix == ".csv" else _html_tables(text)
    problems = []
    for n, (sheet, rows) in enumerate(tables):
        label = where if suffix == ".csv" else f"{where} [{sheet or f'table {n + 1}'}]"
        problems += _scan_table(label, rows, logged, conf)
    return [(label, _tokens(text), {f for f in found.others if f in text}) for label, text in texts], problems


def _words_found(words: pa.Array, tokens: list[pa.Array]) -> pa.Array:
    """The forbidden words among the tokens of every text, in one lookup: each identifier is tested against a hash
    of the distinct tokens (fewer than the identifiers at national scale)."""
    distinct = pc.unique(pa.concat_arrays([NO_STRINGS, *tokens]))
    if not len(distinct) or not len(words):
        return NO_STRINGS
    return pc.unique(words.filter(pc.is_in(words, value_set=distinct)))


_NOT_WORD = "[^A-Za-z0-9_]"  # a character no word holds (RE2, for Arrow)
# bytes.translate with this table turns every byte but letters, digits and underscores into a space: splitting
# the result gives the words (in UTF-8 every byte of a non-ASCII character is a separator, as for the pattern)
_WORD_BYTES = bytes(c if chr(c).isascii() and (chr(c).isalnum() or chr(c) == "_") else ord(" ") for c in range(256))


def _tokens(text: str) -> pa.Array:
    """The distinct words of ``text`` (runs of letters, digits and underscores), split off its bytes
    (``_WORD_BYTES``: faster than a regular expression on the half gigabyte of text of a national report), as an
    Arrow array: the scan keeps every text's words to the end, where Python sets of them would be walked by the
    garbage collector."""
    words = set(text.encode("utf-8", "replace").translate(_WORD_BYTES).split())
    return pa.array(list(words), pa.large_binary()).cast(STRING)


def _logged_counts(root: Path) -> set[str] | None:
    logs = list(root.rglob(CHECK_LOG_JSON))
    if not logs:
        return None
    names: set[str] = set()
    for log in logs:
        for entry in json.loads(log.read_text()).get("outputs", []):
            names.update(_header_key(c) for c in entry["rule"]["counts"])
    return names


def _header_key(name: str) -> str:
    return str(name).strip().lower().replace("_", " ")


# whole-number columns that are not counts (years, ids, codes, days, dates): the scan reads no count in them and a page
# writes them without thousands separators
NOT_COUNT = re.compile(r"(year|_id|^id|code|days|date|horizon)", re.IGNORECASE)


def _scan_table(label: str, rows: list[list], logged: set[str] | None, conf: DisclosureConf) -> list[str]:
    if not rows:
        return []
    header, body = [str(h) for h in rows[0]], rows[1:]
    problems = []
    for j, name in enumerate(header):
        if logged is not None and _header_key(name) not in logged:
            continue  # the cells of columns the log does not name as counts are not read
        column = np.array([_number(row[j]) if j < len(row) else None for row in body], dtype="float64")  # None: NaN
        present = ~np.isnan(column)
        if logged is None and not (present.any() and (column[present] % 1 == 0).all() and not NOT_COUNT.search(name)):
            continue
        small = _small(column, conf)
        with np.errstate(invalid="ignore"):  # inf % n is NaN, which is not 0: an infinite count is reported
            unrounded = (present & ~small & (column % conf.round_to != 0) if conf.round_to > 1
                         else np.zeros_like(small))
        for i in np.flatnonzero(small | unrounded):
            v = column[i]
            problems.append(f"{label}: row {i + 2}, column {name!r}: count {v:g} is under {conf.min_count}" if small[i]
                            else f"{label}: row {i + 2}, column {name!r}: count {v:g} is not a multiple of "
                                 f"{conf.round_to}")
    return problems


def _number(cell) -> float | None:
    """A cell's number; None for a blank, text, a boolean or NaN (also written as text)."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        return None if math.isnan(cell) else float(cell)
    text = str(cell).strip().replace(",", "")
    try:
        number = float(text) if text else None
    except ValueError:
        return None
    return None if number is None or math.isnan(number) else number


def _csv_tables(path: Path, logged: set[str] | None) -> list[tuple[str, list[list]]]:
    """The CSV's rows; only its header when the logs name none of its columns as counts (no cell would be read)."""
    with open(path, newline="", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return [("", [])]
        if logged is not None and not any(_header_key(name) in logged for name in header):
            return [("", [header])]
        return [("", [header, *reader])]


def _xlsx_tables(path: Path) -> list[tuple[str, list[list]]]:
    """Every sheet's cell values (calamine: a reader independent of the writer, and fast)."""
    book = CalamineWorkbook.from_path(str(path))
    try:
        return [(name, book.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in book.sheet_names]
    finally:
        book.close()


class _TableParser(html.parser.HTMLParser):
    """Every <table> of an HTML page as rows of cell texts (header cells included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list]]] = []
        self._row: list | None = None
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append((dict(attrs).get("id", ""), []))
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1][1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL | re.IGNORECASE)


def _html_tables(text: str) -> list[tuple[str, list[list]]]:
    """Every table of the page; its charts (inline SVG, most of a page's text) are not parsed unless one holds a
    table."""
    parser = _TableParser()
    parser.feed(_SVG.sub(lambda chart: chart[0] if "<table" in chart[0].lower() else "", text))
    return parser.tables
