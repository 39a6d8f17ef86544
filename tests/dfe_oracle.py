"""Run the DfE's own validators on one return and print what they flag, as JSON lines {rule, child, table}.

Runs under .venv-dfe (made by `make test` from constraints-dfe.txt; the validators need pandas < 2), called by
tests/test_dfe_validator.py:

    .venv-dfe/bin/python tests/dfe_oracle.py cin RULESET RULE,RULE,... FILE.xml
    .venv-dfe/bin/python tests/dfe_oracle.py 903 RULESET RULE,RULE,... COLLECTION_YEAR HEADER.csv EPISODES.csv
    .venv-dfe/bin/python tests/dfe_oracle.py registry RULESET   (every rule: {rule, message, fields, tables})

The API is the one each package's own command line uses (cin_validator/__main__.py, lac_validator/__main__.py).
"""
from __future__ import annotations

import importlib
import json
import logging
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def registry(ruleset: str) -> dict:
    package = "cin_validator" if ruleset.startswith("cin") else "lac_validator"
    return importlib.import_module(f"{package}.rules.{ruleset}").registry


def cin_issues(ruleset: str, selected: list[str], path: str) -> list[dict]:
    from cin_validator import cin_validator
    tables = cin_validator.process_data(cin_validator.convert_data(ET.parse(path).getroot()))
    issues = cin_validator.CinValidator(tables, registry(ruleset), selected_rules=selected).full_issue_df
    return [{"rule": str(r.rule_code), "child": str(r.child_id), "table": str(r.tables_affected)}
            for r in issues.itertuples()]


def lac_issues(ruleset: str, selected: list[str], collection_year: str, *paths: str) -> list[dict]:
    from lac_validator.lac_validator import LacValidator
    files = [{"name": Path(p).name, "file_content": Path(p).read_bytes(), "description": "This year"} for p in paths]
    # any real LA code: it only places postcodes, and our returns carry none
    validator = LacValidator(metadata={"collectionYear": collection_year, "localAuthority": "E09000027"},
                             files=files, registry=registry(ruleset), selected_rules=selected)
    found = []
    for table, frame in validator.ds_results.items():
        if table == "metadata":
            continue
        for column in (c for c in frame.columns if c.startswith("ERR_")):
            for child in frame.loc[frame[column] == True, "CHILD"]:  # noqa: E712 (a column of True/NaN)
                found.append({"rule": column[4:], "child": str(child), "table": table})
    return found


def main(argv: list[str]) -> None:
    logging.disable(logging.CRITICAL)  # the 903 validator logs every rule at INFO
    mode, ruleset, *rest = argv
    if mode == "registry":
        rows = [{"rule": str(rule.code), "message": " ".join(str(rule.message).split()),
                 "fields": sorted({str(f).split(".")[-1] for f in rule.affected_fields or []}),
                 "tables": sorted({str(t) for t in (getattr(rule, "tables", None) or []) if t})}
                for rule in registry(ruleset).values()]
    elif mode == "cin":
        rows = cin_issues(ruleset, rest[0].split(","), *rest[1:])
    else:
        rows = lac_issues(ruleset, rest[0].split(","), *rest[1:])
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main(sys.argv[1:])
