"""Annual returns as at 31 March: each episode once per collection year it was open in, showing only what had
happened by the census reference date (later closures, authorisations, plan ends are not yet known).

The snapshots are built inside each LA's task (``by_la``, ``cin_returns``) from its episodes in memory.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csc_demand.synth.columns import days
from csc_demand.synth.draws import collection_year, date_array, list_array
from csc_demand.synth.episodes import ATTR_NAMES

# The referral columns the returns (XML, NPD) read: only these are shuffled.
EPISODE_COLUMNS = ("child_id", "round", "birth_date", "cy", "referral_date", "referral_source", "primary_need",
                   "referral_nfa", "class_id", "closure_date", "closure_reason", "a1_start", "a1_auth", "a1_codes",
                   "a2_start", "a2_auth", "a2_codes", "s47_start", "icpc_date", "cp", "cp_start", "cp_end",
                   "cp_initial_category", "cp_latest_category", "cp_previous", "cp_reviews", "cin_plan_start",
                   "cin_plan_end")
CIN_PLAN_FROM_YEAR = 2022  # CIN plan dates are in the returns from 2021-22


def open_counts(cy: np.ndarray, closure: pa.Array, first_year: int, last_year: int) -> tuple[np.ndarray, np.ndarray]:
    """For episodes referred in collection year ``cy`` and closed on ``closure`` (null: still open), the first
    collection year in first_year..last_year each is open in and the number of such years."""
    closed = pc.is_valid(closure).to_numpy(zero_copy_only=False)
    first = np.maximum(cy.astype(np.int64), first_year)
    last = np.where(closed, np.minimum(collection_year(days(closure)), last_year), last_year)
    return first, np.maximum(last - first + 1, 0)


def episodes_in_returns(referrals: pa.Table, first_year: int, last_year: int) -> pa.Table:
    """The episodes of ``referrals`` open in some collection year first_year..last_year, with their child's
    attributes: the input of ``annual_snapshots``."""
    referrals = referrals.select([*EPISODE_COLUMNS, *ATTR_NAMES]).combine_chunks()
    _, counts = open_counts(referrals.column("cy").to_numpy(), referrals.column("closure_date").combine_chunks(),
                            first_year, last_year)
    return referrals.filter(pa.array(counts > 0))


def open_years(cy: np.ndarray, closure: pa.Array, first_year: int, last_year: int) -> tuple[np.ndarray, np.ndarray]:
    """For episodes referred in collection year ``cy`` and closed on ``closure`` (null: still open), the index of
    the episode and the collection year of each (episode, year open in first_year..last_year), episode by episode,
    years ascending."""
    first, counts = open_counts(cy, closure, first_year, last_year)
    episode = np.repeat(np.arange(len(cy)), counts)
    starts = np.cumsum(counts) - counts
    return episode, first[episode] + np.arange(len(episode)) - starts[episode]


def march_31(years: np.ndarray) -> np.ndarray:
    """31 March of each year, in days since 1970-01-01."""
    march = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + 2
    return march.astype("datetime64[D]").astype(np.int64) + 30


def reviews_by(reviews: pa.Array, ref: np.ndarray) -> pa.ListArray:
    """Each list's dates on or before its row's ``ref`` (a null list: an empty one)."""
    row = pc.list_parent_indices(reviews).to_numpy()
    dates = pc.list_flatten(reviews)
    keep = pc.fill_null(pc.less_equal(dates.cast(pa.int32()), pa.array(ref[row], pa.int32())), False).to_numpy(
        zero_copy_only=False)
    return list_array(np.bincount(row[keep], minlength=len(ref)), dates.filter(pa.array(keep)))


def annual_snapshots(episodes: pa.Table, first_year: int, last_year: int) -> pa.Table:
    """One row per (episode, collection year first_year..last_year it was open in) of ``episodes``
    (``episodes_in_returns`` rows), with ``file_year``, ``ref_date`` and the fields as shown at ``ref_date``."""
    episodes = episodes.combine_chunks()
    index, year = open_years(episodes.column("cy").to_numpy(), episodes.column("closure_date"), first_year,
                             last_year)
    snap = episodes.take(pa.array(index))
    c = {name: snap.column(name).combine_chunks() for name in snap.column_names}
    ref = march_31(year)
    ref_date = date_array(ref)

    def by_ref(d: str) -> pa.Array:
        return pc.less_equal(c[d], ref_date)

    def shown(d: str, value: str | None = None) -> pa.Array:
        """A field known at the reference date: the value when its date is on or before it, else null."""
        column = c[d if value is None else value]
        return pc.if_else(by_ref(d), column, pa.scalar(None, column.type))

    def started(d: str) -> pa.Array:
        return pc.fill_null(by_ref(d), False)

    shown_columns = {
        "file_year": pa.array(year, pa.int32()), "ref_date": ref_date,
        "closure_shown": shown("closure_date"), "closure_reason_shown": shown("closure_date", "closure_reason"),
        "a1_in": started("a1_start"), "a1_auth_shown": shown("a1_auth"), "a1_codes_shown": shown("a1_auth", "a1_codes"),
        "a2_in": started("a2_start"), "a2_auth_shown": shown("a2_auth"), "a2_codes_shown": shown("a2_auth", "a2_codes"),
        "s47_in": started("s47_start"), "icpc_shown": shown("icpc_date"),
        "cp_in": started("cp_start"), "cp_end_shown": shown("cp_end"),
        "cp_reviews_shown": reviews_by(c["cp_reviews"], ref),
        "cin_plan_in": pc.and_(pa.array(year >= CIN_PLAN_FROM_YEAR), started("cin_plan_start")),
        "cin_plan_end_shown": shown("cin_plan_end"),
    }
    for name, column in shown_columns.items():
        snap = snap.append_column(name, column)
    return snap
