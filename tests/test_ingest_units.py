"""Small pieces of ingestion on inline data: file discovery, whole-file checks, pseudonyms, periods of care."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from chispa import assert_df_equality
from csc_demand.config import load_config
from csc_demand.errors import ConfigurationError
from csc_demand.io.csv_source import CSV_COLUMNS, read_csv_files
from csc_demand.io.discover import SourceFile, discover
from csc_demand.io.file_check import CHUNK, blocks_of, check_cin_xml, check_csv, check_files
from csc_demand.quality.checks import ISO_DATE, is_bad_date, parsed, to_date, with_parsed_dates, without_parsed_dates
from csc_demand.quality.quarantine import full_locator
from csc_demand.quality.rules import ks4_checks
from csc_demand.transform.care_periods import care_periods
from csc_demand.transform.cin_npd_records import (
    keyed_rows,
    staged_assessments,
    staged_referrals,
    with_referral_rules,
)
from csc_demand.transform.pseudonymise import pseudonymise, pupil_pseudonym
from csc_demand.transform.school import school_outcomes, validated_school
from pyspark.sql import functions as F

HEADER = ('<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2016</Year></CollectionDetails>'
          '<Source><LEA>201</LEA></Source></Header><Children>')


def test_discover_recognises_kinds_and_skips_underscore_and_dot_names(spark, tmp_path):
    for rel in ["cin_census/2015/cin_201_2015.xml", "ssda903/2015/ssda903_201_2015_episodes.csv", "npd/ks4_2016.csv",
                "_truth/cin_201_2015.xml", ".hidden/npd/cin_2015.csv", "npd/_cin_2015.csv", "notes/readme.md"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    expected = [("cin_census/2015/cin_201_2015.xml", "cin_xml", "201", 2015),
                ("npd/ks4_2016.csv", "npd_ks4", None, 2016),
                ("ssda903/2015/ssda903_201_2015_episodes.csv", "ssda903_episodes", "201", 2015)]
    # listed through Hadoop's FileSystem: a plain path and a file: URI find the same files, named by plain path
    for source in (str(tmp_path), tmp_path.as_uri(), f"file:{tmp_path}"):
        files, unrecognised = discover(spark, source)
        assert [(f.source_file, f.kind, f.la_code, f.collection_year) for f in files] == expected
        assert [f.path for f in files] == [str(tmp_path / rel) for rel, *_ in expected]
        assert unrecognised == ["notes/readme.md"]


def test_discover_names_a_missing_source_folder(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match=f"source folder {tmp_path / 'nope'} does not exist"):
        discover(spark, str(tmp_path / "nope"))


def test_file_checks_read_through_hadoop_and_key_results_by_file(spark, tmp_path):
    # a folder name with glob characters and a space: binaryFiles takes globs, so they must be escaped
    folder = tmp_path / "returns [2016] a*"
    (folder / "npd").mkdir(parents=True)
    (folder / "cin_201_2016.xml").write_text(HEADER + "<Child/><Child/><Child/></Children></Message>")
    (folder / "npd" / "sen_2016.csv").write_text("PupilMatchingRefAnonymous,ACADYR,SENprovision\nP1,2015/16,K\n")
    (folder / "npd" / "ks4_2016.csv").write_text("")
    files, _ = discover(spark, f"file:{folder}")  # Hadoop paths are not percent-encoded
    checks = check_files(spark, files)
    assert [(c.file.source_file, c.ok, c.reason, c.records, c.size_bytes) for c in checks] == [
        ("cin_201_2016.xml", True, None, 3, (folder / "cin_201_2016.xml").stat().st_size),
        ("npd/ks4_2016.csv", False, "empty file (no header row)", 0, 0),
        ("npd/sen_2016.csv", True, None, 1, (folder / "npd" / "sen_2016.csv").stat().st_size)]
    assert checks[0].sha256 == hashlib.sha256((folder / "cin_201_2016.xml").read_bytes()).hexdigest()


def test_xml_check_counts_children_reads_the_header_and_names_what_is_wrong(tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(b"\xef\xbb\xbf" + (HEADER + "<Child/><Child><A>1</A></Child></Children></Message>").encode())
    result = check_cin_xml(blocks_of(good.read_bytes()))
    assert (result["reason"], result["records"], result["la_code"], result["collection_year"]) == (None, 2, "201", 2016)
    assert result["sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    truncated = tmp_path / "cut.xml"
    truncated.write_text(HEADER + "<Child><A>1</A></Child><Chi")
    assert check_cin_xml(blocks_of(truncated.read_bytes()))["reason"].startswith("not well-formed XML (truncated?): unclosed token")
    no_lea = tmp_path / "no_lea.xml"
    no_lea.write_text(HEADER.replace("<LEA>201</LEA>", "") + "</Children></Message>")
    assert check_cin_xml(blocks_of(no_lea.read_bytes()))["reason"] == "Header/Source/LEA is '', expected a 3-digit LA code"
    wrong_root = b"<Report><Message/></Report>"
    assert check_cin_xml(blocks_of(wrong_root))["reason"] == "root element is <Report>, expected <Message>"
    unknown_encoding = b'<?xml version="1.0" encoding="x-unknown"?><Message></Message>'
    assert check_cin_xml(blocks_of(unknown_encoding))["reason"] == (
        "the XML declaration names an encoding that cannot be read (unknown encoding: x-unknown): save the file as UTF-8")
    invalid_utf8 = (HEADER + "<Child>\xff</Child></Children></Message>").encode("latin-1")
    assert check_cin_xml(blocks_of(invalid_utf8))["reason"].startswith(
        "not well-formed XML (truncated?): not well-formed (invalid token)")


def test_xml_check_counts_the_children_spark_reads(spark, tmp_path):
    """Child start tags in comments, CDATA and processing instructions are not records, for the check as for Spark's
    XML reader; a tag across two 1 MiB blocks is counted once; a Header value may be CDATA."""
    head = HEADER.replace("<LEA>201</LEA>", "<LEA><![CDATA[201]]></LEA>") + "<Child><A>1</A></Child>"
    padding = " " * (CHUNK - 3 - len(head.encode()))  # the next <Child> starts 3 bytes before the first block ends
    xml = (head + padding + "<Child><A>2</A></Child><!-- <Child><A>3</A></Child> -->"
           "<Child><A><![CDATA[ <Child>4</Child> ]]></A></Child><?note <Child> ?><Child/>"
           "<Child\n><A>5</A></Child></Children></Message>")
    path = tmp_path / "cin_201_2016.xml"
    path.write_text(xml)
    result = check_cin_xml(blocks_of(path.read_bytes()))
    assert (result["reason"], result["records"], result["la_code"]) == (None, 5, "201")
    read = spark.read.format("xml").option("rowTag", "Child").schema("A string").load(str(path))
    assert read.count() == 5


def test_xml_check_refuses_what_spark_cannot_read(tmp_path):
    utf16 = (HEADER + "<Child/></Children></Message>").encode("utf-16")
    assert check_cin_xml(blocks_of(utf16))["reason"] == (
        "the file is UTF-16 text: Spark's XML reader reads UTF-8; save the file as UTF-8")
    doctype = ('<!DOCTYPE Message [<!ENTITY c "<Child/>">]>' + HEADER + "&c;</Children></Message>").encode()
    assert check_cin_xml(blocks_of(doctype))["reason"].startswith(
        "the file has a document type declaration (<!DOCTYPE ...>): its entities could add or hide Child records")


def test_csv_check_wants_the_contract_header_and_a_complete_last_line(tmp_path):
    columns = CSV_COLUMNS["npd_sen"]
    good = tmp_path / "sen.csv"
    good.write_text("\ufeffPupilMatchingRefAnonymous,ACADYR,SENprovision\nP1,2015/16,K\n\nP2,2015/16,E")
    assert (check_csv(blocks_of(good.read_bytes()), columns)["reason"], check_csv(blocks_of(good.read_bytes()), columns)["records"]) == (None, 2)
    cut = tmp_path / "cut.csv"
    cut.write_text("PupilMatchingRefAnonymous,ACADYR,SENprovision\nP1,2015/16,K\nP2,20")
    assert "looks truncated" in check_csv(blocks_of(cut.read_bytes()), columns)["reason"]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("PMR,ACADYR,SENprovision\nP1,2015/16,K\n")
    assert check_csv(blocks_of(wrong.read_bytes()), columns)["reason"].startswith("header row is 'PMR,ACADYR,SENprovision', expected")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert check_csv(blocks_of(empty.read_bytes()), columns)["reason"] == "empty file (no header row)"


def test_pseudonyms_are_hmac_sha256_under_the_key_and_null_for_missing_ids(spark):
    df = spark.createDataFrame([("201", "C1"), ("201", " "), ("202", "C1")], "la string, id string")
    long_key = "k" * 100  # longer than SHA-256's block: hashed first, as RFC 2104 says
    for key in ("a-key-of-thirty-two-characters-!", long_key):
        got = df.select(pseudonymise(F.col("la"), F.col("id"), key).alias("child"),
                        pupil_pseudonym("PMR", F.col("id"), key).alias("pupil")).collect()

        def mac(text: str, key: str = key) -> str:
            return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()

        assert [tuple(r) for r in got] == [(mac("201|C1"), mac("PMR|C1")), (None, None),
                                           (mac("202|C1"), mac("PMR|C1"))]


def test_a_short_or_missing_key_is_refused_saying_how_to_make_one(monkeypatch):
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigurationError, match=r"has 19 characters; it needs at least 32 .*secrets.token_urlsafe"):
        load_config(profile="local", overrides={"pseudonym_key": "test-key-not-secret"}).resolve_pseudonym_key()
    monkeypatch.setenv("CSC_PSEUDONYM_KEY", "x" * 32)
    assert load_config(profile="local").resolve_pseudonym_key() == "x" * 32


def test_periods_start_at_rne_s_continue_through_x1_and_reopen_after_a_return_home(spark):
    d = dt.date.fromisoformat
    episodes = spark.createDataFrame([
        ("k1", "201", d("2015-01-01"), "S", d("2015-02-01"), "X1"),
        ("k1", "201", d("2015-02-01"), "L", d("2015-03-01"), "X1"),
        ("k1", "201", d("2015-03-01"), "P", d("2015-06-01"), "E4A"),
        ("k1", "201", d("2016-01-01"), "S", None, None),
        ("k2", "202", d("2015-05-05"), "S", d("2015-07-07"), "X1"),
    ], "child_key string, la_code string, start_date date, rne string, end_date date, rec string")
    expected = spark.createDataFrame([
        ("k1", "201", d("2015-01-01"), d("2015-06-01"), "E4A", 1, 3, 2, True),
        ("k1", "201", d("2016-01-01"), None, None, 2, 1, 1, True),
        ("k2", "202", d("2015-05-05"), None, "X1", 1, 1, 1, True),   # ended X1, successor not yet returned
    ], "child_key string, la_code string, period_start date, period_end date, end_rec string, period_number int, "
       "n_episodes int, n_placements int, starts_with_rne_s boolean")
    assert_df_equality(care_periods(episodes), expected, ignore_row_order=True, ignore_nullable=True)


def _csv_file(path, kind: str, text: str, la_code=None) -> SourceFile:
    path.write_bytes(text.encode())
    return SourceFile(str(path), path.name, kind, la_code, 2016)


def test_csv_rows_carry_their_line_numbers_across_read_chunks(spark, tmp_path):
    # BOM, CRLF and blank lines; chunks of 64 bytes split the files mid-line many times
    sen = ["\ufeffPupilMatchingRefAnonymous,ACADYR,SENprovision"] + [f"P{n},2015/16,K" for n in range(2, 41)]
    sen[9], sen[20] = "", "   "
    files = [_csv_file(tmp_path / "sen_2016.csv", "npd_sen", "\r\n".join(sen) + "\r\n"),
             _csv_file(tmp_path / "sen_2017.csv", "npd_sen", "PupilMatchingRefAnonymous,ACADYR,SENprovision\n"
                                                            "P2,2016/17,E\n\nP4,2016/17,N")]
    spark.conf.set("spark.sql.files.maxPartitionBytes", "64")
    try:
        rows = read_csv_files(spark, "npd_sen", files).collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    got = sorted((r["source_file"], r["line_number"], r["PupilMatchingRefAnonymous"]) for r in rows)
    expected = [("sen_2016.csv", n, f"P{n}") for n in range(2, 41) if n not in (10, 21)]
    assert got == expected + [("sen_2017.csv", 2, "P2"), ("sen_2017.csv", 4, "P4")]


def test_an_npd_referral_is_located_by_its_first_line(spark, tmp_path):
    header = ",".join(CSV_COLUMNS["npd_cin"])
    referral = "P1,N1,301,2015/16,5,2009,1,WBRI,NONE,2015-05-01,1A,N1,,,0"
    other = "P2,N2,301,2015/16,5,2009,1,WBRI,NONE,2015-06-01,1A,N1,,,0,,,"
    source = _csv_file(tmp_path / "cin_2016.csv", "npd_cin", "\n".join(
        [header, referral + ",2015-05-03,,3B", other, referral + ",2015-07-01,,16A"]))
    rows = with_referral_rules(keyed_rows(read_csv_files(spark, "npd_cin", [source]), "npd_cin", "k"))
    got = sorted((r["locator"], r["n_assessments"]) for r in staged_referrals(rows).collect())
    assert got == [("2", 2), ("3", 0)]
    # quarantine names the file too
    assert sorted(r[0] for r in staged_referrals(rows).select(full_locator()).collect()) == [
        "cin_2016.csv:2", "cin_2016.csv:3"]


def test_a_staged_xml_locator_is_its_path_from_the_child_and_quarantine_names_the_child(spark):
    df = spark.createDataFrame([("Child/CINdetails[2]/Assessments[1]", "k1"), ("Child", None)],
                               "locator string, child_key string").withColumn("source_file", F.lit("a.xml"))
    assert [r[0] for r in df.select(full_locator()).collect()] == [
        "Message/Children/Child[LAchildID=k1]/CINdetails[2]/Assessments[1]", "Message/Children/Child[LAchildID=missing]"]


def test_an_npd_referral_and_its_assessments_carry_the_rule_computed_on_its_lines(spark, tmp_path):
    # the first referral is open (no closure, NFA 0) and not the child's latest: 8816; the second starts while the
    # first is open: 8820. The first's two lines make one referral; each assessment line takes its referral's rule.
    header = ",".join(CSV_COLUMNS["npd_cin"])
    child = "P1,N1,301,2015/16,5,2009,1,WBRI,NONE"
    first, second = child + ",2015-05-01,1A,N1,,,0", child + ",2015-09-01,1A,N1,2015-10-01,RC8,0"
    source = _csv_file(tmp_path / "cin_2016.csv", "npd_cin", "\n".join(
        [header, first + ",2015-05-03,2015-05-20,3B", first + ",2015-06-01,2015-06-20,2A",
         second + ",2015-09-02,2015-09-20,3B"]))
    rows = with_referral_rules(keyed_rows(read_csv_files(spark, "npd_cin", [source]), "npd_cin", "k"))
    assert {"PupilMatchingRefAnonymous", "LAchildID_Anon"}.isdisjoint(rows.columns)  # only their keys go on
    assert sorted((r["locator"], r["rule_id"]) for r in staged_referrals(rows).collect()) == [
        ("2", "8816"), ("4", "8820")]
    assert sorted((r["locator"], r["parent_rule"]) for r in staged_assessments(rows).collect()) == [
        ("2", "8816"), ("3", "8816"), ("4", "8820")]


def test_a_duplicate_csv_record_is_the_later_line_even_past_line_nine(spark, tmp_path):
    lines = ["PupilMatchingRefAnonymous,ACADYR,KS4_ATT8,KS4_P8"] + [f"P{n},2015/16,40,0.1" for n in range(2, 9)]
    lines += ["P1,2015/16,50,0.2", "P1,2015/16,50,0.2"]  # lines 9 and 10: the same pupil twice
    source = _csv_file(tmp_path / "ks4_2016.csv", "npd_ks4", "\n".join(lines))
    rows = validated_school(keyed_rows(read_csv_files(spark, "npd_ks4", [source]), "npd_ks4", "k"), ks4_checks())
    assert [(r["locator"], r["rule_id"]) for r in rows.filter(F.col("rule_id").isNotNull()).collect()] == [
        ("10", "CSC-DUP")]


def test_big_loads_get_more_shuffle_partitions_small_ones_keep_the_configured_number():
    from csc_demand.stages.ingest import shuffle_partitions_for
    assert shuffle_partitions_for(0, 8) == 8
    assert shuffle_partitions_for(2_000_000, 8) == 8
    assert shuffle_partitions_for(2_000_001, 8) == 9
    assert shuffle_partitions_for(16_800_000, 8) == 68  # the national NPD load: 67.2 rounded up


def test_iso_dates_are_parsed_strictly_without_the_datetime_formatter(spark):
    texts = ["2015-01-05", " 2016-02-29 ", "2015-02-29", "2015-13-01", "2015-1-05", "2015-01-5", "2015", "2015-01",
             "2015-01-05T10:00", "2015-01-1T", "2015-01-1\t", "+015-01-05", "20a5-01-05", "05/01/2015", "2015/01/05",
             "20150105", "2é15-01-5", "２０１５-01-05", "2015-01-05x", "", None]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [r[0] for r in df.select(to_date("t", ISO_DATE)).collect()]
    assert got == [dt.date(2015, 1, 5), dt.date(2016, 2, 29)] + [None] * (len(texts) - 2)
    # the same answers as Spark's pattern parser
    assert got == [r[0] for r in df.select(F.try_to_date(F.trim("t"), ISO_DATE)).collect()]


def test_each_staged_date_column_is_parsed_once_in_its_own_format(spark):
    df = spark.createDataFrame([("2015-01-05", "05/01/2015", "05/01/2015", "x"), ("05/01/2015", "2015-01-05", " ", "y")],
                               "start_raw string, DECOM string, other string, referral_nfa_raw string")
    parsed_df = with_parsed_dates(df)
    got = [tuple(r) for r in parsed_df.select(parsed("start_raw"), parsed("DECOM"), is_bad_date("start_raw"),
                                              is_bad_date("DECOM")).collect()]
    # CIN dates are ISO, SSDA903's dd/MM/yyyy; a column that is not a staged date is left alone
    assert got == [(dt.date(2015, 1, 5), dt.date(2015, 1, 5), False, False), (None, None, True, True)]
    assert len(parsed_df.columns) == len(df.columns) + 2
    assert without_parsed_dates(parsed_df).columns == df.columns


def test_school_outcomes_count_exclusions_and_take_sen_up_to_the_ks4_year(spark):
    ks4 = spark.createDataFrame([("A", 2016, 40.0, 0.5), ("B", 2017, None, None)],
                                "pupil_key string, ks4_year int, att8 double, p8 double")
    exclusions = spark.createDataFrame(
        [("A", 2015, 2, False), ("A", 2016, 1, False), ("A", 2017, 5, True), ("C", 2016, 1, True)],
        "pupil_key string, academic_year int, suspensions int, permanently_excluded boolean")
    sen = spark.createDataFrame([("A", 2015, "K"), ("A", 2016, None), ("A", 2017, "E"), ("B", 2016, "K"),
                                 ("B", 2018, "E"), ("C", 2016, "K")],
                                "pupil_key string, academic_year int, sen_provision string")
    got = sorted(tuple(r) for r in school_outcomes(ks4, exclusions, sen).collect())
    # A: 2017's exclusion and census come after KS4; the 2016 census is the latest up to KS4, with no provision
    assert got == [("A", 2016, 40.0, 0.5, True, False, 3, None), ("B", 2017, None, None, False, False, 0, "K")]


def test_each_nested_table_reads_only_its_own_block_of_the_cached_referrals(spark):
    from csc_demand.io.bronze import empty_bronze
    from csc_demand.transform import cin_xml_records as xml

    referrals = (xml.staged_referrals(empty_bronze(spark, "cin_xml"), "k")
                 .withColumn("rule_id", F.lit(None).cast("string")).persist())
    try:
        for staged, field in ((xml.staged_assessments, "Assessments"), (xml.staged_cp_plans, "ChildProtectionPlans"),
                              (xml.staged_cin_plans, "CINPlanDates"), (xml.staged_section47, "Section47")):
            plan = staged(referrals)._jdf.queryExecution().executedPlan().toString()
            scan = next(line for line in plan.splitlines() if "InMemoryTableScan" in line)
            assert [f for f in xml.NESTED_BLOCKS if f"{xml.nested_block(f)}#" in scan] == [field], scan
    finally:
        referrals.unpersist()


def test_a_rejected_xml_record_keeps_its_own_text_when_a_child_is_given_twice_in_a_return(spark, tmp_path):
    """A child given twice in one return has two copies at each locator. The raw_record of a quarantined XML
    record is the rejected copy's own text, never the other copy's, and CSC-DUP rejects the copy not loaded; no
    row is lost or repeated (an exact copy of a child is one row, two occurrences)."""
    from csc_demand.io.bronze import empty_bronze
    from csc_demand.io.cin_xml import read_cin_xml
    from csc_demand.io.discover import KINDS
    from csc_demand.quality.quarantine import finalise_quarantine
    from csc_demand.transform.silver_cin import silver_referrals
    from csc_demand.transform.silver_tables import all_quarantine_rows, validated_records

    def child(child_id: str, source: str, authorised: str) -> str:
        return (f"<Child><ChildIdentifiers><LAchildID>{child_id}</LAchildID><PersonBirthDate>2010-01-01"
                "</PersonBirthDate></ChildIdentifiers><CINdetails><CINreferralDate>2015-06-01</CINreferralDate>"
                f"<ReferralSource>{source}</ReferralSource><PrimaryNeedCode>N1</PrimaryNeedCode>"
                "<ReferralNFA>0</ReferralNFA><Assessments><AssessmentActualStartDate>2015-07-01"
                f"</AssessmentActualStartDate><AssessmentAuthorisationDate>{authorised}"
                "</AssessmentAuthorisationDate></Assessments></CINdetails></Child>")

    path = tmp_path / "cin_201_2016.xml"
    path.write_text(HEADER + child("C1", "1A", "2015-02-30") + child("C1", "2B", "2015-13-01")
                    + child("C2", "3C", "2015-02-31") * 2 + "</Children></Message>")
    bronze = {kind: empty_bronze(spark, kind) for kind in KINDS}
    bronze["cin_xml"] = read_cin_xml(spark, [SourceFile(str(path), path.name, "cin_xml", "201", 2016)])
    validated, _ = validated_records(bronze, "k")
    quarantine = finalise_quarantine(all_quarantine_rows(validated, bronze, "k", {"referrals", "assessments"}),
                                     "load", F.current_timestamp()).collect()
    c1, c2 = (pseudonymise(F.lit("201"), F.lit(c), "k") for c in ("C1", "C2"))
    c1, c2 = spark.range(1).select(c1, c2).first()
    got = sorted((r["table_name"], r["child_key"], r["rule_id"], r["occurrences"],
                  r["raw_record"].split('"ReferralSource":"')[-1][:2] if r["table_name"] == "referrals"
                  else r["raw_record"].split('"AssessmentAuthorisationDate":"')[1][:10]) for r in quarantine)
    accepted = {r["child_key"]: r["referral_source"] for r in silver_referrals(validated["referrals"]).collect()}
    assert accepted == {c1: "1A", c2: "3C"}  # same position and path: the first by text is loaded
    assert got == sorted([
        ("assessments", c1, "CSC-DATE", 1, "2015-02-30"), ("assessments", c1, "CSC-DATE", 1, "2015-13-01"),
        ("assessments", c2, "CSC-DATE", 2, "2015-02-31"),
        ("referrals", c1, "CSC-DUP", 1, "2B"), ("referrals", c2, "CSC-DUP", 1, "3C")])


def test_duplicates_and_the_latest_copy_in_one_sort_agree_with_the_two_steps(spark):
    """duplicates_and_latest against flag_duplicates then latest_copy (the two sorts it replaces), and by hand."""
    from csc_demand.quality.record_sets import duplicates_and_latest, flag_duplicates, latest_copy, latest_marked

    rows = [(1, "A", 2016, "a16.xml", 0, 1, None), (2, "A", 2016, "a16.xml", 0, 2, None),  # 2: CSC-DUP
            (3, "A", 2017, "a17.csv", 1, 1, None), (4, "A", 2017, "b17.xml", 0, 1, "8600"),  # 3: the latest
            (5, "A", 2015, "a15.xml", 0, 1, None),  # the first year
            (6, "B", 2016, "b16.xml", 0, 1, "X"), (7, "B", 2016, "b16.xml", 0, 2, "X"),  # rejected: no CSC-DUP
            (8, "C", 2016, "c16.xml", 0, 1, None), (9, "C", 2016, "npd16.csv", 1, 1, None)]  # 8: XML before NPD
    df = spark.createDataFrame(rows, "row int, key string, collection_year int, source_file string, "
                                     "source_rank int, ordinal int, rule_id string")
    marked = duplicates_and_latest(df, ["key"], ["ordinal"], [F.col("source_rank")])
    assert sorted((r["row"], r["rule_id"], r["_latest"], r["first_collection_year"]) for r in marked.collect()) == [
        (1, None, False, 2015), (2, "CSC-DUP", False, 2015), (3, None, True, 2015), (4, "8600", False, 2015),
        (5, None, False, 2015), (6, "X", False, None), (7, "X", False, None), (8, None, True, 2016),
        (9, None, False, 2016)]
    flagged = flag_duplicates(df, ["key"], ["ordinal"])
    assert_df_equality(marked.drop("_latest", "first_collection_year"), flagged.select(*df.columns),
                       ignore_row_order=True)
    two_steps = latest_copy(flagged.filter(F.col("rule_id").isNull()), ["key"], [F.col("source_rank")])
    assert_df_equality(latest_marked(marked).select(*two_steps.columns), two_steps, ignore_row_order=True,
                       ignore_nullable=True)
