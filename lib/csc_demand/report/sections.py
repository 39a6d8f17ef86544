"""The report's sections: each takes a Page, publishes the tables it shows and returns its HTML body.

A section whose gold tables are absent says so in one line. Charts are titled with their population and
denominator and name categories (never class numbers alone).
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from csc_demand.codes import ABUSE_CATEGORIES
from csc_demand.report import charts
from csc_demand.report.briefing import CHILD_MH_ID, DAV_ID, HEADLINES, PMH_ID
from csc_demand.report.page import (
    NO_CATEGORIES,
    Page,
    figure,
    html_table,
    number,
    percent,
    with_interval,
)
from csc_demand.report.publish import TableRule
from csc_demand.report.tables import (
    ALL,
    ENGLAND,
    UNKNOWN,
    abuse_category_shares,
    category_shares,
    in_reading_order,
    in_words,
    key_problem_areas,
    la_distribution,
    rates_by_category,
    stacked_rates,
    with_rate,
)

RATE = ("rate", "ci_lower", "ci_upper")
SHARE = ("share", "ci_lower", "ci_upper")
PATHWAY_OUTCOMES = (("CP plan", "cp_plans", "assessments"), ("period of care", "care_entries", "assessments"))
KM_HORIZONS = ((365, "12 months"), (2190, "six years"))
ABUSE_NAMES = dict(zip(ABUSE_CATEGORIES, ("Neglect", "Physical abuse", "Sexual abuse", "Emotional abuse",
                                         "Multiple categories"), strict=True))
AGE_BANDS = ("unborn", "under 1", "1-4", "5-9", "10-15", "16+", "unknown")  # followup.age_band, youngest first
SURVIVAL_MEASURES = {"rereferral_after_closure": ("Re-referral after closure", "referrals closed"),
                     "repeat_cp_plan": ("Repeat child protection plan after a plan ended", "CP plans ended"),
                     "reentry_after_return_home": ("Re-entry to care after returning home", "returns home")}


def years(frame: pd.DataFrame, column: str) -> str:
    """Collection years ending 31 March, as financial years: 2015 -> "2014-15"."""
    if frame.empty:
        return "no years"
    first, last = int(frame[column].min()), int(frame[column].max())
    span = lambda y: f"{y - 1}-{str(y)[2:]}"  # noqa: E731
    return span(first) if first == last else f"{span(first)} to {span(last)}"


def _series(page: Page, frame: pd.DataFrame, labels: list[str], key: str, value: str = "rate",
            lower: str = "ci_lower", upper: str = "ci_upper") -> list[tuple]:
    """Per area: values aligned on ``labels`` of column ``key`` (NaN where absent or suppressed). Against the
    distribution across LAs, the comparison is the median LA with the interquartile range as its bar."""
    out = []
    for area in page.areas:
        if area == ENGLAND and page.distribution and not page.national:
            spread = la_distribution(frame, key, value).reindex(labels)
            out.append((f"median of {int(spread['las'].max()) if spread['las'].notna().any() else 0} LAs "
                        f"(bar: interquartile range)", spread["median"], spread["lower_quartile"],
                        spread["upper_quartile"]))
            continue
        rows = frame[frame["la_code"] == area].drop_duplicates(key).set_index(key).reindex(labels)
        out.append((page.area_name(area), rows[value], rows[lower], rows[upper]))
    return out


def _total(frame: pd.DataFrame, area: str, column: str = "assessments") -> str:
    rows = frame[(frame["la_code"] == area) & (frame["category_name"] == ALL)]
    return number(rows[column].iloc[0]) if len(rows) else "–"


def demand_profile(page: Page) -> str:
    missing = page.unavailable("category_trends")
    if missing:
        return missing + _profiles(page)
    trends = page.gold["category_trends"]
    shares = page.publish("demand_profile", lambda: category_shares(trends), TableRule(
        counts=("assessments",), derived=SHARE, totals=(("category_name", ALL),)))
    names = [n for n in shares.sort_values("category_id")["category_name"].drop_duplicates() if n != ALL]
    area = page.areas[0]
    title = (f"Share of assessments by demand category, {page.name}"
             + ("" if page.national else f" and {page.comparison}")
             + f", {years(trends, 'authorised_year')} (denominator: assessments with factors, {page.name} "
             f"{_total(shares, area)}" + ("" if page.national else f", {page.comparison} {_total(shares, ENGLAND)}")
             + "); 95% Wilson intervals")
    svg = charts.dot_intervals(names, _series(page, shares, names, "category_name", "share"), title,
                               "share of assessments with factors")
    body = figure(svg, "Dots are shares, bars their 95% intervals.", "demand_profile")
    return body + _profiles(page)


def _profiles(page: Page) -> str:
    missing = page.unavailable("category_profiles")
    if missing:
        return missing
    profiles = page.publish("category_profiles", lambda: page.gold["category_profiles"], TableRule(counts=()))
    rows = profiles.drop_duplicates("category_id").sort_values("category_id")
    matrix = profiles.pivot_table(index="category_id", columns="indicator", values="probability")
    indicators = list(profiles.drop_duplicates("indicator")["indicator"])
    probabilities = matrix.reindex(index=rows["category_id"], columns=indicators).to_numpy()
    labels = profiles.drop_duplicates("indicator").set_index("indicator")
    columns = [f"{labels.loc[i, 'factor_codes']} {labels.loc[i, 'indicator_label']}" for i in indicators]
    names = [f"{n} ({percent(s)})" for n, s in zip(rows["category_name"], rows["class_size"], strict=True)]
    svg = charts.heatmap(probabilities, names, columns,
                         f"What each category means: probability of each CIN assessment factor within the category "
                         f"(model parameters; category size = the model's class share of {len(rows)} categories)",
                         "P(factor recorded | category)")
    return figure(svg, "Darker = the factor is more often recorded in assessments of that category; CIN factor "
                       "codes beside their names.", "category_profiles")


def complexity(page: Page) -> str:
    parts = []
    missing = page.unavailable("complexity_trends")
    if missing:
        parts.append(missing)
    else:
        trends = page.gold["complexity_trends"]
        counts = ("assessments", "factors", "with_2plus_groups", "with_3plus_groups", "in_complex_categories")
        table = page.publish("complexity_trends", lambda: trends.sort_values(["la_code", "authorised_year"]), TableRule(
            counts=counts, derived=("mean_factors", "share_2plus_groups", "share_3plus_groups",
                                    "share_complex_categories"),
            complements=tuple(("assessments", c) for c in counts[2:])))
        x = sorted(table["authorised_year"].unique())
        series = []
        for area in page.areas:
            rows = table[table["la_code"] == area].set_index("authorised_year").reindex(x)
            for column, label in (("share_2plus_groups", "2+ factor groups"), ("share_3plus_groups", "3+ groups")):
                series.append((f"{page.area_name(area)}: {label}", rows[column], None, None))
        svg = charts.lines(x, series, f"Complexity over time, {page.name}: share of assessments with factors that "
                                      f"record 2 or more and 3 or more factor groups, by year of authorisation "
                                      f"(denominator: assessments with factors in the year)",
                           "collection year (ending 31 March)", "share of assessments")
        parts.append(figure(svg, "A factor group is the numeric part of a CIN code (3A, 3B and 3C are group 3).",
                            "complexity_trends"))
        parts.append(html_table(table, ["la_code", "authorised_year", "assessments", "mean_factors",
                                        "share_2plus_groups", "share_3plus_groups", "share_complex_categories"]))
    missing = page.unavailable("category_trends")
    if missing:
        return "".join(parts) + missing
    trends = page.gold["category_trends"]
    mix = page.publish("category_mix_by_year", lambda: category_shares(trends, ("authorised_year",)), TableRule(
        counts=("assessments",), derived=SHARE, totals=(("category_name", ALL),)), areas=page.areas[:1])
    x = sorted(mix["authorised_year"].unique())
    named = mix[mix["category_name"] != ALL].sort_values("category_id")
    names = list(named["category_name"].drop_duplicates())
    matrix = np.array([named[named["category_name"] == n].set_index("authorised_year")["share"].reindex(x).to_numpy()
                       for n in names])
    svg = charts.stacked_shares(x, names, matrix, f"Category mix by year of authorisation, {page.name} "
                                                  f"(denominator: assessments with factors authorised in the year)",
                                "collection year (ending 31 March)")
    parts.append(figure(svg, "Shares of suppressed cells are left out, so a bar can fall short of 100%.",
                        "category_mix_by_year"))
    return "".join(parts)


def thresholds(page: Page) -> str:
    return _category_thresholds(page) + _abuse(page)


def _category_thresholds(page: Page) -> str:
    missing = page.unavailable("category_thresholds")
    if missing:
        return missing
    shares = page.publish("category_thresholds", lambda: category_shares(page.gold["category_thresholds"],
                                                                         ("threshold",), "count"),
                          TableRule(counts=("count",), derived=SHARE, totals=(("category_name", ALL),)),
                          areas=page.areas[:1])
    names = [n for n in shares.sort_values("category_id")["category_name"].drop_duplicates() if n != ALL]
    order = [t for t in ("assessment", "cin_plan", "cp_plan", "in_care") if t in set(shares["threshold"])]
    series = []
    for threshold in order:
        rows = shares[shares["threshold"] == threshold].set_index("category_name").reindex(names)
        total = shares[(shares["threshold"] == threshold) & (shares["category_name"] == ALL)]["count"]
        series.append((f"{threshold.replace('_', ' ')} (n = {number(total.iloc[0]) if len(total) else '–'})",
                       rows["share"], rows["ci_lower"], rows["ci_upper"]))
    svg = charts.dot_intervals(names, series, f"Risk at thresholds, {page.name}: category mix of all assessments, "
                                              f"CIN plans, CP plans and periods of care (each plan or period takes the "
                                              f"category of the child's latest assessment before it; denominator: "
                                              f"n per threshold)", "share at the threshold")
    return figure(svg, "Dots are shares with 95% intervals.", "category_thresholds")


def _abuse(page: Page) -> str:
    """CP plans by initial category of abuse: shares (overall and by age band at the plan's start) and repeat-plan
    rates, this LA against the comparison."""
    missing = page.unavailable("cp_plans_by_abuse")
    if missing:
        return "<h3>Child protection plans by category of abuse</h3>" + missing
    table = page.publish("cp_plans_by_abuse", lambda: abuse_category_shares(page.gold["cp_plans_by_abuse"]),
                         TableRule(counts=("plans", "repeat_plans"),
                                   derived=("share", "share_ci_lower", "share_ci_upper", "repeat_rate", "ci_lower",
                                            "ci_upper"),
                                   totals=(("initial_category", ALL), ("age_band", ALL)),
                                   complements=(("plans", "repeat_plans"),),
                                   bases=tuple((c, ("plans",)) for c in ("share", "share_ci_lower", "share_ci_upper"))))
    found = set(table["initial_category"])
    codes = [c for c in (*ABUSE_CATEGORIES, UNKNOWN) if c in found]
    labels = [f"{ABUSE_NAMES[c]} ({c})" if c in ABUSE_NAMES else c for c in codes]
    overall = table[table["age_band"] == ALL]
    plans = {area: _total(overall.rename(columns={"initial_category": "category_name"}), area, "plans")
             for area in page.areas}
    denominator = ", ".join(f"{page.area_name(area)} {n}" for area, n in plans.items())
    versus = "" if page.national else f" and {page.comparison}"
    shares = charts.dot_intervals(labels, _series(page, overall, codes, "initial_category", "share", "share_ci_lower",
                                                  "share_ci_upper"),
                                  f"Child protection plans by initial category of abuse, {page.name}{versus} (share "
                                  f"of CP plans; denominator: CP plans, {denominator}); 95% Wilson intervals",
                                  "share of CP plans")
    by_age = table[(table["la_code"] == page.areas[0]) & (table["age_band"] != ALL)
                   & (table["initial_category"] != ALL)]
    bands = [b for b in AGE_BANDS if b in set(by_age["age_band"])]
    matrix = np.array([by_age[by_age["initial_category"] == c].set_index("age_band")["share"].reindex(bands)
                       .to_numpy(dtype=float) for c in codes])
    mix = charts.stacked_shares(bands, labels, matrix.reshape(len(codes), len(bands)),
                                f"Initial category of abuse by age at the start of the plan, {page.name} "
                                f"(denominator: CP plans starting in each age band)", "age band at the plan's start",
                                "share of CP plans")
    repeats = charts.dot_intervals([*labels, "all categories"],
                                   _series(page, overall, [*codes, ALL], "initial_category", "repeat_rate"),
                                   f"Repeat child protection plans (second or later plan) by initial category of "
                                   f"abuse, {page.name}{versus} (denominator: CP plans in each category, "
                                   f"{denominator}); 95% Wilson intervals", "share of plans that are repeat plans")
    return ("<h3>Child protection plans by category of abuse</h3>"
            + figure(shares, "Dots are shares with 95% intervals.", "cp_plans_by_abuse")
            + figure(mix, "Shares of suppressed cells are left out, so a bar can fall short of 100%.",
                     "cp_plans_by_abuse")
            + figure(repeats, "A repeat plan is a child's second or later plan, however long ago (DfE d3).",
                     "cp_plans_by_abuse"))


def _survival(page: Page) -> pd.DataFrame | None:
    if "survival_estimates" in page.absent:
        return None
    survival = page.gold["survival_estimates"]
    return page.publish("survival_estimates", lambda: survival.sort_values(
        ["la_code", "measure", "group_by", "group_value", "horizon_days"]), TableRule(
        counts=("n_at_risk", "events", "subjects", "n_complete"),
        derived=("cumulative_incidence", "ci_lower", "ci_upper", "raw_share")))


def outcomes(page: Page) -> str:
    parts = []
    survival = _survival(page)
    if survival is None:
        parts.append(page.unavailable("survival_estimates"))
    else:
        for measure, (label, population) in SURVIVAL_MEASURES.items():
            rows = survival[(survival["measure"] == measure) & (survival["group_by"] == "all")]
            if rows.empty:
                continue
            x = sorted(rows["horizon_days"].unique())
            series = []
            for area in page.areas:
                curve = rows[rows["la_code"] == area].set_index("horizon_days").reindex(x)
                series.append((page.area_name(area), curve["cumulative_incidence"], curve["ci_lower"],
                               curve["ci_upper"]))
            subjects = rows[rows["la_code"] == page.areas[0]]["subjects"].max()
            svg = charts.lines(x, series, f"{label}, {page.name}: Kaplan-Meier cumulative incidence with 95% "
                                          f"interval (denominator: {number(subjects)} {population}; a curve stops "
                                          f"where fewer than {page.conf.min_count} remain at risk)",
                               "days since the start of follow-up", "cumulative incidence",
                               marks=[(365, "12 months"), (2190, "six years")], from_zero=True)
            parts.append(figure(svg, "Shaded bands are 95% intervals (log-log Greenwood).",
                                "survival_estimates"))
        by_category = survival[(survival["group_by"] == "category_name")
                               & survival["horizon_days"].isin([h for h, _ in KM_HORIZONS])
                               & (survival["measure"] == "rereferral_after_closure")]
        if not by_category.empty:
            names = page.in_category_order(set(by_category["group_value"]) - {UNKNOWN})
            series = []
            for area in page.areas:
                for horizon, label in KM_HORIZONS:
                    rows = by_category[(by_category["la_code"] == area) & (by_category["horizon_days"] == horizon)]
                    rows = rows.set_index("group_value").reindex(names)
                    series.append((f"{page.area_name(area)}, {label}", rows["cumulative_incidence"],
                                   rows["ci_lower"], rows["ci_upper"]))
            svg = charts.dot_intervals(names, series, f"Re-referral after closure by demand category at 12 months "
                                                      f"and six years, {page.name} (Kaplan-Meier, 95% intervals; "
                                                      f"denominator: referrals closed in each category)",
                                       "cumulative incidence of re-referral")
            parts.append(figure(svg, "Category = first authorised assessment of the referral.",
                                "survival_estimates"))
    parts.append(_category_rates(page, "repeat_plan_rates", "repeat_plans", "plans", "start_year",
                                 "Repeat child protection plans (second or later plan) by category",
                                 "CP plans starting"))
    parts.append(_care(page))
    parts.append(_pathways(page))
    parts.append(_combinations(page))
    parts.append(_education(page))
    return "".join(p for p in parts if p)


def _category_rates(page: Page, table: str, events: str, total: str, year: str, label: str, population: str) -> str:
    missing = page.unavailable(table)
    if missing:
        return missing
    rates = page.publish(table, lambda: rates_by_category(page.gold[table], events, total, year, True), TableRule(
        counts=(total, events), derived=RATE, totals=(("category_name", ALL),), complements=((total, events),)))
    names = page.in_category_order(set(rates["category_name"]) - {ALL, UNKNOWN}) + [ALL]
    svg = charts.dot_intervals(names, _series(page, rates, names, "category_name"),
                               f"{label}, {page.name} (denominator: {population} after the first year of data, "
                               f"{page.name} {_total(rates, page.areas[0], total)}); 95% Wilson intervals",
                               "rate")
    return figure(svg, "The data's first year is left out: its earlier plans or referrals cannot be seen.",
                  table)


def _care(page: Page) -> str:
    """Re-entry within 12 months of a return home, and children with more than one period of care, by category."""
    missing = page.unavailable("care_periods_by_category")
    if missing:
        return missing

    def build() -> pd.DataFrame:
        return stacked_rates(page.gold["care_periods_by_category"], ["la_code", "category_id", "category_name"],
                             "measure", (("re-entry within 12 months of a return home", "reentries_12m",
                                          "returned_home_followed_12m"),
                                         ("more than one period of care", "children_multiple_periods", "children")))

    care = page.publish("care_periods_by_category", build, TableRule(
        counts=("total", "events"), derived=RATE, totals=(("category_name", ALL),), complements=(("total", "events"),)))
    names = list(care.sort_values("category_id")["category_name"].drop_duplicates())
    parts = []
    for measure, population in (("re-entry within 12 months of a return home",
                                 "returns home with 12 months of follow-up"),
                                ("more than one period of care", "children with a period of care")):
        rows = care[care["measure"] == measure]
        svg = charts.dot_intervals(names, _series(page, rows, names, "category_name"),
                                   f"Children in care: {measure}, by category of the first period, {page.name} "
                                   f"(denominator: {population}, {page.name} {_total(rows, page.areas[0], 'total')}); "
                                   f"95% Wilson intervals", "rate")
        parts.append(figure(svg, "Category = the child's latest assessment started on or before the first period of "
                                 "care.", "care_periods_by_category"))
    return "".join(parts)


def _combinations(page: Page) -> str:
    """CP plans and care after assessments with domestic abuse alone, with neglect, or with other factors."""
    missing = page.unavailable("pathway_factor_combinations")
    if missing:
        return missing

    combos = page.publish("pathway_factor_combinations", lambda: stacked_rates(
        page.gold["pathway_factor_combinations"], ["la_code", "combination"], "outcome", PATHWAY_OUTCOMES), TableRule(
        counts=("total", "events"), derived=RATE, complements=(("total", "events"),)))
    labels = ["domestic_abuse_alone", "domestic_abuse_with_neglect", "domestic_abuse_with_other"]
    series = []
    for area in page.areas:
        for outcome in ("CP plan", "period of care"):
            rows = combos[(combos["la_code"] == area) & (combos["outcome"] == outcome)].set_index("combination")
            rows = rows.reindex(labels)
            series.append((f"{page.area_name(area)}: {outcome}", rows["rate"], rows["ci_lower"], rows["ci_upper"]))
    svg = charts.dot_intervals([label.replace("_", " ") for label in labels], series,
                               f"Domestic abuse alone or with other factors: assessments followed by a CP plan or a "
                               f"period of care within the window, {page.name} (denominator: authorised assessments "
                               f"with domestic abuse factors and a complete window); 95% Wilson intervals",
                               "share of assessments")
    return figure(svg, "Domestic abuse = factor group 3 (3A, 3B, 3C); neglect = 16A.", "pathway_factor_combinations")


def _pathway_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Pathway counts by category (and "all") as one long table: outcome, events, total, rate and interval."""
    rates = rates[rates["group_by"].isin(["all", "category_name"])]
    rates = rates.assign(category_name=rates["group_value"].where(rates["group_by"] != "all", ALL))
    return stacked_rates(rates, ["la_code", "category_name"], "outcome", PATHWAY_OUTCOMES)


def _term(covariate: str) -> str:
    """A model covariate as a chart names it: "category", not "category_name"."""
    return MODEL_TERMS.get(covariate, covariate.replace("_", " "))


def _odds_ratios_in_order(page: Page, ratios: pd.DataFrame) -> pd.DataFrame:
    """Odds ratios by outcome and the model's terms in its order, each term's levels as a reader looks for them:
    categories by id, age bands youngest first, other levels alphabetically."""
    def levels(covariate: str) -> list[str]:
        found = set(ratios.loc[ratios["covariate"] == covariate, "level"])
        if covariate == "category_name":
            return page.in_category_order(found)
        return sorted(found, key=lambda level: (AGE_BANDS.index(level) if level in AGE_BANDS else len(AGE_BANDS), level))

    order = {covariate: levels(covariate) for covariate in set(ratios["covariate"])}
    positions = [order[c].index(level) for c, level in zip(ratios["covariate"], ratios["level"], strict=True)]
    return in_reading_order(ratios.assign(_level=positions), ["la_code", "outcome", "covariate", "_level"]).drop(
        columns="_level")


def _pathways(page: Page) -> str:
    parts = []
    missing = page.unavailable("pathway_rates")
    if missing:
        parts.append(missing)
    else:
        long = page.publish("pathway_rates", lambda: _pathway_rates(page.gold["pathway_rates"]), TableRule(
            counts=("total", "events"), derived=RATE, complements=(("total", "events"),)))
        names = page.in_category_order(set(long["category_name"]) - {ALL, UNKNOWN}) + [ALL]
        for outcome in ("CP plan", "period of care"):
            rows = long[long["outcome"] == outcome]
            svg = charts.dot_intervals(names, _series(page, rows, names, "category_name"),
                                       f"Assessments followed by a {outcome} within the window, by category, "
                                       f"{page.name} (denominator: authorised assessments with a complete window, "
                                       f"{page.name} {_total(rows, page.areas[0], 'total')}); 95% intervals",
                                       f"share of assessments followed by a {outcome}")
            parts.append(figure(svg, "Complete follow-up windows only.", "pathway_rates"))
    missing = page.unavailable("pathway_odds_ratios")
    if missing:
        parts.append(missing)
        return "".join(parts)
    ratios = page.publish("pathway_odds_ratios", lambda: _odds_ratios_in_order(page, page.gold["pathway_odds_ratios"]),
                          areas=[ENGLAND],
                          rule=TableRule(counts=("n_level", "n_total"),
                                    derived=("odds_ratio", "ci_lower", "ci_upper", "coefficient", "std_error",
                                             "p_value")))
    for ratio_outcome, group in ratios.groupby("outcome"):
        outcome_name = OUTCOME_NAMES.get(str(ratio_outcome), str(ratio_outcome).replace("_", " "))
        terms = ", ".join(dict.fromkeys(_term(c) for c in group["covariate"]))
        group = group[group["odds_ratio"].notna()]
        if group.empty:
            continue
        labels = [f"{_term(c)}: {level}" for c, level in zip(group["covariate"], group["level"], strict=True)]
        references = "; ".join(f"{_term(c)}: {ref}" for c, ref in
                               group[["covariate", "reference"]].drop_duplicates().itertuples(index=False))
        svg = charts.dot_intervals(labels, [("adjusted odds ratio", group["odds_ratio"], group["ci_lower"],
                                             group["ci_upper"])],
                                   f"Adjusted odds ratios of a {outcome_name}"
                                   f" within the window after assessment, {page.comparison} (one logistic model: "
                                   f"{terms}; denominator: "
                                   f"{number(group['n_total'].max())} assessments with complete windows)",
                                   "odds ratio (log scale; 1 = same odds as the reference)", log_scale=True,
                                   reference=1.0)
        parts.append(figure(svg, f"Fitted on England as a whole; 95% Wald intervals. Reference levels (odds ratio "
                                 f"1): {references}.",
                            "pathway_odds_ratios"))
    return "".join(parts)


def _education(page: Page) -> str:
    missing = page.unavailable("education_by_category")
    if missing:
        return f"<h3>Education</h3>{missing}"
    education = page.publish("education_by_category", lambda: in_reading_order(with_rate(
        page.gold["education_by_category"], "suspended", "pupils", "suspension_rate"),
        ["la_code", "category_id", "category_name"]), TableRule(
        counts=("pupils", "att8_pupils", "suspended", "permanently_excluded"),
        derived=("mean_att8", "att8_ratio_to_never_referred", "suspension_rate", "ci_lower", "ci_upper",
                 "suspension_rate_ratio", "exclusion_rate", "exclusion_rate_ratio"),
        totals=(("category_name", ALL),), complements=(("pupils", "suspended"), ("pupils", "permanently_excluded")),
        bases=EDUCATION_BASES))
    names = list(education.sort_values("category_id")["category_name"].drop_duplicates())
    svg = charts.dot_intervals(names, _series(page, education, names, "category_name", "suspension_rate"),
                               f"Pupils suspended at least once up to the end of KS4, by category of their last "
                               f"assessment, {page.name} (denominator: KS4 pupils with an assessment); 95% intervals",
                               "share of pupils suspended")
    table = html_table(education, ["la_code", "category_name", "pupils", "mean_att8", "att8_ratio_to_never_referred",
                                   "suspension_rate", "exclusion_rate", "exclusion_rate_ratio"])
    categories = ('<p class="note">Category = the last assessment authorised by the end of the KS4 year; unknown = '
                  'involved without a categorised one by then; all = every involved pupil.</p>')
    return ("<h3>Education</h3>" + look_back(education) + figure(svg, "Dots are shares with 95% Wilson intervals.",
                                                                 "education_by_category") + categories + table)


# (derived column, the counts it rests on) in the education tables: a mean attainment stays published when the
# row's few permanent exclusions are not (most LA rows have fewer than 10), and so does a suspension rate
EDUCATION_BASES = (("mean_att8", ("att8_pupils",)), ("att8_ratio_to_never_referred", ("att8_pupils",)),
                   *((c, ("pupils", "suspended")) for c in ("suspension_rate", "ci_lower", "ci_upper",
                                                             "suspension_rate_ratio")),
                   *((c, ("pupils", "permanently_excluded")) for c in ("exclusion_rate", "exclusion_rate_ratio")))
MODEL_TERMS = {"category_name": "category", "age_band": "age"}  # how a chart names a covariate
OUTCOME_NAMES = {"cp_plan_within_window": "CP plan", "care_within_window": "period of care"}  # ... and an outcome
NOT_IN_RUN = "not available in this run (table absent, category not found, or suppressed)"
PROBLEM_INPUTS = ("category_trends", "rereferral_rates", "repeat_plan_rates", "pathway_rates")


def _measures(page: Page) -> dict[str, pd.DataFrame]:
    """Events and totals by LA and category for every measure key problem areas compare."""
    needed = [t for t in PROBLEM_INPUTS if t not in page.absent]
    measures = {}

    if "category_trends" in needed:
        shares = category_shares(page.gold["category_trends"])
        totals = shares[shares["category_name"] == ALL].set_index("la_code")["assessments"]
        measures["share of assessments"] = shares.assign(events=shares["assessments"],
                                                         total=shares["la_code"].map(totals))
    for table, events, total, year, label in (
            ("rereferral_rates", "rereferrals_12m", "referrals", "referral_year", "re-referral within 12 months"),
            ("repeat_plan_rates", "repeat_plans", "plans", "start_year", "repeat CP plan")):
        if table in needed:
            rates = rates_by_category(page.gold[table], events, total, year, skip_first_year=True)
            measures[label] = rates.rename(columns={events: "events", total: "total"})
    if "pathway_rates" in needed:
        rates = page.gold["pathway_rates"].query("group_by == 'category_name'").rename(
            columns={"group_value": "category_name", "assessments": "total"})
        measures["CP plan after assessment"] = rates.assign(events=rates["cp_plans"])
        measures["care after assessment"] = rates.assign(events=rates["care_entries"])
    return measures


def _key_problem_areas(page: Page) -> pd.DataFrame:
    measures = _measures(page)  # once for every LA: built per LA, this took seconds per page process
    return pd.concat([key_problem_areas(measures, la) for la in page.las], ignore_index=True)


def look_back(education: pd.DataFrame) -> str:
    """The cohorts an education table covers and how far back their social care history can be seen."""
    if education.empty:
        return ""
    row = education.iloc[0]
    return (f'<p class="note">KS4 cohorts {html.escape(str(row["ks4_years"]))}; children\'s social care history '
            f'observable from {html.escape(str(row["history_from"]))[:10]}, so earlier involvement is not counted.</p>')


def key_problems(page: Page) -> str:
    if all(t in page.absent for t in PROBLEM_INPUTS):
        return page.unavailable(*PROBLEM_INPUTS) or ""
    if page.absent.get("category_trends") == NO_CATEGORIES:  # every measure compares categories
        return page.unavailable("category_trends") or ""
    problems = page.publish("key_problem_areas", lambda: _key_problem_areas(page), TableRule(
        counts=("total", "events"),
        derived=("rate", "rest_of_england_rate", "difference", "difference_ci_lower", "difference_ci_upper",
                 "excess", "excess_ci_lower", "excess_ci_upper", "differs"), complements=(("total", "events"),)))
    problems = problems[problems["la_code"] == page.la]
    if problems.empty:
        return '<p class="absent">No category has counts for both this LA and England.</p>'
    problems = problems[problems["difference"].notna()]
    top = problems[problems["differs"].eq(True)].head(10)
    if top.empty:
        lead = ("<p>No category differs from the rest of England by more than chance would explain (every 95% "
                "interval of the difference includes zero).</p>")
        top = problems.head(5)
    else:
        lead = "<p>Categories where this LA differs from the rest of England (95% interval excludes zero):</p>"
    labels = [f"{m}: {c}" for m, c in zip(top["measure"], top["category_name"], strict=True)]
    rate_svg = charts.dot_intervals(labels, [("LA minus rest of England", top["difference"],
                                              top["difference_ci_lower"], top["difference_ci_upper"])],
                                    f"Key problem areas, {page.name}: difference from the rest of England in rate "
                                    f"(percentage points, Newcombe 95% intervals; denominators in the table)",
                                    "difference in rate", reference=0.0)
    children_svg = charts.dot_intervals(labels, [("children affected", top["excess"], top["excess_ci_lower"],
                                                  top["excess_ci_upper"])],
                                        f"Key problem areas, {page.name}: children affected = difference in rate x "
                                        f"this LA's denominator (more children than if the LA matched the rest of "
                                        f"England; 95% intervals)", "children (or assessments, plans)",
                                        percent=False, reference=0.0)
    table = html_table(top, ["measure", "category_name", "total", "rate", "rest_of_england_rate", "difference",
                             "difference_ci_lower", "difference_ci_upper", "excess", "excess_ci_lower",
                             "excess_ci_upper"])
    return (lead + figure(rate_svg, "Ordered by children affected.", "key_problem_areas")
            + figure(children_svg, "Positive = more than expected from the rest of England's rate.",
                     "key_problem_areas") + table)


def data_quality(page: Page) -> str:
    missing = page.unavailable("data_quality")
    if missing:
        return missing
    quality = page.publish("data_quality", lambda: in_reading_order(
        page.gold["data_quality"], ["la_code", "collection_year", "source_file", "table_name", "rule_id"]), TableRule(
            counts=("received", "accepted", "quarantined"), totals=(("rule_id", "all"),),
            # received = accepted + quarantined: a small one of the two must not follow from the other two
            complements=(("received", "accepted"), ("received", "quarantined"))),
        areas=list(page.gold["data_quality"]["la_code"].unique()) if page.national else [page.la])
    if page.national:
        return (f"<p>Records quarantined by each DfE rule over every LA's returns, the most first, then each table's "
                f"totals (rule <i>all</i>): sums over the returns whose counts are published; a return with a count "
                f"suppressed (fewer than {page.conf.min_count}, or one that would give it away) is counted under "
                f"<i>returns suppressed</i> instead. Each return's own rows: data_quality.csv.</p>"
                + html_table(_rules_over_every_return(quality), max_rows=80))
    newest = quality.sort_values("collection_year", ascending=False, kind="stable")  # an LA checks its latest first
    rejections_first = pd.concat([newest[newest["rule_id"] != "all"], newest[newest["rule_id"] == "all"]])
    return ("<p>Records received, accepted and quarantined per return, table and DfE rule id: the rules that "
            "rejected records first, then each table's totals (rule <i>all</i>), the latest returns first.</p>"
            + html_table(rejections_first, max_rows=80))


def _rules_over_every_return(quality: pd.DataFrame) -> pd.DataFrame:
    """Published data-quality rows -> one row per table and rule over every return (England's page): the number of
    returns, those with a count suppressed, and the sums of the others' published counts, so that received =
    accepted + quarantined holds in a table's totals (only published values are used: nothing new is disclosed);
    rules by records quarantined, then each table's totals."""
    totals = quality["rule_id"] == "all"
    published = quality["quarantined"].notna() & (~totals | quality[["received", "accepted"]].notna().all(axis=1))
    counted = quality.assign(**{c: quality[c].where(published) for c in ("received", "accepted", "quarantined")},
                             suppressed=~published)
    summary = counted.groupby(["table_name", "rule_id"], as_index=False, dropna=False).agg(
        message=("message", "first"), returns=("rule_id", "size"), returns_suppressed=("suppressed", "sum"),
        **{c: (c, lambda values: values.sum(min_count=1)) for c in ("received", "accepted", "quarantined")})
    totals = summary["rule_id"] == "all"
    return pd.concat([summary[~totals].sort_values(["quarantined", "table_name", "rule_id"],
                                                   ascending=[False, True, True], na_position="last"),
                      summary[totals].sort_values("table_name")], ignore_index=True)


def summary(page: Page, published: dict[str, pd.DataFrame]) -> str:
    """Plain-language lines from the published tables: size, most common category, re-referral, key problem."""
    lines = []
    shares = published.get("demand_profile")
    area = page.areas[0]
    if shares is not None:
        rows = shares[(shares["la_code"] == area) & (shares["category_name"] != ALL)].dropna(subset=["share"])
        if not rows.empty:
            top = rows.sort_values("share", ascending=False).iloc[0]
            england = shares[(shares["la_code"] == ENGLAND) & (shares["category_name"] == top["category_name"])]
            versus = "" if page.national or england.empty else f" ({page.comparison}: {percent(england['share'].iloc[0])})"
            lines.append(f"{page.name}: {_total(shares, area)} assessments with factors were sorted into demand "
                         f"categories. The most common was <b>{html.escape(top['category_name'])}</b>, "
                         f"{with_interval(top['share'], top['ci_lower'], top['ci_upper'])} of them{versus}.")
    survival = published.get("survival_estimates")
    if survival is not None:
        for area_code in page.areas:
            rows = survival[(survival["la_code"] == area_code) & (survival["measure"] == "rereferral_after_closure")
                            & (survival["group_by"] == "all")].set_index("horizon_days")
            if 365 in rows.index and 2190 in rows.index:
                a, b = rows.loc[365], rows.loc[2190]
                lines.append(f"Re-referral after a case closed, {page.area_name(area_code)}: "
                             f"{with_interval(a['cumulative_incidence'], a['ci_lower'], a['ci_upper'])} within 12 "
                             f"months and {with_interval(b['cumulative_incidence'], b['ci_lower'], b['ci_upper'])} "
                             f"within six years.")
    problems = published.get("key_problem_areas")
    if problems is not None and not problems.empty:
        holding = problems[problems["differs"].eq(True) & problems["difference"].notna()]
        if not holding.empty:
            p = holding.iloc[0]
            direction = "higher" if p["difference"] > 0 else "lower"
            lines.append(f"Largest difference from the rest of England in children affected: {html.escape(p['measure'])}"
                         f" in <b>{html.escape(p['category_name'])}</b>, {percent(p['rate'])} against "
                         f"{percent(p['rest_of_england_rate'])} ({direction}; difference "
                         f"{with_interval(p['difference'], p['difference_ci_lower'], p['difference_ci_upper'])}, "
                         f"about {number(p['excess'])} ({number(p['excess_ci_lower'])} to "
                         f"{number(p['excess_ci_upper'])}) children).")
        else:
            lines.append("No category differs from the rest of England beyond chance (95% intervals).")
    return "".join(f"<li>{line}</li>" for line in lines)


def _first_to_last(rows: pd.DataFrame, column: str) -> str:
    """A share in the first and the last year of ``rows`` ("12.0% in 2015 to 18.0% in 2021")."""
    rows = rows.sort_values("authorised_year")
    if len(rows) < 2:
        return NOT_IN_RUN
    first, last = rows.iloc[0], rows.iloc[-1]
    return (f"{percent(first[column])} in {int(first['authorised_year'])} to {percent(last[column])} in "
            f"{int(last['authorised_year'])}")


def headlines(page: Page, published: dict[str, pd.DataFrame]) -> str:
    """Every headline figure of the study briefing beside this run's figure (England = every LA here)."""
    ours: dict[str, str] = {}
    profiles = published.get("category_profiles")
    if profiles is not None:
        sizes = profiles.drop_duplicates("category_id")
        ours["categories"] = f"{len(sizes)} (the model's choice of k on this data)"
    shares = published.get("demand_profile")
    if shares is not None:
        england = shares[shares["la_code"] == ENGLAND].set_index("category_id")
        for key, category in (("dav_share", DAV_ID), ("pmh_share", PMH_ID)):
            if category in england.index:
                row = england.loc[category]
                ours[key] = with_interval(row["share"], row["ci_lower"], row["ci_upper"])
    survival = published.get("survival_estimates")
    if survival is not None:
        rows = survival[(survival["la_code"] == ENGLAND) & (survival["measure"] == "rereferral_after_closure")
                        & (survival["group_by"] == "all")].set_index("horizon_days")
        for key, horizon in (("rereferral_12m", 365), ("rereferral_6y", 2190)):
            if horizon in rows.index:
                row = rows.loc[horizon]
                ours[key] = with_interval(row["cumulative_incidence"], row["ci_lower"], row["ci_upper"])
    complexity_rows = published.get("complexity_trends")
    if complexity_rows is not None:
        ours["complexity"] = _first_to_last(complexity_rows[complexity_rows["la_code"] == ENGLAND],
                                            "share_3plus_groups")
    mix = published.get("category_mix_by_year")
    if mix is not None:
        ours["child_mh"] = _first_to_last(mix[mix["category_id"] == CHILD_MH_ID], "share")
    parts = []
    if "education_gaps" in page.absent:
        parts.append(page.unavailable("education_gaps") or "")
    else:
        derived = ("mean_att8", "att8_ratio_to_never_referred", "exclusion_rate_ratio")
        gaps = page.publish("education_gaps", lambda: in_reading_order(page.gold["education_gaps"], [
            "la_code", "breakdown", "involvement", "sen_status", "episodes_group"]), areas=[ENGLAND], rule=TableRule(
            counts=("pupils", "att8_pupils", "suspended", "permanently_excluded"), derived=derived,
            complements=(("pupils", "suspended"), ("pupils", "permanently_excluded")),
            bases=tuple(base for base in EDUCATION_BASES if base[0] in derived)))
        overall = gaps[gaps["breakdown"] == "involvement"].set_index("involvement")
        for key, level, column in (("ks4_cin", "child_in_need", "att8_ratio_to_never_referred"),
                                   ("ks4_care", "in_care", "att8_ratio_to_never_referred"),
                                   ("exclusion_cin", "child_in_need", "exclusion_rate_ratio"),
                                   ("exclusion_cp", "cp_plan", "exclusion_rate_ratio")):
            if level in overall.index and pd.notna(overall.loc[level, column]):
                value = float(overall[column][level])
                ours[key] = f"{percent(1 - value, 0)} lower" if column.startswith("att8") else f"{value:.1f}x"
        parts.append("<h3>Education gaps (England)</h3>" + look_back(gaps) + html_table(
            gaps, ["breakdown", "involvement", "sen_status", "episodes_group", "pupils", "mean_att8",
                   "att8_ratio_to_never_referred", "exclusion_rate_ratio"]))
    if "education_sen_gaps" in page.absent:
        parts.append(page.unavailable("education_sen_gaps") or "")
    else:
        sen = page.publish("education_sen_gaps", lambda: in_reading_order(page.gold["education_sen_gaps"], [
            "la_code", "involvement"]), areas=[ENGLAND],
                           rule=TableRule(
            counts=("pupils_sen", "pupils_no_sen"),
            derived=("att8_sen", "att8_no_sen", "att8_relative_gap", "did_estimate", "did_ci_lower", "did_ci_upper")))
        by_level = sen.set_index("involvement")["att8_relative_gap"].dropna()
        if "never_referred" in by_level.index and len(by_level) > 1:
            ours["sen_gap"] = "; ".join(f"{in_words(str(level))} {percent(gap, 0)}"
                                        for level, gap in by_level.items())
        parts.append("<h3>SEN attainment gaps (England)</h3>" + html_table(sen))
    headline_rows = "".join(f"<tr><td>{html.escape(text)}</td><td>{html.escape(briefing)}</td>"
                            f"<td>{ours.get(key, NOT_IN_RUN)}</td>"
                            f"<td>{html.escape(source)}</td></tr>"
                            for key, text, briefing, source in HEADLINES)
    table = ("<table><thead><tr><th>headline</th><th>briefing (England 2014-21)</th><th>this run (95% interval)"
             "</th><th>from</th></tr></thead><tbody>" + headline_rows + "</tbody></table>")
    return table + "".join(parts)
