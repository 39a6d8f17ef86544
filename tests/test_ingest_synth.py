"""Ingest the synthetic generator's output with injected defects: the quarantine must match its truth exactly."""
from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections import Counter

import pytest
from csc_demand import cli
from csc_demand.io import delta
from csc_demand.synth import generate
from helpers.lakehouse import lakehouse_config

SCALE, SEED, DEFECTS = 0.002, 11, 0.05


@pytest.fixture(scope="module")
def synth_run(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("synth-defects")
    generate(spark, out / "source", scale=SCALE, seed=SEED, defects=DEFECTS, first_year=2015, last_year=2017)
    lakehouse = out / "lakehouse"
    cfg = lakehouse_config(lakehouse)
    code = cli.main(["ingest", "--source", str(out / "source"), "--lakehouse", str(lakehouse),
                     "--set", f"pseudonym_key={cfg.pseudonym_key}"])
    with open(out / "source" / "_truth" / "defects.csv", newline="") as handle:
        truth = list(csv.DictReader(handle))
    summary = json.loads(next((lakehouse / "_runs").glob("ingest-*.json")).read_text())
    return cfg, code, truth, summary


def test_quarantine_matches_the_injected_defects_exactly(spark, synth_run):
    cfg, code, truth, summary = synth_run
    key = cfg.resolve_pseudonym_key()

    def child_key(la: str, child_id: str) -> str:
        return hmac.new(key.encode(), f"{la}|{child_id}".encode(), hashlib.sha256).hexdigest()

    expected = Counter((t["rule_id"], t["source_file"], t["table"], child_key(t["la_code"], t["child_id"]))
                       for t in truth if t["rule_id"] != "CSC-FILE")
    got = Counter()
    for r in delta.read_table(spark, cfg, "silver", "quarantine").collect():
        got[(r["rule_id"], r["source_file"], r["table_name"], r["child_key"])] += r["occurrences"]
    assert sum(expected.values()) > 20  # the check has teeth: many defects of several kinds
    assert got - expected == Counter() and expected - got == Counter()
    failed_files = sorted(f.split(": ")[0] for f in summary["metrics"]["failed_files"])
    assert failed_files == sorted(t["source_file"] for t in truth if t["rule_id"] == "CSC-FILE")
    assert code == (1 if failed_files else 0)
