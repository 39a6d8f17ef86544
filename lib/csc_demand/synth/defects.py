"""Injected faults: which record gets which defect, in which one file, what is written, and the truth row.

A defective record carries exactly one defect, in one file copy only (the first annual return that shows the
record), so exactly one quarantine rule fires for it. ``rate`` is the chance that a candidate record (assessment,
CP plan, 903 episode) is defective; the kinds share it equally.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.catalog import RULES
from csc_demand.synth.population import collection_year
from csc_demand.synth.rand import uniform
from csc_demand.synth.snapshot import iso

DEFECT_RULES = {
    "malformed_date": "CSC-DATE", "unknown_factor_code": "CSC-FACTOR", "code_21_with_others": "8869",
    "duplicate_factor_code": "8898", "assessment_before_referral": "1103", "overlapping_cp_plan": "8940",
    "truncated_file": "CSC-FILE", "empty_file": "CSC-FILE",
}
assert set(DEFECT_RULES.values()) <= set(RULES)
UNKNOWN_FACTOR_CODE = "25Z"
XML_ASSESSMENT_KINDS = ("malformed_date", "assessment_before_referral", "unknown_factor_code",
                        "code_21_with_others", "duplicate_factor_code")
NPD_ASSESSMENT_KINDS = ("malformed_date", "unknown_factor_code")
CP_KINDS = ("malformed_date", "overlapping_cp_plan")
DEFECT_COLUMNS = ("defect", "rule_id", "format", "source_file", "la_code", "collection_year", "child_id",
                  "referral_date", "table", "record_date", "detail")
START_KINDS = ("malformed_date", "assessment_before_referral")


def _first_file(d: Column, first_year: int) -> Column:
    """The record's first return: the file year that first shows an event dated d."""
    return F.col("file_year") == F.greatest(collection_year(d), F.lit(first_year))


def _kind(u: Column, rate: float, kinds: tuple, allowed: dict) -> Column:
    """kinds[i] for u in the i-th slice of [0, rate), when that kind is allowed on this row; else null."""
    expr = None
    for i, kind in enumerate(kinds):
        hit = (u >= rate * i / len(kinds)) & (u < rate * (i + 1) / len(kinds)) & allowed[kind]
        expr = F.when(hit, F.lit(kind)) if expr is None else expr.when(hit, F.lit(kind))
    assert expr is not None, "kinds is never empty"
    return expr


def assessment_defect(seed: int, rate: float, fmt: str, first_year: int) -> Column:
    """Defect kind of the episode's first assessment in this snapshot row (null = clean)."""
    if rate <= 0:
        return F.lit(None).cast("string")
    kinds = XML_ASSESSMENT_KINDS if fmt == "cin_xml" else NPD_ASSESSMENT_KINDS
    start_file = F.col("a1_in") & _first_file(F.col("a1_start"), first_year)
    factor_file = (F.col("a1_codes_shown").isNotNull() & F.col("class_id").isNotNull()
                   & _first_file(F.col("a1_auth"), first_year))
    allowed = {k: (start_file if k in START_KINDS else factor_file) for k in kinds}
    u = uniform(seed, F.col("child_id"), F.col("round"), F.lit("defect-assessment"), F.lit(fmt))
    return _kind(u, rate, kinds, allowed)


def malformed_iso(d: Column) -> Column:
    """A date with month 13 in YYYY-MM-DD form: not a calendar date."""
    return F.concat(F.year(d).cast("string"), F.lit("-13-"), F.lpad(F.dayofmonth(d).cast("string"), 2, "0"))


def malformed_dmy(d: Column) -> Column:
    return F.concat(F.lpad(F.dayofmonth(d).cast("string"), 2, "0"), F.lit("/13/"), F.year(d).cast("string"))


def assessment_start_written(seed: int, kind: Column) -> Column:
    u = uniform(seed, F.col("child_id"), F.col("round"), F.lit("defect-before"))
    before = F.date_sub(F.col("referral_date"), (F.lit(1) + F.floor(u * 20)).cast("int"))
    return (F.when(kind == "malformed_date", malformed_iso(F.col("a1_start")))
            .when(kind == "assessment_before_referral", iso(before))
            .otherwise(iso(F.col("a1_start"))))


def factor_codes_written(kind: Column, codes: Column) -> Column:
    return (F.when(kind == "unknown_factor_code",
                   F.concat(F.slice(codes, 1, F.size(codes) - 1), F.array(F.lit(UNKNOWN_FACTOR_CODE))))
            .when(kind == "code_21_with_others", F.concat(codes, F.array(F.lit("21"))))
            .when(kind == "duplicate_factor_code", F.concat(codes, F.slice(codes, 1, 1)))
            .otherwise(codes))


def defect_rows(df: DataFrame, kind: Column, fmt: str, source_file: Column, table: str, record_date: Column,
                detail: Column) -> DataFrame:
    """Truth rows (DEFECT_COLUMNS) for the rows of df where kind is set."""
    rule = F.element_at(F.create_map(*[x for k, r in DEFECT_RULES.items() for x in (F.lit(k), F.lit(r))]), kind)
    return df.where(kind.isNotNull()).select(
        kind.alias("defect"), rule.alias("rule_id"), F.lit(fmt).alias("format"), source_file.alias("source_file"),
        F.col("la_code"), F.col("file_year").alias("collection_year"), F.col("la_child_id").alias("child_id"),
        iso(F.col("referral_date")).alias("referral_date"), F.lit(table).alias("table"),
        record_date.alias("record_date"), detail.alias("detail"))
