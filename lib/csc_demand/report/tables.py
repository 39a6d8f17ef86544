"""Pure pandas steps from gold aggregates (unrounded counts) to the tables the report publishes.

Every share and rate is recomputed here from its counts, with a Wilson 95% interval, before disclosure control;
``"ALL"`` rows are England (every LA in the lakehouse). Nothing here suppresses or rounds: that is
``csc_demand.report.publish``, applied to what these functions return.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from csc_demand.report.intervals import difference_interval, wilson_interval

ENGLAND = "ALL"
ALL, UNKNOWN = "all", "unknown"
# Values a reader expects first, or in an order of their own, in a column (e.g. the education levels as
# outcomes.education makes them, by depth of involvement); other values follow alphabetically
LEVELS = {"breakdown": ("involvement", "involvement_by_sen", "episodes"),
          "involvement": ("never_referred", "child_in_need", "cp_plan", "in_care"),
          "sen_status": ("all", "SEN", "no SEN", "unknown"),
          "episodes_group": ("all", "none", "one", "several"),
          "covariate": ("category_name", "age_band", "sex", "ethnic_group"),  # outcomes.pathways' order of terms
          "rule_id": ("all",)}  # data quality: a table's totals before its rules


# How a page writes the coded values of those columns (the CSVs keep the codes); others lose their underscores
WORDS = {"cp_plan": "CP plan", "involvement_by_sen": "involvement by SEN"}


def in_words(code: str) -> str:
    """A coded level as a page shows it: "never referred", "CP plan"."""
    return WORDS.get(code, code.replace("_", " "))


def in_reading_order(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` sorted by ``keys`` as a reader looks rows up: an LA's rows before England's ("ALL" sorts after
    the LA codes), a missing value (the id of the "all" or unknown category) last, the columns in ``LEVELS`` in
    their order there; rows equal in ``keys`` keep their order (e.g. measures stacked in a given order)."""
    def position(column: pd.Series) -> pd.Series:
        order = LEVELS.get(str(column.name))
        return column if order is None else column.map(lambda v: f"{order.index(v):02d}" if v in order else f"~{v}")
    return frame.sort_values(keys, key=position, kind="stable", na_position="last", ignore_index=True)


def with_rate(frame: pd.DataFrame, events: str, total: str, rate: str = "rate") -> pd.DataFrame:
    """``frame`` plus ``rate`` = events / total and its Wilson interval ``ci_lower``, ``ci_upper``."""
    out = frame.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out[rate] = np.where(out[total] > 0, out[events] / out[total].where(out[total] > 0), np.nan)
    out["ci_lower"], out["ci_upper"] = wilson_interval(out[events], out[total])
    return out


def stacked_rates(frame: pd.DataFrame, keys: list[str], column: str,
                  measures: tuple[tuple[str, str, str], ...]) -> pd.DataFrame:
    """One row per (keys, measure) from pairs of count columns: ``measures`` = (name, events column, total column);
    the name goes in ``column``, with ``events``, ``total``, the rate and its interval; ordered by ``keys``, then
    the measures in their order."""
    long = pd.concat([frame.assign(**{column: name}, events=frame[events], total=frame[total])
                      for name, events, total in measures], ignore_index=True)
    return in_reading_order(with_rate(long[[*keys, column, "events", "total"]], "events", "total"), keys)


def category_shares(trends: pd.DataFrame, group: tuple[str, ...] = (), count: str = "assessments") -> pd.DataFrame:
    """Assessments per (la_code, *group, category) summed over years, an ``"all"`` row per (la_code, *group) and
    each category's share of it with its interval. Input: gold.category_trends or gold.category_thresholds shape
    (the count column ``count``: ``assessments``, or ``count`` for thresholds)."""
    keys = ["la_code", *group]
    # dropna=False keeps "unknown" (null category_id): it counts in the total
    per_category = trends.groupby([*keys, "category_id", "category_name"], as_index=False, dropna=False)[count].sum()
    totals = per_category.groupby(keys, as_index=False)[count].sum().rename(columns={count: "_total"})
    per_category["category_id"] = per_category["category_id"].astype("Int64")
    # typed missing ids: pandas stops ignoring an all-missing column's dtype in a concat
    everything = totals.assign(category_id=pd.Series(pd.NA, index=totals.index, dtype="Int64"), category_name=ALL,
                               **{count: totals["_total"]})
    rows = pd.concat([per_category.merge(totals, on=keys, how="left"), everything], ignore_index=True)
    rows = with_rate(rows, count, "_total", "share").drop(columns="_total")
    return rows.sort_values([*keys, "category_id"], na_position="last", ignore_index=True)


def abuse_category_shares(plans: pd.DataFrame) -> pd.DataFrame:
    """gold.cp_plans_by_abuse -> per (la_code, initial_category, age_band): ``plans``, ``repeat_plans``, the
    category's share of the age band's plans (``share``, ``share_ci_lower``, ``share_ci_upper``; age band "all":
    of every plan) and the repeat-plan rate with its interval (``repeat_rate``, ``ci_lower``, ``ci_upper``)."""
    keys = ["la_code", "age_band"]
    bands = plans.loc[plans["initial_category"] == ALL, [*keys, "plans"]].rename(columns={"plans": "_band"})
    rows = plans[["la_code", "initial_category", "age_band", "plans", "repeat_plans"]].merge(bands, on=keys, how="left")
    rows = with_rate(rows, "plans", "_band", "share").rename(columns={"ci_lower": "share_ci_lower",
                                                                       "ci_upper": "share_ci_upper"})
    rows = with_rate(rows, "repeat_plans", "plans", "repeat_rate").drop(columns="_band")
    return rows.sort_values(["la_code", "initial_category", "age_band"], ignore_index=True)


def la_distribution(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """Across the LAs of ``frame`` (not England): per value of ``key``, the ``median`` LA's ``value``, the
    ``lower_quartile`` and ``upper_quartile`` (25th and 75th percentiles, linear between LAs) and how many ``las``
    have a value. Fed with published tables, so a suppressed value (NaN) is left out, never used."""
    rows = frame[(frame["la_code"] != ENGLAND) & frame[value].notna()]
    values = rows.assign(_v=rows[value].astype(float)).groupby(key)["_v"]
    return pd.DataFrame({"median": values.median(), "lower_quartile": values.quantile(0.25),
                         "upper_quartile": values.quantile(0.75), "las": values.count()})


def rates_by_category(frame: pd.DataFrame, events: str, total: str, year: str | None = None,
                      skip_first_year: bool = False) -> pd.DataFrame:
    """Events and totals per (la_code, category_name) summed over years, with the rate and its interval.

    ``skip_first_year`` drops the data's first year (it has no look-back: a re-referral or an earlier plan before
    it cannot be seen, so its rate is too low)."""
    if year is not None and skip_first_year:
        frame = frame[frame[year] > frame[year].min()]
    summed = frame.groupby(["la_code", "category_name"], as_index=False)[[events, total]].sum()
    return with_rate(summed, events, total)


def key_problem_areas(measures: dict[str, pd.DataFrame], la: str) -> pd.DataFrame:
    """The categories where ``la`` differs from the rest of England, per measure, in rates and in children.

    ``measures``: name -> frame with ``la_code``, ``category_name``, ``events``, ``total`` (England rows
    ``"ALL"``). The comparison is England without this LA (independent samples, so Newcombe's interval holds).
    ``excess`` = (LA rate - rest rate) x LA total: how many more (or fewer) children than if the LA matched the
    rest of England, with the interval scaled the same way. ``differs`` = the interval excludes 0. Rows are
    ordered by how many children the difference affects, differences that hold first.
    """
    rows = []
    for measure, frame in measures.items():
        frame = frame[~frame["category_name"].isin([ALL, UNKNOWN])]
        local = frame[frame["la_code"] == la].set_index("category_name")[["events", "total"]]
        england = frame[frame["la_code"] == ENGLAND].set_index("category_name")[["events", "total"]]
        both = local.join(england, rsuffix="_england", how="inner")
        rest_events, rest_total = both["events_england"] - both["events"], both["total_england"] - both["total"]
        d, lower, upper = difference_interval(both["events"], both["total"], rest_events, rest_total)
        with np.errstate(divide="ignore", invalid="ignore"):
            rest_rate = rest_events / rest_total
        rows.append(pd.DataFrame({
            "la_code": la, "measure": measure, "category_name": both.index,
            "events": both["events"].to_numpy(), "total": both["total"].to_numpy(),
            "rate": (both["events"] / both["total"]).to_numpy(), "rest_of_england_rate": rest_rate.to_numpy(),
            "difference": d, "difference_ci_lower": lower, "difference_ci_upper": upper,
            "excess": d * both["total"].to_numpy(), "excess_ci_lower": lower * both["total"].to_numpy(),
            "excess_ci_upper": upper * both["total"].to_numpy()}))
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    out["differs"] = (out["difference_ci_lower"] > 0) | (out["difference_ci_upper"] < 0)
    order = out.assign(_size=out["excess"].abs().fillna(-1)).sort_values(["differs", "_size"], ascending=False)
    return order.drop(columns="_size").reset_index(drop=True)
