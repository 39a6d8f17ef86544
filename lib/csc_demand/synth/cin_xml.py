"""CIN census XML: one file per LA per collection year (DOMAIN.md section 4, docs/formats.md).

One Spark task per LA (``cin_returns``: the annual snapshots grouped by LA) injects the XML defects, builds
each Child element as one line of text with pyarrow's string kernels (values are codes and dates only, so nothing
needs escaping), children sorted by LAchildID, episodes by referral date, and writes the LA's files straight to
their final paths (the output folder is shared by driver and executors): no XML text goes through a shuffle.
``la_returns`` returns the truth rows of the defects it injected. Draws are ``hashing`` uniforms, as
``rand.uniform`` of (seed, child, round, purpose) gives them in the Spark steps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csc_demand.synth import defects as D
from csc_demand.synth.columns import concat, days, first_of_each, flag, iso, malformed_iso, text_bytes, when
from csc_demand.synth.draws import Draws, list_array

SEX_FROM_YEAR = 2025  # GenderCurrent 1/2 up to 2023-24 returns, Sex M/F/U from 2024-25
UPN_FROM_AGE = 4
# The snapshot columns the returns show.
COLUMNS = ("file_year", "ref_date", "la_code", "la_child_id", "upn", "birth_date", "sex", "ethnicity",
           "disabilities", "child_id", "round", "class_id", "referral_date", "referral_source", "primary_need",
           "closure_shown", "closure_reason_shown", "referral_nfa", "a1_in", "a1_start", "a1_auth", "a1_auth_shown",
           "a1_codes_shown", "a2_in", "a2_start", "a2_auth_shown", "a2_codes_shown", "cin_plan_in",
           "cin_plan_start", "cin_plan_end_shown", "s47_in", "s47_start", "icpc_shown", "cp", "cp_in", "cp_start",
           "cp_end", "cp_end_shown", "cp_initial_category", "cp_latest_category", "cp_previous", "cp_reviews_shown")


def cin_path(la_code, year) -> str:
    return f"cin_census/{year}/cin_{la_code}_{year}.xml"


# ---- XML text, column by column: a null value drops its element, a null part is left out of a group -----------

def el(tag: str, value: pa.Array) -> pa.Array:
    """<tag>value</tag>, or null when value is null."""
    return pc.binary_join_element_wise(f"<{tag}>", value, f"</{tag}>", "")


def group(tag: str, *parts) -> pa.Array:
    return concat(f"<{tag}>", *parts, f"</{tag}>")


def repeated(tag: str, lists: pa.Array) -> pa.Array:
    """<tag>item</tag> for each item of each list, joined; null for a null list."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    return pc.binary_join(list_array(lengths, el(tag, pc.list_flatten(lists)), flag(pc.is_valid(lists))), "")


def gender_current(sex: pa.Array) -> pa.Array:
    """The GenderCurrent code of returns before SEX_FROM_YEAR: 1 male, 2 female."""
    return pc.if_else(pc.equal(sex, "M"), "1", "2")


def _bool(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.fill_null(values, False), "true", "false")


def _cp_plan(c: dict, start_written: pa.Array, start: np.ndarray, previous: pa.Array) -> pa.Array:
    """A ChildProtectionPlans element; its reviews are the shown ones on or after ``start``."""
    reviews = pc.list_flatten(c["cp_reviews_shown"])
    row = pc.list_parent_indices(c["cp_reviews_shown"]).to_numpy()
    keep = days(reviews) >= start[row]
    counts = np.bincount(row[keep], minlength=len(start))
    shown = list_array(counts, iso(reviews.filter(pa.array(keep))))
    return group("ChildProtectionPlans", el("CPPstartDate", start_written), el("CPPendDate", iso(c["cp_end_shown"])),
                 el("InitialCategoryOfAbuse", c["cp_initial_category"]),
                 el("LatestCategoryOfAbuse", c["cp_latest_category"]),
                 el("NumberOfPreviousCPP", pc.cast(previous, pa.string())),
                 when(counts > 0, group("Reviews", repeated("CPPreviewDate", shown))))


def _assessment(c: dict, n: int, start_written: pa.Array, codes: pa.Array) -> pa.Array:
    factors = when(flag(pc.is_valid(codes)),
                   group("FactorsIdentifiedAtAssessment", repeated("AssessmentFactors", codes)))
    return when(flag(c[f"a{n}_in"]), group(
        "Assessments", el("AssessmentActualStartDate", start_written),
        el("AssessmentAuthorisationDate", iso(c[f"a{n}_auth_shown"])), factors))


def episode_fragments(c: dict, seed: int, rate: float, first_year: int) -> tuple[pa.Array, pa.Table]:
    """The CINdetails fragment of each snapshot row in ``c`` (column -> array), with defects injected, and the
    truth rows of those defects."""
    year = c["file_year"].to_numpy()
    ref, cp_start, cp_end = days(c["ref_date"]), days(c["cp_start"]), days(c["cp_end"])
    cp_in = flag(c["cp_in"])
    u = Draws(seed, c["child_id"].to_numpy(), c["round"].to_numpy().astype(np.int32))
    a_kind, a1_start_written, a1_codes = D.first_assessment(c, u, rate, "cin_xml", D.XML_ASSESSMENT_KINDS, first_year)

    # ---- the CP plan's defect: a malformed start date, or an injected plan overlapping it ------------------------
    overlap = cp_start + 1 + np.floor(u("defect-cp-start") * 20).astype(np.int64)
    in_first = cp_in & D.first_file(year, cp_start, first_year)
    cp_kind = D.pick_kind(u("defect-cp"), rate, D.CP_KINDS, {
        "malformed_date": in_first, "overlapping_cp_plan": in_first & (cp_end - cp_start > 25) & (overlap <= ref)})
    overlapping = cp_kind == "overlapping_cp_plan"
    cp_start_written = pc.if_else(pa.array(cp_kind == "malformed_date"), malformed_iso(cp_start), iso(c["cp_start"]))
    cp_plans = when(cp_in, concat(
        _cp_plan(c, cp_start_written, cp_start, c["cp_previous"]),
        when(overlapping, _cp_plan(c, iso(overlap), overlap, pc.add(c["cp_previous"], 1)))))

    s47_start = days(c["s47_start"])
    s47 = when(flag(c["s47_in"]), group(
        "Section47", el("S47ActualStartDate", iso(c["s47_start"])), el("InitialCPCtarget", iso(s47_start + 21)),
        el("DateOfInitialCPC", iso(c["icpc_shown"])), el("ICPCnotRequired", _bool(pc.invert(c["cp"])))))
    cin_plan = when(flag(c["cin_plan_in"]), group(
        "CINPlanDates", el("CINPlanStartDate", iso(c["cin_plan_start"])),
        el("CINPlanEndDate", iso(c["cin_plan_end_shown"]))))
    fragment = group(
        "CINdetails", el("CINreferralDate", iso(c["referral_date"])), el("ReferralSource", c["referral_source"]),
        el("PrimaryNeedCode", c["primary_need"]), el("CINclosureDate", iso(c["closure_shown"])),
        el("ReasonForClosure", c["closure_reason_shown"]), el("ReferralNFA", _bool(c["referral_nfa"])),
        _assessment(c, 1, a1_start_written, a1_codes), _assessment(c, 2, iso(c["a2_start"]), c["a2_codes_shown"]),
        cin_plan, s47, cp_plans)

    truth = pa.concat_tables([
        D.first_assessment_truth(c, a_kind, "cin_xml", cin_path, a1_start_written, a1_codes),
        D.truth_rows(c, cp_kind, "cin_xml", cin_path, "cp_plans",
                     pc.if_else(pa.array(overlapping), iso(overlap), cp_start_written),
                     pc.if_else(pa.array(overlapping), pc.binary_join_element_wise(
                         "injected plan overlaps the plan starting ", iso(c["cp_start"]), ""),
                         "CPPstartDate malformed"))])
    return fragment, truth


def child_lines(c: dict, fragments: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """One Child element per (year, child) of rows sorted by year, LAchildID and referral date: the years and lines.
    (A child's referral dates differ, so this is the order of Spark's sort by (referral date, fragment).)"""
    year = c["file_year"].to_numpy()
    child = c["la_child_id"]
    starts = np.flatnonzero(first_of_each(year, child))
    first = pa.array(starts)
    episodes_xml = pc.binary_join(list_array(np.diff(np.append(starts, len(year))), fragments), "")
    k = {name: c[name].take(first) for name in ("la_child_id", "upn", "birth_date", "sex", "ethnicity",
                                                  "disabilities")}
    age = (days(c["ref_date"].take(first)) - days(k["birth_date"])) / 365.25
    sex_tag = year[starts] >= SEX_FROM_YEAR
    gender = pc.if_else(pa.array(sex_tag), el("Sex", k["sex"]), el("GenderCurrent", gender_current(k["sex"])))
    line = concat(
        "<Child>",
        group("ChildIdentifiers", el("LAchildID", k["la_child_id"]), when(age >= UPN_FROM_AGE, el("UPN", k["upn"])),
              el("PersonBirthDate", iso(k["birth_date"])), gender),
        group("ChildCharacteristics", el("Ethnicity", k["ethnicity"]),
              group("Disabilities", repeated("Disability", k["disabilities"]))),
        episodes_xml, "</Child>")
    return year[starts], line


def _header(la_code: str, year: int) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Message><Header><CollectionDetails><Collection>CIN</Collection>'
            f"<Year>{year}</Year><ReferenceDate>{year}-03-31</ReferenceDate></CollectionDetails><Source>"
            f"<SourceLevel>L</SourceLevel><LEA>{la_code}</LEA><SoftwareCode>csc-demand-synth</SoftwareCode>"
            f"<Release>1</Release><SerialNo>1</SerialNo><DateTime>{year}-05-01T00:00:00</DateTime></Source>"
            "</Header>\n<Children>")


def write_la(out_dir: Path, la_code: str, years: list[int], years_of_lines: np.ndarray, lines: pa.Array) -> None:
    """The LA's file of each year: header, its Child lines in order, footer (a line each)."""
    for year in years:
        path = out_dir / cin_path(la_code, year)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as file:
            file.write((_header(la_code, year) + "\n").encode())
            file.write(text_bytes(lines.filter(pa.array(years_of_lines == year))))
            file.write(b"</Children>\n</Message>\n")


def la_returns(snap: pa.Table, seed: int, rate: float, years: list[int], out_dir: Path) -> pa.Table:
    """Write one LA's returns from its snapshot rows (COLUMNS); return the truth rows of the defects injected."""
    snap = snap.sort_by([("file_year", "ascending"), ("la_child_id", "ascending"), ("referral_date", "ascending")])
    c = {name: snap.column(name).combine_chunks() for name in COLUMNS}
    fragments, truth = episode_fragments(c, seed, rate, years[0])
    years_of_lines, lines = child_lines(c, fragments)
    write_la(out_dir, c["la_code"][0].as_py(), years, years_of_lines, lines)
    return truth


def empty_returns(out_dir: Path, la_codes: list[str], years: list[int]) -> list[str]:
    """Every LA's file paths, after writing empty returns for an LA whose task wrote none (no episode in the
    collection years: tiny scales)."""
    for la_code in la_codes:
        if not (out_dir / cin_path(la_code, years[0])).exists():
            write_la(out_dir, la_code, years, np.array([], dtype=np.int32), pa.array([], pa.string()))
    return [cin_path(la, y) for y in years for la in la_codes]
