"""The generated files: structure as documented, defects recorded exactly where injected, determinism."""
from __future__ import annotations

import csv
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import pytest
from csc_demand.codes import ALL_FACTOR_CODES
from csc_demand.quality.catalog import RULES
from csc_demand.synth import generate
from csc_demand.synth.care import EPISODE_COLUMNS, HEADER_COLUMNS
from csc_demand.synth.defects import DEFECT_COLUMNS
from csc_demand.synth.npd import (
    CIN_COLUMNS,
    CPP_COLUMNS,
    EXCLUSION_COLUMNS,
    HISTORY_FROM_YEAR,
    KS4_COLUMNS,
    SEN_COLUMNS,
)
from csc_demand.synth.population import HISTORY_YEARS

SCALE, SEED, RATE, FIRST, LAST = 0.001, 20240601, 0.03, 2019, 2021
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DMY = re.compile(r"^\d{2}/\d{2}/\d{4}$")


@pytest.fixture(scope="module")
def synth_out(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    summary = generate(spark, out, SCALE, SEED, defects=RATE, first_year=FIRST, last_year=LAST)
    return out, summary


def _defects(out: Path) -> list[dict]:
    with open(out / "_truth" / "defects.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _whole_file_failures(out: Path) -> set[str]:
    return {d["source_file"] for d in _defects(out) if d["rule_id"] == "CSC-FILE"}


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_layout_has_one_file_per_la_and_year(synth_out):
    out, summary = synth_out
    las, years = summary["la_codes"], range(FIRST, LAST + 1)
    assert len(las) == 3
    expected = {f"cin_census/{y}/cin_{la}_{y}.xml" for y in years for la in las}
    expected |= {f"ssda903/{y}/ssda903_{la}_{y}_{part}.csv" for y in years for la in las
                 for part in ("header", "episodes")}
    expected |= {f"npd/{kind}_{y}.csv" for y in years for kind in ("cin", "cpp", "ks4", "exclusions", "sen")}
    expected |= {f"npd/{kind}_{y}.csv" for y in range(HISTORY_FROM_YEAR, FIRST) for kind in ("cin", "cpp")}
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not
               str(p.relative_to(out)).startswith("_")}
    assert written == expected
    assert json.loads((out / "_summary.json").read_text())["files"] == len(expected)


def test_every_cin_xml_parses_with_the_expected_structure(synth_out):
    out, summary = synth_out
    broken = _whole_file_failures(out)
    for path in sorted(out.glob("cin_census/*/*.xml")):
        rel = str(path.relative_to(out))
        if rel in broken:
            with pytest.raises(ET.ParseError):
                ET.parse(path)
            continue
        root = ET.parse(path).getroot()
        year, la = path.parent.name, path.stem.split("_")[1]
        assert root.tag == "Message"
        assert root.findtext("Header/CollectionDetails/Year") == year
        assert root.findtext("Header/CollectionDetails/ReferenceDate") == f"{year}-03-31"
        assert root.findtext("Header/Source/LEA") == la
        children = root.findall("Children/Child")
        assert children, rel
        ids = [c.findtext("ChildIdentifiers/LAchildID") for c in children]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for child in children:
            assert child.findtext("ChildIdentifiers/GenderCurrent") in ("1", "2")
            assert child.find("ChildCharacteristics/Ethnicity") is not None
            assert child.findall("ChildCharacteristics/Disabilities/Disability")
            for episode in child.findall("CINdetails"):
                assert ISO.match(episode.findtext("CINreferralDate"))
                assert episode.findtext("CINreferralDate") <= f"{year}-03-31"
                closure = episode.findtext("CINclosureDate")
                assert closure is None or f"{int(year) - 1}-04-01" <= closure <= f"{year}-03-31"
                assert episode.findtext("ReferralNFA") in ("true", "false")


def test_spark_xml_reader_reads_the_same_children(spark, synth_out):
    out, _ = synth_out
    path = next(p for p in sorted(out.glob("cin_census/*/*.xml"))
                if str(p.relative_to(out)) not in _whole_file_failures(out))
    by_etree = len(ET.parse(path).getroot().findall("Children/Child"))
    by_spark = spark.read.format("xml").option("rowTag", "Child").load(str(path)).count()
    assert by_spark == by_etree


@pytest.mark.parametrize("pattern, columns", [
    ("ssda903/*/*_header.csv", HEADER_COLUMNS), ("ssda903/*/*_episodes.csv", EPISODE_COLUMNS),
    ("npd/cin_*.csv", CIN_COLUMNS), ("npd/cpp_*.csv", CPP_COLUMNS), ("npd/ks4_*.csv", KS4_COLUMNS),
    ("npd/exclusions_*.csv", EXCLUSION_COLUMNS), ("npd/sen_*.csv", SEN_COLUMNS)])
def test_csv_files_have_the_documented_columns(synth_out, pattern, columns):
    out, _ = synth_out
    broken = _whole_file_failures(out)
    paths = [p for p in sorted(out.glob(pattern)) if str(p.relative_to(out)) not in broken]
    assert paths
    for path in paths:
        header, rows = _csv_rows(path)
        assert tuple(header) == columns, path
        assert all(len(r) == len(columns) for r in rows), path


def test_npd_history_years_hold_episodes_and_plans_without_assessments(synth_out):
    out, _ = synth_out
    assessment_fields = [CIN_COLUMNS.index(c) for c in ("AssessmentActualStartDate", "AssessmentAuthorisationDate",
                                                        "AssessmentFactors")]
    referral, closure = CIN_COLUMNS.index("CINreferralDate"), CIN_COLUMNS.index("CINclosureDate")
    plans = 0
    simulated_from = FIRST - HISTORY_YEARS  # collection year of the first simulated referral (population.py)
    for year in range(HISTORY_FROM_YEAR, FIRST):
        _, rows = _csv_rows(out / f"npd/cin_{year}.csv")
        assert bool(rows) == (year >= simulated_from), year
        assert all(row[i] == "" for row in rows for i in assessment_fields), year
        assert all(row[referral] <= f"{year}-03-31" for row in rows), year
        assert all(row[closure] == "" or f"{year - 1}-04-01" <= row[closure] <= f"{year}-03-31" for row in rows)
        plans += len(_csv_rows(out / f"npd/cpp_{year}.csv")[1])
    assert plans > 0
    # An episode open at the last history census is in the first collection year's extract too.
    open_then = {(r[1], r[referral]) for r in _csv_rows(out / f"npd/cin_{FIRST - 1}.csv")[1] if r[closure] == ""}
    in_first = {(r[1], r[referral]) for r in _csv_rows(out / f"npd/cin_{FIRST}.csv")[1]}
    assert open_then and open_then <= in_first


def test_903_dates_are_day_month_year_except_recorded_defects(synth_out):
    out, _ = synth_out
    bad_decom = {(d["source_file"], d["child_id"], d["record_date"]) for d in _defects(out)
                 if d["format"] == "ssda903" and d["rule_id"] == "CSC-DATE"}
    found = set()
    for path in out.glob("ssda903/*/*_episodes.csv"):
        if path.stat().st_size == 0:
            continue
        _, rows = _csv_rows(path)
        for row in rows:
            assert row[2] in ("S", "P", "L", "T", "U") and (row[7] == "" or DMY.match(row[7]))
            if not DMY.match(row[1]) or int(row[1][3:5]) > 12:
                found.add((str(path.relative_to(out)), row[0], row[1]))
    assert found == bad_decom


def _xml_rule_violations(out: Path) -> set[tuple]:
    """Re-derive the record-level rule violations from the XML alone (independent of the generator)."""
    found = set()
    broken = _whole_file_failures(out)
    known = set(ALL_FACTOR_CODES)
    for path in sorted(out.glob("cin_census/*/*.xml")):
        rel = str(path.relative_to(out))
        if rel in broken:
            continue
        for child in ET.parse(path).getroot().findall("Children/Child"):
            cid = child.findtext("ChildIdentifiers/LAchildID")
            plans = []
            for episode in child.findall("CINdetails"):
                referral = episode.findtext("CINreferralDate")
                for a in episode.findall("Assessments"):
                    start = a.findtext("AssessmentActualStartDate")
                    codes = [f.text for f in a.findall("FactorsIdentifiedAtAssessment/AssessmentFactors")]
                    rule = None
                    if not ISO.match(start) or int(start[5:7]) > 12:
                        rule = ("CSC-DATE", start)
                    elif start < referral:
                        rule = ("1103", start)
                    elif any(c not in known for c in codes):
                        rule = ("CSC-FACTOR", start)
                    elif "21" in codes and len(codes) > 1:
                        rule = ("8869", start)
                    elif len(codes) != len(set(codes)):
                        rule = ("8898", start)
                    if rule:
                        found.add((rel, cid, referral, "assessments") + rule)
                for p in episode.findall("ChildProtectionPlans"):
                    start = p.findtext("CPPstartDate")
                    if int(start[5:7]) > 12:
                        found.add((rel, cid, referral, "cp_plans", "CSC-DATE", start))
                    else:
                        plans.append((start, p.findtext("CPPendDate") or "9999-12-31", referral))
            plans.sort()
            for (_, e1, _), (s2, _, r2) in pairwise(plans):
                if s2 < e1:  # the later plan starts before the earlier one ends
                    found.add((rel, cid, r2, "cp_plans", "8940", s2))
    return found


def test_xml_rule_violations_are_exactly_the_recorded_defects(synth_out):
    out, _ = synth_out
    recorded = {(d["source_file"], d["child_id"], d["referral_date"], d["table"], d["rule_id"], d["record_date"])
                for d in _defects(out) if d["format"] == "cin_xml" and d["rule_id"] != "CSC-FILE"}
    assert len(recorded) >= 5  # the rate gives a handful of each kind at this scale
    assert _xml_rule_violations(out) == recorded


def test_defects_file_names_rules_and_whole_file_failures(synth_out):
    out, _ = synth_out
    rows = _defects(out)
    assert rows and set(rows[0]) == set(DEFECT_COLUMNS)
    assert {d["rule_id"] for d in rows} <= set(RULES)
    kinds = {d["defect"] for d in rows}
    assert {"truncated_file", "empty_file", "malformed_date"} <= kinds
    empty = [d for d in rows if d["defect"] == "empty_file"]
    assert len(empty) == 1 and (out / empty[0]["source_file"]).stat().st_size == 0


def test_same_seed_other_partitioning_gives_identical_files(spark, synth_out, tmp_path):
    out, _ = synth_out
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "5")
    try:
        generate(spark, tmp_path, SCALE, SEED, defects=RATE, first_year=FIRST, last_year=LAST)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)

    def digests(root: Path) -> dict:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
                if p.is_file() and (not str(p.relative_to(root)).startswith("_")
                                    or p.name == "defects.csv")}
    assert digests(tmp_path) == digests(out)


def test_summary_headline_is_near_the_national_shape(synth_out):
    """Loose bounds at this tiny scale (~1,300 assessments a year): shape, not precision."""
    _, summary = synth_out
    h = summary["headline"]
    assert 0.82 <= h["assessments_with_factors"] / h["assessments"] <= 0.90  # ~14% code 21 alone
    assert 0.06 <= h["nfa_share"] <= 0.11
    # DfE: 22-23% of referrals within 12 months of the previous one; ~20% of plans are second or later
    assert abs(h["rereferral_12m_dfe"] - 0.225) < 0.03
    assert abs(h["repeat_cpp_share"] - 0.20) < 0.05
    assert abs(h["class_sizes_realised"]["domestic_abuse_single"] - 0.197) < 0.04
    assert abs(h["class_sizes_realised"]["parental_mental_health_complex"] - 0.184) < 0.04
    for year, entry in summary["factor_marginals_vs_dfe_c3"].items():
        assert 2.5 <= entry["factors_per_assessment"] <= 2.95, year
    rates = h["per_class_rates"]
    # built-in orderings: complex classes escalate to CP plans more than single-factor DA or disability
    assert rates["complex_domestic_abuse"]["cp_plan"] > rates["domestic_abuse_single"]["cp_plan"]
    assert rates["risks_outside_home"]["care"] > rates["disability"]["care"]


def test_truth_names_a_class_exactly_for_assessments_with_one(synth_out):
    """Code 21 alone has no class: class_id and class_name are both null; every other assessment names its class
    (the name at its id in params.json)."""
    import pyarrow.parquet as pq

    out, _ = synth_out
    names = json.loads((out / "_truth" / "params.json").read_text())["class_names"]
    rows = pq.read_table(out / "_truth" / "assessments.parquet", columns=["class_id", "class_name",
                                                                          "factor_codes"]).to_pylist()
    unclassed = [r for r in rows if r["class_id"] is None]
    assert unclassed and all(r["class_name"] is None and r["factor_codes"] == "21" for r in unclassed)
    assert all(r["class_name"] == names[r["class_id"]] for r in rows if r["class_id"] is not None)
