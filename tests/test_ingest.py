"""`csc-demand ingest` on tiny hand-written files (tests/fixtures/ingest): one ingest per module, run twice.

Every expectation below was worked out by hand from the fixture files; child keys are recomputed with hashlib
(an independent implementation of the keyed pseudonym).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from csc_demand import cli, codes
from csc_demand.config import DisclosureConf
from csc_demand.io import delta
from csc_demand.io.bronze import BRONZE_TABLE
from csc_demand.io.discover import KINDS
from csc_demand.quality.catalog import RULES
from csc_demand.report.data_quality import write_restricted_workbook
from csc_demand.report.identifiers import IDENTIFIER_COLUMNS, lakehouse_identifiers, table_identifiers
from csc_demand.report.publish import scan_outputs
from csc_demand.transform.silver_tables import validated_records
from delta.tables import DeltaTable
from helpers.lakehouse import lakehouse_config
from pyspark.sql import functions as F

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
SILVER = ["children", "referrals", "assessments", "assessment_factors", "cp_plans", "cin_plans", "section47",
          "care_episodes", "care_periods", "school_ks4", "school_exclusions", "school_sen", "school_outcomes",
          "quarantine"]
RAW_IDS = ["C001", "C002", "C003", "C004", "C005", "C010", "X002", "Z1", "T001", "D001", "N001", "N002", "N003",
           "N004", "N006", "P001", "P002", "P003", "P004", "P005", "P006", "A123456789012", "B123456789012",
           "C123456789012"]
X15, X16, X25 = ("la/cin_census/2015/cin_201_2015.xml", "la/cin_census/2016/cin_201_2016.xml",
                 "la/cin_census/2025/cin_202_2025.xml")
E15 = "la/ssda903/2015/ssda903_201_2015_episodes.csv"
NPD_CIN, NPD_CPP = "national/npd/cin_2016.csv", "national/npd/cpp_2016.csv"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class Run:
    def __init__(self, spark, cfg, lakehouse: Path):
        self.spark, self.cfg, self.lakehouse = spark, cfg, lakehouse
        self.key = cfg.resolve_pseudonym_key()
        self.codes: list[int] = []
        self.snapshots: list[dict] = []

    def ingest(self) -> None:
        self.codes.append(cli.main(["ingest", "--source", str(FIXTURES), "--lakehouse", str(self.lakehouse),
                                    "--set", f"pseudonym_key={self.cfg.pseudonym_key}"]))
        self.snapshots.append({**{t: sorted(map(repr, self.rows(t))) for t in SILVER},
                               **{f"bronze.{t}": sorted(map(repr, self.rows(t, "bronze")))
                                  for t in ("cin_census", "files")}})

    def summaries(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.lakehouse / "_runs").glob("ingest-*.json"))]

    def table(self, name: str, layer: str = "silver"):
        return delta.read_table(self.spark, self.cfg, layer, name)

    def rows(self, name: str, layer: str = "silver"):
        return self.table(name, layer).collect()

    def child_key(self, la: str, child_id: str) -> str:
        return hmac.new(self.key.encode(), f"{la}|{child_id}".encode(), hashlib.sha256).hexdigest()

    def pupil_key(self, tag: str, pupil_id: str) -> str:
        return hmac.new(self.key.encode(), f"{tag}|{pupil_id}".encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def run(spark, tmp_path_factory) -> Run:
    lakehouse = tmp_path_factory.mktemp("ingest") / "lakehouse"
    result = Run(spark, lakehouse_config(lakehouse), lakehouse)
    result.ingest()
    result.ingest()
    return result


def test_unreadable_files_are_named_with_a_reason_and_the_run_exits_1(run):
    assert run.codes == [1, 1]
    summary = run.summaries()[0]
    assert summary["metrics"]["files_failed"] == 4
    assert summary["metrics"]["failed_files"] == [
        "la/cin_census/2016/cin_203_2016.xml: not well-formed XML (truncated?): no element found: line 1, column 269",
        "la/cin_census/2016/cin_205_2016.xml: empty file (0 bytes)",
        "la/cin_census/2016/cin_206_2016.xml: root element is <Report>, expected <Message>",
        "la/ssda903/2016/ssda903_207_2016_episodes.csv: last line has a different number of fields than the header "
        "(13): the file looks truncated",
    ]
    assert summary["metrics"]["files_unrecognised"] == ["national/npd/readme.txt"]  # _truth/ skipped silently
    failed = {r["source_file"]: r["status"] for r in run.rows("files", "bronze") if r["status"] == "failed"}
    assert set(failed) == {"la/cin_census/2016/cin_203_2016.xml", "la/cin_census/2016/cin_205_2016.xml",
                           "la/cin_census/2016/cin_206_2016.xml", "la/ssda903/2016/ssda903_207_2016_episodes.csv"}


def test_xml_with_and_without_declaration_and_byte_order_mark_all_load(run):
    per_file = {r["source_file"]: (r["la_code"], r["collection_year"], r["count"])
                for r in run.table("cin_census", "bronze").groupBy("source_file", "la_code", "collection_year")
                .count().collect()}
    assert per_file == {X15: ("201", 2015, 5),                                      # declaration only
                        X16: ("201", 2016, 2),                                      # BOM + declaration
                        X25: ("202", 2025, 2),                                      # BOM only, Sex M/F
                        "la/cin_census/2015/cin_208_2015.xml": ("208", 2015, 1)}    # neither, one line


# rule -> quarantined (table, source_file, LA, raw child id or None); every other record of the fixture passes it
EXPECTED_QUARANTINE = {
    "8500": [("children", X15, "201", None), ("referrals", X15, "201", None)],
    "CSC-DATE": [("referrals", X15, "201", "C003"), ("assessments", X15, "201", "C002"),
                 ("care_episodes", E15, "201", "C001"), ("referrals", NPD_CIN, "301", "N003")],
    "8869": [("assessments", X15, "201", "C002")],
    "8898": [("assessments", X15, "201", "C002"), ("assessments", NPD_CIN, "301", "N004")],
    "CSC-FACTOR": [("assessments", X15, "201", "C002")],
    "1103": [("assessments", X15, "201", "C002")],
    "1105": [("cp_plans", X15, "201", "C003")],
    "8940": [("cp_plans", X15, "201", "C003"), ("cp_plans", NPD_CPP, "301", "N001")],
    "8831": [("assessments", X15, "201", "C004"), ("section47", X25, "202", "X002")],
    "8832": [("cp_plans", X25, "202", "X002")],
    "4000": [("cin_plans", X25, "202", "X002")],
    "143": [("care_episodes", E15, "201", "C001")],   # SSDA903 reason for new episode "Z"
    "CSC-CODE": [("school_sen", "national/npd/sen_2016.csv", None, None)],
    "CSC-NUMBER": [("school_ks4", "national/npd/ks4_2016.csv", None, None)],
    "CSC-RECORD": [("referrals", NPD_CIN, None, None)],   # a short line: its fields may be shifted, none is kept
}


@pytest.mark.parametrize("rule_id", sorted(EXPECTED_QUARANTINE))
def test_rule_fires_on_the_bad_record_and_not_on_the_good_ones(run, rule_id):
    got = sorted((r["table_name"], r["source_file"], r["la_code"], r["child_key"])
                 for r in run.rows("quarantine") if r["rule_id"] == rule_id)
    expected = sorted((t, f, la, run.child_key(la, c) if c else None) for t, f, la, c in EXPECTED_QUARANTINE[rule_id])
    assert got == expected


def test_quarantine_rows_say_where_why_and_what(run):
    rows = run.rows("quarantine")
    assert [r["locator"] for r in rows if not r["raw_record"]] == []  # every one with its record
    overlap = next(r for r in rows if r["rule_id"] == "8940" and r["source_file"] == X15)
    assert overlap["locator"] == (f"Message/Children/Child[LAchildID={run.child_key('201', 'C003')}]"
                                  "/CINdetails[2]/ChildProtectionPlans[2]")
    assert overlap["message"] == "Child Protection Plan data contains overlapping dates"
    assert json.loads(overlap["raw_record"])["CPPstartDate"] == "2014-12-01"
    referral = next(r for r in rows if r["rule_id"] == "CSC-DATE" and r["table_name"] == "referrals"
                    and r["source_file"] == X15)
    raw = json.loads(referral["raw_record"])  # the referral with its nested assessment, which is not loaded
    assert (raw["CINreferralDate"], raw["Assessments"][0]["AssessmentActualStartDate"]) == ("2014-02-30", "2014-03-05")


def test_npd_quarantine_rows_carry_their_line_read_back_from_bronze_without_identifiers(run):
    rows = {(r["rule_id"], r["source_file"]): r for r in run.rows("quarantine")}
    overlap = json.loads(rows["8940", NPD_CPP]["raw_record"])  # pseudonyms stand in for both identifiers
    assert overlap == {"PupilMatchingRefAnonymous": run.pupil_key("PMR", "P001"),
                       "LAchildID_Anon": run.child_key("301", "N001"), "LA": "301", "ACADYR": "2015/16",
                       "CINreferralDate": "2015-05-01", "CPPstartDate": "2015-07-01",  # empty fields are left out
                       "InitialCategoryOfAbuse": "EMO", "LatestCategoryOfAbuse": "EMO", "NumberOfPreviousCPP": "1"}
    duplicate_code = json.loads(rows["8898", NPD_CIN]["raw_record"])
    assert (duplicate_code["LAchildID_Anon"], duplicate_code["AssessmentFactors"]) == (
        run.child_key("301", "N004"), "3B;3B")
    short = json.loads(rows["CSC-RECORD", NPD_CIN]["raw_record"])  # no text: its length and a keyed hash
    line = "P006,N006,301,2015/16,2,2011,2,WBRI,NONE,2015-10-01,1A,N1"
    assert short == {"unparsed": "CSV line", "characters": len(line),
                     "text_hmac_sha256": hmac.new(run.key.encode(), line.encode(), hashlib.sha256).hexdigest()}


def test_csv_quarantine_rows_are_located_by_file_and_line(run):
    csv_rows = {(r["rule_id"], r["table_name"], r["locator"]) for r in run.rows("quarantine")
                if r["source_file"].endswith(".csv")}
    assert csv_rows == {  # line 1 is the header
        ("CSC-DATE", "referrals", f"{NPD_CIN}:6"), ("8898", "assessments", f"{NPD_CIN}:7"),
        ("CSC-RECORD", "referrals", f"{NPD_CIN}:4"), ("8940", "cp_plans", f"{NPD_CPP}:3"),
        ("CSC-DATE", "care_episodes", f"{E15}:5"), ("143", "care_episodes", f"{E15}:6"),
        ("CSC-CODE", "school_sen", "national/npd/sen_2016.csv:3"),
        ("CSC-NUMBER", "school_ks4", "national/npd/ks4_2016.csv:3")}


def test_reconciliation_received_equals_accepted_plus_quarantined(run):
    tables = run.summaries()[0]["tables"]
    checked = {name: (t["received"], t["accepted"], t["quarantined"], t.get("quarantined_with_parent", 0))
               for name, t in tables.items() if name.startswith("silver.") and "received" in t}
    assert all(received == accepted + quarantined for received, accepted, quarantined, _ in checked.values())
    # by hand: 11 XML + 5 NPD referrals; 10 XML + 6 NPD assessments (2 under a rejected referral)
    assert checked["silver.referrals"] == (16, 12, 4, 0)
    assert checked["silver.assessments"] == (16, 7, 9, 2)
    assert checked["silver.cp_plans"] == (9, 5, 4, 0)
    assert checked["silver.care_episodes"] == (7, 5, 2, 0)
    assert tables["silver.referrals"]["rows"] == 11 and tables["silver.referrals"]["superseded"] == 1
    assert tables["bronze.cin_census"] == {"received": 10, "accepted": 10, "quarantined": 0, "files_loaded": 4}
    received, accepted, quarantined = (sum(t[i] for t in checked.values()) for i in range(3))
    assert [s["message"] for s in run.summaries()[0]["steps"] if s["message"].startswith("validated ")] == [
        f"validated {received} records: {accepted} accepted, {quarantined} quarantined"]


def test_annual_returns_are_deduplicated_and_the_latest_return_wins(run):
    c001 = run.child_key("201", "C001")
    referrals = [r for r in run.rows("referrals") if r["child_key"] == c001]
    assert [(r["referral_date"], r["closure_date"], r["closure_reason"], r["collection_year"],
             r["first_collection_year"], r["source_file"]) for r in referrals] == [
        (d("2014-06-01"), d("2015-06-30"), "RC1", 2016, 2015, X16)]
    plans = [r for r in run.rows("cp_plans") if r["child_key"] == c001]
    assert [(r["start_date"], r["end_date"], r["latest_category"], r["review_dates"]) for r in plans] == [
        (d("2014-07-01"), d("2015-06-01"), "EMO", [d("2014-09-01"), d("2015-03-01")])]
    episodes = sorted((r["start_date"], r["end_date"], r["rec"], r["collection_year"])
                      for r in run.rows("care_episodes") if r["child_key"] == run.child_key("201", "C010"))
    assert episodes == [(d("2014-05-01"), d("2014-08-10"), "X1", 2015), (d("2014-08-10"), d("2014-12-01"), "E4A", 2015),
                        (d("2015-03-01"), d("2015-06-01"), "X1", 2016), (d("2015-06-01"), None, None, 2016)]


def test_periods_of_care_follow_x1_chains(run):
    periods = sorted((r["period_number"], r["period_start"], r["period_end"], r["end_rec"], r["n_episodes"],
                      r["n_placements"]) for r in run.rows("care_periods"))
    assert periods == [(1, d("2014-05-01"), d("2014-12-01"), "E4A", 2, 2),
                       (2, d("2015-03-01"), None, None, 2, 1)]


def test_assessments_carry_raw_codes_and_harmonised_indicators(run):
    by_child = {(r["child_key"], r["start_date"]): r for r in run.rows("assessments")}
    split_codes = by_child[(run.child_key("202", "C001"), d("2024-05-02"))]
    assert split_codes["factor_codes"] == ["18B", "24A", "13A"]
    on = {name for name, bit in zip(codes.INDICATOR_NAMES, split_codes["indicators"], strict=True) if bit}
    assert on == {"physical_abuse", "gangs_criminal_exploitation"} and split_codes["n_factors"] == 3
    lower_case = by_child[(run.child_key("201", "C001"), d("2014-06-05"))]
    assert lower_case["factor_codes"] == ["3B", "4B"] and lower_case["authorised_date"] == d("2014-06-20")
    no_factor = by_child[(run.child_key("201", "C002"), d("2014-09-02"))]
    assert (no_factor["factor_codes"], no_factor["n_factors"], no_factor["has_factors"]) == (["21"], 0, False)
    npd = sorted((r["start_date"], r["factor_codes"]) for r in run.rows("assessments")
                 if r["child_key"] == run.child_key("301", "N001"))
    assert npd == [(d("2015-05-03"), ["3B", "4B"]), (d("2015-07-01"), ["16A"])]
    factors = sorted((r["factor_code"], r["indicator"]) for r in run.rows("assessment_factors")
                     if r["assessment_key"] in (no_factor["assessment_key"], split_codes["assessment_key"]))
    assert factors == [("13A", "gangs_criminal_exploitation"), ("18B", "physical_abuse"),
                       ("21", None), ("24A", "gangs_criminal_exploitation")]


def test_children_link_sources_and_harmonise_sex_and_ethnicity(run):
    children = {r["child_key"]: r for r in run.rows("children")}
    assert len(children) == 13
    c001 = children[run.child_key("201", "C001")]
    assert (c001["sex"], c001["ethnic_group"], c001["disabled"], c001["birth_date"], c001["pupil_key"]) == (
        "M", "White", True, d("2010-05-01"), run.pupil_key("UPN", "A123456789012"))
    other_la = children[run.child_key("202", "C001")]          # same LAchildID, another LA: another child
    assert (other_la["sex"], other_la["ethnic_group"], other_la["disabled"]) == ("F", "Asian", False)
    npd = children[run.child_key("301", "N002")]
    assert (npd["birth_date"], npd["sex"], npd["disabled"], npd["pupil_key"]) == (
        d("2007-11-01"), "F", True, run.pupil_key("PMR", "P002"))
    in_care_only = children[run.child_key("201", "C010")]
    assert (in_care_only["sex"], in_care_only["ethnic_group"], in_care_only["birth_date"]) == (
        "F", "White", d("2005-02-15"))
    z1 = children[run.child_key("208", "Z1")]
    assert (z1["sex"], z1["ethnic_group"], z1["disabled"]) == ("U", "Unknown", None)


def test_school_outcomes_per_ks4_pupil(run):
    got = sorted((r["pupil_key"], r["ks4_year"], r["att8"], r["p8"], r["suspended"], r["permanently_excluded"],
                  r["n_suspensions"], r["sen_provision"]) for r in run.rows("school_outcomes"))
    assert got == sorted([(run.pupil_key("PMR", "P001"), 2016, 45.5, 0.1, True, False, 3, "K"),
                          (run.pupil_key("PMR", "P005"), 2016, 30.0, -0.5, False, True, 0, None)])


def test_no_raw_identifier_anywhere_in_silver(run):
    pattern = "(" + "|".join(RAW_IDS) + ")"
    leaks = {}
    for table in SILVER:
        df = run.table(table)
        n = df.select(F.to_json(F.struct(*df.columns)).alias("row")).filter(F.col("row").rlike(pattern)).count()
        if n:
            leaks[table] = n
    assert leaks == {}


def test_reingesting_the_same_files_changes_no_table(run):
    first, second = run.snapshots
    assert first == second
    again = run.summaries()[1]
    assert again["metrics"]["files_unchanged"] == 18 and not any(k.startswith("bronze.") for k in again["tables"])
    assert {t: again["tables"][f"silver.{t}"]["rows"] for t in ("referrals", "care_periods")} == {  # no commit made
        "referrals": 11, "care_periods": 2}


def test_a_withdrawn_file_leaves_bronze_silver_and_data_quality_as_every_other_file_made_them(run, tmp_path, capsys):
    lakehouse = tmp_path / "lakehouse"
    shutil.copytree(run.lakehouse, lakehouse)  # the module's lakehouse after its two ingests, left as it is
    withdrawn = "la/cin_census/2015/cin_208_2015.xml"  # LA 208's only file: one child, one referral, nothing rejected

    def ingest(*argv: str) -> int:
        return cli.main(["ingest", *argv, "--lakehouse", str(lakehouse), "--set", f"pseudonym_key={run.cfg.pseudonym_key}"])

    def rows(name: str, layer: str = "silver") -> list:
        return delta.read_table(run.spark, lakehouse_config(lakehouse), layer, name).collect()

    before = {t: rows(t) for t in SILVER} | {"data_quality": rows("data_quality", "gold")}
    bronze_before = {t: len(rows(t, "bronze")) for t in ("cin_census", "files")}
    before_manifest = rows("files", "bronze")
    # refused before anything is written: a name as no file was loaded, and a file the same run would load again
    assert ingest("--withdraw", "cin_208_2015.xml") == 2
    assert ingest("--source", str(FIXTURES), "--withdraw", withdrawn) == 2
    err = capsys.readouterr().err
    assert ("cannot withdraw cin_208_2015.xml: not a file loaded into this lakehouse. Name it as bronze.files and "
            f"the run summary do, relative to the folder it was loaded from (14 loaded, e.g. {X15}, {withdrawn}, "
            f"{X16})") in err
    assert f"{withdrawn}: to be withdrawn but also found under --source, so this run would load it again" in err
    assert {t: len(rows(t, "bronze")) for t in ("cin_census", "files")} == bronze_before
    assert sorted(map(repr, rows("files", "bronze"))) == sorted(map(repr, before_manifest))
    assert ingest("--withdraw", withdrawn, "--withdraw", withdrawn) == 0  # named twice, withdrawn once
    assert [r["source_file"] for r in rows("cin_census", "bronze")].count(withdrawn) == 0
    assert len(rows("cin_census", "bronze")) == bronze_before["cin_census"] - 1  # one Child, one bronze row
    manifest = {r["source_file"]: r for r in rows("files", "bronze")}
    assert len(manifest) == bronze_before["files"] and manifest[withdrawn]["status"] == "withdrawn"
    assert manifest[withdrawn]["reason"].startswith("withdrawn by ingest ")
    # every table as before less LA 208's rows (Z1 and its referral); the tables of pupils hold none of them
    after = {t: rows(t) for t in SILVER} | {"data_quality": rows("data_quality", "gold")}
    expected = {t: sorted(repr(r) for r in table_rows if r.asDict().get("la_code") != "208")
                for t, table_rows in before.items()}
    assert {t: sorted(map(repr, table_rows)) for t, table_rows in after.items()} == expected
    assert {t: len(before[t]) - len(after[t]) for t in ("children", "referrals", "data_quality")} == {
        "children": 1, "referrals": 1, "data_quality": 2}  # the file's totals for its children and referrals
    summary = json.loads(max((lakehouse / "_runs").glob("ingest-*.json"), key=lambda p: p.stat().st_mtime).read_text())
    assert summary["metrics"]["files_withdrawn"] == [withdrawn]
    # the folder still holds the file, so ingesting it again loads it again: every table as many rows as before
    assert ingest("--source", str(FIXTURES)) == 1  # the fixtures' four unreadable files, as in every run here
    assert manifest[withdrawn]["status"] == "withdrawn" and {r["source_file"]: r["status"] for r in rows(
        "files", "bronze")}[withdrawn] == "loaded"
    assert {t: len(rows(t)) for t in SILVER} == {t: len(before[t]) for t in SILVER}


def test_the_persisted_record_sets_hold_no_parsed_date_columns(run):
    # the rules' parsed dates (checks.with_parsed_dates) are dropped before a record set is cached
    bronze = {kind: run.table(BRONZE_TABLE[kind], "bronze") for kind in KINDS}
    validated, shared = validated_records(bronze, run.key)
    assert {name: [c for c in df.columns if c.startswith("_date_")] for name, df in shared.items()} == {
        "xml_referrals": [], "npd_rows": [], "header_children": []}
    assert {t: [c for c in df.columns if c.startswith("_date_")] for t, df in validated.items()} == {
        t: [] for t in validated}


def test_delta_constraints_reject_rows_that_break_the_rules(run):
    good = run.table("assessments").limit(1)
    bad = good.withColumn("factor_codes", F.array(F.lit("21"), F.lit("16A"))).withColumn("assessment_key", F.lit("x"))
    with pytest.raises(Exception, match="rule_8869_21_stands_alone"):
        bad.write.format("delta").mode("append").save(run.cfg.table_name("silver", "assessments"))


def test_tables_keep_file_statistics_only_for_the_columns_readers_filter_on(run):
    def stats_columns(layer, table):
        detail = DeltaTable.forPath(run.spark, run.cfg.table_name(layer, table)).detail().first()
        return detail["properties"]["delta.dataSkippingStatsColumns"]
    assert stats_columns("bronze", "npd_cin") == "source_file,la_code,collection_year"
    assert stats_columns("silver", "assessments") == "source_file,la_code,collection_year"
    assert stats_columns("silver", "assessment_factors") == "la_code,collection_year"  # no source_file column


# gold.data_quality (written by ingest) and the data owner's restricted workbook (report/data_quality.py)
def test_data_quality_reconciles_per_return_with_the_run_summary_and_the_quarantine(run):
    rows = [r.asDict() for r in run.rows("data_quality", "gold")]
    totals = [r for r in rows if r["rule_id"] == "all"]
    assert all(r["received"] == r["accepted"] + r["quarantined"] for r in totals)
    # by hand: one referral per CINdetails of each readable XML file (6, 1, 2, 2) and five NPD referrals;
    # X15 rejects the child without LAchildID's referral (8500) and C003's (CSC-DATE), the NPD file N003 and N006;
    # N006's line did not split into fields, so its LA is unknown ("" below for null)
    assert sorted((r["la_code"] or "", r["collection_year"], r["source_file"], r["received"], r["accepted"],
                   r["quarantined"]) for r in totals if r["table_name"] == "referrals") == [
        ("", 2016, NPD_CIN, 1, 0, 1),
        ("201", 2015, X15, 6, 4, 2), ("201", 2016, X16, 2, 2, 0), ("202", 2025, X25, 2, 2, 0),
        ("208", 2015, "la/cin_census/2015/cin_208_2015.xml", 1, 1, 0), ("301", 2016, NPD_CIN, 4, 3, 1)]
    assert sorted((r["source_file"], r["rule_id"], r["quarantined"], r["message"]) for r in rows
                  if r["table_name"] == "referrals" and r["rule_id"] != "all") == sorted([
        (NPD_CIN, "CSC-DATE", 1, RULES["CSC-DATE"]), (NPD_CIN, "CSC-RECORD", 1, RULES["CSC-RECORD"]),
        (X15, "8500", 1, RULES["8500"]), (X15, "CSC-DATE", 1, RULES["CSC-DATE"])])
    # per table the returns add up to the run summary (its own reconciliation, counted apart)
    counts = ("received", "accepted", "quarantined", "quarantined_with_parent")
    summary = {name[len("silver."):]: tuple(t[c] for c in counts)
               for name, t in run.summaries()[0]["tables"].items() if name.startswith("silver.") and t.get("received")}
    mine = {}
    for r in totals:
        mine[r["table_name"]] = tuple(a + r[c] for a, c in zip(mine.get(r["table_name"], (0, 0, 0, 0)), counts, strict=True))
    assert mine == summary
    # each return's rule rows add up to its total, and their own rejections to silver.quarantine's occurrences
    for total in totals:
        rules = [r for r in rows if r["rule_id"] != "all" and all(r[k] == total[k] for k in
                                                                   ("la_code", "source_file", "table_name"))]
        assert sum(r["quarantined"] for r in rules) == total["quarantined"]
        assert all(r["received"] is None and r["accepted"] is None for r in rules)
    own = {}
    for r in rows:
        if r["rule_id"] != "all" and r["quarantined"] > r["quarantined_with_parent"]:
            key = (r["source_file"], r["table_name"], r["rule_id"])
            own[key] = own.get(key, 0) + r["quarantined"] - r["quarantined_with_parent"]
    occurrences = {}
    for q in run.rows("quarantine"):
        key = (q["source_file"], q["table_name"], q["rule_id"])
        occurrences[key] = occurrences.get(key, 0) + q["occurrences"]
    assert own == occurrences


def test_the_report_verb_writes_the_las_own_ids_under_the_lakehouse_and_none_into_the_report(run, tmp_path):
    """`csc-demand report` on this lakehouse (gold.data_quality only: every other section says its table is
    absent) writes the data owner's workbook under <lakehouse>/restricted, names it in a progress line, and its
    own --out folder holds no identifier."""
    report = tmp_path / "report"
    assert cli.main(["report", "--lakehouse", str(run.lakehouse), "--out", str(report),
                     "--set", f"pseudonym_key={run.cfg.pseudonym_key}"]) == 0
    (summary,) = [json.loads(p.read_text()) for p in (run.lakehouse / "_runs").glob("report-*.json")]
    path = Path(summary["metrics"]["restricted_workbook"])
    assert path.parent == run.lakehouse.absolute() / "restricted" and path.is_file()
    assert re.fullmatch(r"data_quality_\d{4}-\d{2}-\d{2}\.xlsx", path.name)
    assert any(str(path) in s["message"] and "stays inside the secure environment" in s["message"]
               for s in summary["steps"])
    book = openpyxl.load_workbook(path, read_only=True)
    header, *body = book["quarantined records"].iter_rows(values_only=True)
    records = [dict(zip(header, row, strict=True)) for row in body]
    assert len(records) == len(run.rows("quarantine"))
    got = {(r["rule_id"], r["table_name"], r["source_file"], r["identifier"]) for r in records}
    expected = {(rule, table, file, raw) for rule, found in EXPECTED_QUARANTINE.items()
                for table, file, _, raw in found if raw}
    assert expected <= got
    assert ("8500", "children", X15, None) in got  # no id to give back
    fields = {(r["source_file"], r["identifier_field"]) for r in records if r["identifier"]}
    assert {(X15, "LAchildID"), (E15, "CHILD"), (NPD_CIN, "LAchildID_Anon"),
            ("national/npd/ks4_2016.csv", "PupilMatchingRefAnonymous")} <= fields
    assert [n for n in book.sheetnames] == ["quarantined records", "per return"]
    # the report (its data-quality section published) holds no identifier and nothing small; the same scan finds
    # the identifiers in the restricted folder, so it can fail
    conf = DisclosureConf()
    read = lakehouse_identifiers(run.cfg, lambda: run.spark)  # tables on this machine: read with delta-rs
    identifiers = set(read.to_pylist())
    assert identifiers == set().union(*(table_identifiers(run.spark, run.cfg, *table).to_pylist()
                                        for table in IDENTIFIER_COLUMNS))
    assert "" not in identifiers and None not in identifiers
    assert {"C001", "C003", "N001", "P001", "A123456789012", run.child_key("201", "C003"),
            run.pupil_key("PMR", "P001")} <= identifiers
    assert (report / "data" / "data_quality.csv").is_file()
    assert scan_outputs(str(report), conf, forbidden=identifiers) == []
    assert any("forbidden identifier 'C003'" in p for p in scan_outputs(str(path.parent), conf,
                                                                         forbidden=identifiers))
    with pytest.raises(ValueError, match="overlap"):
        write_restricted_workbook(run.spark, run.cfg, report_out=str(run.lakehouse / "restricted" / "out"))
