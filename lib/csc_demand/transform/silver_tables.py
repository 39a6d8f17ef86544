"""All silver tables from the bronze tables: validated records per table (for reconciliation and quarantine)
and the silver rows (each table's schema, natural key and Delta constraints: ``csc_demand.table_schemas``).

``validated_records`` returns, per silver table, every record copy received with ``rule_id`` (null = accepted)
and ``with_parent``; ``silver_frames`` turns them into the tables. Pure DataFrame functions: the ingest stage
reads bronze and writes silver.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from csc_demand.quality.checks import without_parsed_dates
from csc_demand.quality.quarantine import quarantine_rows
from csc_demand.quality.record_sets import apply_rules, apply_set_rules, by_person, referral_set_checks
from csc_demand.quality.rules import (
    exclusion_checks,
    ks4_checks,
    referral_checks,
    sen_checks,
)
from csc_demand.transform import cin_npd_records as npd
from csc_demand.transform import cin_xml_records as xml
from csc_demand.transform import silver_cin as cin
from csc_demand.transform.care_episodes import (
    header_births,
    silver_care_episodes,
    staged_header_children,
    validated_episodes,
)
from csc_demand.transform.care_periods import care_periods
from csc_demand.transform.children import (
    STAGED_CHILD,
    silver_children,
    validated_children,
)
from csc_demand.transform.school import (
    school_outcomes,
    silver_exclusions,
    silver_ks4,
    silver_sen,
    validated_ks4,
    validated_school,
)

# tables built from other silver tables: their rows are not records received from files
DERIVED = {"assessment_factors", "care_periods", "school_outcomes"}


def validated_records(bronze: dict[str, DataFrame], key: str) -> tuple[dict[str, DataFrame], dict[str, DataFrame]]:
    """Bronze tables (by kind) -> validated record copies per silver table, and the record sets several of them
    are built from, by name, to persist: the XML referrals with their nested blocks (every nested table is
    exploded from them), the NPD CIN rows with their referral's rules (children, referrals and assessments) and
    the SSDA903 header's children (children and care episodes). Unpersisted, each table would read, key and
    shuffle them again.

    Records are partitioned by child (CIN, 903) or pupil (school) as they are keyed (record_sets.by_person)."""
    xml_children = by_person(xml.staged_children(bronze["cin_xml"], key), "child_key")
    xml_referrals = without_parsed_dates(apply_set_rules(  # persisted: without the dates only its rules read
        apply_rules(by_person(xml.staged_referrals(bronze["cin_xml"], key), "child_key"), referral_checks()),
        referral_set_checks()))
    npd_rows = npd.with_referral_rules(by_person(npd.keyed_rows(bronze["npd_cin"], "npd_cin", key), "child_key"))
    npd_cpp = by_person(npd.keyed_rows(bronze["npd_cpp"], "npd_cpp", key), "child_key")
    children = validated_children(cin.stack([xml_children, npd.staged_children(npd_rows)], STAGED_CHILD),
                                  "cin")
    header_children = by_person(staged_header_children(bronze["ssda903_header"], key), "child_key")
    care_children = validated_children(header_children, "ssda903")
    xml_cp_plans = xml.staged_cp_plans(xml_referrals).select(*cin.STAGED_CP_PLAN)
    validated = {
        "children": children.unionByName(care_children),
        "referrals": cin.validated_referrals(
            cin.stack([xml_referrals, npd.staged_referrals(npd_rows)], cin.STAGED_REFERRAL)),
        "assessments": cin.validated_assessments(
            cin.stack([xml.staged_assessments(xml_referrals), npd.staged_assessments(npd_rows)],
                      cin.STAGED_ASSESSMENT)),
        "cp_plans": cin.validated_cp_plans(cin.stack([xml_cp_plans, npd.staged_cp_plans(npd_cpp)], cin.STAGED_CP_PLAN)),
        "cin_plans": cin.validated_cin_plans(xml.staged_cin_plans(xml_referrals).select(*cin.STAGED_CIN_PLAN),
                                             cin.checked_cp_plans(xml_cp_plans)),
        "section47": cin.validated_section47(xml.staged_section47(xml_referrals).select(*cin.STAGED_SECTION47)),
        "care_episodes": validated_episodes(bronze["ssda903_episodes"], key, header_births(header_children)),
        "school_ks4": validated_ks4(_pupil_rows(bronze, "npd_ks4", key), ks4_checks()),
        "school_exclusions": validated_school(_pupil_rows(bronze, "npd_exclusions", key), exclusion_checks()),
        "school_sen": validated_school(_pupil_rows(bronze, "npd_sen", key), sen_checks()),
    }
    return validated, {"xml_referrals": xml_referrals, "npd_rows": npd_rows, "header_children": header_children}


def _pupil_rows(bronze: dict[str, DataFrame], kind: str, key: str) -> DataFrame:
    return by_person(npd.keyed_rows(bronze[kind], kind, key), "pupil_key")


def silver_frames(validated: dict[str, DataFrame]) -> dict[str, DataFrame]:
    """Validated records -> the silver tables made from records received (all but DERIVED)."""
    return {
        "children": silver_children(validated["children"]),
        "referrals": cin.silver_referrals(validated["referrals"]),
        "assessments": cin.silver_assessments(validated["assessments"]),
        "cp_plans": cin.silver_cp_plans(validated["cp_plans"]),
        "cin_plans": cin.silver_cin_plans(validated["cin_plans"]),
        "section47": cin.silver_section47(validated["section47"]),
        "care_episodes": silver_care_episodes(validated["care_episodes"]),
        "school_ks4": silver_ks4(validated["school_ks4"]),
        "school_exclusions": silver_exclusions(validated["school_exclusions"]),
        "school_sen": silver_sen(validated["school_sen"]),
    }


def derived_frames(silver: Callable[[str], DataFrame]) -> dict[str, DataFrame]:
    """The DERIVED tables from the other silver tables (``silver(name)`` gives one, e.g. read back once written)."""
    return {
        "assessment_factors": cin.silver_assessment_factors(silver("assessments")),
        "care_periods": care_periods(silver("care_episodes")),
        "school_outcomes": school_outcomes(silver("school_ks4"), silver("school_exclusions"), silver("school_sen")),
    }


# silver table -> the NPD kind its records come from, for reading a quarantined record's line back from bronze
NPD_KIND = {"children": "npd_cin", "referrals": "npd_cin", "assessments": "npd_cin", "cp_plans": "npd_cpp",
            "school_ks4": "npd_ks4", "school_exclusions": "npd_exclusions", "school_sen": "npd_sen"}


def all_quarantine_rows(validated: dict[str, DataFrame], bronze: dict[str, DataFrame], key: str,
                        rejecting: set[str]) -> DataFrame:
    """Every table's own rejections; NPD ones (no raw_record yet) with their line from bronze. ``rejecting``: the
    tables that rejected records themselves (reconciliation_counts), so that a clean load reads no bronze back."""
    frames = [quarantine_rows(next(iter(validated.values())), "none").filter(F.lit(False))]  # the columns, no rows
    for table, df in validated.items():
        if table not in rejecting:
            continue
        rows = quarantine_rows(df, table)
        if table in NPD_KIND:
            from_npd = rows.filter(F.col("raw_record").isNull())
            frames += [rows.filter(F.col("raw_record").isNotNull()),
                       npd.with_raw_lines(from_npd, bronze[NPD_KIND[table]], NPD_KIND[table], key)
                       .select(*rows.columns)]
        else:
            frames.append(rows)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def reconciliation_counts(per_rule: DataFrame, tables: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per table (zeros for one without records): received / accepted / quarantined (including
    quarantined_with_parent), from the record counts per return, table and rule (``data_quality.record_counts``),
    in one Spark job."""
    rows = per_rule.groupBy("table_name", F.col("rule_id").isNull().alias("ok")).agg(
        F.sum("records").alias("records"), F.sum("with_parent").alias("with_parent")).collect()
    result = {table: {"received": 0, "accepted": 0, "quarantined": 0, "quarantined_with_parent": 0}
              for table in tables}
    for row in rows:
        counts = result[row["table_name"]]
        counts["received"] += row["records"]
        if row["ok"]:
            counts["accepted"] += row["records"]
        else:
            counts["quarantined"] += row["records"]
            counts["quarantined_with_parent"] += row["with_parent"]
    return result
