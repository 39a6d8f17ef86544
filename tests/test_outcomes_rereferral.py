"""Re-referral windows on hand-built silver rows: every expected value below was worked out by hand."""
from datetime import date

from chispa import assert_df_equality
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.followup import referral_categories
from csc_demand.outcomes.rereferral import referral_windows, rereferral_rates
from helpers.silver_rows import CHILDREN, REFERRALS, child, referral

D = date.fromisoformat
END = D("2021-03-31")
CHECKED = ("referral_key", "previous_referral_date", "rereferral_12m", "next_referral_date",
           "days_closure_to_next_referral", "at_risk", "event", "censored", "followup_days",
           "potential_followup_days")
CHECKED_SCHEMA = ("referral_key string, previous_referral_date date, rereferral_12m boolean, "
                  "next_referral_date date, days_closure_to_next_referral int, at_risk boolean, event boolean, "
                  "censored boolean, followup_days int, potential_followup_days int")


EXPECTED = [
    ("r1", None, False, D("2020-01-10"), 343, True, True, False, 343, 789),
    ("r2", D("2019-01-10"), True, D("2021-01-11"), 367, True, True, False, 367, 446),
    ("r3", D("2020-01-10"), False, None, None, False, None, None, None, None),
    ("r4", None, False, D("2021-02-28"), 350, True, True, False, 350, 381),
    ("r5", D("2020-02-29"), True, None, None, True, False, True, 30, 30),
    ("r6", None, False, D("2020-10-01"), 488, True, False, True, 467, 467),
    ("r7", D("2019-05-01"), False, None, None, False, None, None, None, None),
    ("r8", None, False, D("2021-03-01"), 366, True, True, False, 366, 396),
    ("r9", D("2020-02-29"), False, None, None, False, None, None, None, None),
    ("r12", None, False, D("2020-05-20"), 0, True, True, False, 0, 315),
    ("r13", D("2020-04-01"), True, None, None, True, False, True, 274, 274),
]


def frames(spark, children=CHILDREN, referrals=REFERRALS):
    return (spark.createDataFrame(children, INPUT_SCHEMAS["children"]),
            spark.createDataFrame(referrals, INPUT_SCHEMAS["referrals"]))


def test_referral_windows_edges_match_hand_computed_values(spark):
    children, referrals = frames(spark)
    windows = referral_windows(referrals, children, END)
    expected = spark.createDataFrame(EXPECTED, CHECKED_SCHEMA)
    assert_df_equality(windows.select(*CHECKED), expected, ignore_row_order=True, ignore_nullable=True)
    # No categories: the category columns exist and are null.
    assert windows.where("category_id IS NOT NULL OR category_name IS NOT NULL").count() == 0


def test_episode_repeated_in_two_annual_files_gives_one_window_row(spark):
    # Silver keeps one row per episode (latest return); r1 was open across 31 March, in the 2019 and 2020 files.
    children, referrals = frames(spark, CHILDREN[:1], [referral("r1", "c1", "201", "2019-01-10", "2019-06-01", 2020)])
    rows = referral_windows(referrals, children, END).select("referral_key", "collection_year", "followup_days")
    assert [tuple(r) for r in rows.collect()] == [("r1", 2020, 669)]  # 2019-06-01 -> 2021-03-31


def test_cross_la_links_referrals_by_pupil_key_only_when_configured(spark):
    children, referrals = frames(
        spark, [child("c6", "201", "2012-01-01", "P1"), child("c7", "202", "2012-01-01", "P1")],
        [referral("r10", "c6", "201", "2020-05-01", "2020-05-20"), referral("r11", "c7", "202", "2020-09-01", None)])
    picked = ["referral_key", "rereferral_12m", "days_closure_to_next_referral"]
    same_la = referral_windows(referrals, children, END).select(*picked).orderBy("referral_key").collect()
    across = referral_windows(referrals, children, END, cross_la=True).select(*picked).orderBy("referral_key").collect()
    assert [tuple(r) for r in same_la] == [("r10", False, None), ("r11", False, None)]
    assert [tuple(r) for r in across] == [("r10", False, 104), ("r11", True, None)]


def test_referral_takes_the_category_of_its_first_authorised_assessment_and_rates_split_by_it(spark):
    children, referrals = frames(spark, CHILDREN[:1], REFERRALS[:3])
    assessments = spark.createDataFrame([
        ("a2", "r1", "c1", "201", D("2019-01-12"), D("2019-01-25"), ["16A"], [], 1, True, 2019),
        ("a1", "r1", "c1", "201", D("2019-01-11"), D("2019-01-20"), ["3B"], [], 1, True, 2019),
        ("a3", "r2", "c1", "201", D("2020-01-10"), None, ["3B"], [], 1, True, 2020),  # never authorised
    ], INPUT_SCHEMAS["assessments"])
    categories = spark.createDataFrame([
        ("a1", "c1", "201", 2019, 1, "Domestic abuse", 0.9, "m", "1"),
        ("a2", "c1", "201", 2019, 7, "Neglect", 0.8, "m", "1"),
        ("a3", "c1", "201", 2020, 7, "Neglect", 0.8, "m", "1"),
    ], INPUT_SCHEMAS["assessment_category"])
    windows = referral_windows(referrals, children, END, referral_categories(assessments, categories))
    got = {r["referral_key"]: r["category_name"] for r in windows.collect()}
    assert got == {"r1": "Domestic abuse", "r2": None, "r3": None}
    rates = {(r["la_code"], r["referral_year"], r["category_name"]):
             (r["referrals"], r["rereferrals_12m"], r["rereferral_rate"]) for r in rereferral_rates(windows).collect()}
    expected = {(2019, "Domestic abuse"): (1, 0, 0.0), (2019, "all"): (1, 0, 0.0),
                (2020, "unknown"): (1, 1, 1.0), (2020, "all"): (1, 1, 1.0),
                (2021, "unknown"): (1, 0, 0.0), (2021, "all"): (1, 0, 0.0)}
    # One LA: its rows and England's ("ALL") are the same.
    assert rates == {(la, *key): value for la in ("201", "ALL") for key, value in expected.items()}
