"""NPD-style national flat extracts (docs/formats.md): CIN episodes with assessments, CP plans, and the
school files (KS4, exclusions, SEN) for every pupil of each KS4 cohort.

The CIN and CP extracts start in 2008-09 (``HISTORY_FROM_YEAR``), as the real NPD CIN census does, whatever the
first collection year of the LA returns: the years before it are history (episodes and plans, no assessments),
so education involvement and look-backs see a child's earlier involvement.

The CIN and CP lines are built as the CIN XML is (``cin_xml``), in the same Spark task per LA over the annual
snapshots (``cin_returns``): the task injects the NPD defects, builds the LA's lines with pyarrow's string kernels
and writes them, sorted, as one part file per extract and year; the driver then joins each year's header and parts
into the national file. No text goes through a shuffle. The school files are small and still go through
``textfiles``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.synth import defects as D
from csc_demand.synth.cin_xml import SEX_FROM_YEAR, gender_current
from csc_demand.synth.columns import csv_fields, flag, iso, text_bytes
from csc_demand.synth.draws import Draws
from csc_demand.synth.textfiles import BODY, HEADER, lines, write_files

CIN_COLUMNS = ("PupilMatchingRefAnonymous", "LAchildID_Anon", "LA", "ACADYR", "MonthOfBirth", "YearOfBirth",
               "Gender", "Ethnicity", "Disability", "CINreferralDate", "ReferralSource", "PrimaryNeedCode",
               "CINclosureDate", "ReasonForClosure", "ReferralNFA", "AssessmentActualStartDate",
               "AssessmentAuthorisationDate", "AssessmentFactors")
CPP_COLUMNS = ("PupilMatchingRefAnonymous", "LAchildID_Anon", "LA", "ACADYR", "CINreferralDate", "CPPstartDate",
               "CPPendDate", "InitialCategoryOfAbuse", "LatestCategoryOfAbuse", "NumberOfPreviousCPP")
KS4_COLUMNS = ("PupilMatchingRefAnonymous", "ACADYR", "KS4_ATT8", "KS4_P8")
EXCLUSION_COLUMNS = ("PupilMatchingRefAnonymous", "ACADYR", "SUSPENSIONS", "PERMANENT_EXCLUSION")
SEN_COLUMNS = ("PupilMatchingRefAnonymous", "ACADYR", "SENprovision")
HISTORY_FROM_YEAR = 2009  # collection year 2008-09: the first NPD CIN census
# The snapshot columns the CIN and CP extracts show.
SNAPSHOT_COLUMNS = ("file_year", "la_code", "la_child_id", "pmr", "birth_date", "sex", "ethnicity", "disabilities",
                    "child_id", "round", "class_id", "referral_date", "referral_source", "primary_need",
                    "closure_shown", "closure_reason_shown", "referral_nfa", "a1_in", "a1_start", "a1_auth",
                    "a1_auth_shown", "a1_codes_shown", "a2_in", "a2_start", "a2_auth_shown", "a2_codes_shown",
                    "cp_in", "cp_start", "cp_end_shown", "cp_initial_category", "cp_latest_category", "cp_previous")


def npd_path(kind: str, year: int | str) -> str:
    return f"npd/{kind}_{year}.csv"


def acadyr(year: Column) -> Column:
    """2015 -> '2014/15'."""
    return F.concat((year - 1).cast("string"), F.lit("/"), F.substring(year.cast("string"), 3, 2))


def _header(spark: SparkSession, years: list[int], columns: tuple) -> DataFrame:
    keys = spark.createDataFrame([(y,) for y in years], "file_year int")
    return lines(keys, F.col("file_year"), HEADER, F.lit(""), F.lit(",".join(columns)))


def write_table(spark: SparkSession, body: DataFrame, years: list[int], columns: tuple, kind: str,
                out_dir: Path, work_dir: Path) -> list[str]:
    """body: rows with file_year, sort_key and a 'line'; one csv per year with a header row."""
    rows = lines(body, F.col("file_year"), BODY, F.col("sort_key"), F.col("line")).unionByName(
        _header(spark, years, columns))
    return write_files(rows, out_dir, work_dir, f"npd_{kind}", lambda y: npd_path(kind, y))


def without_assessments(snap: pa.Table, first_year: int) -> pa.Table:
    """The snapshot rows with the history years' (before ``first_year``) assessments removed: those years show
    episodes and CP plans only, and assessments (and their factors) stay in the collection years, so the model and
    the trends see the same assessments whatever the history."""
    collection = pc.greater_equal(snap.column("file_year"), first_year)
    for name in ("a1_in", "a2_in"):
        snap = snap.set_column(snap.schema.get_field_index(name), name, pc.and_(snap.column(name), collection))
    return snap


def academic_year(year: pa.Array) -> pa.Array:
    """2015 -> '2014/15' (``acadyr``)."""
    text = pc.cast(year, pa.string())
    return pc.binary_join_element_wise(pc.cast(pc.subtract(year, 1), pa.string()),
                                       pc.utf8_slice_codeunits(text, 2, 4), "/")


def sort_key(*columns: pa.Array) -> pa.Array:
    """A sort key: the values joined by '|' (SQL's concat_ws)."""
    return pc.binary_join_element_wise(*columns, "|", null_handling="skip")


def cin_lines(c: dict, seed: int, rate: float, first_year: int) -> tuple[np.ndarray, pa.Array, pa.Array, pa.Table]:
    """One CIN line per (episode, assessment) of the snapshot rows in ``c`` (column -> array), or one with empty
    assessment fields for an episode without one, NPD defects injected: the lines' years, sort keys (LA, child,
    referral date, assessment number) and lines, and the defects' truth rows."""
    u = Draws(seed, c["child_id"].to_numpy(), c["round"].to_numpy().astype(np.int32))
    kind, a1_start, a1_codes = D.first_assessment(c, u, rate, "npd", D.NPD_ASSESSMENT_KINDS, first_year)
    year, birth, sex = c["file_year"], c["birth_date"], c["sex"]
    episode = csv_fields(
        c["pmr"], c["la_child_id"], c["la_code"], academic_year(year), pc.month(birth), pc.year(birth),
        pc.if_else(pa.array(year.to_numpy() >= SEX_FROM_YEAR), sex, gender_current(sex)), c["ethnicity"],
        pc.binary_join(c["disabilities"], ";"), iso(c["referral_date"]), c["referral_source"], c["primary_need"],
        iso(c["closure_shown"]), c["closure_reason_shown"], pc.cast(c["referral_nfa"], pa.int32()))
    episode_key = sort_key(c["la_code"], c["la_child_id"], iso(c["referral_date"]))

    a1_in, a2_in = flag(c["a1_in"]), flag(c["a2_in"])
    rows = [np.flatnonzero(a1_in), np.flatnonzero(a2_in), np.flatnonzero(~a1_in & ~a2_in)]
    row = pa.array(np.concatenate(rows))

    def assessments(first: pa.Array, second: pa.Array) -> pa.Array:
        """A field of the first assessments, then of the second ones, then null for the episodes with neither."""
        return pa.concat_arrays([first.take(rows[0]), second.take(rows[1]), pa.nulls(len(rows[2]), pa.string())])
    line = csv_fields(episode.take(row), assessments(a1_start, iso(c["a2_start"])),
                      assessments(iso(c["a1_auth_shown"]), iso(c["a2_auth_shown"])),
                      assessments(pc.binary_join(a1_codes, ";"), pc.binary_join(c["a2_codes_shown"], ";")))
    number = pa.array(np.repeat(["1", "2", "0"], [len(r) for r in rows]), pa.string())
    shown_kind = np.where(a1_in, kind, np.full(len(kind), None))  # a first assessment not shown has no line
    truth = D.first_assessment_truth(c, shown_kind, "npd", lambda la, y: npd_path("cin", y), a1_start, a1_codes)
    return year.take(row).to_numpy(), sort_key(episode_key.take(row), number), line, truth


def cpp_lines(c: dict) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """One CP line per plan shown in the snapshot rows in ``c``: the years, sort keys (LA, child, plan start) and
    lines."""
    p = {name: column.take(pa.array(np.flatnonzero(flag(c["cp_in"])))) for name, column in c.items()}
    line = csv_fields(p["pmr"], p["la_child_id"], p["la_code"], academic_year(p["file_year"]),
                      iso(p["referral_date"]), iso(p["cp_start"]), iso(p["cp_end_shown"]), p["cp_initial_category"],
                      p["cp_latest_category"], p["cp_previous"])
    return p["file_year"].to_numpy(), sort_key(p["la_code"], p["la_child_id"], iso(p["cp_start"])), line


def write_parts(folder: Path, la_code: str, years: np.ndarray, sort_keys: pa.Array, text: pa.Array) -> None:
    """The LA's lines of each year, sorted by key (as Spark sorts strings: by UTF-8 bytes), as folder/year/LA.txt."""
    order = pc.sort_indices(pa.table({"year": years, "key": sort_keys, "line": text}),
                            sort_keys=[("year", "ascending"), ("key", "ascending"), ("line", "ascending")])
    years, text = years[order.to_numpy()], text.take(order)
    for year in np.unique(years):
        path = folder / str(year) / f"{la_code}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text_bytes(text.filter(pa.array(years == year))))


def join_parts(out_dir: Path, path: str, columns: tuple, folder: Path) -> str:
    """The national file: header line, then the LAs' parts in the order of their sort keys ('LA|...': the LA
    codes hold no '|', so a shorter code that begins a longer one sorts after it, as '|' comes after the digits)."""
    target = out_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = sorted(folder.glob("*.txt"), key=lambda part: (part.stem + "|").encode())
    with open(target, "wb") as sink:
        sink.write((",".join(columns) + "\n").encode())
        for part in parts:
            with open(part, "rb") as source:
                shutil.copyfileobj(source, sink)
    return path


def la_extracts(snap: pa.Table, seed: int, rate: float, first_year: int, parts: Path) -> pa.Table:
    """Write one LA's CIN and CP lines from its snapshot rows (SNAPSHOT_COLUMNS) of every NPD year as part files
    under ``parts``; return the truth rows of the defects injected."""
    snap = without_assessments(snap, first_year)
    c = {name: snap.column(name).combine_chunks() for name in SNAPSHOT_COLUMNS}
    la_code = c["la_code"][0].as_py()
    years, sort_keys, cin, truth = cin_lines(c, seed, rate, first_year)
    write_parts(parts / "cin", la_code, years, sort_keys, cin)
    write_parts(parts / "cpp", la_code, *cpp_lines(c))
    return truth


def join_extracts(out_dir: Path, years: list[int], parts: Path) -> list[str]:
    """The national CIN and CP file of every year in ``years`` from the LAs' part files under ``parts`` (then
    removed); returns the paths written."""
    files = [join_parts(out_dir, npd_path(kind, year), columns, parts / kind / str(year))
             for kind, columns in (("cin", CIN_COLUMNS), ("cpp", CPP_COLUMNS)) for year in years]
    shutil.rmtree(parts, ignore_errors=True)
    return files
