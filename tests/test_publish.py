"""The publish step on hand-made tables: every expected cell worked out by hand in the comments."""
import csv
import datetime
import json

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from csc_demand.config import DisclosureConf
from csc_demand.report import publish as publish_module
from csc_demand.report.publish import (
    ForbiddenStrings,
    OutputCheckLog,
    TableRule,
    publish,
    round_half_up,
    scan_outputs,
    write_csv,
    write_workbook,
)

CONF = DisclosureConf(min_count=10, round_to=5)
NA = None


def cells(frame, columns):
    """Rows as tuples with <NA>/NaN read as None, so expectations can be written literally."""
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


def recoverable(published: pd.DataFrame, dim: str, total_value: str, column: str) -> list:
    """Independent attack: for every published total, total - sum(published parts) reveals a cell when exactly one
    part is hidden. Returns the cells an attacker would recover (must be empty)."""
    others = [c for c in published.columns if c not in (dim, column) and published[c].dtype == object]
    found = []
    for key, group in (published.groupby(others, dropna=False) if others else [((), published)]):
        totals = group[group[dim] == total_value][column]
        parts = group[group[dim] != total_value]
        hidden = parts[parts[column].isna()]
        if len(totals) and not pd.isna(totals.iloc[0]) and len(hidden) == 1:
            found.append((key, hidden[dim].iloc[0]))
    return found


def test_primary_suppression_rounding_and_derived_blanking():
    frame = pd.DataFrame({"grp": list("abcdef"), "events": [0, 9, 10, 13, 27, None],
                          "total": [40, 40, 12, 22, 108, 50], "rate": [0.0, 0.225, 0.8333, 0.59, 0.25, None]})
    got = publish(frame, "t", TableRule(counts=("events", "total"), derived=("rate",)), CONF)
    # 0 is published (zeros not disclosive by default); 9 suppressed with its rate; 12 -> 10, 13 -> 15, 22 -> 20,
    # 27 -> 25, 108 -> 110; a missing count stays missing and suppresses nothing.
    assert cells(got.frame, ["grp", "events", "total", "rate"]) == [
        ("a", 0, 40, 0.0), ("b", NA, 40, NA), ("c", 10, 10, 0.8333), ("d", 15, 20, 0.59), ("e", 25, 110, 0.25),
        ("f", NA, 50, NA)]
    assert str(got.frame["events"].dtype) == "Int64"
    assert [(c["row"], c["column"], c["value_class"]) for c in got.checks] == [
        ({"grp": "b"}, "events", "<10"), ({"grp": "b"}, "rate", "derived")]
    assert list(frame["events"][:2]) == [0, 9]  # the input is not changed


def test_a_derived_value_with_bases_is_blanked_only_with_the_counts_it_rests_on():
    frame = pd.DataFrame({"grp": ["a", "b"], "plans": [40, 30], "repeats": [12, 4], "share": [0.5, 0.375],
                          "repeat_rate": [0.3, 4 / 30]})
    got = publish(frame, "t", TableRule(counts=("plans", "repeats"), derived=("share", "repeat_rate"),
                                        bases=(("share", ("plans",)),)), CONF)
    # row b: 4 repeats suppressed, so its repeat rate goes; its share rests on plans (30, published) and stays
    assert cells(got.frame, ["grp", "plans", "repeats", "share", "repeat_rate"]) == [
        ("a", 40, 10, 0.5, 0.3), ("b", 30, NA, 0.375, NA)]
    with pytest.raises(ValueError, match="lacks: \\['nope'\\]"):
        publish(frame, "t", TableRule(counts=("plans",), derived=("share",), bases=(("share", ("nope",)),)), CONF)


def test_zeros_are_suppressed_when_configured_disclosive():
    frame = pd.DataFrame({"grp": ["a", "b"], "n": [0, 20]})
    conf = DisclosureConf(min_count=10, round_to=5, zeros_are_disclosive=True)
    got = publish(frame, "t", TableRule(counts=("n",)), conf)
    assert cells(got.frame, ["grp", "n"]) == [("a", NA), ("b", 20)]
    assert got.checks[0]["rule"].startswith("count 0 to 9")


def test_halves_round_up():
    assert [round_half_up(v, 5) for v in (10, 12, 12.5, 13, 17.5, 22.5, 1002.5)] == [10, 10, 15, 15, 20, 25, 1005]
    frame = pd.DataFrame({"grp": ["a", "b", "c"], "n": [12.5, 17.5, 22.4]})
    got = publish(frame, "t", TableRule(counts=("n",)), CONF)
    assert cells(got.frame, ["n"]) == [(15,), (20,), (20,)]
    # round_to 1 only suppresses
    got = publish(pd.DataFrame({"n": [3, 11, 12]}), "t", TableRule(counts=("n",)),
                  DisclosureConf(min_count=5, round_to=1))
    assert cells(got.frame, ["n"]) == [(NA,), (11,), (12,)]


def test_secondary_suppression_in_one_dimension_takes_the_smallest_non_zero_cell():
    # all = 60 = 5 + 20 + 35 + 0: with only A hidden, 60 - 20 - 35 - 0 = 5 would give A back. B (20) is the
    # smallest non-zero other cell; D (0) would leave the difference equal to A.
    frame = pd.DataFrame({"category_name": ["all", "A", "B", "C", "D"], "n": [60, 5, 20, 35, 0]})
    rule = TableRule(counts=("n",), totals=(("category_name", "all"),))
    got = publish(frame, "t", rule, CONF)
    assert cells(got.frame, ["category_name", "n"]) == [("all", 60), ("A", NA), ("B", NA), ("C", 35), ("D", 0)]
    assert [(c["row"]["category_name"], c["value_class"]) for c in got.checks] == [("A", "<10"), ("B", "secondary")]
    assert recoverable(got.frame, "category_name", "all", "n") == []
    # without the totals rule the same table gives A away: the attack helper itself can fail
    plain = publish(frame, "t", TableRule(counts=("n",)), CONF)
    assert recoverable(plain.frame, "category_name", "all", "n") == [((), "A")]


def test_secondary_suppression_suppresses_the_total_when_no_other_part_is_left():
    frame = pd.DataFrame({"category_name": ["all", "A", "B"], "n": [30, 4, NA]})
    got = publish(frame, "t", TableRule(counts=("n",), totals=(("category_name", "all"),)), CONF)
    assert cells(got.frame, ["category_name", "n"]) == [("all", NA), ("A", NA), ("B", NA)]
    assert got.checks[0]["row"] == {"category_name": "all"} and got.checks[0]["value_class"] == "secondary"


def test_secondary_suppression_in_two_dimensions_reaches_a_fixed_point():
    #            A    B    C   all
    #   LA1      4   30   26    60     LA1/A < 10; row LA1 then hides C (26 < 30);
    #   LA2     20   12   18    50     columns A and C each have one hidden cell -> LA2/A and LA2/C;
    #   ALL     24   42   44   110     row LA2 then has two hidden cells: stable.
    grid = {"LA1": [4, 30, 26, 60], "LA2": [20, 12, 18, 50], "ALL": [24, 42, 44, 110]}
    frame = pd.DataFrame([(la, cat, n) for la, ns in grid.items() for cat, n in zip(["A", "B", "C", "all"], ns, strict=True)],
                         columns=["la_code", "category_name", "n"])
    rule = TableRule(counts=("n",), totals=(("category_name", "all"), ("la_code", "ALL")))
    got = publish(frame, "t", rule, CONF)
    hidden = [(r.la_code, r.category_name) for r in got.frame.itertuples() if pd.isna(r.n)]
    assert hidden == [("LA1", "A"), ("LA1", "C"), ("LA2", "A"), ("LA2", "C")]
    assert sorted((c["row"]["la_code"], c["row"]["category_name"], c["value_class"]) for c in got.checks) == [
        ("LA1", "A", "<10"), ("LA1", "C", "secondary"), ("LA2", "A", "secondary"), ("LA2", "C", "secondary")]
    assert recoverable(got.frame, "category_name", "all", "n") == []
    assert recoverable(got.frame, "la_code", "ALL", "n") == []
    # published values are the rounded originals: 30 -> 30, 12 -> 10, 42 -> 40, 44 -> 45, 110 -> 110
    assert cells(got.frame[got.frame.category_name.isin(["B", "all"])], ["la_code", "category_name", "n"]) == [
        ("LA1", "B", 30), ("LA1", "all", 60), ("LA2", "B", 10), ("LA2", "all", 50), ("ALL", "B", 40),
        ("ALL", "all", 110)]


def test_secondary_suppression_groups_by_every_other_dimension_and_count_column():
    # two years, each its own group; only 2020's A is small, and only in `plans`
    frame = pd.DataFrame({"year": [2019, 2019, 2019, 2020, 2020, 2020],
                          "category_name": ["all", "A", "B"] * 2,
                          "plans": [50, 20, 30, 47, 7, 40], "repeat_plans": [20, 10, 10, 20, 0, 20]})
    rule = TableRule(counts=("plans", "repeat_plans"), totals=(("category_name", "all"),))
    got = publish(frame, "t", rule, CONF)
    # 2020: plans A=7 hidden -> plans B hidden too; repeat_plans 0 published, so nothing hidden there
    assert cells(got.frame, ["year", "category_name", "plans", "repeat_plans"]) == [
        (2019, "all", 50, 20), (2019, "A", 20, 10), (2019, "B", 30, 10),
        (2020, "all", 45, 20), (2020, "A", NA, 0), (2020, "B", NA, 20)]


def test_complements_within_a_row_and_their_secondary_suppression():
    # A: 50 referrals, 45 re-referred -> 5 not re-referred, so 45 is hidden with its rate; all - B would give
    # 75 - 30 = 45 back, so B's re-referrals go too. C: complement 10 published; D: complement 0 published.
    frame = pd.DataFrame({"category_name": ["all", "A", "B"], "referrals": [150, 50, 100],
                          "rereferrals_12m": [75, 45, 30], "rereferral_rate": [0.5, 0.9, 0.3]})
    rule = TableRule(counts=("referrals", "rereferrals_12m"), derived=("rereferral_rate",),
                     totals=(("category_name", "all"),), complements=(("referrals", "rereferrals_12m"),))
    got = publish(frame, "t", rule, CONF)
    assert cells(got.frame, ["category_name", "referrals", "rereferrals_12m", "rereferral_rate"]) == [
        ("all", 150, 75, 0.5), ("A", 50, NA, NA), ("B", 100, NA, NA)]
    assert [(c["row"]["category_name"], c["column"], c["value_class"]) for c in got.checks] == [
        ("A", "rereferrals_12m", "complement"), ("B", "rereferrals_12m", "secondary"),
        ("A", "rereferral_rate", "derived"), ("B", "rereferral_rate", "derived")]
    assert got.checks[0]["rule"] == "referrals - rereferrals_12m = 5 is under 10"
    edge = pd.DataFrame({"category_name": ["C", "D"], "referrals": [50, 40], "rereferrals_12m": [40, 40]})
    got = publish(edge, "t", TableRule(counts=("referrals", "rereferrals_12m"),
                                      complements=(("referrals", "rereferrals_12m"),)), CONF)
    assert cells(got.frame, ["referrals", "rereferrals_12m"]) == [(50, 40), (40, 40)] and got.checks == []


def test_a_rule_naming_missing_columns_says_which():
    with pytest.raises(ValueError, match=r"lacks: \['plans'\].*\['n'\]"):
        publish(pd.DataFrame({"n": [1]}), "t", TableRule(counts=("plans",)), CONF)


def test_output_check_log_lists_every_suppressed_cell(tmp_path):
    frame = pd.DataFrame({"category_name": ["all", "A", "B"], "n": [60, 5, 55], "share": [1.0, 0.083, 0.917]})
    rule = TableRule(counts=("n",), derived=("share",), totals=(("category_name", "all"),))
    log = OutputCheckLog()
    log.add("category_trends", publish(frame, "category_trends", rule, CONF), rule, CONF, note="LA 201")
    log.add("empty_ok", publish(pd.DataFrame({"n": [20]}), "empty_ok", TableRule(counts=("n",)), CONF),
            TableRule(counts=("n",)), CONF)
    log.write(str(tmp_path), shown_per_output=3)
    saved = json.loads((tmp_path / "output_check.json").read_text())["outputs"]
    assert [(e["output"], e["status"], e["suppressed_by_class"], e["cells"]) for e in saved] == [
        ("category_trends", "pass with suppression", {"<10": 1, "secondary": 1, "derived": 2}, 4),
        ("empty_ok", "pass", {}, 0)]
    assert saved[0]["suppressed_by_reason"] == {
        "<10: count 1 to 9 (under disclosure.min_count 10)": 1,
        "secondary: protects a suppressed n from subtraction from its published total": 1,
        "derived: derived from a suppressed count of the same row": 2}
    assert saved[0]["rule"]["totals"] == [["category_name", "all"]] and saved[0]["note"] == "LA 201"
    with open(tmp_path / "output_check_cells.csv", newline="") as handle:
        cells = list(csv.reader(handle))
    assert [row[:4] for row in cells] == [["output", "row", "column", "value_class"],
                                          ["category_trends", "category_name=A", "n", "<10"],
                                          ["category_trends", "category_name=B", "n", "secondary"],
                                          ["category_trends", "category_name=A", "share", "derived"],
                                          ["category_trends", "category_name=B", "share", "derived"]]
    readable = (tmp_path / "output_check.md").read_text()
    assert "## category_trends" in readable and "| category_name=A | n | <10 |" in readable
    assert "The first 3 of 4 cells (1 more in `output_check_cells.csv`):" in readable
    assert "| category_name=B | share | derived |" not in readable and "Checked by:" in readable


HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"]


def test_write_csv_neutralises_formula_text_but_keeps_negative_numbers(tmp_path):
    frame = pd.DataFrame({"label": HOSTILE, "value": [-5, 0, 1, 2, 3, 4, 5, 6], "rate": [-0.5] * 8})
    write_csv(frame, str(tmp_path / "t.csv"))
    with open(tmp_path / "t.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["label", "value", "rate"]
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx",
                                       "plain", "a=b"]
    assert rows[1][1:] == ["-5", "-0.5"]


def test_write_workbook_one_sheet_per_table_no_formulas(tmp_path):
    frame = pd.DataFrame({"label": HOSTILE, "value": [-5, 0, 1, 2, 3, 4, 5, 6]})
    path = tmp_path / "report.xlsx"
    write_workbook({"hostile": frame, "a_sheet_name_longer_than_thirty_one": frame.head(1)}, str(path))
    book = openpyxl.load_workbook(path)  # formulas would come back as "=..." with data_type "f"
    assert book.sheetnames == ["hostile", "a_sheet_name_longer_than_thirty"]
    sheet = book["hostile"]
    labels = [sheet.cell(row=r, column=1) for r in range(2, 10)]
    assert [c.value for c in labels][:4] == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)"]
    assert all(c.data_type == "s" for c in labels)
    assert sheet.cell(row=2, column=2).value == -5 and sheet.cell(row=2, column=2).data_type == "n"


def _cell_facts(path) -> list[list[tuple]]:
    """Every cell of the first sheet as openpyxl reads it: value, type, number format and the header's style."""
    sheet = openpyxl.load_workbook(path).worksheets[0]
    return [[(c.value, c.data_type, c.number_format, c.font.bold, c.border.left.style, c.alignment.horizontal,
              c.alignment.vertical) for c in row] for row in sheet.iter_rows()]


def test_write_workbook_writes_the_cells_pandas_to_excel_writes(tmp_path):
    # pandas' own writer (the one write_workbook replaced) is the reference: same values, types, date format,
    # empty cells for missing values and header style
    frame = pd.DataFrame({
        "la_code": ["201", "ALL", None], "children": pd.array([15, None, 0], dtype="Int64"),
        "rate": [0.25, float("nan"), 1.0], "history_from": [datetime.date(2008, 4, 1), None, datetime.date(2014, 4, 1)],
        "differs": [True, False, True], "n": np.array([3, 4, 5], dtype=np.int64), "note": ["=SUM(A1)", "", "ok"]})
    write_workbook({"t": frame}, str(tmp_path / "ours.xlsx"))
    with pd.ExcelWriter(tmp_path / "pandas.xlsx", engine="xlsxwriter",
                        engine_kwargs={"options": publish_module.TEXT_AS_TEXT}) as writer:
        frame.assign(note=["'=SUM(A1)", "", "ok"]).to_excel(writer, sheet_name="t", index=False)

    ours = _cell_facts(tmp_path / "ours.xlsx")
    assert ours == _cell_facts(tmp_path / "pandas.xlsx")
    assert ours[0][0] == ("la_code", "s", "General", True, "thin", "center", "top")
    assert [row[3][:3] for row in ours[1:]] == [(datetime.datetime(2008, 4, 1), "d", "YYYY-MM-DD"),
                                                 (None, "n", "General"),
                                                 (datetime.datetime(2014, 4, 1), "d", "YYYY-MM-DD")]


def test_write_workbook_refuses_a_table_larger_than_a_sheet_rather_than_drop_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(publish_module, "EXCEL_ROWS", 3)  # a header and two rows
    write_workbook({"fits": pd.DataFrame({"n": [1, 2]})}, str(tmp_path / "fits.xlsx"))
    with pytest.raises(ValueError, match="table big has 3 rows and 1 columns: an Excel sheet holds at most 2 rows"):
        write_workbook({"first": pd.DataFrame({"n": [1]}), "big": pd.DataFrame({"n": [1, 2, 3]})},
                       str(tmp_path / "big.xlsx"))
    assert not (tmp_path / "big.xlsx").exists()  # no workbook missing a table


def test_scan_outputs_finds_small_counts_unrounded_counts_and_identifiers(tmp_path):
    clean = pd.DataFrame({"authorised_year": [2019, 2021], "category_id": [3, 4], "children": [10, 0],
                          "share": [0.25, 0.75]})
    write_csv(clean, str(tmp_path / "clean.csv"))
    write_csv(pd.DataFrame({"authorised_year": [2019, 2019], "children": [7, 12], "note": ["ok", "child A123"]}),
              str(tmp_path / "sub" / "bad.csv"))
    write_workbook({"sheet1": pd.DataFrame({"children": [15, 3]})}, str(tmp_path / "book.xlsx"))
    (tmp_path / "page.html").write_text(
        "<html><body><p>LA 201 report</p><table id='trend'><tr><th>Year</th><th>Children</th></tr>"
        "<tr><td>2019</td><td>1,205</td></tr><tr><td>2020</td><td>8</td></tr></table></body></html>")
    (tmp_path / "notes.txt").write_text("7 A123")  # not an output kind the scanner reads
    expected_counts = [
        "book.xlsx [sheet1]: row 3, column 'children': count 3 is under 10",
        "page.html [trend]: row 3, column 'Children': count 8 is under 10",
        "sub/bad.csv: row 2, column 'children': count 7 is under 10",
        "sub/bad.csv: row 3, column 'children': count 12 is not a multiple of 5"]
    # without a log: integer columns not named like a year, id, code or days are counts
    # "A12" is not the identifier "A123"; "d A1" (not a word) is found as a substring of "child A123"
    assert sorted(scan_outputs(str(tmp_path), CONF, forbidden=["A123", "", "A12", "d A1"])) == sorted(
        expected_counts + ["sub/bad.csv: contains the forbidden identifier 'A123'",
                           "sub/bad.csv: contains the forbidden identifier 'd A1'"])
    # with a log beside the outputs: exactly the logged count columns (page.html's "Children" matches children)
    log = OutputCheckLog()
    rule = TableRule(counts=("children",))
    log.add("clean", publish(clean, "clean", rule, CONF), rule, CONF)
    log.write(str(tmp_path))
    assert sorted(scan_outputs(str(tmp_path), CONF)) == sorted(expected_counts)


def test_scan_outputs_finds_identifiers_however_given(tmp_path):
    (tmp_path / "page.html").write_text("<p>child 12345 of LA-7\nX, key k_1</p>")
    # a set with a word and non-words, one of them holding a line break
    assert scan_outputs(str(tmp_path), CONF, forbidden={"k_1", "LA-7\nX", "LA-8", "k_2"}) == [
        f"page.html: contains the forbidden identifier {f!r}" for f in ("LA-7\nX", "k_1")]
    # not strings: looked for as their text
    assert scan_outputs(str(tmp_path), CONF, forbidden=[12345, 1234]) == [
        "page.html: contains the forbidden identifier '12345'"]
    # an Arrow array, as the report reads them (an id in two tables is listed twice; nulls and blanks ignored): each
    # file naming one is reported once, by name
    (tmp_path / "other.html").write_text("<p>k_1 and k_1_b</p>")
    ids = pa.array(["k_1", None, "", "k_1", "k_2"], pa.large_string())
    assert scan_outputs(str(tmp_path), CONF, forbidden=ids) == [
        "other.html: contains the forbidden identifier 'k_1'", "page.html: contains the forbidden identifier 'k_1'"]


def test_scan_outputs_reads_chart_text_and_a_table_inside_a_chart_but_no_other_chart_markup(tmp_path):
    chart = ('<svg xmlns="http://www.w3.org/2000/svg"><g><path d="M 7 3 L 12 8"/><text>k_9 A 7</text></g></svg>')
    inner = ("<svg><foreignObject><table id='inside'><tr><th>children</th></tr><tr><td>4</td></tr></table>"
             "</foreignObject></svg>")
    (tmp_path / "page.html").write_text(f"<p>{chart}</p><table id='t'><tr><th>children</th></tr><tr><td>20</td></tr>"
                                        f"<tr><td>6</td></tr></table>{inner}")
    expected = ["page.html: contains the forbidden identifier 'A 7'",
                "page.html: contains the forbidden identifier 'k_9'",
                "page.html [t]: row 3, column 'children': count 6 is under 10",
                "page.html [inside]: row 2, column 'children': count 4 is under 10"]
    assert scan_outputs(str(tmp_path), CONF, forbidden=["k_9", "A 7", "M 8"]) == expected
    # split beforehand (as the report does while its pages are drawn): the same problems
    assert scan_outputs(str(tmp_path), CONF, forbidden=ForbiddenStrings.of({"k_9", "A 7", "M 8"})) == expected
    split = ForbiddenStrings.of(["k_9", "LA-7", 12, ""])  # blanks dropped, numbers as text
    assert split.words.to_pylist() == ["k_9", "LA-7", "12"] and split.others == {"LA-7"}


def test_scan_outputs_scans_a_file_still_being_written_once_it_is_written(tmp_path):
    write_csv(pd.DataFrame({"children": [20]}), str(tmp_path / "done.csv"))
    (tmp_path / "book.xlsx").write_bytes(b"half written")  # skipped until written

    def write_it():
        write_workbook({"s": pd.DataFrame({"children": [20, 3]})}, str(tmp_path / "book.xlsx"))

    assert scan_outputs(str(tmp_path), CONF, pending={"book.xlsx": write_it}) == [
        "book.xlsx [s]: row 3, column 'children': count 3 is under 10"]


def test_published_tables_scan_clean(tmp_path):
    frame = pd.DataFrame({"category_name": ["all", "A", "B", "C"], "n": [63, 7, 23, 33]})
    rule = TableRule(counts=("n",), totals=(("category_name", "all"),))
    got = publish(frame, "t", rule, CONF)
    write_csv(got.frame, str(tmp_path / "t.csv"))
    write_workbook({"t": got.frame}, str(tmp_path / "t.xlsx"))
    assert scan_outputs(str(tmp_path), CONF) == []
    write_csv(frame, str(tmp_path / "raw.csv"))
    assert len(scan_outputs(str(tmp_path), CONF)) == 4  # 63, 7, 23 and 33 in the unpublished copy


def test_labels_of_the_total_dimension_do_not_split_its_groups():
    # category_id and class_size have one value per category_name: grouping by them would leave A alone in its group
    frame = pd.DataFrame({"la_code": ["201"] * 4, "category_id": [0, 1, 2, 3],
                          "category_name": ["all", "A", "B", "C"], "class_size": [1.0, 0.2, 0.3, 0.5],
                          "assessments": [100, 6, 30, 64]})
    got = publish(frame, "t", TableRule(counts=("assessments",), totals=(("category_name", "all"),)), CONF)
    assert cells(got.frame, ["category_name", "assessments"]) == [("all", 100), ("A", NA), ("B", NA), ("C", 65)]


def test_no_published_margin_gives_back_a_single_hidden_cell_in_random_tables():
    # 50 random LA x category tables (many small cells) with both margins; the attack helper is the check
    rng = np.random.default_rng(12)
    rule = TableRule(counts=("n",), totals=(("category_name", "all"), ("la_code", "ALL")))
    hidden_cells = 0
    for _ in range(50):
        grid = pd.DataFrame(rng.choice([0, 1, 3, 8, 9, 10, 14, 40, 120], size=(3, 4)),
                            index=["201", "202", "203"], columns=list("ABCD"))
        grid["all"] = grid.sum(axis=1)
        grid.loc["ALL"] = grid.sum(axis=0)
        frame = grid.rename_axis(index="la_code", columns="category_name").stack().rename("n").reset_index()
        got = publish(frame, "t", rule, CONF).frame
        assert recoverable(got, "category_name", "all", "n") == []
        assert recoverable(got, "la_code", "ALL", "n") == []
        shown = got["n"].dropna()
        assert ((shown == 0) | ((shown >= 10) & (shown % 5 == 0))).all()
        hidden_cells += int(got["n"].isna().sum())
    assert hidden_cells > 100  # the tables did exercise suppression
