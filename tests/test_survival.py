"""Kaplan-Meier in Spark: against lifelines on random samples (1e-9; per LA and England at every curve horizon) and
against a hand-worked example."""
import numpy as np
import pytest
from csc_demand.outcomes.estimates import CURVE_HORIZONS_DAYS, survival_estimates
from csc_demand.stats.survival import at_horizons, kaplan_meier
from lifelines import KaplanMeierFitter


def sample(seed: int, n: int):
    rng = np.random.default_rng(seed)
    times = rng.integers(0, 400, size=n)  # whole days: many ties, some at day 0
    events = rng.random(n) < 0.6
    times[-1], events[-1] = times.max() + 1, True  # the last subject fails: survival reaches 0
    return times, events


def test_kaplan_meier_matches_lifelines_per_group_to_1e9(spark):
    rows = []
    for group, seed in (("a", 11), ("b", 12)):
        times, events = sample(seed, 300)
        rows += [(group, int(t), bool(e)) for t, e in zip(times, events, strict=True)]
    subjects = spark.createDataFrame(rows, "g string, time long, event boolean")
    got = kaplan_meier(subjects, group_cols=["g"]).toPandas()
    checked = 0
    for group, seed in (("a", 11), ("b", 12)):
        times, events = sample(seed, 300)
        kmf = KaplanMeierFitter().fit(times, events)
        mine = got[got["g"] == group].set_index("time").sort_index()
        theirs = kmf.survival_function_.loc[mine.index.values, "KM_estimate"].values
        ci = kmf.confidence_interval_survival_function_.loc[mine.index.values].values
        at_risk = kmf.event_table.loc[mine.index.values, "at_risk"].values
        np.testing.assert_allclose(mine["survival"].values, theirs, rtol=0, atol=1e-9)
        np.testing.assert_allclose(mine["survival_lower"].values, ci[:, 0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(mine["survival_upper"].values, ci[:, 1], rtol=0, atol=1e-9)
        np.testing.assert_allclose(mine["cumulative_incidence"].values, 1 - theirs, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(mine["n_at_risk"].values, at_risk)
        assert mine["survival"].iloc[-1] == 0.0
        checked += len(mine)
    assert checked > 200  # distinct days in both groups were all compared


def test_horizon_readings_match_a_hand_worked_example(spark):
    # t: 2 event, 3 censored, 3 event, 5 event, 8 censored. S(2)=4/5, S(3)=0.8*3/4=0.6, S(5)=0.6*1/2=0.3.
    subjects = spark.createDataFrame(
        [(2, True, 10), (3, False, 3), (3, True, 9), (5, True, 5), (8, False, 8)],
        "time long, event boolean, potential long")
    rows = at_horizons(subjects, horizons=(1, 4, 10), potential_followup_col="potential").orderBy(
        "horizon_days").collect()
    got = [(r["horizon_days"], r["n_at_risk"], r["events"], r["subjects"], r["n_complete"]) for r in rows]
    assert got == [(1, 5, 0, 5, 5), (4, 2, 2, 5, 4), (10, 0, 3, 5, 1)]
    assert [r["cumulative_incidence"] for r in rows] == pytest.approx([0.0, 0.4, 0.7], abs=1e-12)
    assert [r["raw_share"] for r in rows] == pytest.approx([0.0, 0.5, 1.0], abs=1e-12)
    assert (rows[0]["ci_lower"], rows[0]["ci_upper"]) == (0.0, 0.0)
    assert rows[1]["ci_lower"] < 0.4 < rows[1]["ci_upper"]
    # read up to day 4 only: the later days are counted as one (day 5), and the readings are the same
    assert at_horizons(subjects, horizons=(4, 1), potential_followup_col="potential").orderBy(
        "horizon_days").collect() == rows[:2]


def test_horizon_readings_of_no_subjects_are_no_rows(spark):
    subjects = spark.createDataFrame([], "time long, event boolean, potential long")
    assert at_horizons(subjects, potential_followup_col="potential").count() == 0
    assert at_horizons(subjects.withColumn("g", subjects["time"].cast("string")), group_cols=["g"]).count() == 0


def test_kaplan_meier_without_groups_matches_lifelines(spark):
    times, events = sample(13, 200)
    subjects = spark.createDataFrame([(int(t), bool(e)) for t, e in zip(times, events, strict=True)], "time long, event boolean")
    mine = kaplan_meier(subjects).toPandas().set_index("time").sort_index()
    theirs = KaplanMeierFitter().fit(times, events).survival_function_.loc[mine.index.values, "KM_estimate"].values
    np.testing.assert_allclose(mine["survival"].values, theirs, rtol=0, atol=1e-9)
    assert len(mine) > 100


# The curve horizons, and horizons ending before the last times (later days are then counted as one day).
@pytest.mark.parametrize("horizons", [CURVE_HORIZONS_DAYS, (30, 120, 250)])
def test_survival_estimates_per_la_and_england_match_lifelines_at_every_horizon(spark, horizons):
    samples = {la: sample(seed, 150) for la, seed in (("201", 21), ("202", 22))}
    rows = []
    for la, (times, events) in samples.items():
        followable = times + np.random.default_rng(int(la)).integers(-20, 300, size=len(times))
        rows += [(la, int(t), bool(e), int(f), True) for t, e, f in zip(times, events, followable, strict=True)]
    followup = spark.createDataFrame(
        rows, "la_code string, followup_days long, event boolean, potential_followup_days long, at_risk boolean")
    got = {(r["la_code"], r["horizon_days"]): r for r in survival_estimates(followup, "m", horizons=horizons).collect()}
    pooled = {"ALL": (np.concatenate([s[0] for s in samples.values()]),
                      np.concatenate([s[1] for s in samples.values()]))}
    followable = {la: np.array([r[3] for r in rows if la in (r[0], "ALL")]) for la in ("201", "202", "ALL")}
    assert len(got) == 3 * len(horizons)
    for la, (times, events) in {**samples, **pooled}.items():
        kmf = KaplanMeierFitter().fit(times, events)
        ci = kmf.confidence_interval_survival_function_
        for h in horizons:
            r, lower, upper = got[(la, h)], *ci.loc[:h].iloc[-1].values
            assert r["cumulative_incidence"] == pytest.approx(1 - kmf.survival_function_at_times(h).iloc[0], abs=1e-9)
            assert (r["ci_lower"], r["ci_upper"]) == pytest.approx((1 - upper, 1 - lower), abs=1e-9)
            complete = followable[la] >= h
            assert (r["n_at_risk"], r["events"], r["subjects"], r["n_complete"]) == (
                (times >= h).sum(), (events & (times <= h)).sum(), len(times), complete.sum())
            share = (complete & events & (times <= h)).sum() / complete.sum() if complete.any() else None
            assert r["raw_share"] == pytest.approx(share, abs=1e-12)
