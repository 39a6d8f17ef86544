"""Disclosure control: exact suppressed and rounded values."""
from csc_demand.config import DisclosureConf
from csc_demand.report.disclosure import disclose


def test_small_counts_are_suppressed_others_rounded_and_derived_values_blanked(spark):
    df = spark.createDataFrame(
        [("a", 0, 40, 0.0), ("b", 9, 40, 0.225), ("c", 10, 12, 0.8333), ("d", 13, 22, 0.59), ("e", 27, 108, 0.25),
         ("f", None, 50, None)],
        "grp string, events long, total long, rate double")
    got = disclose(df, ["events", "total"], ["rate"], DisclosureConf(min_count=10, round_to=5))
    assert got.columns == ["grp", "events", "total", "rate"]
    assert [tuple(r) for r in got.orderBy("grp").collect()] == [
        ("a", None, 40, None), ("b", None, 40, None), ("c", 10, 10, 0.8333), ("d", 15, 20, 0.59),
        ("e", 25, 110, 0.25), ("f", None, 50, None)]


def test_round_to_one_only_suppresses(spark):
    df = spark.createDataFrame([(3,), (11,), (12,)], "n long")
    got = disclose(df, ["n"], rules=DisclosureConf(min_count=5, round_to=1))
    assert [r["n"] for r in got.collect()] == [None, 11, 12]
