"""The schema registry (csc_demand.table_schemas): docs/tables.md names the same columns, in the same order, for
every registered table; the read-time contract check names table, column, expected and found type. (The tables
the pipeline writes, with their comments and constraints, are compared with it in test_pipeline.py.)"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from csc_demand.errors import SchemaContractError
from csc_demand.table_schemas import TABLES, check_schema, table_schema
from pyspark.sql import functions as F

DOCS = (Path(__file__).parents[1] / "docs" / "tables.md").read_text()
# Shorthands docs/tables.md uses in the outcome tables' column lists.
FU = ["censor_date", "at_risk", "event", "censored", "followup_days", "potential_followup_days"]
CAT = ["category_id", "category_name"]


def _top_level_items(cell: str) -> list[str]:
    """A docs column cell split at its commas outside parentheses and backticks."""
    items, depth, current, quoted = [], 0, "", False
    for ch in cell:
        quoted = not quoted if ch == "`" else quoted
        depth += (ch == "(") - (ch == ")") if not quoted else 0
        if ch == "," and depth == 0 and not quoted:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    return [*items, current.strip()]


def _names(cell: str) -> list[str]:
    names: list[str] = []
    for item in _top_level_items(cell):
        shorthand = item.split(" ", 1)[0]
        names += FU if shorthand == "FU" else CAT if shorthand == "CAT" else re.findall(r"^`(\w+)`", item)
    return names


def documented_columns() -> dict[str, list[str]]:
    """``layer.table`` -> column names as docs/tables.md lists them (silver and the outcomes' gold tables in their
    tables, gold.data_quality in its one row, gold.assessment_category and category_profiles one per line)."""
    silver = DOCS[DOCS.index("\n### Silver\n"):DOCS.index("#### Quality rules")]
    gold = DOCS[DOCS.index("### Gold tables written by"):]
    found = {f"{m[1]}.{m[2]}": _names(m[3])
             for m in re.finditer(r"^\| `(silver|gold).(\w+)` \| .*? \| (.*) \|$", silver + gold, re.M)}
    quality = DOCS[DOCS.index("### gold.data_quality"):DOCS.index("### gold.assessment_category")]
    found["gold.data_quality"] = _names(re.search(r"^\| \(`la_code`.*?\) \| (.*) \|$", quality, re.M)[1])
    for table in ("assessment_category", "category_profiles"):
        start = DOCS.index(f"### gold.{table}")
        section = DOCS[start:DOCS.index("\n### ", start + 1)]
        found[f"gold.{table}"] = re.findall(r"^\| `(\w+)` \|", section, re.M)
    return found


def test_docs_list_every_registered_table_with_the_registry_columns_in_order():
    documented = documented_columns()
    registered = {f"{s.layer}.{s.name}": s.names for s in TABLES.values()}
    assert sorted(documented) == sorted(registered)
    assert {t: documented[t] for t in registered if documented[t] != registered[t]} == {}


def test_docs_silver_contract_is_the_registry_contract():
    contract = DOCS[DOCS.index("## Silver contract"):DOCS.index("## Bronze and silver tables")]
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `silver.(\w+)` \| .*? \| (.*) \|$", contract, re.M)}
    for table, cell in rows.items():
        schema = table_schema("silver", table)
        if not schema.contract:  # documented for readers, not read by a later stage
            continue
        assert _names(cell) == list(schema.contract), table
        written = [re.match(r"^`(\w+)` (array<\w+>|[a-z]+\b)", item) for item in _top_level_items(cell)]
        typed = {m[1]: m[2] for m in written if m}
        types = {c.name: c.type.simpleString() for c in schema.columns}
        assert {c: t for c, t in typed.items() if types[c] != t} == {}, table


def test_every_key_column_is_a_column_and_every_silver_key_is_not_null():
    for schema in TABLES.values():
        assert set(schema.key) <= set(schema.names), schema.name
        assert set(schema.contract) <= set(schema.names), schema.name
        assert all(c.comment for c in schema.columns), schema.name
        if schema.layer == "silver":
            assert set(schema.key) <= set(schema.not_null), schema.name


def test_check_schema_passes_a_frame_with_the_contract_columns_and_more(spark):
    df = spark.createDataFrame([], table_schema("silver", "cin_plans").struct).withColumn("extra", F.lit(1))
    assert check_schema(df, "silver", "cin_plans") is df


def test_check_schema_names_the_table_and_each_missing_or_mistyped_column(spark):
    df = spark.createDataFrame([], "referral_key string, child_key string, la_code int, start_date string, "
                                   "end_date date")
    with pytest.raises(SchemaContractError) as err:
        check_schema(df.drop("child_key"), "silver", "cin_plans")
    assert str(err.value) == ("silver.cin_plans: child_key (string) is missing; la_code is int, expected string; "
                              "start_date is string, expected date (see docs/tables.md); re-run the stage that "
                              "writes it")
