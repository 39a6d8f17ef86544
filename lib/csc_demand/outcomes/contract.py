"""The input columns the outcome measures rely on (docs/tables.md "Silver contract"), checked before use."""
from __future__ import annotations

from pyspark.sql import DataFrame

from csc_demand.errors import SchemaContractError

INPUT_SCHEMAS: dict[str, str] = {
    "children": "child_key string, la_code string, pupil_key string, birth_date date, sex string, "
                "ethnicity string, ethnic_group string, disabled boolean",
    "referrals": "referral_key string, child_key string, la_code string, referral_date date, closure_date date, "
                 "closure_reason string, referral_nfa boolean, referral_source string, primary_need string, "
                 "collection_year int",
    "assessments": "assessment_key string, referral_key string, child_key string, la_code string, start_date date, "
                   "authorised_date date, factor_codes array<string>, indicators array<int>, n_factors int, "
                   "has_factors boolean, collection_year int",
    "cp_plans": "cp_plan_key string, referral_key string, child_key string, la_code string, start_date date, "
                "end_date date, initial_category string, latest_category string, number_of_previous_cpp int",
    "cin_plans": "referral_key string, child_key string, la_code string, start_date date, end_date date",
    "care_periods": "child_key string, la_code string, period_start date, period_end date, end_rec string, "
                    "period_number int, n_episodes int, n_placements int",
    "school_outcomes": "pupil_key string, ks4_year int, att8 double, p8 double, suspended boolean, "
                       "permanently_excluded boolean, sen_provision string",
    "assessment_category": "assessment_key string, child_key string, la_code string, collection_year int, "
                           "category_id int, category_name string, posterior_probability double, "
                           "model_name string, model_version string",
}


def required_columns(table: str) -> list[str]:
    return [part.strip().split(" ", 1)[0] for part in INPUT_SCHEMAS[table].split(", ")]


def check_columns(df: DataFrame, table: str, layer: str = "silver") -> DataFrame:
    """Return ``df`` unchanged, or raise a ValueError naming the table and the columns it lacks."""
    missing = [c for c in required_columns(table) if c not in df.columns]
    if missing:
        raise SchemaContractError(f"{layer}.{table} lacks columns {missing} required by the outcomes stage "
                         f"(see docs/tables.md); re-run the stage that writes it")
    return df
