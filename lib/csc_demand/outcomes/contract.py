"""The input columns the outcome measures rely on (docs/tables.md "Silver contract"): each table's ``contract`` in
the schema registry (``csc_demand.table_schemas``), checked with their types by ``check_schema`` before use."""
from __future__ import annotations

from csc_demand.table_schemas import table_schema

INPUT_TABLES = {"children": "silver", "referrals": "silver", "assessments": "silver", "cp_plans": "silver",
                "cin_plans": "silver", "care_periods": "silver", "school_outcomes": "silver",
                "assessment_category": "gold"}

# table -> "name type, ..." of its contract columns (e.g. for ``spark.createDataFrame(rows, INPUT_SCHEMAS[t])``)
INPUT_SCHEMAS: dict[str, str] = {table: table_schema(layer, table).ddl(table_schema(layer, table).contract)
                                 for table, layer in INPUT_TABLES.items()}


def required_columns(table: str) -> list[str]:
    return list(table_schema(INPUT_TABLES[table], table).contract)
