"""SSDA903 (children looked after): episodes of each period of care, and the header and episodes CSV files
per LA-year (dates dd/mm/YYYY; every episode open at any time in the year, as known at 31 March).

Built in numpy and pyarrow inside the LA's task (``by_la``) from its referrals, with the draws and text the Spark
expressions this replaced gave (``hashing``, ``columns``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csc_demand.synth import defects as D
from csc_demand.synth.cin_xml import SEX_FROM_YEAR
from csc_demand.synth.columns import csv_fields, days, first_of_each, flag, iso, text_bytes, when
from csc_demand.synth.draws import Draws, collection_year, date_array, pick_index
from csc_demand.synth.episodes import MAX_EXTRA_EPISODES
from csc_demand.synth.rand import cumulative
from csc_demand.synth.snapshot import march_31, open_years

HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN")
CHANGE_RNE = (("P", "L", "T", "U"), (0.70, 0.15, 0.10, 0.05))
LEGAL_STATUS_CHANGES, PLACEMENT_CHANGES = ("L", "U"), ("P", "T", "U")  # the RNEs that change each
MAX_EPISODES = 1 + MAX_EXTRA_EPISODES
LEGAL_STATUS = (("C2", "V2", "C1", "E1", "J2", "L1"), (0.45, 0.35, 0.12, 0.04, 0.02, 0.02))
PLACEMENTS = (("U1", "U3", "U4", "U5", "U6", "K2", "P1", "H5", "R1", "T0"),
              (0.10, 0.15, 0.28, 0.06, 0.06, 0.12, 0.06, 0.06, 0.06, 0.05))
PROVIDERS = (("PR1", "PR2", "PR3", "PR4", "PR5"), (0.45, 0.05, 0.05, 0.40, 0.05))
PLACE_CHANGE_REASONS = (("CARPL", "CLOSE", "ALLEG", "STAND", "APPRR", "CREQB", "CREQO", "CHILD", "LAIPS", "PLACE",
                         "OTHER"), (0.25, 0.05, 0.03, 0.12, 0.05, 0.1, 0.05, 0.1, 0.1, 0.1, 0.05))
URN_PLACES = ("K2", "R1")  # the placements with an Ofsted URN


def episodes_path(la_code: str, year: int) -> str:
    return f"ssda903/{year}/ssda903_{la_code}_{year}_episodes.csv"


def header_path(la_code: str, year: int) -> str:
    return f"ssda903/{year}/ssda903_{la_code}_{year}_header.csv"


def dmy(d: pa.Array) -> pa.Array:
    """dd/mm/YYYY of a date column (null stays null)."""
    text = iso(d)
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 8, 10), pc.utf8_slice_codeunits(text, 5, 7),
                                       pc.utf8_slice_codeunits(text, 0, 4), "/")


def malformed_dmy(d: pa.Array) -> pa.Array:
    """A dd/mm/YYYY date with month 13: not a calendar date."""
    text = iso(d)
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 8, 10), "13",
                                       pc.utf8_slice_codeunits(text, 0, 4), "/")


def _pick(u: np.ndarray, table: tuple) -> np.ndarray:
    return pick_index(u, cumulative(table[1]))


def care_episodes(referrals: pa.Table, seed: int) -> tuple[dict[str, np.ndarray | pa.Array], Draws]:
    """One entry per 903 episode (child, round, period, episode number) of ``referrals`` with true dates. An episode
    after the first of its period starts with the change its RNE names (legal status L, placement P or T, both U);
    legal status and placement (type, provider, URN) hold until a change of their kind. Also the episodes' draws
    (keyed by child, round and period; then the episode number)."""
    care = referrals.filter(referrals.column("care")).combine_chunks()
    periods = care.column("care_periods").combine_chunks()
    of_period = pc.list_parent_indices(periods)
    flat = pc.list_flatten(periods)
    child_id = care.column("child_id").combine_chunks().take(of_period).to_numpy()
    rounds = care.column("round").combine_chunks().take(of_period).to_numpy().astype(np.int32)
    period_no = pc.struct_field(flat, "period_no").to_numpy().astype(np.int32)
    u = Draws(seed, child_id, rounds, period_no)
    n_periods = len(child_id)

    def spells(purpose: str, table: tuple, changing: bool) -> np.ndarray:
        """Each period's value (an index into table's values) of each spell; with ``changing``, each spell's
        value unlike the one before: a draw equal to it takes the next value, so a change the RNE records is a
        change in the data (DfE 434, 435, 436)."""
        drawn = np.stack([_pick(u(spell, purpose), table) for spell in range(MAX_EPISODES)], axis=1)
        for spell in range(1, MAX_EPISODES if changing else 0):
            same = drawn[:, spell] == drawn[:, spell - 1]
            drawn[same, spell] = (drawn[same, spell] + 1) % len(table[0])
        return drawn

    rne_index = np.stack([np.full(n_periods, -1)] + [_pick(u(ep, "rne"), CHANGE_RNE)
                                                     for ep in range(1, MAX_EPISODES)], axis=1)
    rnes = np.array(("S",) + CHANGE_RNE[0], dtype=object)[rne_index + 1]
    status_spell = np.cumsum(np.isin(rnes, LEGAL_STATUS_CHANGES), axis=1)
    placement_spell = np.cumsum(np.isin(rnes, PLACEMENT_CHANGES), axis=1)
    statuses = spells("ls", LEGAL_STATUS, True)
    places = spells("place", PLACEMENTS, True)
    providers = spells("prov", PROVIDERS, False)
    urn_numbers = np.stack([np.floor(u(spell, "urn") * 1e6).astype(np.int64) for spell in range(MAX_EPISODES)],
                           axis=1)

    n = pc.struct_field(flat, "n_episodes").to_numpy().astype(np.int64)
    period = np.repeat(np.arange(n_periods), n)
    ep = np.arange(len(period)) - np.repeat(np.cumsum(n) - n, n)
    start, end = days(pc.struct_field(flat, "start"))[period], days(pc.struct_field(flat, "end"))[period]
    last = ep == n[period] - 1
    duration = end - start
    decom = start + np.floor(duration * ep / n[period]).astype(np.int64)
    dec = np.where(last, end, start + np.floor(duration * (ep + 1) / n[period]).astype(np.int64))
    status = statuses[period, status_spell[period, ep]]
    spell = placement_spell[period, ep]
    place = places[period, spell]
    urn = np.where(np.isin(np.array(PLACEMENTS[0])[place], URN_PLACES),
                   np.char.add("SC", np.char.zfill(urn_numbers[period, spell].astype(str), 6)), "XXXXXXX")
    next_rne = rnes[period, np.minimum(ep + 1, MAX_EPISODES - 1)]
    episode_draws = Draws(seed, child_id[period], rounds[period], period_no[period])
    rpc = np.where(~last & np.isin(next_rne, PLACEMENT_CHANGES),
                   np.array(PLACE_CHANGE_REASONS[0], dtype=object)[_pick(episode_draws(ep.astype(np.int32), "rpc"),
                                                                        PLACE_CHANGE_REASONS)], None)
    referral = of_period.to_numpy()[period]
    primary_need = care.column("primary_need").combine_chunks().take(pa.array(referral))
    rec = pc.struct_field(flat, "rec").take(pa.array(period))
    return {
        "ep_no": ep, "decom": decom, "dec": dec, "episodes_in_period": n[period],
        "rne": pa.array(rnes[period, ep], pa.string()),
        "ls": pa.array(np.array(LEGAL_STATUS[0], dtype=object)[status], pa.string()),
        "cin": pc.if_else(pc.equal(primary_need, "N9"), "N8", primary_need),
        "place": pa.array(np.array(PLACEMENTS[0], dtype=object)[place], pa.string()),
        "provider": pa.array(np.array(PROVIDERS[0], dtype=object)[providers[period, spell]], pa.string()),
        "rec": pc.if_else(pa.array(last), rec, "X1"),
        "reason_place_change": pa.array(rpc, pa.string()), "urn": pa.array(urn, pa.string()),
        **{name: care.column(name).combine_chunks().take(pa.array(referral))
           for name in ("la_code", "la_child_id", "sex", "birth_date", "ethnicity", "upn")},
    }, episode_draws


def la_files(referrals: pa.Table, seed: int, rate: float, years: list[int], out_dir: Path) -> pa.Table:
    """Write one LA's header and episodes files of each collection year from its ``referrals``: each episode in
    every year's return it was open in, DEC, REC and the reason for a change of placement blank until known, and
    with chance ``rate`` a malformed DECOM (only on a period's one episode, in its first return: the rules comparing
    a child's episodes then find no gap where the quarantined one was). Returns the defects' truth rows."""
    e, draws = care_episodes(referrals, seed)
    decom_year = collection_year(e["decom"])
    first_decom_year = np.maximum(decom_year, years[0])
    index, year = open_years(decom_year, date_array(e["dec"]), years[0], years[-1])
    rows = pa.array(index)
    c = {name: value.take(rows) if isinstance(value, pa.Array) else value[index] for name, value in e.items()}
    ref = march_31(year)
    kind = np.full(len(index), None, dtype=object)
    if rate > 0:
        u = draws(e["ep_no"].astype(np.int32), "defect-903")[index]
        kind[(u < rate) & (year == first_decom_year[index]) & (c["episodes_in_period"] == 1)] = "malformed_date"
    decom = date_array(c["decom"])
    decom_written = pc.if_else(pa.array(kind != None), malformed_dmy(decom), dmy(decom))  # noqa: E711
    known = c["dec"] <= ref
    blank = pa.scalar("", pa.string())
    episode_lines = csv_fields(
        c["la_child_id"], decom_written, c["rne"], c["ls"], c["cin"], c["place"], c["provider"],
        when(known, dmy(date_array(c["dec"]))), when(known, c["rec"]), when(known, c["reason_place_change"]),
        blank, blank, c["urn"])
    episode_order = pa.table({"year": year, "key": pc.binary_join_element_wise(c["la_child_id"], iso(decom), "|"),
                              "line": episode_lines}).sort_by([("year", "ascending"), ("key", "ascending"),
                                                               ("line", "ascending")])
    children = pa.table({"year": year, "child": c["la_child_id"], "row": np.arange(len(index))}).sort_by(
        [("year", "ascending"), ("child", "ascending"), ("row", "ascending")])
    child_year, child = children.column("year").to_numpy(), children.column("child").combine_chunks()
    new = first_of_each(child_year, child)
    first_row = children.column("row").combine_chunks().filter(pa.array(new))
    k = {name: c[name].take(first_row) for name in ("la_child_id", "sex", "birth_date", "ethnicity", "upn")}
    k_year = child_year[new]
    sex = pc.if_else(pa.array(k_year >= SEX_FROM_YEAR), k["sex"], pc.if_else(pc.equal(k["sex"], "M"), "1", "2"))
    mother = when(flag(pc.equal(k["sex"], "F")) & (march_31(k_year) - days(k["birth_date"]) >= 12 * 365),
                  pa.array(["0"] * len(k_year), pa.string()))
    header_lines = csv_fields(k["la_child_id"], sex, dmy(k["birth_date"]), k["ethnicity"], k["upn"], mother, blank)
    la_code = referrals.column("la_code")[0].as_py()
    for y in years:
        _write(out_dir / episodes_path(la_code, y), EPISODE_COLUMNS, episode_order.column("line").combine_chunks()
               .filter(pc.equal(episode_order.column("year").combine_chunks(), y)))
        _write(out_dir / header_path(la_code, y), HEADER_COLUMNS, header_lines.filter(pa.array(k_year == y)))
    c["file_year"], c["referral_date"] = pa.array(year, pa.int32()), pa.nulls(len(index), pa.date32())
    return D.truth_rows(c, kind, "ssda903", episodes_path, "care_episodes", decom_written,
                        pa.array(["DECOM malformed"] * len(index), pa.string()))


def _write(path: Path, columns: tuple[str, ...], lines: pa.Array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        file.write((",".join(columns) + "\n").encode())
        file.write(text_bytes(lines))


def empty_files(out_dir: Path, la_codes: list[str], years: list[int]) -> list[str]:
    """Every LA's file paths, after writing header-only files for an LA whose task wrote none (no children:
    tiny scales)."""
    files = []
    for la_code in la_codes:
        for y in years:
            for path, columns in ((header_path(la_code, y), HEADER_COLUMNS), (episodes_path(la_code, y), EPISODE_COLUMNS)):
                if not (out_dir / path).exists():
                    _write(out_dir / path, columns, pa.array([], pa.string()))
                files.append(path)
    return files
