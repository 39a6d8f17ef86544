"""The report's pure pieces on hand-made gold tables of the contract's shape (briefs/CONTRACT.md): intervals,
shares, key-problem ranking, and whole pages rendered to a folder (no Spark)."""
from __future__ import annotations

import math
import os
import re

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from csc_demand.config import DisclosureConf
from csc_demand.report import charts
from csc_demand.report.build import (
    REPORT_TABLES,
    build_report,
    las_in,
    previous_report,
    select_report_columns,
)
from csc_demand.report.intervals import difference_interval, wilson_interval
from csc_demand.report.tables import (
    abuse_category_shares,
    category_shares,
    key_problem_areas,
    la_distribution,
    rates_by_category,
)
from python_calamine import CalamineWorkbook
from scipy.stats import binomtest

CATS = {1: "Domestic abuse and violence (single factor)", 2: "Complexities around parental mental health", 3: "Neglect"}


def tiny_gold() -> dict[str, pd.DataFrame]:
    """England ("ALL") = LA 201 + LA 202; counts chosen so that some cells of LA 201 fall under 10."""
    trends = pd.DataFrame(
        [(year, la, cid, CATS[cid], n) for year, la, cid, n in (
            (2019, "201", 1, 40), (2019, "201", 2, 12), (2019, "201", 3, 4),
            (2020, "201", 1, 50), (2020, "201", 2, 30), (2020, "201", 3, 20),
            (2019, "202", 1, 200), (2019, "202", 2, 100), (2019, "202", 3, 100),
            (2020, "202", 1, 220), (2020, "202", 2, 120), (2020, "202", 3, 60))]
        + [],
        columns=["authorised_year", "la_code", "category_id", "category_name", "assessments"])
    england = (trends.groupby(["authorised_year", "category_id", "category_name"], as_index=False)["assessments"].sum()
               .assign(la_code="ALL"))
    trends = pd.concat([trends, england], ignore_index=True)
    rereferrals = pd.DataFrame(
        [(la, year, name, n, k) for la, year, name, n, k in (
            ("201", 2019, "all", 60, 10), ("201", 2020, "all", 100, 40),
            ("201", 2020, CATS[1], 50, 30), ("201", 2020, CATS[2], 30, 6), ("201", 2020, CATS[3], 20, 4),
            ("202", 2020, "all", 400, 80), ("202", 2020, CATS[1], 220, 40), ("202", 2020, CATS[2], 120, 24),
            ("202", 2020, CATS[3], 60, 16))],
        columns=["la_code", "referral_year", "category_name", "referrals", "rereferrals_12m"])
    rereferrals = pd.concat([rereferrals, rereferrals.groupby(["referral_year", "category_name"], as_index=False)[
        ["referrals", "rereferrals_12m"]].sum().assign(la_code="ALL")], ignore_index=True)
    horizons = [30, 180, 365, 730, 2190]
    survival = pd.DataFrame(
        [(la, "rereferral_after_closure", "all", "all", h, 0.05 * (i + 1), 0.04 * (i + 1), 0.06 * (i + 1),
          at_risk, 5 * (i + 1), 100, 90, 0.05 * (i + 1))
         for la, start in (("201", 100), ("ALL", 500)) for i, (h, at_risk) in
         enumerate(zip(horizons, [start, start - 20, start - 40, start - 85, 8], strict=True))],
        columns=["la_code", "measure", "group_by", "group_value", "horizon_days", "cumulative_incidence", "ci_lower",
                 "ci_upper", "n_at_risk", "events", "subjects", "n_complete", "raw_share"])
    profiles = pd.DataFrame([(cid, name, 1 / 3, ind, code, label, p)
                             for cid, name in CATS.items()
                             for ind, code, label, p in (("domestic_abuse_parent", "3B", "Domestic abuse parent",
                                                          0.9 if cid == 1 else 0.2),
                                                         ("neglect", "16A", "Neglect", 0.8 if cid == 3 else 0.1))],
                            columns=["category_id", "category_name", "class_size", "indicator", "factor_codes",
                                     "indicator_label", "probability"])
    return {"category_trends": trends, "rereferral_rates": rereferrals, "survival_estimates": survival,
            "category_profiles": profiles}


def test_wilson_interval_matches_scipy_and_handles_empty_denominators():
    lower, upper = wilson_interval([0, 3, 50, 10], [10, 7, 100, 0])
    for i, (k, n) in enumerate(((0, 10), (3, 7), (50, 100))):
        reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert lower[i] == pytest.approx(reference.low, abs=1e-9)
        assert upper[i] == pytest.approx(reference.high, abs=1e-9)
    assert math.isnan(lower[3]) and math.isnan(upper[3])


def test_difference_interval_is_newcombes_hybrid_score():
    # Newcombe (1998), table II, example (e): 56/70 vs 48/80 -> difference 0.2000, interval 0.0524 to 0.3339
    d, lower, upper = difference_interval(56, 70, 48, 80)
    assert (float(d), round(float(lower), 4), round(float(upper), 4)) == (pytest.approx(0.2), 0.0524, 0.3339)


def test_category_shares_sum_years_add_a_total_row_and_take_shares_of_it():
    shares = category_shares(tiny_gold()["category_trends"]).set_index(["la_code", "category_name"])
    assert shares.loc[("201", "all"), "assessments"] == 156
    assert shares.loc[("201", CATS[3]), "assessments"] == 24
    assert shares.loc[("201", CATS[1]), "share"] == pytest.approx(90 / 156)
    low, high = wilson_interval(90, 156)
    assert (shares.loc[("201", CATS[1]), "ci_lower"], shares.loc[("201", CATS[1]), "ci_upper"]) == (
        pytest.approx(float(low)), pytest.approx(float(high)))
    assert shares.loc[("ALL", "all"), "assessments"] == 956


def test_rates_by_category_leaves_out_the_first_year_of_data():
    rates = rates_by_category(tiny_gold()["rereferral_rates"], "rereferrals_12m", "referrals", "referral_year",
                              skip_first_year=True).set_index(["la_code", "category_name"])
    assert (rates.loc[("201", "all"), "referrals"], rates.loc[("201", "all"), "rereferrals_12m"]) == (100, 40)
    assert rates.loc[("ALL", "all"), "rate"] == pytest.approx(120 / 500)


def test_key_problem_areas_compare_with_the_rest_of_england_and_rank_by_children_affected():
    gold = tiny_gold()
    rates = rates_by_category(gold["rereferral_rates"], "rereferrals_12m", "referrals", "referral_year", True)
    problems = key_problem_areas({"re-referral": rates.rename(columns={"rereferrals_12m": "events",
                                                                       "referrals": "total"})}, "201")
    by_name = problems.set_index("category_name")
    # DAV: LA 30/50 = 60% against the rest of England 40/220 = 18.2%: 41.8 points, 20.9 more re-referrals
    dav = by_name.loc[CATS[1]]
    assert dav["rest_of_england_rate"] == pytest.approx(40 / 220)
    assert dav["difference"] == pytest.approx(0.6 - 40 / 220)
    assert dav["excess"] == pytest.approx((0.6 - 40 / 220) * 50)
    d, low, high = difference_interval(30, 50, 40, 220)
    assert (dav["difference_ci_lower"], dav["excess_ci_upper"]) == (pytest.approx(float(low)),
                                                                    pytest.approx(float(high) * 50))
    assert bool(dav["differs"]) and problems.iloc[0]["category_name"] == CATS[1]
    # mental health: 6/30 = 20% vs 24/120 = 20%: no difference, ranked after the one that holds
    assert not bool(by_name.loc[CATS[2], "differs"]) and set(problems["category_name"]) == set(CATS.values())
    assert list(problems["differs"]) == sorted(problems["differs"], reverse=True)


def test_a_chart_is_the_same_svg_with_text_measured_by_matplotlib_or_read_from_the_shared_cache(monkeypatch):
    labels = ["Complexities around parental mental health (with alcohol or drug misuse)", "Neglect"]
    def draw():
        return charts.dot_intervals(labels, [("LA 201", [0.2, 0.1], [0.15, 0.05], [0.25, 0.15]),
                                             ("England", [0.3, np.nan], [0.2, np.nan], [0.4, np.nan])],
                                    "Re-referral within 12 months", "share of referrals")
    shared = draw(), draw()  # the second from the cache only
    monkeypatch.setattr(matplotlib.text, "_get_text_metrics_with_cache",
                        matplotlib.text._get_text_metrics_with_cache.__wrapped__)
    assert shared[0] == shared[1] == draw()


def test_a_cumulative_incidence_is_drawn_from_zero_and_a_trend_over_its_values():
    days, incidence = [30, 60, 90], [("LA 201", [0.12, 0.3, 0.5], None, None)]
    y_ticks = [re.findall(r">(\d+(?:\.\d+)?)%<", svg) for svg in (
        charts.lines(days, incidence, "Re-referral", "days", "cumulative incidence", from_zero=True),
        charts.lines(days, incidence, "Trend", "days", "share"))]
    assert float(y_ticks[0][0]) == 0 < float(y_ticks[1][0])


def test_a_cumulative_incidence_curve_starts_at_the_origin_and_a_suppressed_one_gets_no_point_there():
    x, series = charts.from_origin(np.array([30.0, 60.0]), [("LA 201", [0.1, 0.2], [0.05, 0.1], [0.2, 0.3]),
                                                             ("LA 202", [np.nan, np.nan], None, None)])
    assert x.tolist() == [0, 30, 60]
    assert [np.asarray(a).tolist() for a in series[0][1:]] == [[0, 0.1, 0.2], [0, 0.05, 0.1], [0, 0.2, 0.3]]
    assert np.isnan(series[1][1]).all() and series[1][2:] == (None, None)
    svg = charts.lines([30, 60, 90], [("LA 201", [0.12, 0.3, 0.5], None, None)], "t", "days", "cumulative incidence",
                       from_zero=True)
    paths = [[tuple(map(float, point.split())) for point in re.split(r"\s*[ML]\s+", d) if point.strip()]
             for d in re.findall(r'<path d="(M [^"]*)"[^>]*clip-path', svg)]
    curve, zero_line = paths[-1], max(p[0][1] for p in paths if len(p) == 2 and p[0][1] == p[1][1])
    # the curve began at its first horizon, 30 days at 12%; now at 0 days, on the 0% grid line (SVG's y runs down)
    assert len(curve) == 4 and curve[0][1] == zero_line


def test_an_odds_ratio_axis_labels_some_ticks_as_plain_numbers_so_they_do_not_run_into_each_other():
    svg = charts.dot_intervals(["a", "b", "c"], [("s", [0.45, 1.2, 8.5], [0.42, 1.1, 8.0], [0.5, 1.3, 9.0])], "t",
                               "odds ratio", log_scale=True, reference=1.0)
    # every tick from 0.4 to 9 was labelled (0.5 0.6 0.7 0.8 0.9 ran into each other); matplotlib's log formatter
    # labels a subset over this 1.3 decades, written here as plain numbers rather than 4e-01
    assert re.findall(r"<text[^>]*>([^<]*)</text>", svg)[:8] == ["1", "10", "0.4", "0.6", "2", "3", "4", "6"]


def test_a_table_writes_counts_with_thousands_separators_and_coded_levels_in_words():
    from csc_demand.report.page import html_table

    # the national education table read "involvement_by_sen", "cp_plan" and 2628610 pupils; years, ids, LA codes
    # and days stay as they are (a year 2,021 would be wrong); the CSVs keep the codes
    row = html_table(pd.DataFrame({"breakdown": ["involvement_by_sen"], "involvement": ["cp_plan"],
                                   "collection_year": [2021], "category_id": pd.array([12], "Int64"),
                                   "la_code": ["201"], "horizon_days": [2190], "pupils": [2628610]}))
    assert "<td>involvement by SEN</td><td>CP plan</td><td>2021</td><td>12</td><td>201</td><td>2190</td>" \
           "<td>2,628,610</td>" in row


def test_children_affected_show_as_whole_children_in_a_table():
    from csc_demand.report.page import html_table

    # an interval's end under 1 read as a percentage ("41.0%"), the others with two decimals
    row = html_table(pd.DataFrame({"excess": [27.35], "excess_ci_lower": [0.41], "excess_ci_upper": [54.2],
                                   "difference_ci_lower": [0.002]}))
    assert "<td>27</td><td>0</td><td>54</td><td>0.2%</td>" in row


def test_select_report_columns_names_the_missing_columns_and_the_verb_to_run():
    columns, reason = select_report_columns("rereferral_rates", ["referral_year", "category_name", "extra"])
    assert columns is None
    assert reason.startswith("columns la_code, referrals, rereferrals_12m missing") and "csc-demand outcomes" in reason
    assert select_report_columns("rereferral_rates", ["extra", *REPORT_TABLES["rereferral_rates"]]) == (
        list(REPORT_TABLES["rereferral_rates"]), None)


def test_pages_render_with_absent_sections_saying_so(tmp_path):
    index = build_report(tiny_gold(), {"pathway_rates": "not in the lakehouse: run `csc-demand outcomes` first"},
                         ["201"], tmp_path, DisclosureConf(), forbidden=["secret-key"])
    page = (tmp_path / "la_201.html").read_text()
    assert index == tmp_path / "index.html" and 'href="la_201.html"' in index.read_text()
    assert "Not available for this report: gold.pathway_rates (not in the lakehouse" in page
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched
    assert page.count("<svg") >= 3
    shares = pd.read_csv(tmp_path / "data" / "demand_profile.csv", dtype={"la_code": str})
    neglect = shares[(shares["la_code"] == "201") & (shares["category_name"] == CATS[3])].iloc[0]
    assert neglect["assessments"] == 25  # 24 rounded to 5
    assert (tmp_path / "csc_demand_report.xlsx").exists() and (tmp_path / "output_check.json").exists()


def test_category_profiles_table_holds_the_model_parameters_with_factor_codes():
    from csc_demand.codes import INDICATOR_NAMES
    from csc_demand.model.lca import LatentClassModel
    from csc_demand.model.profiles import category_profiles

    theta = np.full((2, len(INDICATOR_NAMES)), 0.1)
    theta[0, INDICATOR_NAMES.index("physical_abuse")] = 0.7
    model = LatentClassModel.fromParameters({"class_sizes": [3, 1], "conditional_probabilities": theta.tolist(),
                                              "class_ids": [9, 101], "class_names": ["Physical abuse", "Top: x"]})
    profiles = category_profiles(model)
    assert len(profiles) == 2 * len(INDICATOR_NAMES)
    row = profiles[(profiles["category_id"] == 9) & (profiles["indicator"] == "physical_abuse")].iloc[0]
    assert (row["category_name"], row["class_size"], row["factor_codes"], row["indicator_label"]) == (
        "Physical abuse", 0.75, "18A, 18B, 18C", "Physical abuse")
    assert row["probability"] == pytest.approx(0.7)
    assert set(profiles[profiles["category_id"] == 101]["class_size"]) == {0.25}


def test_report_on_an_empty_lakehouse_names_the_verbs_to_run(spark, cfg):
    import argparse

    from csc_demand.runlog import RunLog
    from csc_demand.stages import report

    args = argparse.Namespace(out=None, la=None, compare="england")
    with pytest.raises(FileNotFoundError, match="run `csc-demand classify` and `csc-demand outcomes`"):
        report.run(args, cfg, RunLog("report", None))


def write_complexity_trends(spark, cfg, rows: list[tuple]) -> None:
    """gold.complexity_trends with the columns the report reads, from rows in their order."""
    from csc_demand.io import delta
    from csc_demand.stages import report

    types = ["int", "string", "long", "long", "double", "long", "long", "long", "double", "double", "double"]
    schema = ", ".join(f"{c} {t}" for c, t in zip(report.REPORT_TABLES["complexity_trends"], types, strict=True))
    delta.write_table(spark.createDataFrame(rows, schema), cfg, "gold", "complexity_trends")


def test_an_la_asked_for_and_not_in_the_lakehouse_is_named_with_the_las_that_are(spark, cfg):
    import argparse

    from csc_demand.errors import ConfigurationError
    from csc_demand.runlog import RunLog
    from csc_demand.stages import report

    write_complexity_trends(spark, cfg, [(2020, la, 10, 12, 1.2, 4, 1, 3, 0.4, 0.1, 0.3) for la in ("201", "202", "ALL")])
    args = argparse.Namespace(out=None, la=["201", "999"], compare="england")
    with pytest.raises(ConfigurationError) as refused:
        report.run(args, cfg, RunLog("report", None))
    assert str(refused.value) == f"--la 999: no such LA in the gold tables of {cfg.lakehouse} (LAs there: 201 202)"


def test_an_la_given_twice_gets_one_page_and_one_link(spark, cfg, tmp_path):
    import argparse

    from csc_demand.runlog import RunLog
    from csc_demand.stages import report

    write_complexity_trends(spark, cfg, [(2020, la, 10, 12, 1.2, 4, 1, 3, 0.4, 0.1, 0.3) for la in ("201", "ALL")])
    args = argparse.Namespace(out=str(tmp_path / "report"), la=["201", "201"], compare="england")
    assert report.run(args, cfg, RunLog("report", None)) == 0
    assert (tmp_path / "report" / "index.html").read_text().count('href="la_201.html"') == 1


def test_a_comparison_with_the_lakehouse_s_las_needs_more_than_one(spark, cfg):
    import argparse

    from csc_demand.errors import ConfigurationError
    from csc_demand.runlog import RunLog
    from csc_demand.stages import report

    write_complexity_trends(spark, cfg, [(2020, la, 10, 12, 1.2, 4, 1, 3, 0.4, 0.1, 0.3) for la in ("201", "ALL")])
    with pytest.raises(ConfigurationError) as refused:
        report.run(argparse.Namespace(out=None, la=None, compare="all-las"), cfg, RunLog("report", None))
    assert str(refused.value) == (f"--compare all-las compares each LA with the LAs of the lakehouse, and "
                                  f"{cfg.lakehouse} holds 201: give a lakehouse of several LAs, or --compare england")


def test_a_report_folder_that_cannot_be_one_is_refused_before_any_work(cfg, tmp_path):
    import argparse

    from csc_demand.errors import ConfigurationError
    from csc_demand.runlog import RunLog
    from csc_demand.stages import report

    a_file = tmp_path / "report.html"
    a_file.write_text("not a folder")
    for out in (a_file, a_file / "under"):
        args = argparse.Namespace(out=str(out), la=None, compare="england")
        with pytest.raises(ConfigurationError) as refused:  # before the lakehouse, which has no tables, is read
            report.run(args, cfg, RunLog("report", None))
        assert str(refused.value) == f"--out {out}: {a_file} is a file: give a folder that exists or can be created"


def test_the_identifiers_for_the_scan_come_split_with_the_pseudonym_key(spark, cfg, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    from csc_demand.stages import report

    monkeypatch.setattr(report, "lakehouse_identifiers", lambda cfg, spark, map_: pa.array(["C001", "UPN-7"], pa.large_string()))
    with ThreadPoolExecutor(1) as pool:
        split = report.forbidden_strings(lambda: spark, cfg, pool)
    key = cfg.resolve_pseudonym_key()  # with its dashes, not a word: looked for as a substring
    assert split.words.to_pylist() == ["C001", "UPN-7", key] and split.others == {"UPN-7", key}


def abuse_plans() -> pd.DataFrame:
    """CP plans and repeat plans of LA 201 by initial category and age band; England = LA 201 + LA 202 (twice 201)."""
    la = [("NEG", "1-4", 30, 4), ("NEG", "10-15", 50, 10), ("EMO", "1-4", 20, 6), ("EMO", "10-15", 30, 12)]
    rows = pd.DataFrame(la, columns=["initial_category", "age_band", "plans", "repeat_plans"])
    for dim in ("initial_category", "age_band"):  # the "all" margins, then the grand total
        rows = pd.concat([rows, rows[rows[dim] != "all"].groupby(
            [c for c in ("initial_category", "age_band") if c != dim], as_index=False)[["plans", "repeat_plans"]]
            .sum().assign(**{dim: "all"})], ignore_index=True)
    return pd.concat([rows.assign(la_code="201"), rows.assign(la_code="ALL", plans=3 * rows["plans"],
                                                               repeat_plans=3 * rows["repeat_plans"])],
                     ignore_index=True).assign(repeat_rate=lambda f: f["repeat_plans"] / f["plans"])


def test_a_file_uri_lakehouse_gets_its_report_and_restricted_folders_on_this_machine(tmp_path):
    import argparse

    from csc_demand.config import Config
    from csc_demand.report.data_quality import restricted_folder
    from csc_demand.stages.report import report_folder

    local = Config(lakehouse=f"file://{tmp_path}/lake")
    default = argparse.Namespace(out=None)
    assert report_folder(default, local) == f"{tmp_path}/lake/report"
    assert restricted_folder(local, report_out=f"{tmp_path}/lake/report") == f"{tmp_path}/lake/restricted"
    with pytest.raises(ValueError, match="overlap"):
        restricted_folder(local, report_out=f"file:{tmp_path}/lake/restricted/out")
    remote = Config(lakehouse="s3a://bucket/lake")
    assert restricted_folder(remote, report_out=str(tmp_path)) == "s3a://bucket/lake/restricted"
    assert report_folder(default, remote) == "s3a://bucket/lake/report"  # built here, then copied there
    assert report_folder(argparse.Namespace(out=str(tmp_path / "r")), remote) == str(tmp_path / "r")


def test_charts_list_categories_by_id_from_any_table_that_has_them():
    from csc_demand.report.page import Page, Publisher

    # "No factors identified" (id 0) is no class of the model, so not in category_profiles
    ids = pd.DataFrame({"category_id": [2, 1, None], "category_name": ["Neglect", "Domestic abuse", "all"]})
    gold = {"category_profiles": ids, "category_thresholds": pd.concat([ids, pd.DataFrame(
        {"category_id": [0], "category_name": ["No factors identified"]})])}
    page = Page("201", gold, {}, Publisher(DisclosureConf()), ["201"])
    assert page.in_category_order(["unknown", "Neglect", "No factors identified", "Domestic abuse"]) == [
        "No factors identified", "Domestic abuse", "Neglect", "unknown"]


def test_all_las_comparison_is_the_median_la_with_the_interquartile_range_of_published_values():
    from csc_demand.report.page import Page, Publisher
    from csc_demand.report.sections import _series

    # four LAs with a published rate for neglect, one suppressed (NaN, left out), England's pooled row ignored
    frame = pd.DataFrame({"la_code": ["201", "202", "203", "204", "205", "ALL"],
                          "category_name": ["Neglect"] * 6, "rate": [0.5, 0.1, 0.3, 0.2, np.nan, 0.9],
                          "ci_lower": 0.0, "ci_upper": 1.0})
    # sorted 0.1, 0.2, 0.3, 0.5: median (0.2 + 0.3) / 2; quartiles at positions 0.75 and 2.25 between them
    spread = la_distribution(frame, "category_name", "rate").loc["Neglect"]
    assert (spread["median"], spread["lower_quartile"], spread["upper_quartile"], spread["las"]) == (
        pytest.approx(0.25), pytest.approx(0.175), pytest.approx(0.35), 4)
    page = Page("201", {}, {}, Publisher(DisclosureConf()), ["201"], "all LAs in this lakehouse", distribution=True)
    (own, values, _, _), (label, median, lower, upper) = _series(page, frame, ["Neglect", "Physical abuse"],
                                                                  "category_name")
    assert (own, list(values.fillna(-1))) == ("LA 201", [0.5, -1])
    assert label == "median of 4 LAs (bar: interquartile range)"
    assert (median.iloc[0], lower.iloc[0], upper.iloc[0]) == (pytest.approx(0.25), pytest.approx(0.175),
                                                              pytest.approx(0.35))
    assert median.isna().iloc[1]  # no LA has a value for a category not in the table
    england = Page("201", {}, {}, Publisher(DisclosureConf()), ["201"])
    assert [s[0] for s in _series(england, frame, ["Neglect"], "category_name")] == ["LA 201", "England"]
    assert _series(england, frame, ["Neglect"], "category_name")[1][1].iloc[0] == 0.9


LOOK = ("2008-04-01", "2015-2021")  # history_from, ks4_years


def full_gold() -> dict[str, pd.DataFrame]:
    """tiny_gold plus one small table of every other kind the report reads (contract shapes)."""
    gold = tiny_gold()
    areas = ("201", "ALL")
    gold["complexity_trends"] = pd.DataFrame(
        [(y, la, n, 2 * n, 2.0, n // 2, n // 4, n // 3, 0.5, 0.25, 0.33)
         for y in (2019, 2020) for la, n in (("201", 60), ("ALL", 600))],
        columns=list(REPORT_TABLES["complexity_trends"]))
    gold["category_thresholds"] = pd.DataFrame(
        [(la, t, cid, CATS[cid], n) for la in areas for t in ("assessment", "cp_plan")
         for cid, n in ((1, 40), (2, 25), (3, 12))], columns=list(REPORT_TABLES["category_thresholds"]))
    gold["repeat_plan_rates"] = pd.DataFrame(
        [(la, y, name, 50, 12) for la in areas for y in (2019, 2020) for name in (*CATS.values(), "all")],
        columns=list(REPORT_TABLES["repeat_plan_rates"]))
    gold["pathway_rates"] = pd.DataFrame(
        [(la, g, v, 100, 20, 15) for la in areas
         for g, v in (("all", "all"), *(("category_name", n) for n in CATS.values()))],
        columns=list(REPORT_TABLES["pathway_rates"]))
    gold["pathway_factor_combinations"] = pd.DataFrame(
        [(la, c, 200, 60, 20) for la in areas for c in ("domestic_abuse_alone", "domestic_abuse_with_neglect",
                                                        "domestic_abuse_with_other")],
        columns=list(REPORT_TABLES["pathway_factor_combinations"]))
    gold["care_periods_by_category"] = pd.DataFrame(
        [(la, cid, name, 40, 12, 30, 12) for la in areas for cid, name in (*CATS.items(), (None, "all"))],
        columns=list(REPORT_TABLES["care_periods_by_category"]))
    gold["pathway_odds_ratios"] = pd.DataFrame(
        [("ALL", "cp_plan_within_window", "age_band", "5-9", "10-15", 0.9, 0.8, 1.0, -0.1, 0.05, 0.04, 200, 900),
         ("ALL", "cp_plan_within_window", "age_band", "1-4", "10-15", 1.2, 1.1, 1.4, 0.18, 0.05, 0.001, 200, 900),
         ("ALL", "cp_plan_within_window", "category_name", CATS[3], CATS[1], 3.1, 2.2, 4.4, 1.13, 0.2, 0.001, 100,
          900),
         ("ALL", "cp_plan_within_window", "category_name", CATS[2], CATS[1], 1.8, 1.2, 2.7, 0.59, 0.2, 0.004, 300,
          900)], columns=list(REPORT_TABLES["pathway_odds_ratios"]))
    gold["education_by_category"] = pd.DataFrame(
        [(la, cid, CATS[cid], 80, 70, 30.5, 0.7, 5, 0.0625, 3.0, 20, 0.25, 4.0, *LOOK) for la in areas for cid in CATS],
        columns=list(REPORT_TABLES["education_by_category"]))
    gold["education_gaps"] = pd.DataFrame(
        [("ALL", "involvement", inv, "all", "all", 500, 480, att8, ratio, 50, 25, excl, *LOOK)
         for inv, att8, ratio, excl in (("never_referred", 46.0, 1.0, 1.0), ("child_in_need", 34.5, 0.75, 3.5),
                                        ("cp_plan", 30.0, 0.65, 4.5), ("in_care", 18.4, 0.4, 5.0))],
        columns=list(REPORT_TABLES["education_gaps"]))
    gold["education_sen_gaps"] = pd.DataFrame(
        [("ALL", inv, sen, no_sen, (no_sen - sen) / no_sen, did, did - 1, did + 1, 100, 400, *LOOK)
         for inv, sen, no_sen, did in (("never_referred", 30.0, 50.0, 0.0), ("child_in_need", 20.0, 40.0, -2.0))],
        columns=list(REPORT_TABLES["education_sen_gaps"]))
    gold["cp_plans_by_abuse"] = abuse_plans()
    gold["data_quality"] = pd.DataFrame(
        [("201", 2020, "cin/201_2020.xml", "assessments", rule, n, n - q, q, msg)
         for rule, n, q, msg in (("all", 120, 15, "totals"), ("1103", 10, 10, "=start before referral"),
                                 ("8869", 5, 5, "21 with other codes"))],
        columns=list(REPORT_TABLES["data_quality"]))
    return gold


def test_every_section_renders_from_hand_made_tables_and_the_briefing_figures_come_from_published_ones(tmp_path):
    build_report({name: frame.sample(frac=1, random_state=7) for name, frame in full_gold().items()},  # rows shuffled
                 {}, ["201"], tmp_path, DisclosureConf())
    national, local = (tmp_path / "index.html").read_text(), (tmp_path / "la_201.html").read_text()
    assert "Not available" not in national + local
    # briefing table: KS4 25% lower for CIN (ratio 0.75), exclusion 4.5x for CP plans, SEN gap 40% vs 50%
    assert "<td>25% lower</td>" in national and "<td>4.5x</td>" in national
    assert "KS4 cohorts 2015-2021; children's social care history observable from 2008-04-01" in national
    assert "unknown = involved without a categorised one by then; all = every involved pupil." in local
    assert "never referred 40%; child in need 50%" in national
    # the SEN table's relative gap and its difference in differences as percentages, as the difference's interval
    assert "<td>never referred</td><td>30</td><td>50</td><td>40.0%</td><td>0.0%</td><td>-100.0%</td>" in national
    assert local.count("<figure>") == 18 and national.count("<figure>") == 16
    assert "Adjusted odds ratios of a CP plan within the window" in national
    assert "(one logistic model: category," in national  # the model's order of terms (age next), not gold's
    assert f">category: {CATS[2]}<" in national and ">age: 5-9<" in national  # the terms named as in the title
    assert f"Reference levels (odds ratio 1): category: {CATS[1]}; age: 10-15." in national
    # 5 suspended pupils per row: every row's suspension rate is blanked, so its chart is not drawn; the rest of the
    # row rests on published counts and stays (all of it was blanked before, as most LA rows' few exclusions were)
    assert "Chart not drawn: every value is suppressed" in local
    education = pd.read_csv(tmp_path / "data" / "education_by_category.csv")
    assert education[["suspension_rate", "ci_lower", "suspension_rate_ratio"]].isna().all().all()
    assert set(education["mean_att8"]) == {30.5} and set(education["exclusion_rate"]) == {0.25}
    quality = pd.read_csv(tmp_path / "data" / "data_quality.csv", dtype={"la_code": str})
    # 15 of 120 quarantined: 1103 (10) is published, so 8869 (5) and its partner 1103 are suppressed; the totals
    # row stays; a message starting "=" is neutralised for spreadsheets
    by_rule = quality.set_index("rule_id")
    assert by_rule.loc["8869", ["received", "quarantined"]].isna().all() and pd.isna(by_rule.loc["1103", "quarantined"])
    assert by_rule.loc["all", ["received", "accepted", "quarantined"]].tolist() == [120, 105, 15]
    assert quality.set_index("rule_id").loc["1103", "message"] == "'=start before referral"
    published_abuse_tables_keep_shares_whose_plans_are_published(tmp_path)
    tables_and_charts_are_in_reading_order(tmp_path)


def tables_and_charts_are_in_reading_order(tmp_path) -> None:
    """Whatever order gold gave its rows in (Spark writes them in no set order), each published table lists an
    LA before England, categories by id (whole numbers), then stacked measures in their order, education levels
    by depth of involvement and a file's totals before its rules; each chart by category lists them as the demand
    profile does (by id: 1 Domestic abuse, 2 Complexities, 3 Neglect; alphabetically Complexities came first)."""
    def column(table: str, name: str) -> list[str]:
        return pd.read_csv(tmp_path / "data" / f"{table}.csv", dtype=str, keep_default_na=False)[name].tolist()

    assert column("education_by_category", "la_code") == ["201"] * 3 + ["ALL"] * 3
    assert column("education_by_category", "category_id") == ["1", "2", "3"] * 2
    assert column("care_periods_by_category", "category_id") == [i for i in ("1", "2", "3", "") for _ in (1, 2)] * 2
    assert column("care_periods_by_category", "measure")[:2] == ["re-entry within 12 months of a return home",
                                                                "more than one period of care"]
    assert column("pathway_rates", "la_code") == ["201"] * 8 + ["ALL"] * 8
    assert column("pathway_factor_combinations", "combination") == [
        c for c in ("domestic_abuse_alone", "domestic_abuse_with_neglect", "domestic_abuse_with_other")
        for _ in (1, 2)] * 2
    assert column("education_gaps", "involvement") == ["never_referred", "child_in_need", "cp_plan", "in_care"]
    assert column("education_sen_gaps", "involvement") == ["never_referred", "child_in_need"]
    assert column("data_quality", "rule_id") == ["all", "1103", "8869"]
    # the page lists the rules that rejected records first: beyond the table's first 80 rows an LA's return totals
    section = (tmp_path / "la_201.html").read_text().split('<section id="quality">')[1]
    assert section.index("<td>1103</td>") < section.index("<td>8869</td>") < section.index("<td>all</td>")
    assert column("pathway_odds_ratios", "level") == [CATS[2], CATS[3], "1-4", "5-9"]  # by id, youngest first
    names = ("Domestic abuse and", "Complexities", "Neglect")
    orders = [sorted(names, key=figure.index) for figure in re.findall(r"<figure>.*?</figure>",
                                                                     (tmp_path / "la_201.html").read_text(), re.S)
              if all(name in figure for name in names) and "Darker =" not in figure  # not the factor heat map
              and "Reference levels" not in figure]  # nor the odds ratios' (its reference in the caption)
    assert len(orders) == 8 and all(order == list(names) for order in orders), orders


def test_a_page_lists_rejections_then_totals_the_latest_returns_first(tmp_path):
    quality = pd.DataFrame([("201", year, f"cin/201_{year}.xml", "assessments", rule, n, n - q, q, msg)
                            for year in (2019, 2020, 2021) for rule, n, q, msg in (("all", 120, 15, None),
                                                                                  ("1103", 15, 15, "start"))],
                           columns=list(REPORT_TABLES["data_quality"]))
    build_report({"data_quality": quality}, {}, ["201"], tmp_path, DisclosureConf())
    section = (tmp_path / "la_201.html").read_text().split('<section id="quality">')[1]
    rows = re.findall(r"<tr><td>201</td><td>(\d+)</td><td>[^<]*</td><td>assessments</td><td>(\w+)</td>", section)
    assert rows == [("2021", "1103"), ("2020", "1103"), ("2019", "1103"), ("2021", "all"), ("2020", "all"),
                    ("2019", "all")]
    assert pd.read_csv(tmp_path / "data" / "data_quality.csv")["collection_year"].tolist() == [2019] * 2 + [
        2020] * 2 + [2021] * 2  # the CSV in reading order


def test_englands_page_sums_each_rule_over_every_return_from_the_published_rows(tmp_path):
    rejections = {("201", 2020): [("1103", 15)], ("201", 2021): [("1103", 15), ("8869", 20)],
                  ("202", 2019): [("1103", 3)], ("202", 2020): [("1103", 15)],
                  ("202", 2021): [("1103", 15), ("8869", 5)]}
    quality = pd.DataFrame([row for (la, year), rules in rejections.items() for row in (
        (la, year, f"cin/{la}_{year}.xml", "assessments", "all", 120, 120 - sum(q for _, q in rules),
         sum(q for _, q in rules), None),
        *((la, year, f"cin/{la}_{year}.xml", "assessments", rule, None, None, q, f"rule {rule}") for rule, q in rules))],
        columns=list(REPORT_TABLES["data_quality"]))
    build_report({"data_quality": quality}, {}, ["201", "202"], tmp_path, DisclosureConf())
    section = (tmp_path / "index.html").read_text().split('<section id="quality">')[1]
    rows = re.findall(r"<tr><td>assessments</td><td>(\w+)</td><td>[^<]*</td>((?:<td>[^<]*</td>){5})</tr>", section)
    # 202's 2021 return: 8869's 5 is suppressed and so is 1103's 15 beside it (their total, 20, is published); its
    # 2019 return: 3 quarantined, so its accepted count too, and its received count is left out of the sums with
    # them (received = accepted + quarantined over the returns summed). Returns, suppressed, received, accepted,
    # quarantined: 1103 15 x 3, 8869 20, totals 4 x 120 and 85 quarantined
    assert [(rule, re.findall(r"<td>([^<]*)</td>", cells)) for rule, cells in rows] == [
        ("1103", ["5", "2", "–", "–", "45"]), ("8869", ["2", "1", "–", "–", "20"]),
        ("all", ["5", "1", "480", "395", "85"])]
    assert "<td>201</td>" not in section  # England's page lists no LA's rows; the CSV keeps them all
    assert len(pd.read_csv(tmp_path / "data" / "data_quality.csv")) == 12


def without_time_written(path) -> str:
    """A file's text without the output-check log's time of writing."""
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<created>", path.read_text(encoding="utf-8"))


def test_la_pages_drawn_in_two_processes_give_the_same_files_tables_and_progress_as_one(tmp_path):
    # LA 202 has rows in two tables only: pages of different shapes; the key-problem table is first published by
    # an LA page, in whichever worker draws it
    gold, las = full_gold(), ["201", "202"]
    lines: dict[int, list[str]] = {1: [], 2: []}
    for processes in (1, 2):
        build_report(gold, {}, las, tmp_path / str(processes), DisclosureConf(), step=lines[processes].append,
                     processes=processes, la_pages_started=lambda n=processes: lines[n].append("hook"))
    one, two = (sorted(p.relative_to(tmp_path / n) for p in (tmp_path / n).rglob("*") if p.is_file())
                for n in ("1", "2"))
    assert one == two and {"index.html", "la_201.html", "la_202.html", "data/key_problem_areas.csv"} <= set(map(str, one))
    for name in one:
        if name.suffix != ".xlsx":  # the workbook stamps its creation time, the check log its minute
            assert without_time_written(tmp_path / "1" / name) == without_time_written(tmp_path / "2" / name), name
    # with two processes a page process writes the workbook: the same sheets and cells
    workbooks = [CalamineWorkbook.from_path(str(tmp_path / n / "csc_demand_report.xlsx")) for n in ("1", "2")]
    assert workbooks[0].sheet_names == workbooks[1].sheet_names and "key_problem_areas" in workbooks[0].sheet_names
    for sheet in workbooks[0].sheet_names:
        assert workbooks[0].get_sheet_by_name(sheet).to_python() == workbooks[1].get_sheet_by_name(sheet).to_python()
    assert lines[1][:-1] == lines[2][:-1]  # the last names the folder
    # the hook (the report's identifier read) runs once England's page is written and the page processes started
    assert [line.split(" (")[0] for line in lines[1][:4]] == ["wrote the England page", "hook",
                                                              "wrote the LA 201 page", "wrote the LA 202 page"]


class StopsTheProcessThatUnpicklesIt:
    def __reduce__(self):
        return os._exit, (1,)


def test_la_pages_are_drawn_in_this_process_when_a_page_process_stops(tmp_path):
    from csc_demand.report.build import PageWriter, write_la_pages
    from csc_demand.report.page import Publisher

    def pages(out, absent):
        return PageWriter(out, full_gold(), absent, Publisher(DisclosureConf()), ["201"], "england", "2026-12-02")

    lines: list[str] = []
    # every worker stops as it unpickles its start-up arguments (the key names no report table: never shown)
    write_la_pages(pages(tmp_path, {"not_a_table": StopsTheProcessThatUnpicklesIt()}), lines.append, processes=2)
    assert lines[0].startswith("a process drawing LA pages stopped") and lines[0].endswith("the other 1 in this one")
    assert [line.split(" (")[0] for line in lines[1:]] == ["wrote the LA 201 page"]
    (tmp_path / "one").mkdir()
    write_la_pages(pages(tmp_path / "one", {}), [].append, processes=1)
    assert (tmp_path / "la_201.html").read_bytes() == (tmp_path / "one" / "la_201.html").read_bytes()


def test_la_pages_get_a_process_per_core_from_eight_pages_within_half_the_available_memory(monkeypatch):
    from csc_demand.report import build

    gold = {"t": pd.DataFrame({"x": np.zeros(1_000_000)})}  # 8 MB: a worker is estimated at 512 MiB + 40 MB
    worker = build.WORKER_BASE_BYTES + build.WORKER_GOLD_FACTOR * int(gold["t"].memory_usage(deep=True).sum())
    monkeypatch.setattr(build.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(build, "available_memory", lambda: 100 * worker)
    assert [build.page_processes(n, gold) for n in (1, 7, 8, 152)] == [1, 1, 4, 4]
    monkeypatch.setattr(build, "available_memory", lambda: 6 * worker - 1)  # half holds 2 workers, not 3
    assert build.page_processes(152, gold) == 2
    monkeypatch.setattr(build, "available_memory", lambda: worker)
    assert build.page_processes(152, gold) == 1
    monkeypatch.setattr(build, "available_memory", lambda: None)  # unknown: not limited
    assert build.page_processes(152, gold) == 4


def test_cp_plans_by_abuse_give_shares_of_the_age_band_and_repeat_rates():
    table = abuse_category_shares(abuse_plans()).set_index(["la_code", "initial_category", "age_band"])
    neg = table.loc[("201", "NEG", "all")]  # 80 of 130 plans are neglect; 14 of the 80 repeat plans
    assert (neg["plans"], neg["repeat_plans"], neg["share"], neg["repeat_rate"]) == (80, 14, pytest.approx(80 / 130),
                                                                                   pytest.approx(14 / 80))
    assert (neg["share_ci_lower"], neg["ci_upper"]) == (pytest.approx(float(wilson_interval(80, 130)[0])),
                                                        pytest.approx(float(wilson_interval(14, 80)[1])))
    assert table.loc[("201", "EMO", "1-4"), "share"] == pytest.approx(20 / 50)  # of the 50 plans aged 1-4
    assert table.loc[("ALL", "all", "all"), "share"] == 1.0


def published_abuse_tables_keep_shares_whose_plans_are_published(out):
    published = pd.read_csv(out / "data" / "cp_plans_by_abuse.csv", dtype={"la_code": str}).set_index(
        ["la_code", "initial_category", "age_band"])
    # 4 and 6 repeat plans are suppressed, and with them their rates; the shares of those rows stay (they rest
    # on plans only); the 10 repeats beside the 4 go too (secondary: else 14 - 10 gives the 4 back)
    young = published.loc[("201", "NEG", "1-4")]
    assert pd.isna(young["repeat_plans"]) and pd.isna(young["repeat_rate"]) and young["plans"] == 30
    assert young["share"] == pytest.approx(30 / 50)
    assert pd.isna(published.loc[("201", "NEG", "10-15"), "repeat_plans"])
    assert published.loc[("201", "NEG", "all"), "repeat_plans"] == 15  # 14 rounded to 5
    page = (out / "la_201.html").read_text()
    assert "Child protection plans by initial category of abuse, LA 201 and England" in page
    assert "Neglect (NEG)" in page and "Emotional abuse (EMO)" in page


def test_a_report_with_nothing_but_the_model_still_opens_and_says_what_is_missing(tmp_path):
    build_report({"category_profiles": tiny_gold()["category_profiles"]}, {}, [], tmp_path, DisclosureConf())
    national = (tmp_path / "index.html").read_text()
    assert national.count("<figure>") == 1  # the class-profile heatmap
    assert "gold.category_trends (not in the lakehouse: run `csc-demand outcomes` first)" in national
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["category_profiles.csv"]


def test_an_la_page_without_any_input_of_its_key_problem_areas_says_so(tmp_path):
    build_report({"category_profiles": tiny_gold()["category_profiles"]}, {}, ["201"], tmp_path, DisclosureConf())
    problems = (tmp_path / "la_201.html").read_text().split("Key problem areas</h2>", 1)[1]
    assert problems.split("</section>", 1)[0].count("Not available for this report: gold.category_trends") == 1


def test_a_report_on_outcomes_run_without_categories_says_so_where_a_section_needs_them(tmp_path):
    """`outcomes` before `classify`: every assessment is counted under "all" (id null) and every threshold's
    under "unknown"; the category-mix sections and key problem areas say what to run, the rest is drawn."""
    gold = full_gold()
    trends = gold["category_trends"]
    gold["category_trends"] = (trends.groupby(["authorised_year", "la_code"], as_index=False)["assessments"].sum()
                               .assign(category_id=None, category_name="all"))
    thresholds = gold["category_thresholds"]
    gold["category_thresholds"] = (thresholds.groupby(["la_code", "threshold"], as_index=False)["count"].sum()
                                   .assign(category_id=None, category_name="unknown"))
    gold["rereferral_rates"] = gold["rereferral_rates"].query("category_name == 'all'")
    del gold["category_profiles"]
    gold["pathway_odds_ratios"] = pd.DataFrame(  # the model without its category term
        [("ALL", "cp_plan_within_window", c, level, ref, 1.8, 1.2, 2.7, 0.59, 0.2, 0.004, 300, 900)
         for c, level, ref in (("age_band", "1-4", "10-15"), ("sex", "F", "M"))],
        columns=list(REPORT_TABLES["pathway_odds_ratios"]))
    lines: list[str] = []
    build_report(gold, {}, ["201"], tmp_path, DisclosureConf(), step=lines.append)
    why = "no demand categories in it: `csc-demand outcomes` ran without gold.assessment_category; run " \
          "`csc-demand fit` and `csc-demand classify`, then `csc-demand outcomes` again"
    assert [line for line in lines if why in line] == [f"gold.category_trends: {why}; its section says so",
                                                      f"gold.category_thresholds: {why}; its section says so"]
    page = (tmp_path / "la_201.html").read_text()
    for section in ("demand", "complexity", "thresholds", "problems"):
        body = page.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
        assert f"gold.category_{'thresholds' if section == 'thresholds' else 'trends'} ({why})" in body, section
    written = {p.name for p in (tmp_path / "data").iterdir()}
    assert not written & {"demand_profile.csv", "category_mix_by_year.csv", "category_thresholds.csv",
                          "key_problem_areas.csv"}
    assert {"complexity_trends.csv", "repeat_plan_rates.csv", "survival_estimates.csv"} <= written
    assert "(one logistic model: age, sex;" in page  # the title wraps after it


def test_a_report_written_where_one_was_leaves_nothing_of_the_old_one_and_keeps_other_files(tmp_path):
    build_report(full_gold(), {}, ["201"], tmp_path, DisclosureConf())
    written = [p for p in tmp_path.rglob("*") if p.is_file()]  # every file of it is the report's
    (tmp_path / "minutes.txt").write_text("theirs")
    (tmp_path / "data" / "own_table.csv").write_text("area,note\nnorth,theirs\n")
    gold = full_gold()
    del gold["pathway_rates"]
    lines: list[str] = []
    build_report(gold, {}, ["202"], tmp_path, DisclosureConf(), step=lines.append)
    assert not (tmp_path / "la_201.html").exists() and (tmp_path / "la_202.html").exists()
    assert not (tmp_path / "data" / "pathway_rates.csv").exists()  # not written this time: not left from the last
    assert (tmp_path / "minutes.txt").read_text() == "theirs"
    assert (tmp_path / "data" / "own_table.csv").read_text() == "area,note\nnorth,theirs\n"
    assert lines[0] == (f"removed the {len(written)} files of the report written to {tmp_path} before (pages, "
                        f"tables, logs, workbook)")
    assert previous_report(["index.html", "data/rates.csv"], "{not json") == ["index.html"]


def test_the_las_of_a_report_are_every_la_code_but_england_and_the_null_one_of_npd_returns():
    gold = full_gold()
    gold["data_quality"] = pd.concat([gold["data_quality"], gold["data_quality"].head(1).assign(la_code=None)])
    assert las_in(gold) == ["201", "202"]


def test_gold_tables_read_with_delta_rs_equal_the_spark_read(spark, cfg, monkeypatch):
    """Tables on this machine are read with delta-rs, elsewhere with Spark: the same rows, columns and dtypes, the
    same reasons for absent or older tables, the same versions in the run summary."""
    from concurrent.futures import ThreadPoolExecutor

    from csc_demand.io import delta
    from csc_demand.runlog import RunLog
    from csc_demand.stages import report

    complexity = report.REPORT_TABLES["complexity_trends"]
    write_complexity_trends(spark, cfg, [(2020, la, 10, 12, 1.2, 4, 1, 3, 0.4, 0.1, 0.3) for la in ("201", "202", "ALL")]
                            + [(2021, "201", 20, None, None, 5, 2, 6, 0.25, 0.1, 0.3)])
    delta.write_table(spark.createDataFrame([(1, "x")], "category_id int, category_name string"), cfg, "gold",
                      "category_profiles")  # an older table, without the columns the report reads

    def read(spark_only: bool):
        if spark_only:
            monkeypatch.setattr(delta, "local_folder", lambda cfg, layer, name: None)
        log = RunLog("report", None)
        with ThreadPoolExecutor(2) as pool:
            gold, absent = report.read_gold(lambda: spark, cfg, ["201"], log, pool)
        return gold, absent, log.summary["versions_read"]

    (local, local_absent, local_versions), (remote, remote_absent, remote_versions) = read(False), read(True)
    assert list(local) == list(remote) == ["complexity_trends"]
    pd.testing.assert_frame_equal(local["complexity_trends"], remote["complexity_trends"])
    got = local["complexity_trends"]
    assert list(got.columns) == list(complexity)
    assert sorted(zip(got["authorised_year"], got["la_code"], strict=True)) == [(2020, "201"), (2020, "ALL"), (2021, "201")]
    assert got["factors"].isna().sum() == 1 and str(got["factors"].dtype) == "float64"
    assert local_absent == remote_absent and local_absent["category_profiles"].startswith("columns class_size, indicator")
    assert local_absent["category_trends"] == "not in the lakehouse: run `csc-demand outcomes` first"
    # version 0: write_table creates a registered table with its rows and comments in one commit
    assert local_versions == remote_versions == {"gold.complexity_trends": 0, "gold.category_profiles": 0}
