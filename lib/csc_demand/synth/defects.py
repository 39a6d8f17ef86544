"""Injected faults: which record gets which defect, in which one file, what is written, and the truth row.

A defective record carries exactly one defect, in one file copy only (the first annual return that shows the
record), so exactly one quarantine rule fires for it. ``rate`` is the chance that a candidate record (assessment,
CP plan, 903 episode) is defective; the kinds share it equally.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csc_demand.quality.catalog import RULES
from csc_demand.synth.columns import days, flag, iso, malformed_iso
from csc_demand.synth.draws import Draws, collection_year

DEFECT_RULES = {
    "malformed_date": "CSC-DATE", "unknown_factor_code": "CSC-FACTOR", "code_21_with_others": "8869",
    "duplicate_factor_code": "8898", "assessment_before_referral": "1103", "overlapping_cp_plan": "8940",
    "truncated_file": "CSC-FILE", "empty_file": "CSC-FILE",
}
assert set(DEFECT_RULES.values()) <= set(RULES)
UNKNOWN_FACTOR_CODE = "25Z"
XML_ASSESSMENT_KINDS = ("malformed_date", "assessment_before_referral", "unknown_factor_code",
                        "code_21_with_others", "duplicate_factor_code")
NPD_ASSESSMENT_KINDS = ("malformed_date", "unknown_factor_code")
CP_KINDS = ("malformed_date", "overlapping_cp_plan")
DEFECT_COLUMNS = ("defect", "rule_id", "format", "source_file", "la_code", "collection_year", "child_id",
                  "referral_date", "table", "record_date", "detail")
START_KINDS = ("malformed_date", "assessment_before_referral")
DEFECT_SCHEMA = pa.schema([(c, pa.int32() if c == "collection_year" else pa.string()) for c in DEFECT_COLUMNS])


# ---- numpy: the defects of one LA's snapshot rows (column -> array), for the writers that run a task per LA -------

def first_file(year: np.ndarray, event: np.ndarray, first_year: int) -> np.ndarray:
    """The record's first return: the file year that first shows an event dated ``event`` (days)."""
    return year == np.maximum(collection_year(event), first_year)


def pick_kind(u: np.ndarray, rate: float, kinds: tuple, allowed: dict) -> np.ndarray:
    """kinds[i] for u in the i-th slice of [0, rate), when that kind is allowed on this row; else None."""
    hits = [(u >= rate * i / len(kinds)) & (u < rate * (i + 1) / len(kinds)) & allowed[kind]
            for i, kind in enumerate(kinds)]
    return np.array([*kinds, None], dtype=object)[np.select(hits, range(len(kinds)), -1)]


def written_codes(kind: str, codes: list[str]) -> list[str]:
    """One record's factor codes as written with a factor-code defect of this kind."""
    if kind == "unknown_factor_code":
        return [*codes[:-1], UNKNOWN_FACTOR_CODE]
    return [*codes, "21" if kind == "code_21_with_others" else codes[0]]


def first_assessment(c: dict, u: Draws, rate: float, fmt: str, kinds: tuple,
                     first_year: int) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Each row's first-assessment defect (one of ``kinds``, None = clean), its start date and its factor codes
    as written. Start-date defects go in the return that first shows the start, factor defects in the one that
    first shows the authorisation (and so the codes); ``fmt`` keeps each format's draws apart."""
    year = c["file_year"].to_numpy()
    a1_start = days(c["a1_start"])
    start_file = flag(c["a1_in"]) & first_file(year, a1_start, first_year)
    factor_file = (flag(pc.is_valid(c["a1_codes_shown"])) & flag(pc.is_valid(c["class_id"]))
                   & first_file(year, days(c["a1_auth"]), first_year))
    kind = pick_kind(u("defect-assessment", fmt), rate, kinds,
                     {k: start_file if k in START_KINDS else factor_file for k in kinds})
    before = days(c["referral_date"]) - 1 - np.floor(u("defect-before") * 20).astype(np.int64)
    start = pc.if_else(pa.array(kind == "malformed_date"), malformed_iso(a1_start),
                       pc.if_else(pa.array(kind == "assessment_before_referral"), iso(before), iso(c["a1_start"])))
    codes = c["a1_codes_shown"]
    edit = np.flatnonzero(np.isin(kind, [k for k in kinds if k not in START_KINDS]))
    written = [written_codes(kind[i], codes[i].as_py()) for i in edit]
    pointer = np.arange(len(year))
    pointer[edit] = len(year) + np.arange(len(edit))
    return kind, start, pa.concat_arrays([codes, pa.array(written, codes.type)]).take(pointer)


def truth_rows(c: dict, kind: np.ndarray, fmt: str, source_file: Callable[[str, int], str], table: str,
               record_date: pa.Array, detail: pa.Array) -> pa.Table:
    """Truth rows (DEFECT_SCHEMA) of the rows where kind is set; ``source_file`` of (LA code, year)."""
    rows = pa.array(np.flatnonzero(kind.astype(bool)))  # None: clean
    year = c["file_year"].take(rows)
    defect = kind[rows.to_numpy()]
    return pa.table({
        "defect": pa.array(defect, pa.string()), "rule_id": pa.array([DEFECT_RULES[k] for k in defect], pa.string()),
        "format": pa.array([fmt] * len(rows), pa.string()),
        "source_file": pa.array([source_file(la, y) for la, y in zip(c["la_code"].take(rows).to_pylist(),
                                                                      year.to_pylist(), strict=True)], pa.string()),
        "la_code": c["la_code"].take(rows), "collection_year": year.cast(pa.int32()),
        "child_id": c["la_child_id"].take(rows), "referral_date": iso(c["referral_date"].take(rows)),
        "table": pa.array([table] * len(rows), pa.string()), "record_date": record_date.take(rows),
        "detail": detail.take(rows)}, schema=DEFECT_SCHEMA)


def first_assessment_truth(c: dict, kind: np.ndarray, fmt: str, source_file: Callable[[str, int], str],
                           start: pa.Array, codes: pa.Array) -> pa.Table:
    """Truth rows of the first-assessment defects: the start date and the factor codes as written."""
    return truth_rows(c, kind, fmt, source_file, "assessments", start, pc.binary_join_element_wise(
        "first assessment; factor codes as written: ", pc.binary_join(codes, ";"), ""))

