"""The NPD CIN and CP lines built per LA (no Spark): fields, explode of assessments, defects, national file order."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from csc_demand.synth import defects as D
from csc_demand.synth.draws import Draws
from csc_demand.synth.npd import CIN_COLUMNS, cin_lines, cpp_lines, join_parts, without_assessments, write_parts

FIRST = 2015


def _snapshot() -> dict:
    """Three snapshot rows of LA 201: an episode with two assessments and a plan (2016 return), the same child's
    later episode with none (2016), and a history-year episode of a girl (2010, assessments removed)."""
    d = dt.date
    rows = {
        "file_year": [2016, 2016, 2010], "la_code": ["201"] * 3, "la_child_id": ["C0000002", "C0000002", "C0000001"],
        "pmr": ["P2", "P2", "P1"], "birth_date": [d(2005, 7, 14), d(2005, 7, 14), d(2001, 1, 2)],
        "sex": ["M", "M", "F"], "ethnicity": ["WBRI", "WBRI", "BAFR"],
        "disabilities": [["NONE"], ["NONE"], ["HAND", "VIS"]], "child_id": [2, 2, 1], "round": [0, 1, 0],
        "class_id": [3, None, None], "referral_date": [d(2015, 6, 1), d(2016, 1, 5), d(2009, 5, 6)],
        "referral_source": ["1A", "3E", "5B"], "primary_need": ["N1", "N4", "N2"],
        "closure_shown": [d(2015, 12, 1), None, d(2009, 8, 1)], "closure_reason_shown": ["RC1", None, "RC8"],
        "referral_nfa": [False, True, False], "a1_in": [True, False, False],
        "a1_start": [d(2015, 6, 10), None, d(2009, 5, 9)], "a1_auth": [d(2015, 7, 1), None, d(2009, 6, 1)],
        "a1_auth_shown": [d(2015, 7, 1), None, d(2009, 6, 1)], "a1_codes_shown": [["2A", "3A"], None, ["1B"]],
        "a2_in": [True, False, False], "a2_start": [d(2015, 9, 1), None, None],
        "a2_auth_shown": [None, None, None], "a2_codes_shown": [None, None, None],
        "cp_in": [True, False, True], "cp_start": [d(2015, 8, 1), None, d(2009, 6, 20)],
        "cp_end_shown": [None, None, d(2009, 7, 30)], "cp_initial_category": ["NEG", None, "PHY"],
        "cp_latest_category": ["NEG", None, "EMO"], "cp_previous": [0, None, 1]}
    types = {"file_year": pa.int32(), "child_id": pa.int64(), "round": pa.int32(), "class_id": pa.int32(),
             "cp_previous": pa.int32(), "a2_auth_shown": pa.date32(), "a2_codes_shown": pa.list_(pa.string())}
    return {name: pa.array(values, types.get(name)) for name, values in rows.items()}


def test_cin_lines_explode_assessments_and_write_fields_as_spark_did():
    years, keys, lines, truth = cin_lines(_snapshot(), seed=7, rate=0.0, first_year=FIRST)
    episode = "P2,C0000002,201,2015/16,7,2005,1,WBRI,NONE,2015-06-01,1A,N1,2015-12-01,RC1,0"
    assert dict(zip(keys.to_pylist(), zip(years.tolist(), lines.to_pylist(), strict=True), strict=True)) == {
        "201|C0000002|2015-06-01|1": (2016, episode + ",2015-06-10,2015-07-01,2A;3A"),
        "201|C0000002|2015-06-01|2": (2016, episode + ",2015-09-01,,"),
        "201|C0000002|2016-01-05|0": (2016, "P2,C0000002,201,2015/16,7,2005,1,WBRI,NONE,2016-01-05,3E,N4,,,1,,,"),
        "201|C0000001|2009-05-06|0": (2010, "P1,C0000001,201,2009/10,1,2001,2,BAFR,HAND;VIS,2009-05-06,5B,N2,"
                                            "2009-08-01,RC8,0,,,")}
    assert all(len(line.split(",")) == len(CIN_COLUMNS) for line in lines.to_pylist())
    assert truth.num_rows == 0


def test_cin_lines_inject_one_npd_defect_in_the_first_return_and_record_it():
    rate = 0.999999
    _, keys, lines, truth = cin_lines(_snapshot(), seed=7, rate=rate, first_year=FIRST)
    u = Draws(7, np.array([2]), np.array([0], np.int32))("defect-assessment", "npd")[0]
    kind = D.NPD_ASSESSMENT_KINDS[int(u >= rate / 2)]
    line = dict(zip(keys.to_pylist(), lines.to_pylist(), strict=True))["201|C0000002|2015-06-01|1"]
    written = ("2015-13-10", "2A;3A") if kind == "malformed_date" else ("2015-06-10", "2A;25Z")
    assert line.endswith(f",{written[0]},2015-07-01,{written[1]}")
    assert truth.to_pylist() == [{
        "defect": kind, "rule_id": D.DEFECT_RULES[kind], "format": "npd", "source_file": "npd/cin_2016.csv",
        "la_code": "201", "collection_year": 2016, "child_id": "C0000002", "referral_date": "2015-06-01",
        "table": "assessments", "record_date": written[0],
        "detail": f"first assessment; factor codes as written: {written[1]}"}]


def test_history_years_lose_their_assessments_and_collection_years_keep_them():
    snap = _snapshot()
    snap["a1_in"] = pa.array([True, False, True])  # the 2010 episode's assessment, as the snapshots show it
    kept = without_assessments(pa.table(snap), FIRST)
    assert kept.column("a1_in").to_pylist() == [True, False, False]
    assert kept.column("a2_in").to_pylist() == [True, False, False]
    assert kept.drop_columns(["a1_in", "a2_in"]).equals(pa.table(snap).drop_columns(["a1_in", "a2_in"]))


def test_cpp_lines_show_the_plans_in_each_return():
    years, keys, lines = cpp_lines(_snapshot())
    assert years.tolist() == [2016, 2010]
    assert keys.to_pylist() == ["201|C0000002|2015-08-01", "201|C0000001|2009-06-20"]
    assert lines.to_pylist() == ["P2,C0000002,201,2015/16,2015-06-01,2015-08-01,,NEG,NEG,0",
                                 "P1,C0000001,201,2009/10,2009-05-06,2009-06-20,2009-07-30,PHY,EMO,1"]


def test_national_file_is_the_header_then_every_line_in_sort_key_byte_order(tmp_path):
    lines = {"80": ["80|C2|x", "80|C10|y"], "801": ["801|C1|z"], "81": ["81|C1|w"]}
    for la_code, keys in lines.items():
        write_parts(tmp_path / "parts", la_code, np.full(len(keys), 2016), pa.array(keys), pa.array(keys))
    join_parts(tmp_path, "npd/cin_2016.csv", ("A", "B"), tmp_path / "parts" / "2016")
    join_parts(tmp_path, "npd/cin_2017.csv", ("A", "B"), tmp_path / "parts" / "2017")
    expected = sorted((key for keys in lines.values() for key in keys), key=str.encode)
    assert (tmp_path / "npd/cin_2016.csv").read_text() == "A,B\n" + "".join(f"{k}\n" for k in expected)
    assert (tmp_path / "npd/cin_2017.csv").read_text() == "A,B\n"
