"""SSDA903 (children looked after): episodes of each period of care, and the header and episodes CSV files
per LA-year (dates dd/mm/YYYY; every episode open at any time in the year, as known at 31 March)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.synth import defects as D
from csc_demand.synth.cin_xml import SEX_FROM_YEAR
from csc_demand.synth.episodes import MAX_EXTRA_EPISODES
from csc_demand.synth.population import collection_year
from csc_demand.synth.rand import pick, uniform
from csc_demand.synth.snapshot import iso
from csc_demand.synth.textfiles import BODY, HEADER, csv_line, lines, write_files

HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN")
CHANGE_RNE = (("P", "L", "T", "U"), (0.70, 0.15, 0.10, 0.05))
LEGAL_STATUS_CHANGES, PLACEMENT_CHANGES = ("L", "U"), ("P", "T", "U")  # the RNEs that change each
MAX_EPISODES = 1 + MAX_EXTRA_EPISODES
LEGAL_STATUS = (("C2", "V2", "C1", "E1", "J2", "L1"), (0.45, 0.35, 0.12, 0.04, 0.02, 0.02))
PLACEMENTS = (("U1", "U3", "U4", "U5", "U6", "K2", "P1", "H5", "R1", "T0"),
              (0.10, 0.15, 0.28, 0.06, 0.06, 0.12, 0.06, 0.06, 0.06, 0.05))
PROVIDERS = (("PR1", "PR2", "PR3", "PR4", "PR5"), (0.45, 0.05, 0.05, 0.40, 0.05))
PLACE_CHANGE_REASONS = (("CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAIPS", "PLACE",
                         "OTHER"), (0.25, 0.05, 0.03, 0.12, 0.05, 0.1, 0.05, 0.1, 0.1, 0.1, 0.05))


def dmy(d: Column) -> Column:
    return F.date_format(d, "dd/MM/yyyy")


def _spells(rnes: list[Column], changes: tuple[str, ...]) -> list[Column]:
    """For each episode of a period (its RNEs in order): how many changes of one kind came by its start."""
    counts, n = [], F.lit(0)
    for rne in rnes:
        n = n + rne.isin(*changes).cast("int")
        counts.append(n)
    return counts


def _changing(draw: Callable[[int], Column], values: tuple[str, ...]) -> list[Column]:
    """A value for each spell s (``draw(s)``), every one unlike the one before: a draw equal to it takes the next
    of ``values``, so a change the RNE records is a change in the data (DfE 434, 435, 436)."""
    following = F.create_map(*[F.lit(v) for pair in zip(values, values[1:] + values[:1], strict=True)
                               for v in pair])
    chain = [draw(0)]
    for spell in range(1, MAX_EPISODES):
        drawn = draw(spell)
        chain.append(F.when(drawn == chain[-1], following[drawn]).otherwise(drawn))
    return chain


def care_episodes(referrals: DataFrame, seed: int) -> DataFrame:
    """One row per 903 episode (child, round, period, episode number) with true dates. An episode after the first
    of its period starts with the change its RNE names (legal status L, placement P or T, both U); legal status
    and placement (type, provider, URN) hold until a change of their kind."""
    child = ("la_code", "la_child_id", "sex", "birth_date", "ethnicity", "upn")
    df = referrals.where(F.col("care")).select("child_id", "round", "primary_need", *child,
                                                F.explode("care_periods").alias("p"))

    def u(purpose: str, i: Column | int) -> Column:
        return uniform(seed, F.col("child_id"), F.col("round"), F.col("p.period_no"), i, F.lit(purpose))

    rnes = [F.lit("S")] + [pick(u("rne", F.lit(ep)), *CHANGE_RNE) for ep in range(1, MAX_EPISODES)]
    statuses = _changing(lambda spell: pick(u("ls", F.lit(spell)), *LEGAL_STATUS), LEGAL_STATUS[0])
    places = _changing(lambda spell: pick(u("place", F.lit(spell)), *PLACEMENTS), PLACEMENTS[0])
    placements = [F.struct(place.alias("place"), pick(u("prov", F.lit(spell)), *PROVIDERS).alias("provider"),
                           F.when(place.isin("K2", "R1"), F.concat(F.lit("SC"), F.lpad(
                               F.floor(u("urn", F.lit(spell)) * 1e6).cast("int").cast("string"), 6, "0")))
                            .otherwise(F.lit("XXXXXXX")).alias("urn"))
                  for spell, place in enumerate(places)]
    df = (df.withColumns({"rnes": F.array(*rnes), "statuses": F.array(*statuses),
                          "placements": F.array(*placements),
                          "status_spells": F.array(*_spells(rnes, LEGAL_STATUS_CHANGES)),
                          "placement_spells": F.array(*_spells(rnes, PLACEMENT_CHANGES))})
            .withColumn("ep_no", F.explode(F.sequence(F.lit(0), F.col("p.n_episodes") - 1))))

    def at(array: str, i: Column) -> Column:  # the arrays hold an entry for every episode a period can have
        return F.try_element_at(F.col(array), i + 1)

    ep = F.col("ep_no")
    duration = F.datediff(F.col("p.end"), F.col("p.start"))
    n = F.col("p.n_episodes")
    last = ep == n - 1
    decom = F.date_add(F.col("p.start"), F.floor(duration * ep / n).cast("int"))
    dec = F.when(last, F.col("p.end")).otherwise(
        F.date_add(F.col("p.start"), F.floor(duration * (ep + 1) / n).cast("int")))
    placement = at("placements", at("placement_spells", ep))
    return df.select(
        "child_id", "round", F.col("p.period_no").alias("period_no"), "ep_no", decom.alias("decom"),
        dec.alias("dec"), at("rnes", ep).alias("rne"), at("statuses", at("status_spells", ep)).alias("ls"),
        F.when(F.col("primary_need") == "N9", F.lit("N8")).otherwise(F.col("primary_need")).alias("cin"),
        placement["place"].alias("place"), placement["provider"].alias("provider"),
        F.when(last, F.col("p.rec")).otherwise(F.lit("X1")).alias("rec"),
        F.when(~last & at("rnes", ep + 1).isin(*PLACEMENT_CHANGES), pick(u("rpc", ep), *PLACE_CHANGE_REASONS))
        .alias("reason_place_change"), placement["urn"].alias("urn"),
        F.col("p.n_episodes").alias("episodes_in_period"), *child)


def episode_snapshots(episodes: DataFrame, first_year: int, last_year: int, seed: int, rate: float) -> DataFrame:
    """Each episode in every year's return it was open in; DEC/REC blank until known; defects injected."""
    first = F.greatest(collection_year(F.col("decom")), F.lit(first_year))
    last = F.least(collection_year(F.col("dec")), F.lit(last_year))
    df = (episodes.where(last >= first).withColumn("file_year", F.explode(F.sequence(first, last)))
          .withColumn("ref_date", F.make_date(F.col("file_year"), F.lit(3), F.lit(31))))
    if rate > 0:
        u = uniform(seed, F.col("child_id"), F.col("round"), F.col("period_no"), F.col("ep_no"), F.lit("defect-903"))
        in_first = F.col("file_year") == F.greatest(collection_year(F.col("decom")), F.lit(first_year))
        # only on a period's one episode: the rules comparing a child's episodes (388, 433, 357, ...) then find no
        # gap where the quarantined one was
        alone = F.col("episodes_in_period") == 1
        df = df.withColumn("e_defect", F.when((u < rate) & in_first & alone, F.lit("malformed_date")))
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
