"""Column-level building blocks for quality rules: blank handling, strict dates, booleans, code lists, and the
choice of the one rule that rejects a record (the first failing rule in the table's rule order)."""
from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.catalog import RULES

ISO_DATE = "yyyy-MM-dd"   # CIN XML and NPD
UK_DATE = "dd/MM/yyyy"    # SSDA903


def value(col: Column | str) -> Column:
    """Trimmed text, or null when absent or blank (XML and CSV write missing values both ways)."""
    col = F.col(col) if isinstance(col, str) else col
    return F.nullif(F.trim(col), F.lit(""))


def parse_date(text: Column, fmt: str) -> Column:
    """Trimmed text written exactly as ``fmt`` -> date; null for anything else, or an impossible date.

    ISO dates skip the datetime formatter (``try_to_date`` with a pattern was 6% of ingest CPU at national scale):
    Spark's string-to-date cast parses them directly, and the shape check keeps it as strict as the pattern
    (the cast alone also takes 2015-1-5, 2015, a trailing T..., and trims a trailing tab)."""
    if fmt != ISO_DATE:
        return F.try_to_date(text, fmt)
    return F.when(_iso_shaped(text), text.try_cast("date"))


def _iso_shaped(text: Column) -> Column:
    """Ten bytes, a dash at bytes 5 and 8 and a digit last. Checked on the bytes: Spark's character functions
    (length, substring) count the string's characters on every call. A string with a multi-byte character in
    ten bytes is not a date, so bytes and characters give the same answer."""
    data = text.cast("binary")

    def byte(position: int) -> Column:
        return F.substring(data, position, 1)

    dash, zero, nine = (F.lit(bytearray(c, "ascii")) for c in "-09")
    return (F.octet_length(text) == 10) & (byte(5) == dash) & (byte(8) == dash) & byte(10).between(zero, nine)


def to_date(col: Column | str, fmt: str) -> Column:
    """Strict date parse: null for a missing value and for an impossible or wrongly written one."""
    return parse_date(value(col), fmt)


def bad_date(col: Column | str, fmt: str) -> Column:
    """A value is present but is not a valid calendar date in ``fmt``."""
    return value(col).isNotNull() & to_date(col, fmt).isNull()


# the staged raw date columns (of every silver table) and how each is written
DATE_FORMATS = {name: ISO_DATE for name in (
    "referral_date_raw", "closure_date_raw", "initial_cpc_raw", "birth_date_raw", "start_raw", "end_raw",
    "review_raw", "authorised_raw", "icpc_target_raw", "icpc_raw")} | {"DECOM": UK_DATE, "DEC": UK_DATE}


def with_parsed_dates(df: DataFrame) -> DataFrame:
    """Plus each staged raw date column (DATE_FORMATS) parsed once, as ``parsed(name)``. The rules read these:
    written as ``to_date`` in each rule, every rule parsed its dates again (Spark shares no work between the
    conditions of one ``coalesce``), and the repeated parses made silver's plans large."""
    dates = {_parsed_name(name): to_date(name, fmt) for name, fmt in DATE_FORMATS.items() if name in df.columns}
    return df.withColumns(dates) if dates else df  # Spark Connect refuses an empty withColumns


def parsed(name: str) -> Column:
    """The date in raw column ``name``, as ``with_parsed_dates`` parsed it (null: missing or not a valid date)."""
    return F.col(_parsed_name(name))


def is_bad_date(name: str) -> Column:
    """bad_date of a column ``with_parsed_dates`` parsed."""
    return value(name).isNotNull() & parsed(name).isNull()


def without_parsed_dates(df: DataFrame) -> DataFrame:
    return df.drop(*[_parsed_name(name) for name in DATE_FORMATS])


def _parsed_name(name: str) -> str:
    return f"_date_{name}"


def to_bool(col: Column | str) -> Column:
    """true/false/1/0 (any case) -> boolean; anything else -> null."""
    text = F.lower(value(col))
    return (F.when(text.isin("true", "1"), F.lit(True))
             .when(text.isin("false", "0"), F.lit(False)))


def bad_bool(col: Column | str) -> Column:
    return value(col).isNotNull() & to_bool(col).isNull()


def bad_code(col: Column | str, allowed: Iterable[str]) -> Column:
    """A value is present but not in the code list (codes compared upper-case)."""
    return value(col).isNotNull() & ~F.upper(value(col)).isin(list(allowed))


def bad_int(col: Column | str) -> Column:
    return value(col).isNotNull() & value(col).try_cast("int").isNull()


def bad_number(col: Column | str) -> Column:
    return value(col).isNotNull() & value(col).try_cast("double").isNull()


def first_failing_rule(checks: list[tuple[str, Column]], already: Column | None = None) -> Column:
    """The id of the first rule whose condition is true (null when all pass); ``already`` wins when set."""
    for rule_id, _ in checks:
        if rule_id not in RULES:
            raise KeyError(f"rule {rule_id} is not in csc_demand.quality.catalog.RULES")
    chosen = F.coalesce(*[F.when(condition, F.lit(rule_id)) for rule_id, condition in checks],
                        F.lit(None).cast("string"))
    return chosen if already is None else F.coalesce(already, chosen)
