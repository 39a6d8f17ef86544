"""Outcome window computations at national scale: Spark (our library code) vs the same queries in DuckDB.

Generates silver-shaped referrals (~6M over ~3M children, benchmarks/silver_shapes.py) unless present, then times
1. re-referral windows (DfE 12-month flag + next referral after closure + censoring), written to Parquet;
2. Kaplan-Meier cumulative incidence per LA and England at the curve horizons (every 30 days to 2190, and 365)
   with Greenwood CIs, risk sets and raw shares (England's 365/2190-day figures are compared with DuckDB's);
in Spark and in DuckDB on the same Parquet files, checks both give the same figures, and prints the ratio.
With --stage it also writes all six silver inputs at that scale as Delta (once) and times `csc-demand outcomes`.
Earlier results in the results file move under "previous". On a shared machine run it under the heavy-job lock:

    flock /tmp/csc-heavy.lock .venv/bin/python benchmarks/bench_outcomes.py [--children 3000000] [--stage]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import silver_shapes as shapes
from csc_demand.cli import main as cli_main
from csc_demand.config import load_config
from csc_demand.io import delta
from csc_demand.outcomes.estimates import survival_estimates
from csc_demand.outcomes.rates import ENGLAND
from csc_demand.outcomes.rereferral import referral_windows
from csc_demand.spark import get_spark
from csc_demand.stats.survival import HORIZONS_DAYS, Z_95
from results_file import commit, load, save_keeping_previous

RESULTS = Path(__file__).parent / "results" / "outcomes.json"
END = shapes.END

DUCKDB_WINDOWS = """
COPY (
WITH refs AS (
  SELECT r.*, c.birth_date FROM read_parquet('{referrals}') r LEFT JOIN read_parquet('{children}') c USING (child_key)),
prev AS (
  SELECT *, lag(referral_date) OVER (PARTITION BY child_key ORDER BY referral_date, referral_key)
         AS previous_referral_date FROM refs),
stacked AS (
  SELECT child_key, referral_key, la_code, referral_date, closure_date, collection_year, birth_date,
         previous_referral_date, closure_date AS d,
         CASE WHEN closure_date <> referral_date THEN 0 ELSE 2 END AS rk, NULL::DATE AS ev FROM prev
  UNION ALL
  SELECT child_key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, referral_date, 1, referral_date FROM refs),
nxt AS (
  SELECT *, CASE WHEN d IS NOT NULL THEN first_value(ev IGNORE NULLS) OVER (
           PARTITION BY child_key ORDER BY d, rk, ev ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) END
         AS next_referral_date
  FROM stacked),
w AS (
  SELECT *, least(DATE '{end}', (birth_date + INTERVAL 216 MONTH)::DATE) AS censor_date FROM nxt WHERE rk <> 1),
f AS (
  SELECT *, coalesce(closure_date <= censor_date, false) AS at_risk FROM w),
g AS (
  SELECT *, CASE WHEN at_risk THEN coalesce(next_referral_date <= censor_date, false) END AS event FROM f)
SELECT referral_key, child_key, la_code, referral_date, closure_date, collection_year, previous_referral_date,
       coalesce(referral_date <= (previous_referral_date + INTERVAL 12 MONTH)::DATE, false) AS rereferral_12m,
       next_referral_date, next_referral_date - closure_date AS days_closure_to_next_referral, censor_date,
       at_risk, event, NOT event AS censored,
       CASE WHEN at_risk THEN (CASE WHEN event THEN next_referral_date ELSE censor_date END) - closure_date END
         AS followup_days,
       CASE WHEN at_risk THEN censor_date - closure_date END AS potential_followup_days
FROM g) TO '{out}' (FORMAT PARQUET)
"""

DUCKDB_KM = """
WITH s AS (SELECT followup_days AS t, event, potential_followup_days AS pf
           FROM read_parquet('{windows}') WHERE at_risk),
per_day AS (SELECT t, sum(event::BIGINT) AS d, count(*) AS leaving FROM s GROUP BY t),
risk AS (SELECT *, sum(leaving) OVER (ORDER BY t DESC ROWS UNBOUNDED PRECEDING) AS n FROM per_day),
steps AS (
  SELECT t, d, leaving, n,
         sum(CASE WHEN d = n THEN 1 ELSE 0 END) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS all_fail,
         sum(CASE WHEN d < n THEN ln(1 - d / n) ELSE 0 END) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS ls,
         sum(CASE WHEN d < n THEN d / (n * (n - d)) ELSE 0 END) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS gw
  FROM risk),
km AS (SELECT *, CASE WHEN all_fail > 0 THEN 0 ELSE exp(ls) END AS surv FROM steps),
hz AS (SELECT * FROM (VALUES (365), (2190)) v(h)),
read AS (
  SELECT h, arg_max(surv, t) FILTER (WHERE t <= h) AS surv, arg_max(gw, t) FILTER (WHERE t <= h) AS gw,
         sum(d) FILTER (WHERE t <= h) AS events, sum(leaving) FILTER (WHERE t >= h) AS n_at_risk,
         sum(leaving) AS subjects
  FROM km, hz GROUP BY h),
complete AS (
  SELECT h, count(*) AS n_complete, sum(CASE WHEN event AND t <= h THEN 1 ELSE 0 END) AS n_event
  FROM s, hz WHERE pf >= h GROUP BY h)
SELECT read.h, 1 - coalesce(surv, 1) AS cumulative_incidence,
       CASE WHEN surv IS NULL OR surv >= 1 THEN 0 WHEN surv <= 0 THEN 1
            ELSE 1 - exp(-exp(ln(-ln(surv)) + {z} * sqrt(gw) / ln(surv))) END AS ci_lower,
       CASE WHEN surv IS NULL OR surv >= 1 THEN 0 WHEN surv <= 0 THEN 1
            ELSE 1 - exp(-exp(ln(-ln(surv)) - {z} * sqrt(gw) / ln(surv))) END AS ci_upper,
       n_at_risk, events, subjects, n_complete, n_event / n_complete AS raw_share
FROM read LEFT JOIN complete USING (h) ORDER BY read.h
"""


# Every column DUCKDB_WINDOWS writes, compared row by row (on referral_key) after the timed runs.
DUCKDB_COLUMNS = ("child_key", "la_code", "referral_date", "closure_date", "collection_year", "previous_referral_date",
                  "rereferral_12m", "next_referral_date", "days_closure_to_next_referral", "censor_date", "at_risk",
                  "event", "censored", "followup_days", "potential_followup_days")
ROWS_DIFFERING_SQL = """
SELECT count(*) FILTER (WHERE s.referral_key IS NULL OR d.referral_key IS NULL OR {differs}), count(*)
FROM read_parquet('{spark}') s FULL JOIN read_parquet('{duck}') d ON s.referral_key = d.referral_key
"""


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<45} {seconds:8.1f} s", flush=True)
    return result, seconds


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def generate(spark, work: Path, n_children: int, seed: int) -> dict[str, str]:
    paths = {name: str(work / "parquet" / name) for name in ("children", "referrals")}
    if not all(Path(p, "_SUCCESS").exists() for p in paths.values()):
        shapes.children(spark, n_children, seed).write.mode("overwrite").parquet(paths["children"])
        shapes.referrals(spark, n_children, seed).write.mode("overwrite").parquet(paths["referrals"])
    return paths


def write_silver(spark, cfg, paths: dict[str, str], n_children: int, seed: int) -> None:
    refs = spark.read.parquet(paths["referrals"])
    tables = {"children": spark.read.parquet(paths["children"]), "referrals": refs,
              "assessments": shapes.assessments(refs, seed), "cp_plans": shapes.cp_plans(refs, seed),
              "care_periods": shapes.care_periods(refs, seed),
              "school_outcomes": shapes.school_outcomes(spark, n_children, seed)}
    for table, df in tables.items():
        delta.write_table(df, cfg, "silver", table)


def stage_steps(cfg) -> list[dict]:
    """Seconds between the stage's progress messages, from its latest run summary."""
    summary = json.loads(sorted(Path(cfg.runs_dir).glob("outcomes-*.json"))[-1].read_text())
    steps, previous = [], 0.0
    for step in summary["steps"]:
        steps.append({"seconds": round(step["t"] - previous, 1), "until": step["message"]})
        previous = step["t"]
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--work", default="/tmp/csc-bench-outcomes")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (Spark runs local[2])")
    parser.add_argument("--repeats", type=int, default=2, help="time both engines this many times (1st = cold)")
    parser.add_argument("--stage", action="store_true", help="also time the whole outcomes stage on Delta silver")
    args = parser.parse_args()
    work = Path(args.work)
    cfg = load_config(profile="local", overrides={
        "lakehouse": str(work / "lakehouse"), "spark.driver_memory": args.driver_memory,
        "spark.shuffle_partitions": 8})
    spark = get_spark(cfg, "bench-outcomes")
    result: dict = {"measured_utc": [_utc_now()], "code": commit(), "children": args.children,
                    "end_date": END.isoformat(), "load_average_at_start": load(),
                    "cores": os.cpu_count(), "spark_master": cfg.spark.master,
                    "spark_driver_memory": args.driver_memory, "duckdb_threads": args.threads,
                    "data": "silver-shaped tables generated by benchmarks/silver_shapes.py (spark.range + xxhash64), "
                            "not synth+ingest"}
    paths, result["generate_seconds"] = timed("generate parquet (skipped if present)",
                                              lambda: generate(spark, work, args.children, args.seed))
    compare_engines(spark, args.threads, work, paths, result, args.repeats)
    result["load_average_after_engines"] = load()
    if args.stage:
        if not delta.table_exists(spark, cfg, "silver", "school_outcomes"):
            _, result["silver_write_seconds"] = timed("write six silver Delta tables", lambda: write_silver(
                spark, cfg, paths, args.children, args.seed))
        code, result["stage_seconds"] = timed("csc-demand outcomes (whole stage)", lambda: cli_main(
            ["outcomes", "--lakehouse", cfg.lakehouse, "--end-date", END.isoformat()]))
        result["stage_exit_code"] = code
        result["stage_steps"] = stage_steps(cfg)
        print(f"whole outcomes stage: {result['stage_seconds']:.0f} s (target < 300 s)")
    result["load_average_at_end"] = load()
    result["measured_utc"].append(_utc_now())
    save_keeping_previous(RESULTS, result)
    shutil.rmtree(work / "out", ignore_errors=True)
    return 0


def compare_engines(spark, con_threads: int, work: Path, paths: dict[str, str], result: dict,
                    repeats: int = 1) -> None:
    """Time the window computations in Spark and DuckDB on the same Parquet files; record both and the ratio.

    The first run includes Spark's warm-up (code generation, JIT); ``repeats`` > 1 times both engines again and
    records those runs under ``repeat_runs``.
    """
    referrals = spark.read.parquet(paths["referrals"])
    children = spark.read.parquet(paths["children"])
    result["referrals"] = referrals.count()
    print(f"referrals: {result['referrals']:,} over {result['children']:,} children")
    spark_windows = str(work / "out" / "spark_windows")
    duck_windows = str(work / "out" / "duck_windows.parquet")
    con = duckdb.connect()
    con.execute(f"SET threads = {con_threads}")
    con.execute("SET memory_limit = '8GB'")
    runs = []
    for run in range(repeats):
        _, t_sw = timed(f"run {run + 1} spark: referral windows -> parquet", lambda: referral_windows(
            referrals, children, END).write.mode("overwrite").parquet(spark_windows))
        # Every LA and England at every curve horizon (the stage's cost); England's headline horizons are compared.
        km_spark, t_sk = timed(f"run {run + 1} spark: Kaplan-Meier at horizons", lambda: [
            r for r in survival_estimates(spark.read.parquet(spark_windows), "rereferral_after_closure")
            .orderBy("horizon_days").collect() if r["la_code"] == ENGLAND and r["horizon_days"] in HORIZONS_DAYS])
        _, t_dw = timed(f"run {run + 1} duckdb: referral windows -> parquet", lambda: con.execute(
            DUCKDB_WINDOWS.format(referrals=paths["referrals"] + "/*.parquet",
                                  children=paths["children"] + "/*.parquet", end=END, out=duck_windows)))
        km_duck, t_dk = timed(f"run {run + 1} duckdb: Kaplan-Meier at horizons", lambda: con.execute(
            DUCKDB_KM.format(windows=duck_windows, z=Z_95)).fetchall())
        spark_total, duck_total = t_sw + t_sk, t_dw + t_dk
        runs.append({"spark_windows_seconds": round(t_sw, 2), "spark_km_seconds": round(t_sk, 2),
                     "duckdb_windows_seconds": round(t_dw, 2), "duckdb_km_seconds": round(t_dk, 2),
                     "spark_total_seconds": round(spark_total, 2), "duckdb_total_seconds": round(duck_total, 2),
                     "ratio_spark_to_duckdb": round(spark_total / duck_total, 2), "load_average": load()})
        print(f"run {run + 1}: spark {spark_total:.1f} s, duckdb {duck_total:.1f} s, "
              f"ratio {spark_total / duck_total:.2f}x (target <= 3x)")

    # Same figures from both engines on the same data (the benchmark's own correctness check).
    totals_sql = ("SELECT count(*), sum(rereferral_12m::INT), sum(coalesce(event::INT, 0)), "
                  "sum(followup_days::BIGINT) FROM read_parquet('{}')")
    duck_totals = con.execute(totals_sql.format(duck_windows)).fetchone()
    spark_totals = con.execute(totals_sql.format(spark_windows + "/*.parquet")).fetchone()
    differing, compared = con.execute(ROWS_DIFFERING_SQL.format(
        differs=" OR ".join(f"s.{c} IS DISTINCT FROM d.{c}" for c in DUCKDB_COLUMNS),
        spark=spark_windows + "/*.parquet", duck=duck_windows)).fetchone()
    print(f"rows compared on every column: {compared:,}, differing: {differing:,}")
    agree = differing == 0 and duck_totals == spark_totals and len(km_spark) == len(km_duck) and all(
        abs(s["cumulative_incidence"] - d[1]) < 1e-9 and abs(s["ci_lower"] - d[2]) < 1e-9
        and s["n_at_risk"] == d[4] and s["events"] == d[5] for s, d in zip(km_spark, km_duck, strict=True))
    print(f"totals (rows, DfE re-referrals, events, follow-up days): spark {spark_totals} duckdb {duck_totals}")
    for s in km_spark:
        print(f"  KM {s['horizon_days']:>5} d: {s['cumulative_incidence']:.4f} "
              f"[{s['ci_lower']:.4f}, {s['ci_upper']:.4f}] at risk {s['n_at_risk']:,}")
    print(f"engines agree: {agree}")
    result.update({**runs[0], "engines_agree": agree, "rows_compared": compared, "rows_differing": differing,
                   "repeat_runs": runs[1:],
                   "km": [{k: s[k] for k in ("horizon_days", "cumulative_incidence", "ci_lower", "ci_upper",
                                              "n_at_risk", "events", "raw_share")} for s in km_spark]})


if __name__ == "__main__":
    raise SystemExit(main())
