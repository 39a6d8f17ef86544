"""SSDA903 (children looked after): episodes of each period of care, and the header and episodes CSV files
per LA-year (dates dd/mm/YYYY; every episode open at any time in the year, as known at 31 March)."""
from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.synth import defects as D
from csc_demand.synth.cin_xml import SEX_FROM_YEAR
from csc_demand.synth.population import collection_year
from csc_demand.synth.rand import pick, uniform
from csc_demand.synth.snapshot import iso
from csc_demand.synth.textfiles import BODY, HEADER, csv_line, lines, write_files

HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN")
CHANGE_RNE = (("P", "L", "T", "U"), (0.70, 0.15, 0.10, 0.05))
LEGAL_STATUS = (("C2", "V2", "C1", "E1", "J2", "L1"), (0.45, 0.35, 0.12, 0.04, 0.02, 0.02))
PLACEMENTS = (("U1", "U3", "U4", "U5", "U6", "K2", "P1", "H5", "R1", "T0"),
              (0.10, 0.15, 0.28, 0.06, 0.06, 0.12, 0.06, 0.06, 0.06, 0.05))
PROVIDERS = (("PR1", "PR2", "PR3", "PR4", "PR5"), (0.45, 0.05, 0.05, 0.40, 0.05))
PLACE_CHANGE_REASONS = (("CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAIPS", "PLACE",
                         "OTHER"), (0.25, 0.05, 0.03, 0.12, 0.05, 0.1, 0.05, 0.1, 0.1, 0.1, 0.05))


def dmy(d: Column) -> Column:
    return F.date_format(d, "dd/MM/yyyy")


def care_episodes(referrals: DataFrame, children: DataFrame, seed: int) -> DataFrame:
    """One row per 903 episode (child, round, period, episode number) with true dates."""
    df = (referrals.where(F.col("care"))
          .select("child_id", "round", "primary_need", F.explode("care_periods").alias("p"))
          .withColumn("ep_no", F.explode(F.sequence(F.lit(0), F.col("p.n_episodes") - 1))))

    def u(purpose: str, ep: Column) -> Column:
        return uniform(seed, F.col("child_id"), F.col("round"), F.col("p.period_no"), ep, F.lit(purpose))

    ep = F.col("ep_no")
    df = df.withColumns({"u_rne": u("rne", ep), "u_rne_next": u("rne", ep + 1), "u_place": u("place", ep),
                         "u_ls": u("ls", ep), "u_prov": u("prov", ep), "u_rpc": u("rpc", ep)})

    def rne(ep: Column, u_rne: str) -> Column:
        return F.when(ep == 0, F.lit("S")).otherwise(pick(F.col(u_rne), *CHANGE_RNE))

    duration = F.datediff(F.col("p.end"), F.col("p.start"))
    n = F.col("p.n_episodes")
    last = ep == n - 1
    decom = F.date_add(F.col("p.start"), F.floor(duration * ep / n).cast("int"))
    dec = F.when(last, F.col("p.end")).otherwise(
        F.date_add(F.col("p.start"), F.floor(duration * (ep + 1) / n).cast("int")))
    place = pick(F.col("u_place"), *PLACEMENTS)
    urn = F.when(place.isin("K2", "R1"), F.concat(F.lit("SC"), F.lpad(
        F.floor(u("urn", ep) * 1e6).cast("int").cast("string"), 6, "0"))).otherwise(F.lit("XXXXXXX"))
    df = df.select(
        "child_id", "round", F.col("p.period_no").alias("period_no"), "ep_no", decom.alias("decom"),
        dec.alias("dec"), rne(ep, "u_rne").alias("rne"), pick(F.col("u_ls"), *LEGAL_STATUS).alias("ls"),
        F.when(F.col("primary_need") == "N9", F.lit("N8")).otherwise(F.col("primary_need")).alias("cin"),
        place.alias("place"), pick(F.col("u_prov"), *PROVIDERS).alias("provider"),
        F.when(last, F.col("p.rec")).otherwise(F.lit("X1")).alias("rec"),
        F.when(~last & rne(ep + 1, "u_rne_next").isin("P", "T", "U"), pick(F.col("u_rpc"), *PLACE_CHANGE_REASONS))
        .alias("reason_place_change"), urn.alias("urn"))
    return df.join(children.select("child_id", "la_code", "la_child_id", "sex", "birth_date", "ethnicity", "upn"),
                   on="child_id", how="inner")


def episode_snapshots(episodes: DataFrame, first_year: int, last_year: int, seed: int, rate: float) -> DataFrame:
    """Each episode in every year's return it was open in; DEC/REC blank until known; defects injected."""
    first = F.greatest(collection_year(F.col("decom")), F.lit(first_year))
    last = F.least(collection_year(F.col("dec")), F.lit(last_year))
    df = (episodes.where(last >= first).withColumn("file_year", F.explode(F.sequence(first, last)))
          .withColumn("ref_date", F.make_date(F.col("file_year"), F.lit(3), F.lit(31))))
    if rate > 0:
        u = uniform(seed, F.col("child_id"), F.col("round"), F.col("period_no"), F.col("ep_no"), F.lit("defect-903"))
        in_first = F.col("file_year") == F.greatest(collection_year(F.col("decom")), F.lit(first_year))
        df = df.withColumn("e_defect", F.when((u < rate) & in_first, F.lit("malformed_date")))
    else:
        df = df.withColumn("e_defect", F.lit(None).cast("string"))
    known = F.col("dec") <= F.col("ref_date")
    decom = F.when(F.col("e_defect").isNotNull(), D.malformed_dmy(F.col("decom"))).otherwise(dmy(F.col("decom")))
    line = csv_line([F.col("la_child_id"), decom, F.col("rne"), F.col("ls"), F.col("cin"), F.col("place"),
                     F.col("provider"), F.when(known, dmy(F.col("dec"))), F.when(known, F.col("rec")),
                     F.when(known, F.col("reason_place_change")), F.lit(""), F.lit(""), F.col("urn")])
    return df.select("*", decom.alias("decom_written"), line.alias("line"))


def source_file(part: str) -> Column:
    return F.concat(F.lit("ssda903/"), F.col("file_year").cast("string"), F.lit("/ssda903_"), F.col("la_code"),
                    F.lit("_"), F.col("file_year").cast("string"), F.lit(f"_{part}.csv"))


def ssda903_defects(snap: DataFrame) -> DataFrame:
    df = snap.withColumn("referral_date", F.lit(None).cast("date"))
    return D.defect_rows(df, F.col("e_defect"), "ssda903", source_file("episodes"), "care_episodes",
                         F.col("decom_written"), F.lit("DECOM malformed"))


def write_ssda903(spark: SparkSession, snap: DataFrame, la_codes: list[str], first_year: int, last_year: int,
                  out_dir: Path, work_dir: Path) -> list[str]:
    key = F.concat_ws("_", F.col("file_year").cast("string"), F.col("la_code"))
    keys = spark.createDataFrame([(y, la) for y in range(first_year, last_year + 1) for la in la_codes],
                                 "file_year int, la_code string")
    episodes = lines(snap, key, BODY, F.concat_ws("|", F.col("la_child_id"), iso(F.col("decom"))), F.col("line"))
    children = snap.groupBy("file_year", "la_code", "la_child_id").agg(
        F.first("sex").alias("sex"), F.first("birth_date").alias("birth_date"),
        F.first("ethnicity").alias("ethnicity"), F.first("upn").alias("upn"), F.max("ref_date").alias("ref_date"))
    sex = F.when(F.col("file_year") >= SEX_FROM_YEAR, F.col("sex"))\
        .otherwise(F.when(F.col("sex") == "M", "1").otherwise("2"))
    mother = F.when((F.col("sex") == "F") & (F.datediff(F.col("ref_date"), F.col("birth_date")) >= 12 * 365), "0")
    header = lines(children, key, BODY, F.col("la_child_id"), csv_line(
        [F.col("la_child_id"), sex, dmy(F.col("birth_date")), F.col("ethnicity"), F.col("upn"), mother, F.lit("")]))
    written = []
    for part, body, columns in (("header", header, HEADER_COLUMNS), ("episodes", episodes, EPISODE_COLUMNS)):
        rows = body.unionByName(lines(keys, key, HEADER, F.lit(""), F.lit(",".join(columns))))

        def path(k: str, part=part) -> str:
            year, la = k.split("_")
            return f"ssda903/{year}/ssda903_{la}_{year}_{part}.csv"
        written += write_files(rows, out_dir, work_dir, f"ssda903_{part}", path)
    return written
