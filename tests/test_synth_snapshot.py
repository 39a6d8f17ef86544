"""The annual snapshots built per LA from its episodes (no Spark): the years an episode is in, what each shows."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from csc_demand.synth.snapshot import annual_snapshots, march_31, open_years, reviews_by

d = dt.date


def test_open_years_from_referral_year_to_closure_year_within_the_range():
    cy = np.array([2008, 2012, 2020, 2011], dtype=np.int32)
    # closed 2010-03-31 (year 2010), 2012-04-01 (year 2013), still open, 2010-03-01 (before the referral year: none)
    closure = pa.array([d(2010, 3, 31), d(2012, 4, 1), None, d(2010, 3, 1)], pa.date32())
    episode, year = open_years(cy, closure, 2009, 2021)
    assert episode.tolist() == [0, 0, 1, 1, 2, 2]
    assert year.tolist() == [2009, 2010, 2012, 2013, 2020, 2021]


def test_march_31():
    assert march_31(np.array([1970, 2016, 2021])).tolist() == [
        (d(y, 3, 31) - d(1970, 1, 1)).days for y in (1970, 2016, 2021)]


def test_reviews_by_keeps_dates_up_to_the_row_reference_date():
    reviews = pa.array([[d(2015, 1, 1), d(2015, 4, 1)], None, [d(2016, 1, 1)]], pa.list_(pa.date32()))
    ref = march_31(np.array([2015, 2015, 2015]))
    assert reviews_by(reviews, ref).to_pylist() == [[d(2015, 1, 1)], [], []]


def test_annual_snapshots_show_what_was_known_at_31_march():
    dates = ("closure_date", "a1_start", "a1_auth", "a2_start", "a2_auth", "s47_start", "icpc_date", "cp_start",
             "cp_end", "cin_plan_start", "cin_plan_end")
    # one episode referred 2020-06-01 (year 2021), assessed, on a plan from 2020-08-01 to 2021-06-01, closed
    # 2021-09-01 (year 2022)
    row = {"child_id": 5, "cy": 2021, "la_code": "201", "closure_reason": "RC1", "a1_codes": ["2A"],
           "a2_codes": None, "cp_reviews": [d(2020, 10, 1), d(2021, 5, 1)],
           "closure_date": d(2021, 9, 1), "a1_start": d(2020, 6, 3), "a1_auth": d(2020, 7, 1), "a2_start": None,
           "a2_auth": None, "s47_start": d(2020, 7, 2), "icpc_date": d(2020, 7, 20), "cp_start": d(2020, 8, 1),
           "cp_end": d(2021, 6, 1), "cin_plan_start": d(2021, 6, 2), "cin_plan_end": None}
    types = {"child_id": pa.int64(), "cy": pa.int32(), "a1_codes": pa.list_(pa.string()),
             "a2_codes": pa.list_(pa.string()), "cp_reviews": pa.list_(pa.date32()),
             **{name: pa.date32() for name in dates}}
    episodes = pa.table({name: pa.array([value], types.get(name)) for name, value in row.items()})
    snap = annual_snapshots(episodes, 2009, 2022).to_pydict()
    assert snap["file_year"] == [2021, 2022]
    assert snap["ref_date"] == [d(2021, 3, 31), d(2022, 3, 31)]
    assert snap["closure_shown"] == [None, d(2021, 9, 1)]
    assert snap["closure_reason_shown"] == [None, "RC1"]
    assert snap["a1_in"] == [True, True] and snap["a2_in"] == [False, False]
    assert snap["a1_auth_shown"] == [d(2020, 7, 1)] * 2 and snap["a1_codes_shown"] == [["2A"]] * 2
    assert snap["a2_auth_shown"] == [None, None] and snap["a2_codes_shown"] == [None, None]
    assert snap["s47_in"] == [True, True] and snap["icpc_shown"] == [d(2020, 7, 20)] * 2
    assert snap["cp_in"] == [True, True] and snap["cp_end_shown"] == [None, d(2021, 6, 1)]
    assert snap["cp_reviews_shown"] == [[d(2020, 10, 1)], [d(2020, 10, 1), d(2021, 5, 1)]]
    assert snap["cin_plan_in"] == [False, True] and snap["cin_plan_end_shown"] == [None, None]
    assert snap["child_id"] == [5, 5] and snap["la_code"] == ["201", "201"]
