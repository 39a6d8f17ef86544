"""Education groups and gaps, on hand-built rows."""
from datetime import date

import pytest

from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.education import education_gaps, pupil_involvement, sen_gaps

D = date.fromisoformat


def test_highest_involvement_before_ks4_and_gaps_to_never_referred(spark):
    school = spark.createDataFrame([
        ("P0", 2021, 50.0, 0.1, False, False, "N"), ("P00", 2021, 40.0, 0.0, True, False, "K"),
        ("P000", 2021, None, None, False, True, "N"),
        ("P1", 2021, 30.0, -1.0, True, False, "N"), ("P2", 2021, 20.0, -2.0, False, True, "E"),
        ("P3", 2021, None, None, False, False, "N"), ("P4", 2021, 10.0, -3.0, False, False, "N"),
    ], INPUT_SCHEMAS["school_outcomes"])
    children = spark.createDataFrame(
        [(c, "201", p, D("2005-01-01"), "F", "WBRI", "White", False)
         for c, p in (("c1", "P1"), ("c2", "P2"), ("c3", "P3"), ("c4", "P4"), ("c5", None))],
        INPUT_SCHEMAS["children"])
    referrals = spark.createDataFrame(
        [(f"r{i}", c, "201", D(day), None, None, False, "1A", "N1", 2021)
         for i, (c, day) in enumerate((("c1", "2019-01-01"), ("c2", "2017-01-01"), ("c2", "2018-06-01"),
                                       ("c3", "2018-01-01"), ("c4", "2016-01-01"), ("c5", "2016-01-01")))],
        INPUT_SCHEMAS["referrals"])
    plans = spark.createDataFrame([("p1", "r2", "c2", "201", D("2018-07-01"), None, "NEG", "NEG", 0)],
                                  INPUT_SCHEMAS["cp_plans"])
    periods = spark.createDataFrame([
        ("c3", "201", D("2021-09-01"), None, None, 1, 1, 1),  # after 31 Aug of the KS4 year: does not count
        ("c4", "201", D("2017-01-01"), None, None, 1, 1, 1),
    ], INPUT_SCHEMAS["care_periods"])
    pupils = pupil_involvement(school, children, referrals, plans, periods)
    got = {r["pupil_key"]: (r["involvement"], r["episodes"], r["episodes_group"], r["sen_status"])
           for r in pupils.collect()}
    assert got == {"P0": ("never_referred", 0, "none", "no SEN"), "P00": ("never_referred", 0, "none", "SEN"),
                   "P000": ("never_referred", 0, "none", "no SEN"), "P1": ("child_in_need", 1, "one", "no SEN"),
                   "P2": ("cp_plan", 2, "several", "SEN"), "P3": ("child_in_need", 1, "one", "no SEN"),
                   "P4": ("in_care", 1, "one", "no SEN")}
    gaps = education_gaps(pupils)
    cells = {(r["breakdown"], r["involvement"], r["sen_status"], r["episodes_group"]): r for r in gaps.collect()}
    never = cells[("involvement", "never_referred", "all", "all")]
    assert (never["pupils"], never["att8_pupils"], never["mean_att8"]) == (3, 2, 45.0)
    cin = cells[("involvement", "child_in_need", "all", "all")]
    assert (cin["pupils"], cin["mean_att8"], cin["suspended"], cin["permanently_excluded"]) == (2, 30.0, 1, 0)
    assert cin["att8_ratio_to_never_referred"] == pytest.approx(30 / 45)
    assert cin["suspension_rate_ratio"] == pytest.approx(0.5 / (1 / 3))
    assert cin["exclusion_rate_ratio"] == 0.0
    cp = cells[("involvement", "cp_plan", "all", "all")]
    assert cp["exclusion_rate_ratio"] == pytest.approx(1.0 / (1 / 3))
    # Same SEN status as reference: never-referred SEN pupils suspend at 1.0, no-SEN at 0 (ratio undefined).
    assert cells[("involvement_by_sen", "cp_plan", "SEN", "all")]["att8_ratio_to_never_referred"] == 0.5
    assert cells[("involvement_by_sen", "child_in_need", "no SEN", "all")]["suspension_rate_ratio"] is None
    assert cells[("episodes", "cp_plan", "all", "several")]["pupils"] == 1
    assert cells[("episodes", "child_in_need", "all", "one")]["att8_ratio_to_never_referred"] == pytest.approx(30 / 45)
    sen = {r["involvement"]: tuple(r)[1:] for r in sen_gaps(gaps).collect()}
    assert sen["never_referred"] == (40.0, 50.0, 10.0, None, 0.0)
    assert sen["cp_plan"] == (20.0, None, None, None, None)
