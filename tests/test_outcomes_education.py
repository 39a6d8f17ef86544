"""Education groups, gaps, categories, look-back and the SEN interaction, on hand-built rows."""
from datetime import date, timedelta

import numpy as np
import pytest
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.education import (
    Lookback,
    education_by_category,
    education_gaps,
    lookback,
    pupil_involvement,
    sen_gaps,
)
from csc_demand.outcomes.followup import first_collection_day

D = date.fromisoformat


def test_highest_involvement_before_ks4_and_gaps_to_never_referred(spark):
    school = spark.createDataFrame([
        ("P0", 2021, 50.0, 0.1, False, False, "N"), ("P00", 2021, 40.0, 0.0, True, False, "K"),
        ("P000", 2021, None, None, False, True, "N"),
        ("P1", 2021, 30.0, -1.0, True, False, "N"), ("P2", 2021, 20.0, -2.0, False, True, "E"),
        ("P3", 2021, None, None, False, False, "N"), ("P4", 2021, 10.0, -3.0, False, False, "N"),
        ("P5", 2015, 35.0, 0.0, False, False, "N"),  # a cohort outside the look-back: left out
    ], INPUT_SCHEMAS["school_outcomes"])
    children = spark.createDataFrame(
        [(c, la, p, D("2005-01-01"), "F", "WBRI", "White", False)
         for c, la, p in (("c1", "201", "P1"), ("c2", "201", "P2"), ("c3", "201", "P3"), ("c4", "201", "P4"),
                          ("c5", "201", None), ("c6", "202", "P4"), ("c7", "201", "P5"))],
        INPUT_SCHEMAS["children"])
    referrals = spark.createDataFrame(
        [(f"r{i}", c, la, D(day), None, None, False, "1A", "N1", 2021)
         for i, (c, la, day) in enumerate((
             ("c1", "201", "2019-01-01"), ("c2", "201", "2017-01-01"), ("c2", "201", "2018-06-01"),
             ("c3", "201", "2018-01-01"), ("c4", "201", "2016-01-01"), ("c5", "201", "2016-01-01"),
             ("c6", "202", "2018-02-01"), ("c7", "201", "2014-06-01")))],
        INPUT_SCHEMAS["referrals"])
    plans = spark.createDataFrame([("p1", "r2", "c2", "201", D("2018-07-01"), None, "NEG", "NEG", 0)],
                                  INPUT_SCHEMAS["cp_plans"])
    periods = spark.createDataFrame([
        ("c3", "201", D("2021-09-01"), None, None, 1, 1, 1),  # after 31 Aug of the KS4 year: does not count
        ("c4", "201", D("2017-01-01"), None, None, 1, 1, 1),
    ], INPUT_SCHEMAS["care_periods"])
    assessments = spark.createDataFrame(
        [(a, r, c, la, D(auth) - timedelta(days=20), D(auth), ["3B"], [], 1, True, 2021)
         for a, r, c, la, auth in (("a1", "r0", "c1", "201", "2019-02-01"), ("a2", "r1", "c2", "201", "2017-02-01"),
                                   ("a3", "r2", "c2", "201", "2018-07-10"), ("a4", "r2", "c2", "201", "2021-10-01"),
                                   ("a5", "r4", "c4", "201", "2016-02-01"), ("a6", "r6", "c6", "202", "2018-03-01"))],
        INPUT_SCHEMAS["assessments"])
    categories = spark.createDataFrame(
        [(a, "c", "201", 2021, cid, name, 0.9, "m", "1")
         for a, cid, name in (("a1", 3, "C3"), ("a2", 1, "C1"), ("a3", 2, "C2"), ("a4", 3, "C3"),
                              ("a5", 0, "No factors identified"), ("a6", 1, "C1"))],
        INPUT_SCHEMAS["assessment_category"])
    look = Lookback(D("2014-04-01"), (2021,))
    pupils = pupil_involvement(school, children, referrals, plans, periods, assessments, categories, look)
    got = {r["pupil_key"]: (r["involvement"], r["episodes"], r["episodes_group"], r["sen_status"], r["la_code"],
                            r["category_id"], r["category_name"], r["history_from"], r["ks4_years"])
           for r in pupils.collect()}
    never = (None, None, None, D("2014-04-01"), "2021")
    assert got == {
        "P0": ("never_referred", 0, "none", "no SEN", *never), "P00": ("never_referred", 0, "none", "SEN", *never),
        "P000": ("never_referred", 0, "none", "no SEN", *never),
        "P1": ("child_in_need", 1, "one", "no SEN", "201", 3, "C3", D("2014-04-01"), "2021"),
        # the last assessment authorised by 31 Aug 2021 (a3), not a4 authorised after
        "P2": ("cp_plan", 2, "several", "SEN", "201", 2, "C2", D("2014-04-01"), "2021"),
        "P3": ("child_in_need", 1, "one", "no SEN", "201", None, "unknown", D("2014-04-01"), "2021"),
        # two child records in two LAs: the LA of the latest event (202's referral) and its category
        "P4": ("in_care", 2, "several", "no SEN", "202", 1, "C1", D("2014-04-01"), "2021")}
    # without demand categories: the same involvement and LA, and no category ("unknown" once involved)
    without = pupil_involvement(school, children, referrals, plans, periods, assessments, None, look).collect()
    assert {r["pupil_key"]: (r["involvement"], r["la_code"], r["category_id"], r["category_name"]) for r in without} == {
        key: (row[0], row[4], None, None if row[0] == "never_referred" else "unknown") for key, row in got.items()}

    gaps = education_gaps(pupils)
    cells = {(r["la_code"], r["breakdown"], r["involvement"], r["sen_status"], r["episodes_group"]): r
             for r in gaps.collect()}
    assert {(r["history_from"], r["ks4_years"]) for r in cells.values()} == {(D("2014-04-01"), "2021")}
    never = cells[("ALL", "involvement", "never_referred", "all", "all")]
    assert (never["pupils"], never["att8_pupils"], never["mean_att8"]) == (3, 2, 45.0)
    cin = cells[("ALL", "involvement", "child_in_need", "all", "all")]
    assert (cin["pupils"], cin["mean_att8"], cin["suspended"], cin["permanently_excluded"]) == (2, 30.0, 1, 0)
    assert cin["att8_ratio_to_never_referred"] == pytest.approx(30 / 45)
    assert cin["suspension_rate_ratio"] == pytest.approx(0.5 / (1 / 3))
    assert cin["exclusion_rate_ratio"] == 0.0
    assert cells[("201", "involvement", "child_in_need", "all", "all")]["att8_ratio_to_never_referred"] == \
        pytest.approx(30 / 45)  # an LA's involved pupils against England's never-referred
    care = cells[("202", "involvement", "in_care", "all", "all")]
    assert (care["pupils"], care["att8_ratio_to_never_referred"]) == (1, pytest.approx(10 / 45))
    assert not [k for k in cells if k[0] != "ALL" and k[2] == "never_referred"]
    cp = cells[("ALL", "involvement", "cp_plan", "all", "all")]
    assert cp["exclusion_rate_ratio"] == pytest.approx(1.0 / (1 / 3))
    # Same SEN status as reference: never-referred SEN pupils suspend at 1.0, no-SEN at 0 (ratio undefined).
    assert cells[("ALL", "involvement_by_sen", "cp_plan", "SEN", "all")]["att8_ratio_to_never_referred"] == 0.5
    assert cells[("ALL", "involvement_by_sen", "child_in_need", "no SEN", "all")]["suspension_rate_ratio"] is None
    assert cells[("ALL", "episodes", "cp_plan", "all", "several")]["pupils"] == 1
    assert cells[("ALL", "episodes", "child_in_need", "all", "one")]["att8_ratio_to_never_referred"] == \
        pytest.approx(30 / 45)

    by_category = {(r["la_code"], r["category_id"], r["category_name"]): r
                   for r in education_by_category(pupils).collect()}
    assert set(by_category) == {("ALL", None, "all"), ("ALL", 1, "C1"), ("ALL", 2, "C2"), ("ALL", 3, "C3"),
                                ("ALL", None, "unknown"), ("201", None, "all"), ("201", 2, "C2"), ("201", 3, "C3"),
                                ("201", None, "unknown"), ("202", None, "all"), ("202", 1, "C1")}
    every = by_category[("ALL", None, "all")]  # P1-P4: scores 30, 20, -, 10; one suspension, one exclusion
    assert (every["pupils"], every["att8_pupils"], every["mean_att8"], every["suspended"],
            every["permanently_excluded"]) == (4, 3, 20.0, 1, 1)
    assert every["att8_ratio_to_never_referred"] == pytest.approx(20 / 45)
    assert every["suspension_rate_ratio"] == pytest.approx(0.25 / (1 / 3))
    assert every["exclusion_rate_ratio"] == pytest.approx(0.25 / (1 / 3))
    assert by_category[("201", None, "all")]["mean_att8"] == 25.0
    assert by_category[("ALL", 2, "C2")]["exclusion_rate_ratio"] == pytest.approx(3.0)
    unknown = by_category[("ALL", None, "unknown")]
    assert (unknown["pupils"], unknown["att8_pupils"], unknown["mean_att8"]) == (1, 0, None)
    assert by_category[("202", 1, "C1")]["att8_ratio_to_never_referred"] == pytest.approx(10 / 45)
    assert {(r["history_from"], r["ks4_years"]) for r in by_category.values()} == {(D("2014-04-01"), "2021")}


def test_only_cohorts_whose_last_years_lie_in_the_history_are_observable(spark):
    referrals = spark.createDataFrame(
        [(f"r{y}", "c", "201", D(f"{y - 1}-06-01"), None, None, False, "1A", "N1", y) for y in (2011, 2009, 2015)],
        INPUT_SCHEMAS["referrals"])
    # 1 April of the first collection year, 2008-09
    assert first_collection_day(referrals, "silver.referrals") == D("2008-04-01")
    school = spark.createDataFrame([(f"P{y}", y, 40.0, 0.0, False, False, "N") for y in (2016, 2014, 2015, 2018)],
                                   INPUT_SCHEMAS["school_outcomes"])
    # 7 years up to the end of KS4 start on 1 September of KS4 year - 7: 2014 -> 2007-09-01, before the history.
    look = lookback(school, D("2008-04-01"), 7)
    assert (look.ks4_years, look.label) == ((2015, 2016, 2018), "2015-2016, 2018")
    assert lookback(school, D("2008-09-01"), 7).ks4_years == (2015, 2016, 2018)
    assert lookback(school, D("2008-09-02"), 7).ks4_years == (2016, 2018)
    assert lookback(school, D("2014-04-01"), 7).label == ""


def _pupil(key, involvement, la, sen, att8, suspended=False):
    level = {"never_referred": 0, "child_in_need": 1}[involvement]
    return (key, 2021, la, level, involvement, level, "none", None, None, "E" if sen == "SEN" else "N", sen, att8,
            suspended, False, D("2008-04-01"), "2021")


def test_sen_gap_relative_and_difference_in_differences_with_its_interval(spark):
    rows = ([_pupil(f"n{i}", "never_referred", None, "no SEN", a, i == 0) for i, a in enumerate((50.0, 60.0, 70.0))]
            + [_pupil(f"s{i}", "never_referred", None, "SEN", a, i == 0) for i, a in enumerate((20.0, 30.0, 40.0))]
            + [_pupil("s9", "never_referred", None, "SEN", None)]
            + [_pupil(f"c{i}", "child_in_need", "201", "no SEN", a) for i, a in enumerate((40.0, 44.0, 48.0))]
            + [_pupil(f"d{i}", "child_in_need", "201", "SEN", a, i == 0) for i, a in enumerate((10.0, 20.0))])
    schema = ("pupil_key string, ks4_year int, la_code string, involvement_level int, involvement string, "
              "episodes long, episodes_group string, category_id int, category_name string, sen_provision string, "
              "sen_status string, att8 double, suspended boolean, permanently_excluded boolean, history_from date, "
              "ks4_years string")
    got = {(r["la_code"], r["involvement"]): r for r in sen_gaps(spark.createDataFrame(rows, schema)).collect()}
    assert set(got) == {("ALL", "never_referred"), ("ALL", "child_in_need"), ("201", "child_in_need")}
    never, cin = got[("ALL", "never_referred")], got[("ALL", "child_in_need")]
    # Means by hand: never 60 vs 30 (gap 30 points, half of 60); CIN 44 vs 15 (gap 29 points, 29/44 of 44).
    # The absolute gap narrows by a point while the relative gap widens by 29/44 - 1/2 = 7/44.
    assert (never["att8_no_sen"], never["att8_sen"], never["att8_gap"], never["att8_relative_gap"]) == \
        (60.0, 30.0, 30.0, 0.5)
    assert (never["pupils_sen"], never["pupils_no_sen"], never["did_estimate"]) == (3, 3, None)
    assert (cin["att8_no_sen"], cin["att8_sen"], cin["att8_gap"], cin["pupils_sen"], cin["pupils_no_sen"]) == \
        (44.0, 15.0, 29.0, 2, 3)
    assert cin["att8_relative_gap"] == pytest.approx(29 / 44, abs=1e-12)
    assert cin["did_estimate"] == pytest.approx(7 / 44, abs=1e-12)
    # Independent interval: delta method with a numerical gradient of the DiD over the four cell means, whose
    # sampling variances are s^2 / n (numpy, not the closed form the module uses).
    groups = [np.array(v) for v in ((50, 60, 70), (20, 30, 40), (40, 44, 48), (10, 20))]
    means = np.array([g.mean() for g in groups])
    variances = np.array([g.var(ddof=1) / len(g) for g in groups])

    def did(m):
        return (1 - m[3] / m[2]) - (1 - m[1] / m[0])

    gradient = np.array([(did(means + h) - did(means - h)) / 2e-6 for h in np.eye(4) * 1e-6])
    half_width = 1.959963984540054 * np.sqrt(gradient ** 2 @ variances)
    assert (cin["did_ci_lower"], cin["did_ci_upper"]) == (pytest.approx(7 / 44 - half_width, abs=1e-7),
                                                          pytest.approx(7 / 44 + half_width, abs=1e-7))
    assert half_width == pytest.approx(0.3087, abs=1e-4)  # by hand: 1.96 * sqrt(0.0115741 + 0.0132334)
    assert got[("201", "child_in_need")].asDict() == {**cin.asDict(), "la_code": "201"}
    # Suspension: never SEN 1 of 4, no SEN 1 of 3 -> 0.75; CIN SEN 1 of 2, no SEN 0 of 3 -> undefined.
    assert never["suspension_ratio_sen"] == pytest.approx(0.75)
    assert (cin["suspension_ratio_sen"], never["exclusion_ratio_sen"]) == (None, None)
