"""Repeat CP plans, re-entry to care and the survival table built from them, on hand-built rows."""
from datetime import date

from chispa import assert_df_equality
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.estimates import survival_estimates
from csc_demand.outcomes.reentry import care_reentry, dated_categories
from csc_demand.outcomes.repeat_plans import plan_sequence, repeat_plan_rates

D = date.fromisoformat
END = D("2021-03-31")


def children(spark):
    rows = [(k, "201", None, D(born), "M", "WBRI", "White", False)
            for k, born in (("k1", "2008-01-01"), ("k2", "2003-01-01"), ("k3", "2009-06-01"), ("k4", "2010-01-01"))]
    return spark.createDataFrame(rows, INPUT_SCHEMAS["children"])


def plans(spark):
    rows = [("p1", "r1", "k1", "201", D("2015-05-01"), D("2016-01-01"), "NEG", "NEG", 0),
            ("p2", "r2", "k1", "201", D("2017-03-01"), None, "EMO", "EMO", 1),       # still open
            ("p3", "r3", "k2", "201", D("2019-06-01"), D("2019-12-01"), "PHY", "PHY", 1)]  # a plan before the data
    return spark.createDataFrame(rows, INPUT_SCHEMAS["cp_plans"])


def test_plan_order_repeat_flag_and_time_to_next_plan(spark):
    got = plan_sequence(plans(spark), children(spark), END).select(
        "cp_plan_key", "plan_number", "repeat_plan", "next_plan_start", "days_end_to_next_plan", "at_risk", "event",
        "followup_days", "start_year")
    expected = spark.createDataFrame([
        ("p1", 1, False, D("2017-03-01"), 425, True, True, 425, 2016),
        ("p2", 2, True, None, None, False, None, None, 2017),
        ("p3", 1, True, None, None, True, False, 397, 2020),  # censored at the 18th birthday, 2021-01-01
    ], "cp_plan_key string, plan_number int, repeat_plan boolean, next_plan_start date, days_end_to_next_plan int, "
       "at_risk boolean, event boolean, followup_days int, start_year int")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_repeat_plan_rates_and_survival_estimates_from_the_plan_sequence(spark):
    sequence = plan_sequence(plans(spark), children(spark), END)
    rates = {(r["la_code"], r["start_year"], r["category_name"]): (r["plans"], r["repeat_plans"])
             for r in repeat_plan_rates(sequence).collect()}
    expected = {(2016, "all"): (1, 0), (2016, "unknown"): (1, 0), (2017, "all"): (1, 1),
                (2017, "unknown"): (1, 1), (2020, "all"): (1, 1), (2020, "unknown"): (1, 1)}
    assert rates == {(la, *key): value for la in ("201", "ALL") for key, value in expected.items()}
    # At risk: p1 (event at 425 days) and p3 (censored at 397 days). S(425) = 1 - 1/1 = 0.
    est = survival_estimates(sequence, "repeat_cp_plan", groupings=["category_name"]).collect()
    got = {(r["la_code"], r["group_by"], r["group_value"], r["horizon_days"]):
           (r["cumulative_incidence"], r["n_at_risk"], r["events"], r["n_complete"], r["raw_share"]) for r in est}
    for la in ("201", "ALL"):
        for group in (("all", "all"), ("category_name", "unknown")):
            assert got[(la, *group, 360)] == (0.0, 2, 0, 2, 0.0)
            assert got[(la, *group, 365)] == (0.0, 2, 0, 2, 0.0)
            assert got[(la, *group, 420)] == (0.0, 1, 0, 1, 0.0)  # p3 left the risk set at 397 days
            assert got[(la, *group, 450)] == (1.0, 0, 1, 1, 1.0)  # p1's event at 425; p1 followed >= 450 days
            assert got[(la, *group, 2190)] == (1.0, 0, 1, 0, None)
    # Horizons every 30 days from 30 to 2190 (73) plus 365, for 2 LA levels x 2 groups.
    assert len(est) == 74 * 2 * 2
    assert {r["measure"] for r in est} == {"repeat_cp_plan"}


def test_return_home_then_reentry_after_an_x1_chain(spark):
    # Ingestion turns k1's S -> X1 -> X1 -> E4A episodes into one period (n_episodes 3); the re-entry is period 2.
    periods = spark.createDataFrame([
        ("k1", "201", D("2016-02-01"), D("2016-08-01"), "E4A", 1, 3, 2),
        ("k1", "201", D("2017-01-15"), D("2017-06-01"), "E11", 2, 1, 1),   # adopted: not a return home
        ("k3", "201", D("2018-01-01"), D("2018-03-01"), "E4B", 1, 1, 1),   # home, never back: censored
        ("k4", "201", D("2019-01-01"), None, None, 1, 1, 1),               # still in care
    ], INPUT_SCHEMAS["care_periods"])
    assessments = spark.createDataFrame([
        ("a1", "r1", "k1", "201", D("2016-01-05"), D("2016-01-10"), ["16A"], [], 1, True, 2016),
        ("a2", "r2", "k1", "201", D("2016-02-20"), D("2016-03-01"), ["20"], [], 1, True, 2016),
    ], INPUT_SCHEMAS["assessments"])
    categories = spark.createDataFrame([
        ("a1", "k1", "201", 2016, 7, "Neglect", 0.9, "m", "1"), ("a2", "k1", "201", 2016, 12, "Other", 0.9, "m", "1"),
    ], INPUT_SCHEMAS["assessment_category"])
    got = care_reentry(periods, children(spark), END, dated_categories(assessments, categories)).select(
        "child_key", "period_start", "returned_home", "next_period_start", "days_home_to_reentry", "at_risk",
        "event", "followup_days", "category_name")
    expected = spark.createDataFrame([
        ("k1", D("2016-02-01"), True, D("2017-01-15"), 167, True, True, 167, "Neglect"),
        ("k1", D("2017-01-15"), False, None, None, False, None, None, "Other"),
        ("k3", D("2018-01-01"), True, None, None, True, False, 1126, None),
        ("k4", D("2019-01-01"), False, None, None, False, None, None, None),
    ], "child_key string, period_start date, returned_home boolean, next_period_start date, "
       "days_home_to_reentry int, at_risk boolean, event boolean, followup_days int, category_name string")
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
