"""The DfE's own validators as an oracle (issue 16): for every DfE rule id we apply, our rule and the DfE's flag the
same records.

One CIN census XML and one SSDA903 return (header and episodes), written here by hand: clean children plus one
child per rule with that rule's defect. Our side evaluates each rule's condition on its own (not first failure
only, as ingest does) over the records staged from the files by the ingest's own functions; the DfE's side is
``csc-validator-be-cin`` and ``csc-validator-be-903`` run on the same files in their own virtualenv (.venv-dfe,
`make test`; tests/dfe_oracle.py). A record is named by its child: every child has one record of each kind the
rule reads (D8940 and E501 two plans / episodes: the later one is flagged by both sides; E142 two episodes: the
earlier, left open, is).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import subprocess
from functools import reduce
from pathlib import Path

import pytest
from csc_demand.io.cin_xml import read_cin_xml
from csc_demand.io.csv_source import read_csv_files
from csc_demand.io.discover import SourceFile
from csc_demand.quality import record_sets, rules
from csc_demand.quality.catalog import APPLIED_IN_PART, LEFT_OUT, NOT_YET
from csc_demand.quality.checks import with_parsed_dates
from csc_demand.quality.record_sets import apply_rules
from csc_demand.quality.rules import normalised_factors
from csc_demand.transform import cin_xml_records as xml
from csc_demand.transform.care_episodes import (
    EPISODE_ORDER,
    checked_episodes,
    header_births,
    staged_header_children,
)
from csc_demand.transform.silver_cin import checked_cp_plans, checked_referral_activity, tie_break
from helpers.lakehouse import TEST_PSEUDONYM_KEY
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

KEY = TEST_PSEUDONYM_KEY
LA, YEAR = "201", 2023                         # census year 1 April 2022 to 31 March 2023
CIN_RULESET, LAC_RULESET = "cin2022_23", "lac2022_23"
DFE_PYTHON = Path(__file__).resolve().parents[1] / ".venv-dfe" / "bin" / "python"
ORACLE = Path(__file__).with_name("dfe_oracle.py")
NO_ID = "(no id)"


# ---- a CIN census return ---------------------------------------------------------------------------------------
def el(tag: str, text) -> str:
    return "" if text is None else f"<{tag}>{text}</{tag}>"


def assessment(start="2022-06-05", authorised="2022-07-01", factors=("3B",)) -> str:
    listed = "".join(el("AssessmentFactors", f) for f in factors)
    return ("<Assessments>" + el("AssessmentActualStartDate", start) + el("AssessmentAuthorisationDate", authorised)
            + (f"<FactorsIdentifiedAtAssessment>{listed}</FactorsIdentifiedAtAssessment>" if factors else "")
            + "</Assessments>")


def cin_plan(start, end=None) -> str:
    return "<CINPlanDates>" + el("CINPlanStartDate", start) + el("CINPlanEndDate", end) + "</CINPlanDates>"


def section47(start, icpc=None, not_required=None) -> str:
    return ("<Section47>" + el("S47ActualStartDate", start) + el("InitialCPCtarget", start)
            + el("DateOfInitialCPC", icpc) + el("ICPCnotRequired", not_required or (None if icpc else "true"))
            + "</Section47>")


def cp_plan(start, end=None, previous=0, reviews=()) -> str:
    listed = "".join(el("CPPreviewDate", r) for r in reviews)
    return ("<ChildProtectionPlans>" + el("CPPstartDate", start) + el("CPPendDate", end)
            + el("InitialCategoryOfAbuse", "NEG") + el("LatestCategoryOfAbuse", "NEG")
            + el("NumberOfPreviousCPP", previous) + (f"<Reviews>{listed}</Reviews>" if reviews else "")
            + "</ChildProtectionPlans>")


ONE_ASSESSMENT = (assessment(),)
SAME = "as the closure"  # the default reason for closure: RC1 when the referral is closed, none when it is open


def referral(date="2022-06-01", closure=None, nfa="0", activity=ONE_ASSESSMENT, reason=SAME, need="N1") -> str:
    reason = ("RC1" if closure else None) if reason == SAME else reason
    return ("<CINdetails>" + el("CINreferralDate", date) + el("ReferralSource", "1A") + el("PrimaryNeedCode", need)
            + el("CINclosureDate", closure) + el("ReasonForClosure", reason)
            + "".join(activity) + el("ReferralNFA", nfa) + "</CINdetails>")


def child(child_id, *details, birth="2015-01-01", expected=None, gender=1, disabilities=("NONE",)) -> str:
    listed = "".join(el("Disability", d) for d in disabilities)
    return ("<Child><ChildIdentifiers>" + f"<LAchildID>{child_id}</LAchildID>" + el("PersonBirthDate", birth)
            + el("ExpectedPersonBirthDate", expected) + el("GenderCurrent", gender)
            + "</ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity>"
            f"<Disabilities>{listed}</Disabilities></ChildCharacteristics>" + "".join(details) + "</Child>")


CHILDREN = [
    child("C1", referral()),
    child("C2", referral("2022-05-01", closure="2023-02-01", activity=(
        assessment("2022-05-03", "2022-05-20", ("2A", "3B")), section47("2022-05-04"),
        cp_plan("2022-06-01", "2022-12-01"), cin_plan("2022-12-02", "2023-01-31")))),
    child("", referral()),                                                          # 8500
    child("D8600a", referral(None, activity=())),                                   # referral date missing
    child("D8600b", referral("2023-04-10", activity=())),                           # referral after the census year
    child("D8630", referral(closure="2022-05-15", activity=())),
    child("D8620", referral(closure="2023-05-01", activity=())),
    child("D8606", referral("2022-04-10", activity=()), birth="2023-03-01"),        # 46 weeks before birth
    child("D8520", referral("2023-01-01", activity=()), birth="2023-06-01"),
    child("D1103", referral(activity=(assessment("2022-05-20", "2022-06-10"),))),
    child("D8608", referral(activity=(assessment("2022-07-01", "2022-06-20"),))),
    child("D8696", referral(activity=(assessment("2023-01-10", "2023-04-20"),))),
    child("D8736", referral("2022-02-01", activity=(assessment("2022-03-01", None, ()),))),
    child("D8869", referral(activity=(assessment(factors=("21", "3B")),))),
    child("D8898", referral(activity=(assessment(factors=("3B", "3B")),))),
    child("D1105", referral(activity=(cp_plan("2022-05-20"),))),
    child("D8925", referral(activity=(cp_plan("2022-07-01", "2022-06-20"),))),
    child("D8940", referral(activity=(cp_plan("2022-06-10", "2022-09-01"), cp_plan("2022-08-01", "2022-12-01")))),
    child("D2889", referral(activity=(section47("2022-05-20"),))),
    child("D1104", referral(activity=(section47("2022-06-05", icpc="2022-05-20"),))),
    child("D4015", referral(activity=(cin_plan("2022-05-20"),))),
    child("D4011", referral(activity=(cin_plan("2022-07-01", "2022-06-20"),))),
    child("D4000", referral(nfa="1", activity=(cin_plan("2022-06-05"),))),
    child("D8831", referral(nfa="1")),
    child("D8832", referral(nfa="1", activity=(cp_plan("2022-06-05"),))),
    child("D8810", referral(reason="RC2", activity=())),                            # a reason, no closure date
    child("D8805", referral(closure="2022-09-01", reason=None, activity=())),
    child("D8610", referral(need=None, activity=())),
    child("D2990", referral(closure="2022-12-01", reason="RC8", activity=(assessment(), cp_plan("2022-07-01")))),
    child("D8614", referral(activity=(assessment(authorised=None),))),             # open, yet with factors
    child("D8720", referral(activity=(cp_plan("2023-04-10"),))),
    child("D8840", referral(activity=(cp_plan("2022-07-01", "2022-07-01"),))),
    child("D8930", referral(activity=(cp_plan("2022-07-01", "2023-04-20"),))),
    child("D8730", referral(activity=(cp_plan("2022-07-01", previous=None),))),
    child("D8841", referral(activity=(cp_plan("2022-07-01", reviews=("2022-06-30",)),))),
    child("D4010", referral(activity=(cin_plan("2023-04-10"),))),
    child("D4013", referral(activity=(cin_plan("2022-07-01", "2023-04-20"),))),
    child("D8615", referral(activity=(section47("2022-06-10", icpc="2022-06-08"),))),
    child("D8715", referral(activity=(section47("2023-03-20", icpc="2023-04-12"),))),
    child("D8740", referral("2022-02-01", activity=(section47("2022-03-01", not_required="0"),))),
    child("D4180", referral(), gender=None),
    child("D8750", referral(), birth=None, expected="2023-01-15"),                  # unborn, gender 1
    child("D8790", referral(), disabilities=("NONE", "MOB")),
    child("D8794", referral(), disabilities=("MOB", "MOB")),
    child("D4014", referral(activity=(cin_plan("2022-07-01", "2022-09-01"), cin_plan("2022-08-01", "2022-12-01")))),
    child("D4004", referral(activity=(cin_plan("2022-07-01"), cin_plan("2022-08-01")))),         # two open
    child("D8896", referral(activity=(assessment("2022-06-05", None, ()), assessment("2022-06-10", None, ())))),
    child("D8839", referral(activity=(section47("2022-06-05", not_required="0"),
                                      section47("2022-06-10", not_required="0")))),
    child("D8890", referral(activity=(section47("2022-06-05", icpc="2022-06-20"),
                                      section47("2022-06-10", icpc="2022-06-24")))),
    child("D8867", referral(closure="2023-01-10", activity=(assessment(authorised=None, factors=()),))),
    child("D8868", referral(closure="2023-01-10", activity=(section47("2022-06-05", not_required="0"),))),
    child("D8565", referral(closure="2022-09-01", activity=(assessment("2022-06-05", "2022-09-20"),))),
    child("D8815", referral("2022-05-01", activity=()), referral("2022-07-01", activity=())),       # both open
    child("D8816", referral("2022-05-01", activity=()), referral("2022-07-01", closure="2022-08-01", activity=())),
    child("D8820", referral("2022-05-01", closure="2022-08-01", activity=()),
          referral("2022-07-01", closure="2022-09-01", activity=())),
    child("D4016", referral(activity=(cp_plan("2022-07-01", "2022-12-01"), cin_plan("2022-08-01", "2022-10-01")))),
    child("D4017", referral(activity=(cin_plan("2022-07-01", "2022-12-01"), cp_plan("2022-08-01", "2022-10-01")))),
    child("D4001", referral(activity=(cin_plan("2022-07-01"), cp_plan("2022-08-01")))),          # both open
    child("D4003", referral(activity=(cin_plan("2022-07-01", "2022-12-01"),
                                      cp_plan("2022-06-05", "2022-06-30", reviews=("2022-08-01",))))),
]


def cin_xml(children: list[str]) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><Message><Header><CollectionDetails><Collection>CIN</Collection>'
            f"<Year>{YEAR}</Year><ReferenceDate>{YEAR}-03-31</ReferenceDate></CollectionDetails><Source>"
            f"<SourceLevel>L</SourceLevel><LEA>{LA}</LEA><DateTime>{YEAR}-05-01T10:00:00</DateTime></Source>"
            "</Header><Children>" + "\n".join(children) + "</Children></Message>\n")


CIN_XML = cin_xml(CHILDREN)
# DfE 8816 groups referrals by LAchildID and leaves a NaN row id for a child without one, on which the validator
# then crashes (ValueError in include_issue_child, losing every rule's result): it runs on the children with ids.
CIN_XML_WITH_IDS = cin_xml([c for c in CHILDREN if "<LAchildID></LAchildID>" not in c])
RUN_ON_CHILDREN_WITH_IDS = ["8816"]

# ---- an SSDA903 return ----------------------------------------------------------------------------------------
EPISODE_DEFECTS = ("E142", "E143", "E149", "E356", "E501", "E144", "E145", "E146", "E148", "E353", "E354", "E385",
                   "E355", "E431", "E432", "E437", "E357", "E387", "E389", "E460", "E388", "E388B", "E388C", "E433",
                   "E434", "E435", "E436")
BIRTHS = {"E301": "01/06/2023", "E351": "01/01/1995", "E302": "01/06/2022",  # born after the year; 27; after care
          "E352": "01/01/2003", "E386": "01/01/2004", "E407": "01/01/2004"}  # 18 or more at the episode
HEADER_903 = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n" + "".join(
    f"{c},1,{BIRTHS.get(c, '01/01/2012')},WBRI,UN1,,\n" for c in ("E1", "E2", *EPISODE_DEFECTS, *BIRTHS))


def episode(child_id, start, rne, end, rec, ls="C2", need="N1", place="U1") -> str:
    return f"{child_id},{start},{rne},{ls},{need},{place},PR1,{end},{rec},,,,\n"


EPISODES_903 = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n" + "".join(
    episode(*row) for row in [
        ("E1", "01/05/2022", "S", "", ""),
        ("E2", "01/05/2022", "S", "01/08/2022", "X1"), ("E2", "01/08/2022", "P", "", "", "C2", "N1", "U3"),
        ("E142", "01/05/2022", "S", "", ""), ("E142", "01/08/2022", "P", "", ""),     # the first never ended
        ("E143", "01/05/2022", "Q", "", ""),
        ("E149", "01/05/2022", "S", "01/09/2022", "E99"),
        ("E356", "01/07/2022", "S", "01/06/2022", "E11"),
        ("E501", "01/05/2022", "S", "01/09/2022", "E11"), ("E501", "01/08/2022", "S", "", ""),
        ("E144", "01/05/2022", "S", "", "", "X9"), ("E145", "01/05/2022", "S", "", "", "C2", "N9"),
        ("E146", "01/05/2022", "S", "", "", "C2", "N1", "Q1"),
        ("E148", "01/05/2022", "S", "01/09/2022", ""),                                 # ceased, no reason
        ("E353", "01/01/1990", "S", "", ""), ("E354", "10/04/2023", "S", "", ""),
        ("E385", "01/05/2022", "S", "10/04/2023", "E11"), ("E355", "01/06/2022", "S", "01/06/2022", "E11"),
        ("E431", "01/05/2022", "S", "01/07/2022", "E11"), ("E431", "01/07/2022", "S", "", ""),  # left, back that day
        ("E432", "01/05/2022", "S", "01/07/2022", "E11"), ("E432", "01/08/2022", "P", "", ""),
        ("E437", "01/05/2022", "S", "01/07/2022", "E2"), ("E437", "01/08/2022", "S", "", ""),
        ("E357", "01/05/2022", "P", "", ""),                                           # first episode, not S
        ("E302", "01/05/2022", "S", "", ""), ("E352", "01/05/2022", "S", "", ""),
        ("E386", "01/05/2022", "S", "01/09/2022", "E11"), ("E407", "01/05/2022", "S", "01/09/2022", "E45"),
        ("E387", "01/05/2022", "S", "01/09/2022", "E5"), ("E389", "01/05/2022", "S", "01/09/2022", "E7"),  # aged 10
        ("E460", "01/05/2022", "S", "01/09/2022", "E17"),
        ("E388", "01/05/2022", "S", "01/08/2022", "X1"),                               # X1, no episode after
        ("E388B", "01/05/2022", "S", "01/08/2022", "X1"), ("E388B", "01/09/2022", "S", "", ""),  # the next: later
        ("E388C", "01/05/2022", "S", "01/08/2022", "E11"), ("E388C", "01/08/2022", "P", "", "", "C2", "N1", "U3"),
        ("E433", "01/05/2022", "S", "01/07/2022", "X1"), ("E433", "01/08/2022", "P", "", "", "C2", "N1", "U3"),
        ("E434", "01/05/2022", "S", "01/07/2022", "X1"), ("E434", "01/07/2022", "L", "", ""),   # same legal status
        ("E435", "01/05/2022", "S", "01/07/2022", "X1"), ("E435", "01/07/2022", "P", "", "", "V2", "N1", "U3"),
        ("E436", "01/05/2022", "S", "01/07/2022", "X1"), ("E436", "01/07/2022", "U", "", "", "C2", "N1", "U3"),
    ])


def _dfe(*args: str) -> list[dict]:
    if not DFE_PYTHON.exists():
        pytest.fail(f"{DFE_PYTHON} is missing: run `make test` (it builds .venv-dfe from constraints-dfe.txt)")
    out = subprocess.run([str(DFE_PYTHON), str(ORACLE), *args], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"the DfE validator failed on {args}:\n{out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]  # it prints too


def _child_ids() -> dict[str, str]:
    """child_key -> LAchildID for every child of the fixtures (pseudonyms recomputed with Python's hmac)."""
    ids = [c.split("<LAchildID>")[1].split("<")[0] for c in CHILDREN] + [
        line.split(",")[0] for line in HEADER_903.splitlines()[1:]]
    return {hmac.new(KEY.encode(), f"{LA}|{i}".encode(), hashlib.sha256).hexdigest(): i for i in ids if i}


def _flags(frame: DataFrame, checks) -> DataFrame:
    """(rule, child_key) for every DfE-numbered rule of ``checks`` whose condition holds, each rule on its own
    (the rules comparing a child's records: on the records accepted by the others, as ingest applies them)."""
    numbered = [(rule, condition) for rule, condition in checks if not rule.startswith("CSC-")]
    fired = with_parsed_dates(frame).withColumn("_fired", F.array(*[F.when(c, F.lit(r)) for r, c in numbered]))
    return fired.select(F.explode(F.filter("_fired", lambda r: r.isNotNull())).alias("rule"), "child_key")


@pytest.fixture(scope="module")
def agreement(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("dfe")
    paths = {"cin": root / f"cin_{LA}_{YEAR}.xml", "header": root / f"ssda903_{LA}_{YEAR}_header.csv",
             "episodes": root / f"ssda903_{LA}_{YEAR}_episodes.csv", "cin_with_ids": root / "cin_with_ids.xml"}
    for name, text in (("cin", CIN_XML), ("header", HEADER_903), ("episodes", EPISODES_903),
                       ("cin_with_ids", CIN_XML_WITH_IDS)):
        paths[name].write_text(text)
    selected = ",".join(r for r in COMPARED if r not in RUN_ON_CHILDREN_WITH_IDS)
    theirs = (_dfe("cin", CIN_RULESET, selected, str(paths["cin"]))
              + _dfe("cin", CIN_RULESET, ",".join(RUN_ON_CHILDREN_WITH_IDS), str(paths["cin_with_ids"]))
              + _dfe("903", LAC_RULESET, selected, str(YEAR), str(paths["header"]), str(paths["episodes"])))

    source = lambda kind, path: SourceFile(str(path), path.name, kind, LA, YEAR)  # noqa: E731
    bronze = read_cin_xml(spark, [source("cin_xml", paths["cin"])])
    referrals = xml.staged_referrals(bronze, KEY).withColumn("rule_id", F.lit(None).cast("string"))
    header = staged_header_children(read_csv_files(spark, "ssda903_header", [source("ssda903_header",
                                                                                  paths["header"])]), KEY)
    episodes = checked_episodes(read_csv_files(spark, "ssda903_episodes", [source("ssda903_episodes",
                                                                                   paths["episodes"])]), KEY,
                                header_births(header))
    assessments = xml.staged_assessments(referrals).withColumn("factor_codes", normalised_factors())
    cp_plans, cin_plans = xml.staged_cp_plans(referrals), xml.staged_cin_plans(referrals)
    section47 = xml.staged_section47(referrals)
    order = tie_break()
    flags = [_flags(xml.staged_children(bronze, KEY), rules.child_checks("cin")),
             _flags(header, rules.child_checks("ssda903")),
             _flags(referrals, rules.referral_checks()),
             _flags(apply_rules(referrals.drop("rule_id"), rules.referral_checks()),
                    record_sets.referral_set_checks()),
             _flags(assessments, rules.assessment_checks()),
             _flags(checked_referral_activity(assessments, rules.assessment_checks()),
                    record_sets.assessment_set_checks(order)),
             _flags(cp_plans, rules.cp_plan_checks()),
             _flags(checked_cp_plans(cp_plans), record_sets.cp_plan_set_checks(order)),
             _flags(cin_plans, rules.cin_plan_checks()),
             _flags(record_sets.with_cp_plans_beside(checked_referral_activity(cin_plans, rules.cin_plan_checks()),
                                                     checked_cp_plans(cp_plans)),
                    record_sets.cin_plan_set_checks(order) + record_sets.cin_plan_cp_checks()),
             _flags(section47, rules.section47_checks()),
             _flags(checked_referral_activity(section47, rules.section47_checks()),
                    record_sets.section47_set_checks(order)),
             _flags(episodes, rules.care_episode_checks()),
             _flags(episodes, record_sets.care_episode_set_checks(EPISODE_ORDER))]
    ours = {(r["rule"], r["child_key"]) for r in reduce(DataFrame.unionByName, flags).collect()}  # one job
    names = _child_ids()
    ours_by_id = {(rule, names.get(key, NO_ID) if key else NO_ID) for rule, key in ours}
    theirs_by_id = {(t["rule"], NO_ID if t["child"] in ("nan", "None", "") else t["child"]) for t in theirs}
    return ours_by_id, theirs_by_id


# Every DfE rule id our rules apply, each with its defect child above (test_every_rule_we_apply_is_compared checks
# this list against the code).
COMPARED = sorted(["1103", "1104", "1105", "142", "143", "149", "2889", "356", "4000", "4011", "4015", "501", "8500",
                   "8520", "8600", "8606", "8608", "8620", "8630", "8696", "8736", "8831", "8832", "8869", "8898",
                   "8925", "8940", "2990", "4010", "4013", "4180", "8610", "8614", "8615", "8715", "8720", "8730",
                   "8740", "8750", "8790", "8794", "8805", "8810", "8840", "8841", "8930",
                   "144", "145", "146", "148", "301", "353", "354", "355", "385",
                   "4004", "4014", "8839", "8890", "8896", "357", "431", "432", "437",
                   "8867", "8868", "302", "351", "352", "386", "407", "8565",
                   "4001", "4003", "4016", "4017", "8815", "8816", "8820",
                   "387", "388", "389", "433", "434", "435", "436", "460"])
# Where the DfE validator 0.1.13 itself is wrong on a valid return (read in its source); our rule follows the
# DfE's rule text. Strict: if a release fixes one, the test says so.
DFE_DEFECTS = {
    "8869": "its XML reader keeps an assessment's factors as one list, but the rule compares each row with '21', "
            "so it never fires on a return",
    "8898": "the same list of factors makes the rule's drop_duplicates raise TypeError (unhashable list): it "
            "reports nothing",
    "8614": "its error id holds the assessment's list of factors, so grouping by it raises TypeError (unhashable "
            "list; the validator prints 'Error with rule 8614'): it reports nothing",
    "8832": "its merge of CIN details and CP plans swaps their row ids (suffixes), so it flags the CP plan whose "
            "row number is the referral's: none here, a wrong plan in a larger return",
}


def test_every_rule_we_apply_is_compared(spark):
    set_checks = (record_sets.assessment_set_checks([]) + record_sets.cp_plan_set_checks([])
                  + record_sets.cin_plan_set_checks([]) + record_sets.section47_set_checks([])
                  + record_sets.care_episode_set_checks([]) + record_sets.cin_plan_cp_checks()
                  + record_sets.referral_set_checks())
    checks = (rules.child_checks("cin") + rules.child_checks("ssda903") + rules.referral_checks()
              + rules.assessment_checks() + rules.cp_plan_checks() + rules.cin_plan_checks()
              + rules.section47_checks() + rules.care_episode_checks() + set_checks)
    assert sorted({rule for rule, _ in checks if not rule.startswith("CSC-")}) == COMPARED


def test_agreement_table(agreement):
    """Print the table of agreement; every rule flags its own defect child and nothing clean."""
    ours, theirs = agreement
    print("\nrule   ours  DfE  both  only ours / only DfE")
    for rule in COMPARED:
        mine, dfe = {c for r, c in ours if r == rule}, {c for r, c in theirs if r == rule}
        print(f"{rule:<6} {len(mine):>4} {len(dfe):>4} {len(mine & dfe):>5}  {sorted(mine - dfe)} / "
              f"{sorted(dfe - mine)}")
    flagged_clean = {(r, c) for r, c in ours | theirs if r in COMPARED and c in ("C1", "C2", "E1", "E2")}
    assert flagged_clean == set()
    assert {r for r, _ in ours} == set(COMPARED)


@pytest.mark.parametrize("rule", [pytest.param(r, marks=pytest.mark.xfail(reason=DFE_DEFECTS[r], strict=True))
                                  if r in DFE_DEFECTS else r for r in COMPARED])
def test_our_rule_and_the_dfe_validator_flag_the_same_records(agreement, rule):
    ours, theirs = agreement
    assert {c for r, c in ours if r == rule} == {c for r, c in theirs if r == rule}


# ---- docs/tables.md: every DfE rule, applied or left out and why (generated from the validators' registries) ---
DOCS = Path(__file__).resolve().parents[1] / "docs" / "tables.md"
NOT_YET_REASON = "a DfE rule on a field the analysis reads, not applied yet"
BEGIN, END = "<!-- dfe-rules: generated by `python tests/test_dfe_validator.py` -->", "<!-- dfe-rules: end -->"


@functools.cache
def dfe_registry(ruleset: str) -> tuple[str, ...]:
    """The validator's rule ids, in id order."""
    return tuple(sorted((r["rule"] for r in _dfe("registry", ruleset)), key=lambda r: (len(r), r)))


def dfe_rules_section() -> str:
    lines = [BEGIN, "", "| source | applied as the DfE rule | applied in part, under our id | left out: why | ids |",
             "|---|---|---|---|---|"]
    for kind, ruleset in (("CIN", CIN_RULESET), ("SSDA903", LAC_RULESET)):
        ids = dfe_registry(ruleset)
        lines.append(f"| {kind} ({ruleset}, {len(ids)} rules) | {', '.join(i for i in ids if i in COMPARED)} | | | |")
        in_part = [f"{i} ({APPLIED_IN_PART[i]})" for i in ids if i in APPLIED_IN_PART]
        lines.append(f"| {kind} | | {', '.join(in_part)} | | |")
        for reason, left_out in LEFT_OUT.items():
            listed = [i for i in ids if i in left_out]
            if listed:
                lines.append(f"| {kind} | | | {reason} ({len(listed)}) | {', '.join(listed)} |")
        not_yet = [i for i in ids if i in NOT_YET]
        lines.append(f"| {kind} | | | {NOT_YET_REASON} ({len(not_yet)}) | {', '.join(not_yet) or 'none'} |")
    return "\n".join(lines + ["", END])


def documented_section() -> str:
    text = DOCS.read_text()
    return text[text.index(BEGIN):text.index(END) + len(END)] if BEGIN in text else ""


def test_every_dfe_rule_is_applied_or_left_out_for_one_reason():
    """Each DfE rule id is in exactly one of: our rules (compared above), applied in part, left out for a reason,
    not yet; and every id we list is one of the DfE's."""
    dfe = {rule for ruleset in (CIN_RULESET, LAC_RULESET) for rule in dfe_registry(ruleset)}
    places = [set(COMPARED), set(APPLIED_IN_PART), set(NOT_YET), *[set(ids) for ids in LEFT_OUT.values()]]
    assert sorted(dfe - set().union(*places)) == []
    assert sorted(set().union(*places) - dfe) == []
    assert sum(map(len, places)) == len(dfe)  # no rule in two places


def test_docs_list_every_dfe_rule_applied_or_left_out_with_why():
    assert documented_section() == dfe_rules_section(), "regenerate it: .venv/bin/python tests/test_dfe_validator.py"


if __name__ == "__main__":  # rewrite the generated section of docs/tables.md
    text, section = DOCS.read_text(), dfe_rules_section()
    DOCS.write_text(text.replace(documented_section(), section) if BEGIN in text else text + "\n" + section + "\n")
    print(f"wrote {DOCS}")
