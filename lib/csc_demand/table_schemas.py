"""Every silver and gold table's schema, declared once (in table_schemas.yml, beside this module): columns in
their written order with type and comment, the natural key, NOT NULL columns and CHECK constraints, the columns
later stages rely on (``contract``) and a one-line description.

Derived from it: the Delta constraints and the table and column comments (``io.delta.ensure_table`` for silver,
``io.delta.write_table``), the read-time contract check with names and types (``check_schema``),
``outcomes.contract.INPUT_SCHEMAS`` and the gold columns of ``model.assign``. docs/tables.md describes the same
tables: ``tests/test_table_schemas.py`` fails when the two disagree, and ``tests/test_pipeline.py`` compares every
table a run writes with it.

In the YAML file a column is ``name: [type, comment]`` (types as Spark writes them: string, int, bigint, double,
boolean, date, timestamp, ``array<string>``, with `` not null elements`` when the array holds no nulls), or just
``name`` for one of ``shared_columns``, or a group of ``column_groups`` (``FU``, ``CAT``). CHECKs may name
``{factor_codes}``, ``{rne_codes}`` and ``{n_indicators}``, filled in from ``csc_demand.codes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from csc_demand import codes
from csc_demand.errors import SchemaContractError


@dataclass(frozen=True)
class Column:
    name: str
    type: T.DataType
    comment: str
    not_null: bool = False

    @property
    def field(self) -> T.StructField:
        """The column as written: nullable unless NOT NULL, its comment in the field metadata (as Spark keeps it)."""
        return T.StructField(self.name, self.type, not self.not_null, {"comment": self.comment})


@dataclass(frozen=True)
class TableSchema:
    layer: str
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: dict[str, str] = field(default_factory=dict)  # Delta CHECK constraints: name -> SQL expression
    contract: tuple[str, ...] = ()  # the columns later stages read, checked (names and types) when they read it

    @property
    def struct(self) -> T.StructType:
        return T.StructType([c.field for c in self.columns])

    @property
    def not_null(self) -> list[str]:
        return [c.name for c in self.columns if c.not_null]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, names: tuple[str, ...] | list[str] | None = None) -> str:
        """``name type, ...`` of the given columns (default all), e.g. for ``spark.createDataFrame(rows, ddl)``."""
        by_name = {c.name: c for c in self.columns}
        return ", ".join(f"{n} {by_name[n].type.simpleString()}" for n in (names or self.names))


SIMPLE_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(), "int": T.IntegerType(), "bigint": T.LongType(), "double": T.DoubleType(),
    "boolean": T.BooleanType(), "date": T.DateType(), "timestamp": T.TimestampType()}
NO_NULL_ELEMENTS = " not null elements"


def parse_type(text: str) -> T.DataType:
    if text.startswith("array<"):
        element = text.removesuffix(NO_NULL_ELEMENTS)
        return T.ArrayType(SIMPLE_TYPES[element[len("array<"):-1]], containsNull=not text.endswith(NO_NULL_ELEMENTS))
    return SIMPLE_TYPES[text]


def _load(text: str) -> dict[tuple[str, str], TableSchema]:
    spec = yaml.safe_load(text)
    shared = spec["shared_columns"]
    placeholders = {"factor_codes": ", ".join(f"'{c}'" for c in codes.ALL_FACTOR_CODES),
                    "rne_codes": ", ".join(f"'{c}'" for c in codes.RNE_CODES),
                    "n_indicators": len(codes.INDICATOR_NAMES)}

    def columns(entries: list[Any], not_null: set[str]) -> tuple[Column, ...]:
        declared: list[tuple[str, list[str]]] = []
        for entry in entries:
            if isinstance(entry, dict):
                declared += list(entry.items())
            elif entry in spec["column_groups"]:
                declared += [(name, shared[name]) for name in spec["column_groups"][entry]]
            else:
                declared.append((entry, shared[entry]))
        return tuple(Column(name, parse_type(kind), comment, name in not_null) for name, (kind, comment) in declared)

    tables = {}
    for qualified, table in spec["tables"].items():
        layer, name = qualified.split(".")
        tables[(layer, name)] = TableSchema(
            layer, name, table["description"], tuple(table["key"]),
            columns(table["columns"], set(table.get("not_null", ()))),
            {check: expression.format(**placeholders) for check, expression in table.get("checks", {}).items()},
            tuple(table.get("contract", ())))
    return tables


TABLES: dict[tuple[str, str], TableSchema] = _load(
    resources.files("csc_demand").joinpath("table_schemas.yml").read_text())


def table_schema(layer: str, table: str) -> TableSchema:
    return TABLES[(layer, table)]


def with_comments(df: DataFrame, schema: TableSchema) -> DataFrame:
    """``df`` with each registered column's comment in its field metadata, which Delta stores with the schema (and
    Unity Catalog shows as the column comment) when a write replaces the schema."""
    comments = {c.name: c.comment for c in schema.columns}
    return df.select(*[df[c].alias(c, metadata={"comment": comments[c]}) if c in comments else df[c]
                       for c in df.columns])


def check_schema(df: DataFrame, layer: str, table: str) -> DataFrame:
    """Return ``df`` unchanged when it has every contract column of ``layer.table`` with its registered type (more
    columns are allowed); else raise a SchemaContractError naming the table and each column missing or of another
    type, expected and found (the check of quinn's ``validate_schema``, nullability ignored)."""
    schema = table_schema(layer, table)
    found = {f.name: f.dataType for f in df.schema.fields}
    problems = []
    for column in (c for c in schema.columns if c.name in schema.contract):
        expected = column.type.simpleString()
        if column.name not in found:
            problems.append(f"{column.name} ({expected}) is missing")
        elif found[column.name].simpleString() != expected:
            problems.append(f"{column.name} is {found[column.name].simpleString()}, expected {expected}")
    if problems:
        raise SchemaContractError(f"{layer}.{table}: " + "; ".join(problems) + " (see docs/tables.md); re-run the "
                                  "stage that writes it")
    return df
