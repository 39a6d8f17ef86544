"""Quality rules as code, one list per silver table, in the order they are tried (the first failing rule rejects
the record). Each entry is (rule id from quality.catalog.RULES, a boolean Column over the staged string columns).

Staged columns are the formats' raw strings under common names (see transform/cin_xml_records.py,
transform/cin_npd_records.py, transform/care_episodes.py); rules never see identifiers, only ``child_key``.
Rules that compare records with each other (CSC-DUP, 8940) are in quality/record_sets.py.
"""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from csc_demand import codes
from csc_demand.quality.checks import (
    ISO_DATE,
    UK_DATE,
    bad_bool,
    bad_code,
    bad_date,
    bad_int,
    bad_number,
    to_bool,
    to_date,
    value,
)

Checks = list[tuple[str, Column]]


def _referral_date() -> Column:
    return to_date("referral_date_raw", ISO_DATE)


def _nfa() -> Column:
    return F.coalesce(to_bool("referral_nfa_raw"), F.lit(False))


def _any_bad_date(*names: str, fmt: str = ISO_DATE) -> Column:
    condition = F.lit(False)
    for name in names:
        condition = condition | bad_date(name, fmt)
    return condition


_JOIN = "\u0001"  # joins codes for string functions; cannot occur inside a code


def normalised_factors(col: str = "factors") -> Column:
    """Factor codes as received, trimmed and upper-case, blanks dropped (order kept). Built from string functions
    on the joined codes: Spark runs lambda functions (transform, filter) without generated code, and at national
    scale that made this the slowest column of silver."""
    joined = F.upper(F.array_join(F.coalesce(F.col(col), F.array().cast("array<string>")), _JOIN))
    trimmed = F.trim(F.regexp_replace(joined, f" *{_JOIN} *", _JOIN))
    return F.array_remove(F.split(trimmed, _JOIN), "")


def census_start() -> Column:
    """First day of the census year a return covers (1 April before its 31 March)."""
    return F.make_date(F.col("collection_year") - 1, F.lit(4), F.lit(1))


def census_end() -> Column:
    return F.make_date(F.col("collection_year"), F.lit(3), F.lit(31))


def referral_checks() -> Checks:
    """Over staged referrals; ``birth_date_raw`` is the child's (expected) birth date as YYYY-MM-DD (NPD: the
    first of the birth month, so 8606 only fires when the referral is surely too early)."""
    closure = to_date("closure_date_raw", ISO_DATE)
    return [
        ("8500", F.col("child_key").isNull()),
        ("8600", value("referral_date_raw").isNull()),
        ("CSC-DATE", _any_bad_date("referral_date_raw", "closure_date_raw", "initial_cpc_raw")),
        ("8600", _referral_date() > census_end()),
        ("8630", closure < _referral_date()),
        ("8620", (closure < census_start()) | (closure > census_end())),
        ("8606", _referral_date() < F.date_sub(to_date("birth_date_raw", ISO_DATE), 280)),
        ("CSC-CODE", bad_bool("referral_nfa_raw")
            | bad_code("closure_reason", codes.CLOSURE_REASONS)
            | bad_code("referral_source", codes.REFERRAL_SOURCES)
            | bad_code("primary_need", codes.PRIMARY_NEED_CODES)),
    ]


def assessment_checks() -> Checks:
    """Over staged assessments with ``factor_codes`` (normalised_factors) added."""
    factors = F.col("factor_codes")
    return [
        ("CSC-KEY", value("start_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "review_raw", "authorised_raw")),
        ("1103", to_date("start_raw", ISO_DATE) < _referral_date()),
        ("8608", to_date("authorised_raw", ISO_DATE) < to_date("start_raw", ISO_DATE)),
        # 8696 upper bound only: annual returns repeat an open referral's earlier assessments (docs/tables.md)
        ("8696", to_date("authorised_raw", ISO_DATE) > census_end()),
        ("8736", value("authorised_raw").isNull() & ~to_date("start_raw", ISO_DATE).between(census_start(),
                                                                                           census_end())),
        # exists: array_except built a hash set of every known code for each row (15 times slower)
        ("CSC-FACTOR", F.exists(factors, lambda code: ~code.isin(list(codes.ALL_FACTOR_CODES)))),
        ("8869", F.array_contains(factors, codes.NO_FACTOR_CODE) & (F.size(F.array_distinct(factors)) > 1)),
        ("8898", F.size(F.array_distinct(factors)) < F.size(factors)),
        ("8831", _nfa()),
    ]


def cp_plan_checks() -> Checks:
    reviews = F.coalesce(F.col("review_dates_raw"), F.array().cast("array<string>"))
    return [  # the first three only fire on NPD plan rows, which carry their referral's key themselves
        ("8500", F.col("child_key").isNull()),
        ("CSC-KEY", value("start_raw").isNull() | value("referral_date_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "end_raw", "referral_date_raw")
            | F.exists(reviews, lambda r: bad_date(r, ISO_DATE))),
        ("1105", to_date("start_raw", ISO_DATE) < _referral_date()),
        ("8925", to_date("end_raw", ISO_DATE) < to_date("start_raw", ISO_DATE)),
        ("CSC-CODE", bad_code("initial_category", codes.ABUSE_CATEGORIES)
            | bad_code("latest_category", codes.ABUSE_CATEGORIES)),
        ("CSC-NUMBER", bad_int("previous_cpp_raw")),
        ("8832", _nfa()),
    ]


def cin_plan_checks() -> Checks:
    return [
        ("CSC-KEY", value("start_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "end_raw")),
        ("4015", to_date("start_raw", ISO_DATE) < _referral_date()),
        ("4011", to_date("end_raw", ISO_DATE) < to_date("start_raw", ISO_DATE)),
        ("4000", _nfa()),
    ]


def section47_checks() -> Checks:
    return [
        ("CSC-KEY", value("start_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "icpc_target_raw", "icpc_raw")),
        ("CSC-CODE", bad_bool("icpc_not_required_raw")),
        ("2889", to_date("start_raw", ISO_DATE) < _referral_date()),
        ("1104", to_date("icpc_raw", ISO_DATE) < _referral_date()),
        ("8831", _nfa()),
    ]


def child_checks(missing_id_rule: str) -> Checks:
    """Staged children carry ``birth_date_bad`` (each format writes birth dates its own way)."""
    disabilities = F.coalesce(F.col("disabilities"), F.array().cast("array<string>"))
    return [
        (missing_id_rule, F.col("child_key").isNull()),
        ("CSC-DATE", F.col("birth_date_bad")),
        ("8520", F.col("birth_date") > census_end()),
        ("CSC-CODE", bad_code("sex_raw", codes.GENDER_TO_SEX)
            | bad_code("ethnicity", codes.ETHNICITY_GROUP)
            | F.exists(disabilities, lambda d: ~F.upper(F.trim(d)).isin(list(codes.DISABILITY_CODES)))),
    ]


def care_episode_checks() -> Checks:
    """SSDA903 episodes; rule ids are the DfE's SSDA903 validation rules (501 and 142, which compare episodes of a
    child, are in quality/record_sets.py). REC takes every year's codes: older returns use E43 and E44."""
    return [
        ("CSC-KEY", F.col("child_key").isNull() | value("DECOM").isNull()),
        ("CSC-DATE", _any_bad_date("DECOM", "DEC", fmt=UK_DATE)),
        ("143", bad_code("RNE", codes.RNE_CODES)),
        ("149", bad_code("REC", codes.REC_CODES)),
        ("356", to_date("DEC", UK_DATE) < to_date("DECOM", UK_DATE)),
    ]


def ks4_checks() -> Checks:
    return [
        ("CSC-KEY", F.col("pupil_key").isNull()),
        ("CSC-NUMBER", bad_number("KS4_ATT8") | bad_number("KS4_P8")),
    ]


def exclusion_checks() -> Checks:
    return [
        ("CSC-KEY", F.col("pupil_key").isNull()),
        ("CSC-NUMBER", bad_int("SUSPENSIONS")),
        ("CSC-CODE", bad_bool("PERMANENT_EXCLUSION")),
    ]


def sen_checks() -> Checks:
    return [
        ("CSC-KEY", F.col("pupil_key").isNull()),
        ("CSC-CODE", bad_code("SENprovision", ("E", "K", "N"))),
    ]
