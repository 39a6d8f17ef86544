"""Hostile input (issue 16): tiny hand-written returns that try to push an identifier past bronze.

One ingest of the files below; every expectation is worked out by hand. Pseudonyms and text hashes are recomputed
with Python's hmac module, an independent implementation of HMAC-SHA-256.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from csc_demand import cli
from csc_demand.config import SYNTHETIC_ONLY_KEY
from csc_demand.io import delta
from csc_demand.io.bronze import empty_bronze
from csc_demand.io.synthetic_files import write_listing, written_by_synth
from csc_demand.quality.quarantine import MAX_RAW_CHARACTERS, capped
from csc_demand.transform.cin_xml_records import staged_children
from helpers.lakehouse import TEST_PSEUDONYM_KEY, lakehouse_config
from pyspark.sql import functions as F

KEY = TEST_PSEUDONYM_KEY
XML = """<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails><Collection>CIN</Collection><Year>2016</Year><ReferenceDate>2016-03-31</ReferenceDate></CollectionDetails>
    <Source><SourceLevel>L</SourceLevel><LEA>201</LEA><DateTime>2016-05-01T10:00:00</DateTime></Source>
  </Header>
  <Children>
    <Child>
      <ChildIdentifiers><LAchildID >HX0001</LAchildID ><UPN><![CDATA[H11111111111A]]></UPN><PersonBirthDate>2010-02-30</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
    </Child>
    <Child>
      <ChildIdentifiers><LAchildID><![CDATA[HX0002]]></LAchildID><PersonBirthDate>2010-01-01</PersonBirthDate><GenderCurrent>2</GenderCurrent></ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
      <CINdetails><CINreferralDate>2015-06-01</CINreferralDate><ReferralSource>1A</ReferralSource><PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>0</ReferralNFA>
        <Assessments><AssessmentActualStartDate>2015-07-01</AssessmentActualStartDate><AssessmentAuthorisationDate>2015-06-20</AssessmentAuthorisationDate></Assessments>
        <Assessments><AssessmentActualStartDate>2016-04-15</AssessmentActualStartDate></Assessments>
        <Assessments><AssessmentActualStartDate>2016-01-10</AssessmentActualStartDate><AssessmentAuthorisationDate>2016-04-20</AssessmentAuthorisationDate></Assessments>
        <Assessments><AssessmentActualStartDate>2015-08-01</AssessmentActualStartDate><AssessmentAuthorisationDate>2015-08-20</AssessmentAuthorisationDate><FactorsIdentifiedAtAssessment><AssessmentFactors>3B</AssessmentFactors></FactorsIdentifiedAtAssessment></Assessments>
      </CINdetails>
    </Child>
    <Child>
      <ChildIdentifiers><LAchildID>HX0004</LAchildID><PersonBirthDate>2012-01-01</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
      <CINdetails><CINreferralDate>2015-06-01</CINreferralDate><CINclosureDate>2015-05-01</CINclosureDate><ReasonForClosure>RC1</ReasonForClosure></CINdetails>
      <CINdetails><CINreferralDate>2015-07-01</CINreferralDate><CINclosureDate>2016-05-01</CINclosureDate><ReasonForClosure>RC1</ReasonForClosure></CINdetails>
    </Child>
    <Child>
      <ChildIdentifiers><LAchildID>HX0005</LAchildID><PersonBirthDate>2016-06-01</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
    </Child>
    <Child>
      <ChildIdentifiers><LAchildID>HX0006</LAchildID><PersonBirthDate>2016-03-01</PersonBirthDate><GenderCurrent>1</GenderCurrent></ChildIdentifiers>
      <CINdetails><CINreferralDate>2015-04-10</CINreferralDate></CINdetails>
    </Child>
  </Children>
</Message>
"""
STALE_XML = XML.replace("2016-05-01T10:00:00", "2016-04-02T09:00:00").replace("HX000", "HS000")  # an older copy
EPISODES = ("CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
            "HE0001,01/05/2015,S,C2,N1,U1,PR1,,,,,,\n")
HEADER_903 = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\nHC0001,1,01/01/2010,WBRI,H22222222222B,,\n"
SHIFTED_903 = "HC0002,1,extra,01/01/2010,WBRI,H33333333333C,,"     # one extra field: the UPN moves to MOTHER
HEADER_903_LAST = "HC0003,2,01/01/2011,WBRI,,,\n"  # a whole last line: the file is not truncated
NPD_HEADER = ("PupilMatchingRefAnonymous,LAchildID_Anon,LA,ACADYR,MonthOfBirth,YearOfBirth,Gender,Ethnicity,"
              "Disability,CINreferralDate,ReferralSource,PrimaryNeedCode,CINclosureDate,ReasonForClosure,"
              "ReferralNFA,AssessmentActualStartDate,AssessmentAuthorisationDate,AssessmentFactors")
NPD_GOOD = "HP0001,HN0001,301,2015/16,5,2009,1,WBRI,NONE,2015-05-01,1A,N1,,,0,,,"
SHIFTED_NPD = "HP0002,extra,HN0002,301,2015/16,5,2009,1,WBRI,NONE,2015-05-01,1A,N1,,,0,,,"  # HN0002 lands in LA
NPD_LAST = "HP0003,HN0003,301,2015/16,5,2009,1,WBRI,NONE,2015-05-02,1A,N1,,,0,,,"
RAW_IDS = ["HS0001", "HS0002", "HS0004", "HS0005", "HS0006", "HE0001", "HX0004", "HX0005", "HX0006", "HC0003", "HP0003", "HN0003", "HX0001", "HX0002", "H11111111111A", "HC0001", "HC0002", "H22222222222B", "H33333333333C", "HP0001",
           "HP0002", "HN0001", "HN0002"]


def keyed(text: str) -> str:
    return hmac.new(KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def write_source(root: Path) -> Path:
    files = {"la/cin_census/2016/cin_201_2016.xml": XML,
             "old/cin_census/2016/cin_201_2016.xml": STALE_XML,
             "la/ssda903/2016/ssda903_205_2016_episodes.csv": EPISODES,
             "old/ssda903/2016/ssda903_205_2016_episodes.csv": EPISODES.replace("01/05/2015", "02/05/2015"),
             "la/ssda903/2016/ssda903_201_2016_header.csv": HEADER_903 + SHIFTED_903 + "\n" + HEADER_903_LAST,
             "national/npd/cin_2016.csv": f"{NPD_HEADER}\n{NPD_GOOD}\n{SHIFTED_NPD}\n{NPD_LAST}\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def hostile(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    source, lakehouse = write_source(root / "source"), root / "lakehouse"
    code = cli.main(["ingest", "--source", str(source), "--lakehouse", str(lakehouse), "--set", f"pseudonym_key={KEY}"])
    return code, lakehouse_config(lakehouse), lakehouse


def quarantine(spark, cfg) -> list[dict]:
    return [r.asDict() for r in delta.read_table(spark, cfg, "silver", "quarantine").collect()]


def test_a_shifted_csv_line_keeps_no_text_no_la_and_no_key(spark, hostile):
    code, cfg, _ = hostile
    assert code == 1  # the two 903 copies below are refused
    unparsed = sorted((r["source_file"], r["la_code"], r["child_key"], r["locator"], r["raw_record"])
                      for r in quarantine(spark, cfg) if r["rule_id"] == "CSC-RECORD")
    line = lambda text: json.dumps({"unparsed": "CSV line", "characters": len(text),  # noqa: E731
                                    "text_hmac_sha256": keyed(text)}, separators=(",", ":"))
    assert unparsed == [
        ("la/ssda903/2016/ssda903_201_2016_header.csv", "201", None,
         "la/ssda903/2016/ssda903_201_2016_header.csv:3", line(SHIFTED_903)),
        ("national/npd/cin_2016.csv", None, None, "national/npd/cin_2016.csv:3", line(SHIFTED_NPD))]


def test_xml_identifiers_spelt_with_a_space_or_in_cdata_are_pseudonymised(spark, hostile):
    _, cfg, _ = hostile
    bad_birth = [r for r in quarantine(spark, cfg) if r["rule_id"] == "CSC-DATE"]
    assert [r["child_key"] for r in bad_birth] == [keyed("201|HX0001")]
    ids = json.loads(bad_birth[0]["raw_record"])["ChildIdentifiers"]
    assert (ids["LAchildID"], ids["UPN"]) == (keyed("201|HX0001"), keyed("UPN|H11111111111A"))
    referrals = delta.read_table(spark, cfg, "silver", "referrals").collect()
    assert sorted((r["child_key"], str(r["referral_date"])) for r in referrals) == sorted(
        [(keyed("201|HX0002"), "2015-06-01"), (keyed("301|HN0001"), "2015-05-01"), (keyed("301|HN0003"), "2015-05-02")])


def test_no_raw_identifier_in_any_silver_row_or_delta_log(spark, hostile):
    _, cfg, lakehouse = hostile
    pattern = "(" + "|".join(RAW_IDS) + ")"
    leaks = {}
    for folder in sorted((lakehouse / "silver").iterdir()):
        df = delta.read_table(spark, cfg, "silver", folder.name)
        rows = df.select(F.to_json(F.struct(*df.columns)).alias("row")).filter(F.col("row").rlike(pattern)).count()
        log_text = " ".join(p.read_text() for p in (folder / "_delta_log").glob("*.json"))
        found = sorted(i for i in RAW_IDS if i in log_text)
        if rows or found:
            leaks[folder.name] = (rows, found)
    assert leaks == {}


def test_an_unparsed_xml_child_keeps_only_its_length_and_a_keyed_hash(spark):
    text = ("<Child><ChildIdentifiers><LAchildID >HX0009</LAchildID ><UPN><![CDATA[H99999999999Z]]></UPN>"
            "</ChildIdentifiers><CINdetails>" + "x" * 5000 + "</Child>")
    bronze = empty_bronze(spark, "cin_xml")
    row = spark.createDataFrame([{"_corrupt_record": text, "source_file": "f.xml", "la_code": "201",
                                  "collection_year": 2016}], "_corrupt_record string, source_file string, "
                                                             "la_code string, collection_year int")
    staged = staged_children(bronze.unionByName(row, allowMissingColumns=True), KEY).collect()
    assert json.loads(staged[0]["raw_record"]) == {"unparsed": "Child", "characters": len(text),
                                                   "text_hmac_sha256": keyed(text)}


def test_raw_records_are_capped(spark):
    long = "y" * (MAX_RAW_CHARACTERS + 10)
    got = spark.createDataFrame([(long,), ("short",)], "raw string").select(capped(F.col("raw"))).collect()
    assert [r[0] for r in got] == [
        "y" * MAX_RAW_CHARACTERS + f" [cut at {MAX_RAW_CHARACTERS} of {MAX_RAW_CHARACTERS + 10} characters]",
        "short"]


def test_an_older_copy_of_a_return_is_superseded_by_the_later_header_datetime(spark, hostile):
    _, cfg, lakehouse = hostile
    files = {r["source_file"]: (r["status"], r["reason"])
             for r in delta.read_table(spark, cfg, "bronze", "files").collect()}
    assert files["old/cin_census/2016/cin_201_2016.xml"] == (
        "superseded", "superseded by la/cin_census/2016/cin_201_2016.xml: both are the cin_xml LA 201 2016 return "
                      "and that one's Header DateTime is later (2016-05-01T10:00:00 vs 2016-04-02T09:00:00)")
    assert files["la/cin_census/2016/cin_201_2016.xml"] == ("loaded", None)
    loaded = {r["source_file"] for r in delta.read_table(spark, cfg, "bronze", "cin_census").collect()}
    assert loaded == {"la/cin_census/2016/cin_201_2016.xml"}
    summary = json.loads(next((lakehouse / "_runs").glob("ingest-*.json")).read_text())
    assert summary["metrics"]["duplicate_returns"][0] == (
        "two or more returns for cin_xml LA 201 2016: loaded la/cin_census/2016/cin_201_2016.xml (latest Header "
        "DateTime 2016-05-01T10:00:00), superseded old/cin_census/2016/cin_201_2016.xml")
    assert summary["metrics"]["duplicate_returns"][0] in [step["message"] for step in summary["steps"]]


def test_two_copies_of_a_csv_return_are_both_refused_naming_each_other(spark, hostile):
    _, cfg, lakehouse = hostile
    summary = json.loads(next((lakehouse / "_runs").glob("ingest-*.json")).read_text())
    new, old = "la/ssda903/2016/ssda903_205_2016_episodes.csv", "old/ssda903/2016/ssda903_205_2016_episodes.csv"
    why = "CSV files carry no date to choose by: remove the copy that is not current and run ingest again"
    assert sorted(summary["metrics"]["failed_files"]) == [
        f"{new}: another file is also the ssda903_episodes LA 205 2016 return ({old}) and {why}",
        f"{old}: another file is also the ssda903_episodes LA 205 2016 return ({new}) and {why}"]
    assert delta.read_table(spark, cfg, "silver", "care_episodes").count() == 0


# rule -> child whose record breaks it (every other record of the fixture passes it)
IMPOSSIBLE = {
    "8630": [("referrals", "HX0004")],        # closed before its referral
    "8620": [("referrals", "HX0004")],        # closed after the census year: in the future of the return
    "8606": [("referrals", "HX0006")],        # referred 46 weeks before birth
    "8520": [("children", "HX0005")],         # born after the census year
    "8608": [("assessments", "HX0002")],      # authorised before it started
    "8736": [("assessments", "HX0002")],      # not completed and started after the census year
    "8696": [("assessments", "HX0002")],      # authorised after the census year
}


@pytest.mark.parametrize("rule_id", sorted(IMPOSSIBLE))
def test_impossible_records_are_quarantined_with_their_dfe_rule(spark, hostile, rule_id):
    _, cfg, _ = hostile
    got = sorted((r["table_name"], r["child_key"]) for r in quarantine(spark, cfg) if r["rule_id"] == rule_id)
    assert got == sorted((table, keyed(f"201|{child}")) for table, child in IMPOSSIBLE[rule_id])


def test_the_possible_records_beside_them_load(spark, hostile):
    _, cfg, _ = hostile
    assessments = delta.read_table(spark, cfg, "silver", "assessments").collect()
    assert [(r["child_key"], str(r["start_date"])) for r in assessments] == [(keyed("201|HX0002"), "2015-08-01")]
    children = {r["child_key"] for r in delta.read_table(spark, cfg, "silver", "children").collect()}
    assert children == {keyed("201|HX0002"), keyed("201|HX0004"), keyed("201|HX0006"), keyed("201|HC0001"),
                        keyed("201|HC0003"), keyed("301|HN0001"), keyed("301|HN0003")}


def test_the_demo_key_is_refused_for_files_synth_did_not_write(spark, hostile, tmp_path, capsys):
    root = tmp_path / "source"
    write_source(root)
    code = cli.main(["ingest", "--source", str(root), "--lakehouse", str(tmp_path / "lakehouse"),
                     "--set", f"pseudonym_key={SYNTHETIC_ONLY_KEY}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "the demo pseudonymisation key is only for data `synth` wrote, and 6 file(s) are not among" in err
    assert not (tmp_path / "lakehouse" / "bronze").exists()


def test_synth_s_listing_names_the_files_it_wrote_by_sha256(tmp_path):
    (tmp_path / "npd").mkdir()
    (tmp_path / "npd" / "ks4_2016.csv").write_text("a\n")
    (tmp_path / "_truth").mkdir()
    (tmp_path / "_summary.json").write_text("{}")
    assert write_listing(tmp_path) == 1
    assert written_by_synth(str(tmp_path)) == {hashlib.sha256(b"a\n").hexdigest()}
    assert written_by_synth(str(tmp_path / "npd")) == set()
