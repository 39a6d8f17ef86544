"""The briefing's findings tables (issue 13) on one hand-built world; every figure is worked out in the comments.

Children: c1 (LA 201, girl, White, born 2010-06-01), c2 (201, boy, Black, 2004-02-01), c3 (202, boy, White,
2015-01-01), c4 (202, girl, Asian, 2019-01-01). End of data 2021-03-31.
"""
from datetime import date

import pytest
from csc_demand.outcomes.combinations import pathway_factor_combinations
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.demographics import category_demographics
from csc_demand.outcomes.pathways import assessment_pathways
from csc_demand.outcomes.reentry import (
    care_periods_by_category,
    care_reentry,
    dated_categories,
)
from csc_demand.outcomes.repeat_plans import cp_plans_by_abuse, plan_sequence
from csc_demand.outcomes.thresholds import category_thresholds

D = date.fromisoformat
END = D("2021-03-31")


@pytest.fixture(scope="module")
def world(spark):
    children = spark.createDataFrame([
        ("c1", "201", None, D("2010-06-01"), "F", "WBRI", "White", False),
        ("c2", "201", None, D("2004-02-01"), "M", "BAFR", "Black", False),
        ("c3", "202", None, D("2015-01-01"), "M", "WBRI", "White", False),
        ("c4", "202", None, D("2019-01-01"), "F", "APKN", "Asian", False),
    ], INPUT_SCHEMAS["children"])
    # Pathway windows (start + 12 months): a1 to 2019-04-02, a2 2020-06-01, a3 2019-09-01, a4 2020-01-10 (all
    # complete); a5 to 2021-06-01 (incomplete).
    assessments = spark.createDataFrame([
        ("a1", "r1", "c1", "201", D("2018-04-02"), D("2018-04-20"), ["3B"], [], 1, True, 2018),
        ("a2", "r2", "c1", "201", D("2019-06-01"), D("2019-06-20"), ["3B", "16A"], [], 2, True, 2020),
        ("a3", "r3", "c2", "201", D("2018-09-01"), D("2018-09-15"), ["3A", "2B"], [], 2, True, 2019),
        ("a4", "r4", "c3", "202", D("2019-01-10"), D("2019-01-30"), ["16A"], [], 1, True, 2019),
        ("a5", "r5", "c3", "202", D("2020-06-01"), D("2020-06-10"), ["3C"], [], 1, True, 2021),
    ], INPUT_SCHEMAS["assessments"])
    categories = spark.createDataFrame(
        [(a, "c", "201", 2020, cid, name, 0.9, "m", "1") for a, cid, name in (
            ("a1", 1, "DA single"), ("a2", 4, "Complex DA"), ("a3", 4, "Complex DA"), ("a4", 3, "Neglect"),
            ("a5", 1, "DA single"))],
        INPUT_SCHEMAS["assessment_category"])
    cp_plans = spark.createDataFrame([
        ("p1", "r1", "c1", "201", D("2018-04-10"), D("2018-12-01"), "NEG", "NEG", 0),  # during a1, before authorised
        ("p2", "r2", "c1", "201", D("2019-06-05"), None, "NEG", "NEG", 0),             # c1's second plan: a repeat
        ("p3", "r4", "c3", "202", D("2019-01-20"), D("2019-08-01"), "PHY", "PHY", 1),  # earlier plan before the data
    ], INPUT_SCHEMAS["cp_plans"])
    cin_plans = spark.createDataFrame([
        ("r3", "c2", "201", D("2018-09-10"), None),   # during a3
        ("r9", "c4", "202", D("2020-01-01"), None),   # c4 has no assessment
    ], INPUT_SCHEMAS["cin_plans"])
    periods = spark.createDataFrame([
        ("c2", "201", D("2019-01-01"), D("2019-05-01"), "E4A", 1, 1, 1),  # home, back within 12 months
        ("c2", "201", D("2019-11-01"), D("2020-02-01"), "E4B", 2, 1, 1),  # home, followed to 2021-02-01, no return
        ("c3", "202", D("2020-02-01"), None, None, 1, 1, 1),              # still in care
    ], INPUT_SCHEMAS["care_periods"])
    pathways = assessment_pathways(assessments, cp_plans, periods, children, END, D("2014-04-01"),
                                   categories=categories)
    return dict(children=children, assessments=assessments, categories=categories, cp_plans=cp_plans,
                cin_plans=cin_plans, periods=periods, pathways=pathways)


def test_pathways_by_domestic_abuse_combination(world):
    # Complete windows with domestic abuse (group 3): a1 3B alone (CP plan p1), a2 3B + neglect (p2), a3 3A + 2B
    # (care 2019-01-01, no plan). a4 has no domestic abuse; a5's window is incomplete: LA 202 has no rows.
    got = {(r["la_code"], r["combination"]): tuple(r)[2:]
           for r in pathway_factor_combinations(world["pathways"], world["assessments"]).collect()}
    expected = {"domestic_abuse_alone": (1, 1, 1.0, 0, 0.0), "domestic_abuse_with_neglect": (1, 1, 1.0, 0, 0.0),
                "domestic_abuse_with_other": (1, 0, 0.0, 1, 1.0)}
    assert got == {(la, combination): row for la in ("201", "ALL") for combination, row in expected.items()}


def test_category_demographics_count_pathways_within_each_group(world):
    # Complete windows: a1 (DA single, 5-9, F, White: plan), a2 (Complex DA, 5-9, F, White: plan),
    # a3 (Complex DA, 10-15, M, Black: care), a4 (Neglect, 1-4, M, White: plan). Ages at authorisation.
    rows = category_demographics(world["pathways"]).collect()
    got = {(r["la_code"], r["dimension"], r["value"], r["category_name"]): tuple(r)[5:] for r in rows}
    assert got[("ALL", "all", "all", "all")] == (4, 3, 0.75, 1, 0.25)
    assert got[("ALL", "sex", "F", "all")] == (2, 2, 1.0, 0, 0.0)
    assert got[("ALL", "all", "all", "Complex DA")] == (2, 1, 0.5, 1, 0.5)
    assert got[("ALL", "ethnic_group", "Black", "Complex DA")] == (1, 0, 0.0, 1, 1.0)
    assert got[("201", "age_band", "5-9", "DA single")] == (1, 1, 1.0, 0, 0.0)
    assert got[("202", "age_band", "1-4", "Neglect")] == (1, 1, 1.0, 0, 0.0)
    assert {r["category_id"] for r in rows if r["category_name"] == "all"} == {None}
    # Rows per LA level: categories x (all + distinct ages + sexes + ethnic groups). 201: DA single 4, Complex DA
    # 1+2+2+2, all 1+2+2+2 = 18; 202: Neglect 4, all 4 = 8; ALL: 4 + 7 + 4 + (1+3+2+2) = 23.
    assert len(rows) == 18 + 8 + 23


def test_category_mix_at_each_threshold(world):
    # Assessments: 201 a1 DA single, a2 and a3 Complex DA; 202 a4 Neglect, a5 DA single.
    # CIN plans: c2's during a3 (started 2018-09-01) -> Complex DA; c4's -> unknown (no assessment).
    # CP plans by the latest assessment started on or before: p1 (2018-04-10) a1 -> DA single (authorised only on
    # 2018-04-20); p2 a2 -> Complex DA; p3 a4 -> Neglect. Care: c2's two periods a3 -> Complex DA; c3's (2020-02-01)
    # a4 -> Neglect (a5 starts later).
    w = world
    rows = category_thresholds(w["assessments"], w["categories"], w["cin_plans"], w["cp_plans"], w["periods"],
                               D("2018-04-01"))
    got = {(r["la_code"], r["threshold"], r["category_name"]): (r["category_id"], r["count"]) for r in rows.collect()}
    assert got == {
        ("201", "assessment", "DA single"): (1, 1), ("201", "assessment", "Complex DA"): (4, 2),
        ("202", "assessment", "Neglect"): (3, 1), ("202", "assessment", "DA single"): (1, 1),
        ("ALL", "assessment", "DA single"): (1, 2), ("ALL", "assessment", "Complex DA"): (4, 2),
        ("ALL", "assessment", "Neglect"): (3, 1),
        ("201", "cin_plan", "Complex DA"): (4, 1), ("202", "cin_plan", "unknown"): (None, 1),
        ("ALL", "cin_plan", "Complex DA"): (4, 1), ("ALL", "cin_plan", "unknown"): (None, 1),
        ("201", "cp_plan", "DA single"): (1, 1), ("201", "cp_plan", "Complex DA"): (4, 1),
        ("202", "cp_plan", "Neglect"): (3, 1),
        ("ALL", "cp_plan", "DA single"): (1, 1), ("ALL", "cp_plan", "Complex DA"): (4, 1),
        ("ALL", "cp_plan", "Neglect"): (3, 1),
        ("201", "in_care", "Complex DA"): (4, 2), ("202", "in_care", "Neglect"): (3, 1),
        ("ALL", "in_care", "Complex DA"): (4, 2), ("ALL", "in_care", "Neglect"): (3, 1),
    }
    shares = {(r["la_code"], r["threshold"], r["category_name"]): r["share"] for r in rows.collect()}
    assert shares[("ALL", "assessment", "DA single")] == pytest.approx(2 / 5)
    assert shares[("201", "assessment", "Complex DA")] == pytest.approx(2 / 3)
    assert shares[("ALL", "in_care", "Neglect")] == pytest.approx(1 / 3)
    without_cin = category_thresholds(w["assessments"], None, None, w["cp_plans"], w["periods"],
                                      D("2018-04-01")).collect()
    assert {(r["threshold"], r["category_name"]) for r in without_cin if r["la_code"] == "ALL"} == {
        ("assessment", "unknown"), ("cp_plan", "unknown"), ("in_care", "unknown")}
    # From 2018-04-15: p1 (started 2018-04-10) is left out; a1 (authorised 2018-04-20) still counts and still
    # gives later plans their category.
    later = category_thresholds(w["assessments"], w["categories"], w["cin_plans"], w["cp_plans"], w["periods"],
                                D("2018-04-15")).collect()
    assert {(r["la_code"], r["category_name"]): r["count"] for r in later if r["threshold"] == "cp_plan"} == {
        ("201", "Complex DA"): 1, ("202", "Neglect"): 1, ("ALL", "Complex DA"): 1, ("ALL", "Neglect"): 1}
    assert {(r["category_name"], r["count"]) for r in later
            if r["threshold"] == "assessment" and r["la_code"] == "201"} == {("DA single", 1), ("Complex DA", 2)}


def test_care_periods_by_the_category_of_the_first_period(world):
    # c2's first period (2019-01-01) takes a3's category (authorised 2018-09-15): Complex DA. Two periods, both
    # returns home followed 12 months (to 2020-05-01 and 2021-02-01, before the censor date 2021-03-31); the first
    # is followed by a new period on 2019-11-01: 1 re-entry of 2. c3's period (2020-02-01) takes a4's: Neglect.
    w = world
    reentry = care_reentry(w["periods"], w["children"], END, dated_categories(w["assessments"], w["categories"]))
    got = {(r["la_code"], r["category_name"]): tuple(r)[3:] for r in care_periods_by_category(reentry).collect()}
    c2 = (1, 1, 1.0, 2, 2, 2, 1, 0.5)
    c3 = (1, 0, 0.0, 1, 0, 0, 0, None)
    assert got == {("201", "Complex DA"): c2, ("201", "all"): c2, ("202", "Neglect"): c3, ("202", "all"): c3,
                   ("ALL", "Complex DA"): c2, ("ALL", "Neglect"): c3,
                   ("ALL", "all"): (2, 1, 0.5, 3, 2, 2, 1, 0.5)}


def test_cp_plans_by_category_of_abuse_and_age_at_start(world):
    # p1 (NEG, age 7 on 2018-04-10: 5-9, first plan), p2 (NEG, 9: 5-9, second plan: repeat),
    # p3 (PHY, 4 on 2019-01-20: 1-4, number_of_previous_cpp 1: repeat).
    sequence = plan_sequence(world["cp_plans"], world["children"], END)
    got = {tuple(r)[:3]: tuple(r)[3:] for r in cp_plans_by_abuse(sequence, world["cp_plans"],
                                                                  world["children"]).collect()}
    neglect, physical = (2, 1, 0.5), (1, 1, 1.0)
    expected = {("201", c, b): neglect for c in ("NEG", "all") for b in ("5-9", "all")}
    expected |= {("202", c, b): physical for c in ("PHY", "all") for b in ("1-4", "all")}
    expected |= {("ALL", "NEG", "5-9"): neglect, ("ALL", "NEG", "all"): neglect, ("ALL", "all", "5-9"): neglect,
                 ("ALL", "PHY", "1-4"): physical, ("ALL", "PHY", "all"): physical, ("ALL", "all", "1-4"): physical,
                 ("ALL", "all", "all"): (3, 2, pytest.approx(2 / 3))}
    assert got == expected
