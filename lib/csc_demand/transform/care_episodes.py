"""SSDA903 bronze (header, episodes) -> staged child records and ``silver.care_episodes``.

Episodes repeat across annual files (every episode open at any time in the year); one row per (child_key,
start_date) survives, from the latest collection year. Dates are dd/mm/YYYY.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.io.csv_source import CSV_COLUMNS
from csc_demand.quality.checks import UK_DATE, bad_date, parsed, to_date, value, without_parsed_dates
from csc_demand.quality.quarantine import line_locator, unparsed_record
from csc_demand.quality.record_sets import (
    apply_rules,
    apply_set_rules,
    care_episode_set_checks,
    flag_duplicates,
    latest_copy,
)
from csc_demand.quality.rules import care_episode_checks
from csc_demand.transform.pseudonymise import pseudonymise, pupil_pseudonym

SOURCE_RANK = 2
FILE_COLUMNS = ["source_file", "la_code", "collection_year"]
POSTCODES = ("HOME_POST", "PL_POST")
EPISODE_ORDER = ["raw_record"]  # a child's episodes starting the same day (CSC-DUP): the first by text


def _keyed(bronze: DataFrame, kind: str, key: str) -> DataFrame:
    """Rows with child_key and raw_record: the parsed fields as JSON, identifiers replaced by their pseudonyms and
    postcodes left out; a line that did not split into the header's fields keeps no text and gets no key (its
    fields may be shifted)."""
    corrupt = F.col("_corrupt_record").isNotNull()
    masked: dict[str, Column] = {name: F.col(name) for name in CSV_COLUMNS[kind] if name not in POSTCODES}
    masked["CHILD"] = F.col("child_key")
    if "UPN" in masked:
        masked["UPN"] = pupil_pseudonym("UPN", F.col("UPN"), key)
    raw = F.when(corrupt, unparsed_record(F.col("_corrupt_record"), "CSV line", key)).otherwise(
        F.to_json(F.struct(*[col.alias(name) for name, col in masked.items()])))
    child_key = F.when(~corrupt, pseudonymise(F.col("la_code"), F.col("CHILD"), key))
    return (bronze.withColumn("child_key", child_key)
                  .withColumn("corrupt", corrupt)
                  .withColumn("raw_record", raw))


def staged_header_children(bronze: DataFrame, key: str) -> DataFrame:
    keyed = _keyed(bronze, "ssda903_header", key)
    return keyed.select(
        *FILE_COLUMNS, "child_key", pupil_pseudonym("UPN", F.col("UPN"), key).alias("pupil_key"),
        line_locator(F.col("line_number")).alias("locator"), "raw_record", "corrupt", F.lit(SOURCE_RANK).alias("source_rank"),
        to_date("DOB", UK_DATE).alias("birth_date"), F.lit(None).cast("date").alias("expected_birth_date"),
        F.lit(None).cast("date").alias("death_date"),
        (bad_date("DOB", UK_DATE) | bad_date("MC_DOB", UK_DATE)).alias("birth_date_bad"),
        value("SEX").alias("sex_raw"), value("ETHNIC").alias("ethnicity"),
        F.lit(None).cast("array<string>").alias("disabilities"))


def header_births(header_children: DataFrame) -> DataFrame:
    """A return's header -> (child_key, la_code, collection_year, birth_date), for the episode rules that read the
    child's age (a child listed twice: the later date)."""
    return (header_children.filter(F.col("child_key").isNotNull())
                           .groupBy("child_key", "la_code", "collection_year")
                           .agg(F.max("birth_date").alias("birth_date")))


def checked_episodes(bronze: DataFrame, key: str, births: DataFrame) -> DataFrame:
    """Rules over each episode (with ``birth_date`` from its return's header), then CSC-DUP: ready for the rules
    that compare a child's episodes."""
    keyed = (_keyed(bronze, "ssda903_episodes", key).withColumn("locator", line_locator(F.col("line_number")))
             .join(births, ["child_key", "la_code", "collection_year"], "left"))
    checked = apply_rules(keyed, care_episode_checks())
    typed = (checked.withColumn("start_date", parsed("DECOM"))
                    .withColumn("ordinal", F.lit(1))
                    .withColumn("source_rank", F.lit(SOURCE_RANK)))
    return flag_duplicates(typed, ["child_key", "start_date"], EPISODE_ORDER)


def validated_episodes(bronze: DataFrame, key: str, births: DataFrame) -> DataFrame:
    return without_parsed_dates(apply_set_rules(checked_episodes(bronze, key, births),
                                                care_episode_set_checks(EPISODE_ORDER)))


def silver_care_episodes(validated: DataFrame) -> DataFrame:
    latest = latest_copy(validated.filter(F.col("rule_id").isNull()), ["child_key", "start_date"])
    return latest.select(
        "child_key", "la_code", "start_date",
        F.upper(value("RNE")).alias("rne"), value("LS").alias("legal_status"),
        value("CIN").alias("category_of_need"), value("PLACE").alias("placement"),
        value("PLACE_PROVIDER").alias("placement_provider"),
        to_date("DEC", UK_DATE).alias("end_date"), F.upper(value("REC")).alias("rec"),
        value("REASON_PLACE_CHANGE").alias("reason_place_change"), value("URN").alias("placement_urn"),
        F.col("collection_year").cast("int").alias("collection_year"),
        F.col("first_collection_year").cast("int").alias("first_collection_year"), "source_file")
