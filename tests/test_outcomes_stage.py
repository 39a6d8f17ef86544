"""`csc-demand outcomes` end to end on tiny silver Delta tables: gold tables, run summary and MLflow run."""
import json
import re
from datetime import date
from pathlib import Path

import mlflow
import pytest
from csc_demand.cli import main
from csc_demand.errors import ConfigurationError
from csc_demand.io import delta
from csc_demand.outcomes.contract import INPUT_SCHEMAS
from csc_demand.outcomes.followup import check_end_date
from csc_demand.outcomes.tables import GOLD_TABLES
from csc_demand.stages.outcomes import held_by
from helpers.silver_rows import CHILDREN, REFERRALS

D = date.fromisoformat


def write_silver(spark, cfg):
    rows = {
        "children": CHILDREN,
        "referrals": REFERRALS,
        "assessments": [("a1", "r1", "c1", "201", D("2019-01-12"), D("2019-01-20"), ["3B"], [], 1, True, 2019),
                        ("a2", "r4", "c2", "201", D("2020-03-01"), D("2020-03-10"), ["16A"], [], 1, True, 2020)],
        "cp_plans": [("p1", "r1", "c1", "201", D("2019-01-25"), D("2019-01-31"), "NEG", "NEG", 0)],
        "care_periods": [("c2", "201", D("2020-03-12"), D("2020-03-14"), "E4A", 1, 2, 1)],
        "school_outcomes": [("P9", 2020, 45.0, 0.0, False, False, "N")],
    }
    for table, data in rows.items():
        delta.write_table(spark.createDataFrame(data, INPUT_SCHEMAS[table]), cfg, "silver", table)


def test_outcomes_stage_writes_every_gold_table_and_logs_headlines(spark, cfg):
    write_silver(spark, cfg)
    code = main(["outcomes", "--lakehouse", cfg.lakehouse, "--end-date", "2021-03-31"])
    assert code == 0
    for table in GOLD_TABLES:
        assert delta.table_exists(spark, cfg, "gold", table), table
    # KM over the 8 at-risk episodes of the re-referral fixture (worked by hand):
    # S = 7/8 at 0 days, x 4/5 at 343, x 3/4 at 350 -> 0.525 at 365; x 2/3 at 366, x 1/2 at 367 -> 0.175.
    survival = {(r["horizon_days"]): (r["cumulative_incidence"], r["n_at_risk"], r["events"], r["subjects"])
                for r in delta.read_table(spark, cfg, "gold", "survival_estimates")
                .where("measure = 'rereferral_after_closure' AND group_by = 'all' AND la_code = 'ALL'").collect()}
    assert survival[365] == (pytest.approx(0.475, abs=1e-12), 3, 3, 8)
    assert survival[2190] == (pytest.approx(0.825, abs=1e-12), 0, 5, 8)
    # Return home on 2020-03-14, no re-entry: censored at 2021-03-31 (382 days), so no events at either horizon.
    reentry = delta.read_table(spark, cfg, "gold", "care_reentry").collect()
    assert [(r["returned_home"], r["event"], r["followup_days"]) for r in reentry] == [(True, False, 382)]

    (summary_file,) = Path(cfg.runs_dir).glob("outcomes-*.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "ok"
    assert summary["versions_read"]["silver.referrals"] == 0  # created with its rows and comments in one commit
    assert summary["tables"]["gold.referral_windows"]["accepted"] == len(REFERRALS)
    mlflow.set_tracking_uri(cfg.tracking_uri)
    runs = mlflow.search_runs(experiment_names=[cfg.mlflow.experiment], output_format="list")
    assert [r.info.run_name for r in runs] == ["outcomes"]
    assert runs[0].data.params["version.silver.referrals"] == "0"  # the version the summary records
    assert runs[0].data.params["end_date"] == "2021-03-31"
    assert runs[0].data.metrics["rereferral_after_closure_365d"] == pytest.approx(0.475, abs=1e-12)
    # Referral years after the first collection year (2019): all but r1 (2019); r2, r5 and r13 are re-referrals.
    assert runs[0].data.metrics["dfe_rereferral_rate"] == pytest.approx(3 / 10, abs=1e-12)


def test_outcomes_stage_names_a_missing_silver_table(spark, cfg, capsys):
    assert main(["outcomes", "--lakehouse", cfg.lakehouse]) == 2
    assert "silver.children not found" in capsys.readouterr().err


def test_outcomes_refuse_categories_written_before_the_latest_ingest(spark, cfg, capsys):
    """a2 came in after classify (no row in gold.assessment_category): the stage names the gap and the verb."""
    write_silver(spark, cfg)
    delta.write_table(spark.createDataFrame([("a1", "c1", "201", 2019, 3, "Neglect", 0.9, "m", "1")],
                                            "assessment_key string, child_key string, la_code string, "
                                            "collection_year int, category_id int, category_name string, "
                                            "posterior_probability double, model_name string, model_version string"),
                      cfg, "gold", "assessment_category")
    assert main(["outcomes", "--lakehouse", cfg.lakehouse, "--end-date", "2021-03-31"]) == 2
    assert ("1 of 2 assessments in silver.assessments have no row in gold.assessment_category: it was written "
            "before the latest `csc-demand ingest`. Run `csc-demand classify` again") in capsys.readouterr().err
    assert not delta.table_exists(spark, cfg, "gold", "referral_windows")


def test_an_end_of_follow_up_outside_the_years_of_the_referrals_is_refused_before_any_work(spark, cfg, capsys):
    write_silver(spark, cfg)  # referrals of collection years 2019-2021: 2018-04-01 to 2021-03-31
    assert main(["outcomes", "--lakehouse", cfg.lakehouse, "--end-date", "2021-04-01"]) == 2
    assert ("end of follow-up 2021-04-01 (--end-date or outcomes.end_date) is after the days silver.referrals "
            "covers, 2018-04-01 to 2021-03-31 (its collection years): give a date within them, or none for the "
            "last") in capsys.readouterr().err
    assert not delta.table_exists(spark, cfg, "gold", "referral_windows")
    check_end_date(D("2021-03-31"), (D("2018-04-01"), D("2021-03-31")))
    with pytest.raises(ConfigurationError, match=r"^end of follow-up 2018-04-01 .* is before the days"):
        check_end_date(D("2018-04-01"), (D("2018-04-01"), D("2021-03-31")))


def outside_caches(plan: str) -> list[str]:
    """The operators of an explained query's final plan, without the plans of the caches it reads."""
    final = plan.split("+- == Final Plan ==", 1)[1].split("\n+- == Initial Plan ==")[0]
    operators, cache_depth = [], None
    for line in final.splitlines():
        node = re.search(r"[+:]- (\S.*)$", line)
        depth = node.start() if node else len(line)
        if cache_depth is not None and depth > cache_depth:
            continue
        cache_depth = depth if node and node.group(1).startswith("InMemoryRelation") else None
        operators.append(line)
    return operators


def test_assessments_held_by_key_join_their_categories_without_a_shuffle_or_sort(spark, capsys):
    assessments = held_by(spark.createDataFrame(
        [("a2", "c1", D("2020-01-02"), None), ("a1", "c1", D("2020-01-01"), None), ("a3", "c2", None, None)],
        "assessment_key string, child_key string, authorised_date date, review_date date"),
        "assessment_key", ("assessment_key", "child_key", "authorised_date"))
    categories = held_by(spark.createDataFrame([("a1", 3, "Neglect"), ("a3", 0, "No factors identified")],
                                               "assessment_key string, category_id int, category_name string"),
                         "assessment_key", ("assessment_key", "category_id", "category_name"))
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")  # tiny frames would be broadcast instead
    try:
        joined = (assessments.where("authorised_date IS NOT NULL").select("assessment_key", "child_key")
                  .join(categories, "assessment_key", "left"))
        assert sorted(joined.collect()) == [("a1", "c1", 3, "Neglect"), ("a2", "c1", None, None)]
        capsys.readouterr()
        joined.explain()
        plan = outside_caches(capsys.readouterr().out)
    finally:
        spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")
        assessments.unpersist()
        categories.unpersist()
    assert assessments.columns == ["assessment_key", "child_key", "authorised_date"]
    # The join reads both cached frames as they are: no exchange, no sort between it and the caches.
    assert sum("SortMergeJoin" in line for line in plan) == 1, plan
    assert sum("InMemoryRelation" in line for line in plan) == 2, plan
    assert not [line for line in plan if "Exchange" in line or re.search(r"- (\*\(\d+\) )?Sort \[", line)], plan
