"""synth's own summary: counts, headline rates it produced, and factor marginals against DfE's c3 table.

Only aggregates reach the driver (per year and indicator), never row-level data.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
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


def headline_rates(referrals: DataFrame, first_year: int, last_year: int) -> dict:
    """DfE re-referral rate, repeat CP plan share, class sizes and pathway rates over the collection years."""
    by_child = Window.partitionBy("child_id").orderBy("referral_date")
    r = referrals.withColumn("previous", F.lag("referral_date").over(by_child))
    in_window = F.col("cy").between(first_year, last_year)
    rates = r.where(in_window).agg(
        F.count("*").alias("referrals"),
        F.avg(F.coalesce(F.datediff("referral_date", "previous") <= DFE_REREFERRAL_DAYS, F.lit(False))
              .cast("int")).alias("rereferral_12m_dfe"),
        F.avg(F.col("referral_nfa").cast("int")).alias("nfa_share"),
        F.sum((F.col("a1_start").isNotNull()).cast("int") + (F.col("a2_start").isNotNull()).cast("int"))
        .alias("assessments"),
        F.sum((F.col("class_id").isNotNull()).cast("int") * (1 + F.col("a2_start").isNotNull().cast("int")))
        .alias("assessments_with_factors"),
        F.avg(F.when(F.col("class_id").isNotNull(), F.col("cp").cast("int"))).alias("cp_rate_classed"),
        F.avg(F.when(F.col("class_id").isNotNull(), F.col("care").cast("int"))).alias("care_rate_classed"),
    ).collect()[0].asDict()
    cp = referrals.where(F.col("cp") & collection_year(F.col("cp_start")).between(first_year, last_year)).agg(
        F.count("*").alias("cp_plans"), F.avg((F.col("cp_previous") > 0).cast("int")).alias("repeat_cpp_share"),
    ).collect()[0].asDict()
    sizes = {row["class_id"]: row["n"] for row in referrals.where(in_window & F.col("class_id").isNotNull())
             .groupBy("class_id").agg(F.count("*").alias("n")).collect()}
    total = sum(sizes.values()) or 1
    per_class = {row["class_id"]: row for row in referrals.where(in_window & F.col("class_id").isNotNull())
                 .groupBy("class_id").agg(F.avg(F.col("cp").cast("int")).alias("cp"),
                                          F.avg(F.col("care").cast("int")).alias("care"),
                                          F.avg(F.col("next_referral_date").isNotNull().cast("int")).alias("back"))
                 .collect()}
    rates.update(cp)
    rates["class_sizes_realised"] = {P.CLASS_NAMES[k]: round(v / total, 4) for k, v in sorted(sizes.items())}
    rates["per_class_rates"] = {P.CLASS_NAMES[k]: {"cp_plan": round(v["cp"], 4), "care": round(v["care"], 4),
                                                   "rereferred_observed": round(v["back"], 4)}
                                for k, v in sorted(per_class.items())}
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in rates.items()}
