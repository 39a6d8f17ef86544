"""The whole synthetic national dataset: population -> referral histories -> annual returns in the real formats,
school outcomes, ground truth and a summary. Deterministic for a seed and scale, whatever the partitioning."""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.errors import ConfigurationError
from csc_demand.io.synthetic_files import LISTING, REPLACED, UNFINISHED, write_listing
from csc_demand.synth import by_la, cin_xml, npd, school, summary, truth
from csc_demand.synth import params as P
from csc_demand.synth.defects import DEFECT_COLUMNS
from csc_demand.synth.population import LA_CODES, children, la_weights, n_las
from csc_demand.synth.textfiles import BODY, HEADER, csv_line, lines, write_files

MIN_YEAR, MAX_YEAR = 2009, 2026


def _materialise(spark: SparkSession, df: DataFrame, path: Path) -> DataFrame:
    df.write.mode("overwrite").parquet(str(path))
    return spark.read.parquet(str(path))


def _file_defects(out: Path, la_code: str, first_year: int, last_year: int) -> list[dict]:
    """Truncate one CIN XML file and empty one 903 episodes file of a small LA; return their truth rows."""
    truncated = Path(cin_xml.cin_path(la_code, first_year))
    empty_year = min(first_year + 1, last_year)
    empty = Path(f"ssda903/{empty_year}/ssda903_{la_code}_{empty_year}_episodes.csv")
    data = (out / truncated).read_bytes()
    (out / truncated).write_bytes(data[: len(data) // 2])
    (out / empty).write_bytes(b"")
    common = {"la_code": la_code, "child_id": "", "referral_date": "", "table": "", "record_date": ""}
    return [
        {"defect": "truncated_file", "rule_id": "CSC-FILE", "format": "cin_xml", "source_file": str(truncated),
         "collection_year": first_year, **common, "detail": f"cut to {len(data) // 2} of {len(data)} bytes"},
        {"defect": "empty_file", "rule_id": "CSC-FILE", "format": "ssda903", "source_file": str(empty),
         "collection_year": empty_year, **common, "detail": "0 bytes"},
    ]


def check_settings(scale: float, defects: float, first_year: int, last_year: int) -> None:
    """Refuse settings generate cannot use (before a Spark session is started for them)."""
    if not 0 < scale <= 2:
        raise ConfigurationError(f"scale must be in (0, 2], got {scale}")
    if not 0 <= defects < 1:
        raise ConfigurationError(f"defects must be a rate in [0, 1), got {defects}")
    if not MIN_YEAR <= first_year <= last_year <= MAX_YEAR:
        raise ConfigurationError(f"collection years must satisfy {MIN_YEAR} <= first_year <= last_year <= {MAX_YEAR}")


def generate(spark: SparkSession, out_dir, scale: float, seed: int, defects: float = 0.0, first_year: int = 2015,
             last_year: int = 2021, log_step: Callable[[str], None] | None = None) -> dict:
    """Write the synthetic dataset under out_dir (layout: docs/formats.md) and return the summary dict.

    scale 1.0 is national (152 LAs, ~4.2M assessments 2014-15..2020-21); ``defects`` is the chance that a
    candidate record is faulty (0 = clean data). ``log_step`` receives one progress line per step.
    """
    check_settings(scale, defects, first_year, last_year)
    step = log_step or (lambda message: None)
    started = time.time()
    out = Path(out_dir).absolute()
    work = out / UNFINISHED
    for stale in (*REPLACED, LISTING.parent.name, UNFINISHED):
        shutil.rmtree(out / stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    years = list(range(first_year, last_year + 1))
    la_codes = list(LA_CODES[: n_las(scale)])
    data_end = date(last_year, 3, 31)

    step(f"children: scale {scale}, {len(la_codes)} LAs, seed {seed}")
    all_children = children(scale, seed, first_year, last_year)
    step(f"referral histories and annual returns, one task per LA: CIN census XML, SSDA903 and NPD CIN/CP extracts "
         f"(NPD from {npd.HISTORY_FROM_YEAR - 1}-{npd.HISTORY_FROM_YEAR % 100:02d})")
    referrals, files, record_defects = by_la.histories_and_returns(spark, all_children, la_codes, seed, defects,
                                                                   years, data_end, out, work, step)
    kids = spark.read.parquet(str(work / "children"))

    step("school outcomes (KS4, exclusions, SEN)")
    referred = _materialise(spark, school.involvement(referrals, kids, first_year, last_year), work / "involved")
    counts = {r["ks4_year"]: r["n"] for r in referred.groupBy("ks4_year").agg(F.count("*").alias("n")).collect()}
    cohort = round(P.KS4_COHORT_NATIONAL * scale)
    never = school.never_referred(spark, {y: max(0, cohort - counts.get(y, 0)) for y in years}, seed)
    pupils = _materialise(spark, school.outcomes(referred.unionByName(never), seed), work / "pupils")
    pupils = pupils.withColumn("file_year", F.col("ks4_year"))
    acad = npd.acadyr(F.col("ks4_year"))
    files += npd.write_table(spark, pupils.select(
        "file_year", F.col("pmr").alias("sort_key"),
        csv_line([F.col("pmr"), acad, F.col("att8"), F.col("p8")]).alias("line")),
        years, npd.KS4_COLUMNS, "ks4", out, work)
    files += npd.write_table(spark, pupils.where(F.col("excluded")).select(
        "file_year", F.col("pmr").alias("sort_key"),
        csv_line([F.col("pmr"), acad, F.col("suspensions"), F.col("permanent").cast("int")]).alias("line")),
        years, npd.EXCLUSION_COLUMNS, "exclusions", out, work)
    files += npd.write_table(spark, pupils.select(
        "file_year", F.col("pmr").alias("sort_key"),
        csv_line([F.col("pmr"), acad, F.col("sen")]).alias("line")),
        years, npd.SEN_COLUMNS, "sen", out, work)

    step("ground truth")
    file_defects = []
    if defects > 0:
        smallest = la_codes[min(range(len(la_codes)), key=lambda i: la_weights(len(la_codes), seed)[i])]
        file_defects = _file_defects(out, smallest, first_year, last_year)
        whole_file_failures = [d["source_file"] for d in file_defects]
        record_defects = record_defects.where(~F.col("source_file").isin(*whole_file_failures))
    if file_defects:
        record_defects = record_defects.unionByName(
            spark.createDataFrame([[d[c] for c in DEFECT_COLUMNS] for d in file_defects],
                                  record_defects.schema))
    _write_defects(spark, record_defects, out, work)
    truth_dir = out / "_truth"
    truth.write_json(truth_dir / "params.json", truth.params_json(first_year, last_year))
    truth.write_json(truth_dir / "effects.json", truth.effects_json())
    truth.write_json(truth_dir / "targets.json", truth.targets_json())
    truth.write_by_la(kids.select("la_code", F.col("la_child_id").alias("child_id"), "pmr", "upn", "birth_date", "sex",
                                  "ethnicity", "disabled",
                                  F.element_at(F.array(*[F.lit(c) for c in P.CLASS_NAMES]),
                                               F.col("child_type") + 1).alias("child_type")),
                      ("child_id",), truth_dir / "children.parquet")
    (pupils.select("pmr", "ks4_year", "level", "n_episodes", "open_31_march", "disabled", "sen", "att8",
                   "excluded", "permanent")
     .orderBy("pmr", "ks4_year").write.mode("overwrite").parquet(str(truth_dir / "pupils.parquet")))

    step("summary")
    result: dict[str, Any] = {
        "seed": seed, "scale": scale, "defect_rate": defects, "first_year": first_year, "last_year": last_year,
        "la_codes": la_codes, "children": kids.count(), "referrals_all_years": referrals.count(),
        "files": len(files),
        "headline": summary.headline_rates(referrals, first_year, last_year),
        "targets": P.TARGETS,
        "factor_marginals_vs_dfe_c3": summary.factor_marginals(referrals, first_year, last_year),
        "defects_injected": spark.read.csv(str(truth_dir / "defects.csv"), header=True)
        .groupBy("defect", "format").count().orderBy("defect", "format").collect(),
    }
    result["defects_injected"] = [r.asDict() for r in result["defects_injected"]]
    result["seconds"] = round(time.time() - started, 1)
    truth.write_json(out / "_summary.json", result)
    write_listing(out)  # what ingest accepts the demo pseudonymisation key for
    shutil.rmtree(work, ignore_errors=True)
    step(f"done: {len(files)} files in {result['seconds']}s")
    return result


def _write_defects(spark: SparkSession, record_defects: DataFrame, out: Path, work: Path) -> None:
    body = lines(record_defects, F.lit("defects"), BODY,
                 F.concat_ws("|", *[F.coalesce(F.col(c).cast("string"), F.lit("")) for c in DEFECT_COLUMNS]),
                 csv_line([F.col(c) for c in DEFECT_COLUMNS]))
    header = lines(spark.range(1), F.lit("defects"), HEADER, F.lit(""), F.lit(",".join(DEFECT_COLUMNS)))
    write_files(body.unionByName(header), out, work, "defects", lambda key: "_truth/defects.csv")
