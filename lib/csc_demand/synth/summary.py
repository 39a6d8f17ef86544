"""synth's own summary: counts, headline rates it produced, and factor marginals against DfE's c3 table.

Only aggregates reach the driver (per year and indicator), never row-level data.
"""
from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.codes import INDICATOR_NAMES
from csc_demand.synth import params as P
from csc_demand.synth.population import collection_year

DFE_REREFERRAL_DAYS = 365


def factor_marginals(referrals: DataFrame, first_year: int, last_year: int) -> dict:
    """Per collection year (of authorisation): share of first assessments with factors recording each indicator,
    beside DfE's c3 share where DfE has the year."""
    a = (referrals.where(F.col("a1_ind").isNotNull())
         .withColumn("year", collection_year(F.col("a1_auth")))
         .where(F.col("year").between(first_year, last_year)))
    n = {r["year"]: r["n"] for r in a.groupBy("year").agg(F.count("*").alias("n")).collect()}
    sums = (a.select("year", F.posexplode("a1_ind").alias("pos", "x"))
            .groupBy("year", "pos").agg(F.sum("x").alias("s")).collect())
    dfe = P.dfe_indicator_rates()
    out: dict = {}
    for r in sums:
        year, name = r["year"], INDICATOR_NAMES[r["pos"]]
        entry = out.setdefault(str(year), {"assessments_with_factors": n[year], "indicators": {}})
        synth = r["s"] / n[year]
        row = {"synth": round(synth, 4)}
        if year in dfe.index:
            row["dfe"] = round(float(dfe.loc[year, name]), 4)
            row["diff_pp"] = round(100 * (synth - row["dfe"]), 2)
        entry["indicators"][name] = row
    for entry in out.values():
        entry["factors_per_assessment"] = round(sum(v["synth"] for v in entry["indicators"].values()), 3)
        diffs = [abs(v["diff_pp"]) for v in entry["indicators"].values() if "dfe" in v and v["dfe"] > 0.05]
        if diffs:
            entry["max_abs_diff_pp_factors_above_5pct"] = max(diffs)
    return dict(sorted(out.items()))


# The counts headline_rates takes per class (null: unclassed referrals), named for rates_from_counts.
COUNTS = ("referrals", "rereferred", "nfa", "assessments", "assessments_with_factors", "cp", "care", "back",
          "cp_plans", "repeat_cpp")


def headline_rates(referrals: DataFrame, first_year: int, last_year: int) -> dict:
    """DfE re-referral rate, repeat CP plan share, class sizes and pathway rates over the collection years, from
    one aggregation by class. A re-referral is counted on the referral before it (its ``next_referral_date`` is
    the child's next referral), which spares ordering each child's referrals."""
    def years(d: Column) -> Column:
        return collection_year(d).between(first_year, last_year)

    def n(condition: Column) -> Column:
        return F.sum(F.coalesce(condition, F.lit(False)).cast("int"))

    in_window = F.col("cy").between(first_year, last_year)
    both = F.col("a1_start").isNotNull().cast("int") + F.col("a2_start").isNotNull().cast("int")
    plan = F.col("cp") & years(F.col("cp_start"))
    counts = dict(zip(COUNTS, (
        n(in_window),
        n(years(F.col("next_referral_date"))
          & (F.datediff("next_referral_date", "referral_date") <= DFE_REREFERRAL_DAYS)),
        n(in_window & F.col("referral_nfa")),
        F.sum(F.when(in_window, both).otherwise(0)),
        F.sum(F.when(in_window, 1 + F.col("a2_start").isNotNull().cast("int")).otherwise(0)),
        n(in_window & F.col("cp")), n(in_window & F.col("care")),
        n(in_window & F.col("next_referral_date").isNotNull()),
        n(plan), n(plan & (F.col("cp_previous") > 0)),
    ), strict=True))
    rows = referrals.groupBy("class_id").agg(*[c.alias(name) for name, c in counts.items()]).collect()
    return rates_from_counts({r["class_id"]: r.asDict() for r in rows})


def rates_from_counts(by_class: dict) -> dict:
    """headline_rates' figures from the COUNTS of each class id (None for the unclassed)."""
    classed = {k: by_class[k] for k in sorted(k for k, v in by_class.items() if k is not None and v["referrals"])}

    def total(name: str, rows: dict = by_class) -> int:
        return sum(v[name] for v in rows.values())

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    referrals, classed_referrals = total("referrals"), total("referrals", classed)
    figures = {
        "referrals": referrals, "rereferral_12m_dfe": share(total("rereferred"), referrals),
        "nfa_share": share(total("nfa"), referrals), "assessments": total("assessments"),
        "assessments_with_factors": total("assessments_with_factors", classed),
        "cp_rate_classed": share(total("cp", classed), classed_referrals),
        "care_rate_classed": share(total("care", classed), classed_referrals),
        "cp_plans": total("cp_plans"), "repeat_cpp_share": share(total("repeat_cpp"), total("cp_plans")),
    }
    rates: dict[str, Any] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}
    rates["class_sizes_realised"] = {P.CLASS_NAMES[k]: round(v["referrals"] / (classed_referrals or 1), 4)
                                     for k, v in classed.items()}
    rates["per_class_rates"] = {P.CLASS_NAMES[k]: {"cp_plan": round(v["cp"] / v["referrals"], 4),
                                                   "care": round(v["care"] / v["referrals"], 4),
                                                   "rereferred_observed": round(v["back"] / v["referrals"], 4)}
                                for k, v in classed.items()}
    return rates
