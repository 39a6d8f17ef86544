"""Issue 13's "done means" on the shared synthetic run: pathway CP-plan counts and trend years agree with
independent pandas counts over the silver tables."""
from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.integration


def _table(spark, lakehouse, layer: str, name: str, columns: list[str]) -> pd.DataFrame:
    return spark.read.format("delta").load(str(lakehouse / layer / name)).select(*columns).toPandas()


@pytest.fixture(scope="module")
def silver(spark, local_pipeline):
    assert local_pipeline.exit_code == 0
    lakehouse = local_pipeline.lakehouse
    (summary,) = local_pipeline.summaries("outcomes")
    return dict(
        end=pd.Timestamp(summary["metrics"]["end_date"]),
        assessments=_table(spark, lakehouse, "silver", "assessments",
                           ["assessment_key", "child_key", "start_date", "authorised_date", "has_factors",
                            "collection_year"]),
        cp_plans=_table(spark, lakehouse, "silver", "cp_plans", ["child_key", "start_date"]),
        categories=_table(spark, lakehouse, "gold", "assessment_category", ["assessment_key", "category_id"]),
        gold=lambda name: spark.read.format("delta").load(str(lakehouse / "gold" / name)))


def in_study_years(assessments: pd.DataFrame) -> pd.DataFrame:
    """Assessments authorised on or after 1 April of the first collection year with assessments."""
    first_day = pd.Timestamp(int(assessments["collection_year"].min()) - 1, 4, 1)
    return assessments[pd.to_datetime(assessments["authorised_date"]) >= first_day]


def test_pathway_cp_plans_equal_plans_starting_within_twelve_months_of_the_assessment_start(silver):
    a = in_study_years(silver["assessments"].dropna(subset=["authorised_date"])).copy()
    a["start"] = pd.to_datetime(a["start_date"])
    a["window_end"] = a["start"] + pd.DateOffset(months=12)
    complete = a[a["window_end"] <= silver["end"]]
    plans = silver["cp_plans"].assign(plan_start=lambda p: pd.to_datetime(p["start_date"]))[
        ["child_key", "plan_start"]]
    pairs = complete.merge(plans, on="child_key")
    within = pairs[(pairs["plan_start"] >= pairs["start"]) & (pairs["plan_start"] <= pairs["window_end"])]
    expected_plans = within["assessment_key"].nunique()
    (row,) = (silver["gold"]("pathway_rates").where("la_code = 'ALL' AND group_by = 'all'").collect())
    assert (row["assessments"], row["cp_plans"]) == (len(complete), expected_plans)
    assert expected_plans > 0  # the run has plans to count


def test_trend_years_count_each_assessment_in_its_year_of_authorisation(silver):
    a = in_study_years(silver["assessments"]).merge(silver["categories"], on="assessment_key")
    a = a[a["has_factors"] & a["authorised_date"].notna() & (a["category_id"] >= 1)]
    authorised = pd.to_datetime(a["authorised_date"])
    year = authorised.dt.year + (authorised.dt.month >= 4).astype(int)  # 1 April to 31 March
    expected = year.value_counts().sort_index().to_dict()
    got = {r["authorised_year"]: r["n"] for r in silver["gold"]("category_trends").where("la_code = 'ALL'")
           .groupBy("authorised_year").sum("assessments").withColumnRenamed("sum(assessments)", "n").collect()}
    assert got == expected
