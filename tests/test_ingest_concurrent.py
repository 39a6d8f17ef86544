"""Two real `csc-demand ingest` processes into one lakehouse at the same time (issue 16, defect 4): first on a fresh
lakehouse (both create the same tables), then again on the existing tables with one more child each. Both must
succeed and the tables must hold every row of both, whatever the interleaving."""
from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import pytest
from csc_demand.errors import ConcurrentWriteError
from csc_demand.io import delta
from delta.exceptions import ConcurrentAppendException
from helpers.lakehouse import TEST_PSEUDONYM_KEY, lakehouse_config

# Two JVMs at once, twice: minutes on a quiet machine, but half an hour when five other Spark jobs share two cores
pytestmark = pytest.mark.timeout(3600)
LIB = Path(__file__).parents[1] / "lib"
SETTINGS = ["--set", f"pseudonym_key={TEST_PSEUDONYM_KEY}", "--set", "spark.shuffle_partitions=2",
            "--set", "spark.driver_memory=1g"]
CHILD = ("<Child><ChildIdentifiers><LAchildID>{id}</LAchildID><PersonBirthDate>2010-01-01</PersonBirthDate>"
         "<GenderCurrent>1</GenderCurrent></ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity>"
         "</ChildCharacteristics><CINdetails><CINreferralDate>2015-06-0{n}</CINreferralDate>"
         "<PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>0</ReferralNFA></CINdetails></Child>")


def write_return(source: Path, la: str, ids: list[str]) -> None:
    path = source / "cin_census" / "2016" / f"cin_{la}_2016.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    children = "".join(CHILD.format(id=child, n=n) for n, child in enumerate(ids, start=1))
    path.write_text(f"<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2016</Year>"
                    f"</CollectionDetails><Source><LEA>{la}</LEA></Source></Header><Children>{children}"
                    "</Children></Message>")


def ingest_together(sources: list[Path], lakehouse: Path, label: str) -> list[tuple[int, str]]:
    """Start one ingest per source at once; (exit code, stderr) of each. stderr goes to files named by ``label``
    (kept for a failure's cause): a pipe nobody reads while waiting could fill and stall the child."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(LIB), os.environ.get("PYTHONPATH", "")])}
    logs = [lakehouse.parent / f"{label}-{source.name}.stderr" for source in sources]
    children = []
    for source, log in zip(sources, logs, strict=True):
        with open(log, "w") as err:
            children.append(subprocess.Popen(
                [sys.executable, "-m", "csc_demand", "ingest", "--source", str(source), "--lakehouse",
                 str(lakehouse), *SETTINGS], env=env, stdout=subprocess.DEVNULL, stderr=err))
    return [(child.wait(timeout=1500), log.read_text()) for child, log in zip(children, logs, strict=True)]


def failure(runs: list[tuple[int, str]]) -> str:
    """The end of each failed run's traceback (what a shortened assertion message keeps), else of its stderr."""
    return "\n---\n".join(err[max(err.find("Traceback (most recent call last)"), 0):][-2000:] for code, err in runs if code)


def key(la: str, child: str) -> str:
    return hmac.new(TEST_PSEUDONYM_KEY.encode(), f"{la}|{child}".encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("concurrent")
    a, b, lakehouse = root / "a", root / "b", root / "lakehouse"
    write_return(a, "201", ["CA1", "CA2"])
    write_return(b, "202", ["CB1", "CB2"])
    first = ingest_together([a, b], lakehouse, "fresh")
    cfg = lakehouse_config(lakehouse)
    write_return(a, "201", ["CA1", "CA2", "CA3"])
    write_return(b, "202", ["CB1", "CB2", "CB3"])
    return first, cfg, lakehouse, (a, b)


def test_two_ingests_on_a_fresh_lakehouse_both_succeed_and_keep_every_row(spark, runs):
    first, cfg, _, _ = runs
    assert [code for code, _ in first] == [0, 0], failure(first)
    # No Python traceback (the defect: both died with DELTA_ errors); Delta's own log may still show a commit
    # conflict that the retry then resolved.
    assert not any("Traceback (most recent call last)" in err for _, err in first)
    children = {r["child_key"] for r in delta.read_table(spark, cfg, "silver", "children").collect()}
    assert children == {key("201", "CA1"), key("201", "CA2"), key("202", "CB1"), key("202", "CB2")}
    assert delta.read_table(spark, cfg, "silver", "referrals").count() == 4


def test_two_ingests_on_existing_tables_both_succeed_and_keep_every_row(spark, runs):
    _, cfg, lakehouse, sources = runs
    second = ingest_together(list(sources), lakehouse, "existing")
    assert [code for code, _ in second] == [0, 0], failure(second)
    children = {r["child_key"] for r in delta.read_table(spark, cfg, "silver", "children").collect()}
    assert children == {key(la, f"C{x}{n}") for la, x in (("201", "A"), ("202", "B")) for n in (1, 2, 3)}
    referrals = delta.read_table(spark, cfg, "silver", "referrals").collect()
    assert sorted((r["la_code"], str(r["referral_date"])) for r in referrals) == sorted(
        (la, f"2015-06-0{n}") for la in ("201", "202") for n in (1, 2, 3))
    assert delta.read_table(spark, cfg, "bronze", "cin_census").count() == 6


def test_a_commit_conflict_is_tried_again_and_anything_else_is_not(monkeypatch):
    monkeypatch.setattr(delta.time, "sleep", lambda seconds: None)  # the pauses, not the retry, are skipped
    calls = []

    def conflicting_twice():
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrentAppendException("a concurrent WRITE added data", None, None)
        return "committed"

    assert delta.retried(conflicting_twice, "bronze.files") == "committed" and len(calls) == 3
    with pytest.raises(ValueError):
        delta.retried(lambda: calls.append(1) or int("x"), "bronze.files")
    assert len(calls) == 4

    def always_conflicting():
        raise ConcurrentAppendException("a concurrent WRITE added data", None, None)

    with pytest.raises(ConcurrentWriteError, match="bronze.files: another process committed to the table 8 times"):
        delta.retried(always_conflicting, "bronze.files")
