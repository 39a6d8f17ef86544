"""Category and complexity trends by the collection year of authorisation, on hand-built rows."""
from datetime import date

import pytest
from csc_demand.model.labelling import load_categories
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.rates import with_england, with_every_category
from csc_demand.outcomes.trends import category_trends, complexity_trends

D = date.fromisoformat
FROM = D("2018-04-01")  # 1 April of the first collection year with assessments


def assessments(spark):
    # (key, LA, start, authorised, factor codes, has factors, collection year of the latest return holding it)
    rows = [
        ("a1", "201", "2018-12-01", "2019-02-10", ["3A", "3B", "16A"], True, 2020),  # returns 2019 and 2020
        ("a2", "201", "2019-03-20", "2019-04-01", ["16A"], True, 2020),
        ("a3", "201", "2020-03-01", "2020-03-31", ["2A", "3A", "4B"], True, 2020),
        ("a4", "202", "2019-05-01", "2019-06-01", ["3A", "3B", "3C"], True, 2020),
        ("a5", "202", "2019-05-01", None, ["3A"], True, 2020),                      # not authorised
        ("a6", "202", "2019-06-01", "2019-07-01", ["21"], False, 2020),             # no factors
        ("a7", "201", "2020-03-20", "2020-04-01", ["1A", "2A"], True, 2021),
        ("a0", "201", "2018-01-10", "2018-03-31", ["3A"], True, 2019),              # authorised before FROM
    ]
    return spark.createDataFrame(
        [(key, "r" + key, "c" + key, la, D(start), authorised and D(authorised), codes, [],
          len([c for c in codes if c != "21"]), has, year) for key, la, start, authorised, codes, has, year in rows],
        INPUT_SCHEMAS["assessments"])


def categories(spark):
    rows = [("a1", 1, "A"), ("a2", 1, "A"), ("a3", 2, "B"), ("a4", 2, "B"), ("a5", 2, "B"),
            ("a6", 0, "No factors identified"), ("a7", 4, "C"), ("a0", 1, "A")]
    return spark.createDataFrame([(a, "c", "201", 2020, cid, name, 0.9, "m", "1") for a, cid, name in rows],
                                 INPUT_SCHEMAS["assessment_category"])


def test_category_trends_count_each_assessment_once_in_its_year_of_authorisation(spark):
    # a1 is held in the 2019 and 2020 returns (silver keeps the 2020 copy) but was authorised on 10 Feb 2019: 2019.
    # a2 (1 Apr 2019) and a3 (31 Mar 2020) fall in 2020, a7 (1 Apr 2020) in 2021; a5, a6 and a0 (authorised
    # before FROM) do not count.
    rows = category_trends(categories(spark), assessments(spark), FROM).collect()
    counts = {tuple(r)[:4]: r["assessments"] for r in rows}
    assert counts == {(2019, "201", 1, "A"): 1, (2019, "ALL", 1, "A"): 1, (2020, "201", 1, "A"): 1,
                      (2020, "201", 2, "B"): 1, (2020, "202", 2, "B"): 1, (2020, "ALL", 1, "A"): 1,
                      (2020, "ALL", 2, "B"): 2, (2021, "201", 4, "C"): 1, (2021, "ALL", 4, "C"): 1}
    shares = {tuple(r)[:4]: r["share"] for r in rows}
    assert shares == pytest.approx({(2019, "201", 1, "A"): 1.0, (2019, "ALL", 1, "A"): 1.0, (2020, "201", 1, "A"): 0.5,
                                    (2020, "201", 2, "B"): 0.5, (2020, "202", 2, "B"): 1.0,
                                    (2020, "ALL", 1, "A"): 1 / 3, (2020, "ALL", 2, "B"): 2 / 3,
                                    (2021, "201", 4, "C"): 1.0, (2021, "ALL", 4, "C"): 1.0})


def test_category_trends_without_categories_count_assessments_with_factors(spark):
    trends = category_trends(None, assessments(spark), FROM)
    got = {tuple(r) for r in trends.where("authorised_year = 2020").collect()}
    assert got == {(2020, "201", None, "all", 2, 1.0), (2020, "202", None, "all", 1, 1.0),
                   (2020, "ALL", None, "all", 3, 1.0)}


def test_complexity_trends_factor_groups_and_complex_categories(spark):
    # Factor groups: a1 {3, 16} = 2, a2 {16} = 1, a3 {2, 3, 4} = 3, a4 {3} = 1 (3A/3B/3C one group), a7 {1, 2} = 2.
    # Complex categories 2 and 4: a3, a4, a7.
    got = {(r["authorised_year"], r["la_code"]): tuple(r)[2:]
           for r in complexity_trends(assessments(spark), categories(spark), [2, 4], FROM).collect()}
    assert got == {
        (2019, "201"): (1, 3, 3.0, 1, 0, 0, 1.0, 0.0, 0.0),
        (2019, "ALL"): (1, 3, 3.0, 1, 0, 0, 1.0, 0.0, 0.0),
        (2020, "201"): (2, 4, 2.0, 1, 1, 1, 0.5, 0.5, 0.5),            # a2, a3
        (2020, "202"): (1, 3, 3.0, 0, 0, 1, 0.0, 0.0, 1.0),            # a4
        (2020, "ALL"): (3, 7, pytest.approx(7 / 3), 1, 1, 2, pytest.approx(1 / 3), pytest.approx(1 / 3),
                        pytest.approx(2 / 3)),
        (2021, "201"): (1, 2, 2.0, 1, 0, 1, 1.0, 0.0, 1.0),
        (2021, "ALL"): (1, 2, 2.0, 1, 0, 1, 1.0, 0.0, 1.0),
    }
    without = (complexity_trends(assessments(spark), None, [2, 4], FROM)
               .where("la_code = 'ALL' AND authorised_year = 2020"))
    (row,) = without.collect()
    assert (row["assessments"], row["in_complex_categories"], row["share_complex_categories"]) == (3, None, None)


def test_complex_categories_are_the_multi_factor_ones():
    assert sorted(c.key for c in load_categories() if c.complex) == [
        "complex_domestic_abuse", "parental_mental_health_complex", "risks_in_and_outside_home"]


def test_rows_under_england_and_all_are_made_in_one_pass_over_their_source(spark):
    df = spark.createDataFrame([("201", 1, "Neglect"), ("202", None, None)],
                               "la_code string, category_id int, category_name string")
    stacked = with_england(with_every_category(df))
    assert sorted(map(repr, map(tuple, stacked.collect()))) == sorted(map(repr, [
        ("201", 1, "Neglect"), ("201", None, "all"), ("ALL", 1, "Neglect"), ("ALL", None, "all"),
        ("202", None, None), ("202", None, "all"), ("ALL", None, None), ("ALL", None, "all")]))
    assert stacked.columns == df.columns
    # the source is read once (a union with a changed copy of itself read it once per copy: four times here)
    assert stacked._jdf.queryExecution().optimizedPlan().collectLeaves().size() == 1
