"""Pathways after assessment and adjusted odds ratios, on hand-built rows."""
import math
from datetime import date

import pytest
from chispa import assert_df_equality
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.pathways import assessment_pathways, pathway_rates
from csc_demand.stats.regression import odds_ratios

D = date.fromisoformat
END = D("2021-03-31")
FROM = D("2018-04-01")  # 1 April of the first collection year with assessments


def test_pathway_window_opens_at_the_assessment_start_and_closes_twelve_months_later_for_assessments_authorised_in_the_data_years(spark):
    children = spark.createDataFrame([
        ("k1", "201", None, D("2012-03-01"), "F", "WBRI", "White", False),
        ("k2", "201", None, D("2004-07-01"), "M", "BAFR", "Black", False),
        ("k3", "202", None, D("2010-05-01"), "F", "WBRI", "White", False),
        ("k4", "202", None, D("2010-05-01"), "M", "WBRI", "White", False),
    ], INPUT_SCHEMAS["children"])
    assessments = spark.createDataFrame([
        ("a1", "r1", "k1", "201", D("2019-01-02"), D("2019-01-10"), ["16A"], [], 1, True, 2019),
        ("a2", "r2", "k1", "201", D("2020-04-20"), D("2020-05-01"), ["3B"], [], 1, True, 2021),
        ("a3", "r3", "k2", "201", D("2019-05-20"), D("2019-06-01"), ["10A"], [], 1, True, 2020),
        ("a4", "r3", "k2", "201", D("2019-07-01"), None, ["10A"], [], 1, True, 2020),  # not authorised
        ("a5", "r5", "k3", "202", D("2019-03-01"), D("2019-03-20"), ["16A"], [], 1, True, 2019),
        ("a6", "r6", "k4", "202", D("2019-03-01"), D("2019-03-20"), ["16A"], [], 1, True, 2019),
        # Authorised before FROM (in the data only because still open at the first return): left out, though p1
        # starts within its window.
        ("a0", "r0", "k1", "201", D("2018-03-01"), D("2018-03-31"), ["3B"], [], 1, True, 2019),
        ("a8", "r8", "k4", "202", D("2018-03-15"), FROM, ["16A"], [], 1, True, 2019),  # authorised on FROM: kept
    ], INPUT_SCHEMAS["assessments"])
    cp_plans = spark.createDataFrame([
        ("p1", "r1", "k1", "201", D("2019-01-05"), D("2019-09-01"), "NEG", "NEG", 0),  # between start and authorised
        ("p3", "r3", "k2", "201", D("2019-05-01"), D("2019-05-10"), "NEG", "NEG", 0),  # before a3's start
        ("p5", "r5", "k3", "202", D("2020-03-02"), None, "NEG", "NEG", 0),             # 12 months + 1 day after a5
        ("p6", "r6", "k4", "202", D("2020-03-01"), None, "NEG", "NEG", 0),             # exactly 12 months after a6
    ], INPUT_SCHEMAS["cp_plans"])
    periods = spark.createDataFrame([
        ("k1", "201", D("2020-01-03"), D("2020-03-01"), "E4A", 1, 1, 1),  # 12 months + 1 day after a1's start
        ("k2", "201", D("2020-05-20"), None, None, 1, 1, 1),              # exactly 12 months after a3's start
    ], INPUT_SCHEMAS["care_periods"])
    pathways = assessment_pathways(assessments, cp_plans, periods, children, END, FROM)
    expected = spark.createDataFrame([
        ("a1", 2019, D("2020-01-02"), True, "5-9", D("2019-01-05"), D("2020-01-03"), True, False),
        ("a2", 2021, D("2021-04-20"), False, "5-9", None, None, False, False),
        ("a3", 2020, D("2020-05-20"), True, "10-15", None, D("2020-05-20"), False, True),
        ("a5", 2019, D("2020-03-01"), True, "5-9", D("2020-03-02"), None, False, False),
        ("a6", 2019, D("2020-03-01"), True, "5-9", D("2020-03-01"), None, True, False),
        ("a8", 2019, D("2019-03-15"), True, "5-9", D("2020-03-01"), None, False, False),
    ], "assessment_key string, authorised_year int, window_end date, complete_window boolean, age_band string, "
       "next_cp_plan_start date, next_care_start date, cp_plan_within_window boolean, care_within_window boolean")
    got = pathways.select(*expected.columns)
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    # Complete windows: a1 (plan), a3 (care) in LA 201; a5 (neither), a6 (plan), a8 (neither) in LA 202.
    rates = {(r["la_code"], r["group_by"], r["group_value"]): tuple(r)[3:] for r in pathway_rates(pathways).collect()}
    assert rates[("ALL", "all", "all")] == (5, 2, 0.4, 1, 0.2)
    assert rates[("201", "all", "all")] == (2, 1, 0.5, 1, 0.5)
    assert rates[("202", "all", "all")] == (3, 1, 1 / 3, 0, 0.0)
    assert rates[("ALL", "ethnic_group", "Black")] == (1, 0, 0.0, 1, 1.0)
    assert rates[("202", "sex", "M")] == (2, 1, 0.5, 0, 0.0)
    assert rates[("ALL", "category_name", "unknown")] == (5, 2, 0.4, 1, 0.2)
    # all, category unknown, age bands, sexes, ethnic groups: ALL and 201 1+1+2+2+2; 202 1+1+1 (5-9)+2+1 (White).
    assert len(rates) == 8 + 8 + 6


def test_odds_ratio_of_a_binary_covariate_equals_the_two_by_two_table(spark):
    # M (reference, 60 rows): 20 with the outcome; F (40 rows): 25. OR = (25/15) / (20/40), SE = sqrt(sum 1/cell).
    rows = [("M", i < 20) for i in range(60)] + [("F", i < 25) for i in range(40)]
    df = spark.createDataFrame(rows, "sex string, cp boolean")
    (row,) = odds_ratios(df, "cp", ["sex"]).collect()
    ratio = (25 / 15) / (20 / 40)
    se = math.sqrt(1 / 25 + 1 / 15 + 1 / 20 + 1 / 40)
    assert (row["covariate"], row["level"], row["reference"], row["n_level"], row["n_total"]) == (
        "sex", "F", "M", 40, 100)
    assert row["odds_ratio"] == pytest.approx(ratio, rel=1e-8)
    assert row["std_error"] == pytest.approx(se, rel=1e-6)
    assert row["ci_lower"] == pytest.approx(ratio * math.exp(-1.959963984540054 * se), rel=1e-6)
    assert row["ci_upper"] == pytest.approx(ratio * math.exp(1.959963984540054 * se), rel=1e-6)


def test_interval_of_a_separated_level_is_unbounded_not_an_error():
    from csc_demand.stats.regression import _exp

    assert _exp(0.0) == 1.0
    assert _exp(1000.0) == float("inf")


def _newton_fixture(spark):
    """240 rows, two covariates; the coefficients and standard errors of an independent row-level
    Newton-Raphson logistic fit (columns F, 5-9, 10-15, intercept)."""
    import numpy as np

    rng = np.random.default_rng(5)
    sex = rng.choice(["M", "F"], size=240, p=[0.6, 0.4])
    band = rng.choice(["1-4", "5-9", "10-15"], size=240, p=[0.5, 0.3, 0.2])
    logit = -0.5 + 0.8 * (sex == "F") + np.where(band == "5-9", -0.7, np.where(band == "10-15", 0.9, 0.0))
    outcome = rng.random(240) < 1 / (1 + np.exp(-logit))
    df = spark.createDataFrame([(str(s), str(b), bool(y)) for s, b, y in zip(sex, band, outcome, strict=True)],
                               "sex string, band string, y boolean")
    x = np.column_stack([sex == "F", band == "5-9", band == "10-15", np.ones(240)]).astype(float)
    beta = np.zeros(4)
    for _ in range(50):  # Newton-Raphson on the row-level log-likelihood
        mu = 1 / (1 + np.exp(-x @ beta))
        info = x.T @ (x * (mu * (1 - mu))[:, None])
        beta = beta + np.linalg.solve(info, x.T @ (outcome - mu))
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    return df, beta, se, int((sex == "F").sum())


NEWTON_TERMS = [("sex", "F"), ("band", "5-9"), ("band", "10-15")]


def test_odds_ratios_equal_a_row_level_newton_fit(spark):
    # The fit on counted patterns must equal an independent row-level Newton-Raphson logistic fit.
    df, beta, se, n_female = _newton_fixture(spark)
    got = {(r["covariate"], r["level"]): r for r in odds_ratios(df, "y", ["sex", "band"]).collect()}
    assert sorted(got) == sorted(NEWTON_TERMS)
    for i, key in enumerate(NEWTON_TERMS):
        row = got[key]
        # Reference levels are the most frequent: M and 1-4.
        assert row["reference"] == {"sex": "M", "band": "1-4"}[key[0]]
        assert row["coefficient"] == pytest.approx(beta[i], abs=1e-8)
        assert row["std_error"] == pytest.approx(se[i], abs=1e-8)
        assert (row["n_total"], row["not_estimable"]) == (240, None)
    assert got[("sex", "F")]["n_level"] == n_female


def test_odds_ratios_on_many_copies_of_each_row_keep_the_coefficients(spark):
    # Every row 50 times: same coefficients, standard errors / sqrt(50). Rows counted by outcome with the count as
    # weight (MLlib's IRLS then starts near mu = 0 or 1) diverged here to coefficients ~1e15 of both signs.
    df, beta, se, n_female = _newton_fixture(spark)
    copies = df.crossJoin(spark.range(50)).drop("id")
    got = {(r["covariate"], r["level"]): r for r in odds_ratios(copies, "y", ["sex", "band"]).collect()}
    for i, key in enumerate(NEWTON_TERMS):
        assert got[key]["coefficient"] == pytest.approx(beta[i], abs=1e-6)
        assert got[key]["std_error"] == pytest.approx(se[i] / math.sqrt(50), abs=1e-8)
        assert got[key]["n_total"] == 240 * 50
    assert got[("sex", "F")]["n_level"] == n_female * 50


def test_levels_without_events_or_non_events_are_left_out_until_none_is_left(spark):
    # Round 1: a2 has no events (9 rows). Without a2, b2 has only events (6 rows). What is left is a 2x2 table:
    # a1 (reference, 30 rows, 10 events) against a3 (20 rows, 12 events), OR = (12/8) / (10/20) = 3.
    cells = [("a1", "b1", 30, 10), ("a3", "b1", 20, 12), ("a2", "b1", 5, 0), ("a2", "b2", 4, 0), ("a1", "b2", 6, 6)]
    rows = [(a, b, i < events) for a, b, n, events in cells for i in range(n)]
    df = spark.createDataFrame(rows, "A string, B string, y boolean")
    got = {(r["covariate"], r["level"]): r for r in odds_ratios(df, "y", ["A", "B"]).collect()}
    assert sorted(got) == [("A", "a2"), ("A", "a3"), ("B", "b2")]
    fitted = got[("A", "a3")]
    se = math.sqrt(1 / 12 + 1 / 8 + 1 / 10 + 1 / 20)
    assert (fitted["reference"], fitted["n_level"], fitted["n_total"], fitted["not_estimable"]) == ("a1", 20, 50, None)
    assert fitted["odds_ratio"] == pytest.approx(3.0, rel=1e-8)
    assert fitted["std_error"] == pytest.approx(se, rel=1e-6)
    left_out = {key: (r["reference"], r["n_level"], r["n_total"], r["not_estimable"], r["odds_ratio"],
                      r["coefficient"], r["p_value"]) for key, r in got.items() if key != ("A", "a3")}
    assert left_out == {("A", "a2"): ("a1", 9, 50, "no events", None, None, None),
                        ("B", "b2"): ("b1", 6, 50, "all events", None, None, None)}


def test_odds_ratios_are_null_when_the_fit_does_not_converge(spark):
    # Every level has events and non-events, yet A + B separates the outcome (events where the scores add up to
    # more than 0, both outcomes where they add up to 0): no finite maximum, so IRLS runs to max_iter.
    score = {"1": -1, "2": 0, "3": 1}
    rows = [("a1", "b1", False)]  # makes a1 and b1 the references
    for a in score:
        for b in score:
            total = score[a] + score[b]
            outcomes = [total > 0] * 4 if total != 0 else [True, True, False, False]
            rows += [(f"a{a}", f"b{b}", y) for y in outcomes]
    df = spark.createDataFrame(rows, "A string, B string, y boolean")
    got = sorted((r["covariate"], r["level"], r["reference"], r["odds_ratio"], r["n_total"], r["not_estimable"])
                 for r in odds_ratios(df, "y", ["A", "B"], max_iter=25).collect())
    assert got == [("A", "a2", "a1", None, 37, "not converged"), ("A", "a3", "a1", None, 37, "not converged"),
                   ("B", "b2", "b1", None, 37, "not converged"), ("B", "b3", "b1", None, 37, "not converged")]


def test_a_level_whose_rows_were_all_in_left_out_levels_is_named_as_such(spark):
    # b3's 4 rows are in a2 (no events) and a4 (only events): b3 has both outcomes, but none of its rows stays.
    cells = [("a1", "b1", 30, 10), ("a3", "b1", 20, 12), ("a2", "b3", 2, 0), ("a4", "b3", 2, 2)]
    rows = [(a, b, i < events) for a, b, n, events in cells for i in range(n)]
    df = spark.createDataFrame(rows, "A string, B string, y boolean")
    got = {(r["covariate"], r["level"]): (r["n_level"], r["n_total"], r["not_estimable"])
           for r in odds_ratios(df, "y", ["A", "B"]).collect()}
    assert got == {("A", "a3"): (20, 50, None), ("A", "a2"): (2, 50, "no events"),
                   ("A", "a4"): (2, 50, "all events"), ("B", "b3"): (4, 50, "no rows left")}


def test_odds_ratios_without_covariates_say_what_is_missing(spark):
    df = spark.createDataFrame([(True,), (False,)], "y boolean")
    with pytest.raises(ValueError, match="'y' needs at least one covariate"):
        odds_ratios(df, "y", [])
