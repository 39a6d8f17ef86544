"""Rejected records -> ``silver.quarantine`` rows: where (file, LA, locator), why (rule id + message), what (the
record as parsed, identifiers replaced by pseudonyms by field name; quarantine lives in silver, so no raw
identifier may reach it, and a record that did not parse keeps none of its text: ``unparsed_record``)."""
from __future__ import annotations

from itertools import chain

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.catalog import RULES
from csc_demand.transform.pseudonymise import hmac_sha256

QUARANTINE_COLUMNS = ["quarantine_key", "load_id", "source_file", "la_code", "collection_year", "child_key",
                      "locator", "rule_id", "message", "raw_record", "table_name", "occurrences", "loaded_at"]
MAX_RAW_CHARACTERS = 4000
XML_CHILD = "Child"  # a staged XML record's locator: its path from its Child element (Child/CINdetails[1]/...)


def rule_message(rule_id: Column) -> Column:
    messages = F.create_map(*chain.from_iterable((F.lit(k), F.lit(v)) for k, v in RULES.items()))
    return F.try_element_at(messages, rule_id)


def unparsed_record(text: Column, kind: str, key: str) -> Column:
    """What quarantine keeps of a record that did not parse (a CSV line that does not split into the header's
    fields, an XML Child Spark could not read): nothing of its text, since without its structure no field can be
    told to be an identifier or not (a shifted field moves an id to any position; XML may spell an element
    ``<LAchildID >`` or wrap its text in CDATA). Only its kind, its length and a keyed hash of the text, so two
    reports of the same record can be matched without showing it. JSON, like every other ``raw_record``."""
    return F.to_json(F.struct(F.lit(kind).alias("unparsed"), F.length(text).alias("characters"),
                              hmac_sha256(text, key).alias("text_hmac_sha256")))


def capped(raw: Column) -> Column:
    """``raw_record`` cut to MAX_RAW_CHARACTERS (a referral keeps its nested records; a big one could be huge)."""
    cut = F.concat(F.substring(raw, 1, MAX_RAW_CHARACTERS),
                   F.format_string(" [cut at %d of %d characters]", F.lit(MAX_RAW_CHARACTERS), F.length(raw)))
    return F.when(F.length(raw) > MAX_RAW_CHARACTERS, cut).otherwise(raw)


def line_locator(line: Column) -> Column:
    """A staged CSV record's locator: its line (line 1 is the header); a record made of several lines (an NPD
    referral: one line per assessment) is located by its first line (``first_line``)."""
    return line.cast("string")


def full_locator() -> Column:
    """A staged record's ``locator`` as silver.quarantine gives it: an XML record's path from the root, its Child
    named by the child's key (``Message/Children/Child[LAchildID=<key>]/CINdetails[1]``), a CSV record's
    ``<source_file>:<line>``. Staged records carry the short form (the path from the Child, or the line), which
    identifies a record within its child and file: the full one repeats the key and the file name in every row
    that silver's sorts and windows copy."""
    locator = F.col("locator")
    child = F.concat(F.lit("Message/Children/Child[LAchildID="), F.coalesce(F.col("child_key"), F.lit("missing")),
                     F.lit("]"))
    return (F.when(locator.startswith(XML_CHILD), F.overlay(locator, child, 1, len(XML_CHILD)))
             .otherwise(F.concat(F.col("source_file"), F.lit(":"), locator)))


def line_order() -> list[Column]:
    """Sort key putting records in the order of their ``locator`` lines: shorter first, so line 9 comes before 10.
    Length in bytes: the length in characters is counted by walking the string, for every row sorted."""
    return [F.octet_length("locator"), F.col("locator")]


def first_line() -> Column:
    """Aggregate: the first line of a record grouped from several CSV lines, for ``line_locator``. A plain hash
    aggregate: listing every line (collect_list) made the grouping sort its rows."""
    return F.min("line_number")


def quarantine_rows(df: DataFrame, table_name: str) -> DataFrame:
    """The records a table's rules rejected themselves (not those rejected with their parent)."""
    return (df.filter(F.col("rule_id").isNotNull() & ~F.col("with_parent"))
              .select("source_file", "la_code", "collection_year", "child_key", full_locator().alias("locator"),
                      "rule_id", rule_message(F.col("rule_id")).alias("message"), "raw_record",
                      F.lit(table_name).alias("table_name")))


def finalise_quarantine(rows: DataFrame, load_id: str, loaded_at: Column) -> DataFrame:
    """One row per distinct rejected record (identical copies counted in ``occurrences``), keyed for MERGE."""
    group = ["source_file", "la_code", "collection_year", "child_key", "locator", "rule_id", "message",
             "raw_record", "table_name"]
    key = F.sha2(F.concat_ws("|", "table_name", "source_file", "locator", "rule_id", "raw_record"), 256)
    return (rows.withColumn("raw_record", capped(F.col("raw_record"))).groupBy(*group).agg(F.count(F.lit(1)).cast("int").alias("occurrences"))
                .withColumn("quarantine_key", key)
                .withColumn("load_id", F.lit(load_id))
                .withColumn("loaded_at", loaded_at)
                .select(*QUARANTINE_COLUMNS))
