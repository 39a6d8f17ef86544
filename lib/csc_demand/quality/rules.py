"""Quality rules as code, one list per silver table, in the order they are tried (the first failing rule rejects
the record). Each entry is (rule id from quality.catalog.RULES, a boolean Column over the staged string columns).

Staged columns are the formats' raw strings under common names (see transform/cin_xml_records.py,
transform/cin_npd_records.py, transform/care_episodes.py), their dates also parsed (checks.with_parsed_dates);
rules never see identifiers, only ``child_key``.
Rules that compare records with each other (CSC-DUP, 8940, episode sequences, ...) are in quality/record_sets.py.
"""
from __future__ import annotations

from functools import reduce

from pyspark.sql import Column
from pyspark.sql import functions as F

from csc_demand import codes
from csc_demand.quality.checks import (
    ISO_DATE,
    bad_bool,
    bad_code,
    bad_date,
    bad_int,
    bad_number,
    is_bad_date,
    parsed,
    to_bool,
    to_date,
    value,
)

Checks = list[tuple[str, Column]]


def _referral_date() -> Column:
    return parsed("referral_date_raw")


def _nfa() -> Column:
    return F.coalesce(to_bool("referral_nfa_raw"), F.lit(False))


def _any_bad_date(*names: str) -> Column:
    return reduce(Column.__or__, [is_bad_date(name) for name in names])


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


def outside_census_year(date: Column) -> Column:
    return (date < census_start()) | (date > census_end())


def _after_closure(*names: str) -> Column:
    """8565: a date of the record (a referral's activity) is after its referral's closure."""
    closure = parsed("closure_date_raw")
    return reduce(Column.__or__, [closure < parsed(name) for name in names])


def referral_checks() -> Checks:
    """Over staged referrals; ``birth_date_raw`` is the child's (expected) birth date as YYYY-MM-DD (NPD: the
    first of the birth month, so 8606 only fires when the referral is surely too early)."""
    closure = parsed("closure_date_raw")
    return [
        ("8500", F.col("child_key").isNull()),
        ("8600", value("referral_date_raw").isNull()),
        ("CSC-DATE", _any_bad_date("referral_date_raw", "closure_date_raw", "initial_cpc_raw")),
        ("8600", _referral_date() > census_end()),
        ("8630", closure < _referral_date()),
        ("8620", (closure < census_start()) | (closure > census_end())),
        ("8606", _referral_date() < F.date_sub(parsed("birth_date_raw"), 280)),
        ("CSC-CODE", bad_bool("referral_nfa_raw")
            | bad_code("closure_reason", codes.CLOSURE_REASONS)
            | bad_code("referral_source", codes.REFERRAL_SOURCES)
            | bad_code("primary_need", codes.PRIMARY_NEED_CODES)),
        ("8810", value("closure_reason").isNotNull() & value("closure_date_raw").isNull()),
        ("8805", value("closure_date_raw").isNotNull() & value("closure_reason").isNull()),
        ("8610", (to_bool("referral_nfa_raw") == F.lit(False)) & value("primary_need").isNull()),
        ("2990", F.upper(value("closure_reason")).isin("RC8", "RC9")  # closed after assessment, yet more activity
            & (value("initial_cpc_raw").isNotNull() | (F.col("n_cp_plans") > 0) | (F.col("n_cin_plans") > 0)
               | (F.col("n_section47") > 0))),
        ("8565", _after_closure("initial_cpc_raw")),
    ]


def assessment_checks() -> Checks:
    """Over staged assessments with ``factor_codes`` (normalised_factors) added."""
    factors = F.col("factor_codes")
    return [
        ("CSC-KEY", value("start_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "review_raw", "authorised_raw")),
        ("1103", parsed("start_raw") < _referral_date()),
        ("8608", parsed("authorised_raw") < parsed("start_raw")),
        # 8696 upper bound only: annual returns repeat an open referral's earlier assessments (docs/tables.md); so
        # do 8930, 4013 and 8715 below for plans and enquiries
        ("8696", parsed("authorised_raw") > census_end()),
        ("8736", value("authorised_raw").isNull() & ~parsed("start_raw").between(census_start(),
                                                                                           census_end())),
        # exists: array_except built a hash set of every known code for each row (15 times slower)
        ("CSC-FACTOR", F.exists(factors, lambda code: ~code.isin(list(codes.ALL_FACTOR_CODES)))),
        ("8869", F.array_contains(factors, codes.NO_FACTOR_CODE) & (F.size(F.array_distinct(factors)) > 1)),
        ("8898", F.size(F.array_distinct(factors)) < F.size(factors)),
        ("8831", _nfa()),
        ("8614", value("authorised_raw").isNull() & (F.size(factors) > 0)),
        ("8867", value("closure_date_raw").isNotNull() & value("authorised_raw").isNull()),  # closed, still open
        ("8565", _after_closure("start_raw", "authorised_raw")),
    ]


def cp_plan_checks() -> Checks:
    reviews = F.coalesce(F.col("review_dates_raw"), F.array().cast("array<string>"))
    return [  # the first three only fire on NPD plan rows, which carry their referral's key themselves
        ("8500", F.col("child_key").isNull()),
        ("CSC-KEY", value("start_raw").isNull() | value("referral_date_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "end_raw", "referral_date_raw")
            | F.exists(reviews, lambda r: bad_date(r, ISO_DATE))),
        ("1105", parsed("start_raw") < _referral_date()),
        ("8925", parsed("end_raw") < parsed("start_raw")),
        ("CSC-CODE", bad_code("initial_category", codes.ABUSE_CATEGORIES)
            | bad_code("latest_category", codes.ABUSE_CATEGORIES)),
        ("CSC-NUMBER", bad_int("previous_cpp_raw")),
        ("8832", _nfa()),
        ("8720", value("start_raw").isNull() | (parsed("start_raw") > census_end())),
        ("8840", parsed("start_raw") == parsed("end_raw")),
        ("8930", parsed("end_raw") > census_end()),  # upper bound only, as 8696
        ("8730", value("previous_cpp_raw").isNull() | (value("previous_cpp_raw").try_cast("int") < 0)),
        ("8841", F.exists(reviews, lambda r: to_date(r, ISO_DATE) <= parsed("start_raw"))),
        ("8565", _after_closure("end_raw")),
    ]


def cin_plan_checks() -> Checks:
    return [
        ("CSC-KEY", value("start_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "end_raw")),
        ("4015", parsed("start_raw") < _referral_date()),
        ("4011", parsed("end_raw") < parsed("start_raw")),
        ("4000", _nfa()),
        ("4010", value("start_raw").isNull() | (parsed("start_raw") > census_end())),
        ("4013", parsed("end_raw") > census_end()),  # upper bound only, as 8696
        ("8565", _after_closure("start_raw", "end_raw")),
    ]


def section47_checks() -> Checks:
    return [
        ("CSC-KEY", value("start_raw").isNull()),
        ("CSC-DATE", _any_bad_date("start_raw", "icpc_target_raw", "icpc_raw")),
        ("CSC-CODE", bad_bool("icpc_not_required_raw")),
        ("2889", parsed("start_raw") < _referral_date()),
        ("1104", parsed("icpc_raw") < _referral_date()),
        ("8831", _nfa()),
        ("8615", (parsed("start_raw") > parsed("icpc_raw"))
            | (value("icpc_raw").isNotNull() & value("start_raw").isNull())),
        ("8715", parsed("icpc_raw") > census_end()),  # upper bound only, as 8696
        ("8740", value("icpc_raw").isNull() & (to_bool("icpc_not_required_raw") == F.lit(False))
            & outside_census_year(parsed("start_raw"))),
        ("8868", value("closure_date_raw").isNotNull()  # closed, yet the enquiry neither held nor waived its ICPC
            & (value("icpc_raw").isNull() != F.coalesce(to_bool("icpc_not_required_raw"), F.lit(False)))),
        ("8565", _after_closure("start_raw", "icpc_raw")),
    ]


def child_checks(source: str) -> Checks:
    """Staged children of the CIN census (XML or NPD: ``source`` "cin") or of SSDA903 headers ("ssda903"); they
    carry ``birth_date_bad`` (each format writes birth dates its own way)."""
    disabilities = F.transform(F.coalesce(F.col("disabilities"), F.array().cast("array<string>")),
                               lambda d: F.upper(F.trim(d)))
    codes_known = (bad_code("sex_raw", codes.GENDER_TO_SEX) | bad_code("ethnicity", codes.ETHNICITY_GROUP)
                   | F.exists(disabilities, lambda d: ~d.isin(list(codes.DISABILITY_CODES))))
    if source == "ssda903":
        return [("CSC-KEY", F.col("child_key").isNull()), ("CSC-DATE", F.col("birth_date_bad")),
                ("301", F.col("birth_date") > census_end()), ("CSC-CODE", codes_known),
                ("351", F.add_months(F.col("birth_date"), 12 * 25) < census_start())]  # over 25
    unborn = F.col("birth_date").isNull() & F.col("expected_birth_date").isNotNull()
    return [
        ("8500", F.col("child_key").isNull()),
        ("CSC-DATE", F.col("birth_date_bad")),
        ("8520", F.col("birth_date") > census_end()),
        ("CSC-CODE", codes_known),
        ("4180", value("sex_raw").isNull()),
        ("8750", unborn & F.coalesce(value("sex_raw") != "0", F.lit(True))),
        ("8790", F.array_contains(disabilities, "NONE") & F.exists(disabilities, lambda d: d != "NONE")),
        ("8794", F.size(F.array_distinct(disabilities)) < F.size(disabilities)),
    ]


def _aged(years: int, on: Column) -> Column:
    """The child (``birth_date`` from the return's header) is ``years`` old or more on ``on``."""
    return F.add_months(F.col("birth_date"), 12 * years) <= on


def care_episode_checks() -> Checks:
    """SSDA903 episodes with ``birth_date`` from the return's header; rule ids are the DfE's SSDA903 validation
    rules (those comparing a child's episodes are in quality/record_sets.py). REC takes every year's codes: older
    returns use E43 and E44. An unknown age fires no age rule."""
    start, end, rec = parsed("DECOM"), parsed("DEC"), F.upper(value("REC"))
    return [
        ("CSC-KEY", F.col("child_key").isNull() | value("DECOM").isNull()),
        ("CSC-DATE", _any_bad_date("DECOM", "DEC")),
        ("143", bad_code("RNE", codes.RNE_CODES)),
        ("149", bad_code("REC", codes.REC_CODES)),
        ("356", parsed("DEC") < parsed("DECOM")),
        ("144", bad_code("LS", codes.LEGAL_STATUS_CODES)),
        ("145", bad_code("CIN", codes.CATEGORY_OF_NEED_CODES)),
        ("146", bad_code("PLACE", codes.PLACEMENT_CODES)),
        ("148", value("DEC").isNull() != value("REC").isNull()),
        ("353", start < F.lit("1991-10-14").cast("date")),  # the Children Act 1989 in force
        ("354", start > census_end()),
        ("385", end > census_end()),
        ("355", end == start),
        ("302", start < F.col("birth_date")),
        ("352", (F.upper(value("RNE")) == "S") & _aged(18, start)),
        ("386", rec.isin("E11", "E12") & _aged(18, end)),                    # adopted
        ("407", rec.isin("E45", "E46", "E47", "E48") & (F.add_months(F.col("birth_date"), 216) < end)),  # SGO
        ("387", rec.isin("E5", "E6") & ~_aged(14, end)),                     # independent living
        ("389", (rec == "E7") & ~_aged(16, end)),                            # adult social care
        ("460", (rec == "E17") & ~_aged(18, end)),                           # stayed with carers at 18
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
