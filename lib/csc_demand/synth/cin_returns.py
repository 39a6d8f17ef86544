"""The CIN census XML returns and the NPD CIN and CP extracts in one pass over the annual snapshots.

Both formats show the same snapshot rows: the XML those of the collection years, the NPD extracts those of every
year from 2008-09 (``npd.HISTORY_FROM_YEAR``). Each LA's task (``by_la``) hands its referrals to ``la_task``, which
builds the snapshots of every NPD year of the episodes open in one (``snapshot.annual_snapshots``), writes the XML
files (``cin_xml.la_returns``) and the NPD part files (``npd.la_extracts``) and returns the truth rows of both
formats' defects (told apart by their ``format`` column).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from csc_demand.synth import cin_xml, npd
from csc_demand.synth import defects as D
from csc_demand.synth.snapshot import annual_snapshots, episodes_in_returns

# The snapshot columns either format shows.
COLUMNS = tuple(dict.fromkeys(cin_xml.COLUMNS + npd.SNAPSHOT_COLUMNS))


def la_task(referrals: pa.Table, seed: int, rate: float, years: list[int], out_dir: Path, parts: Path) -> pa.Table:
    """One LA's XML files of the collection ``years`` and NPD part files of every year from its referrals
    (``episodes.OUTPUT_SCHEMA``); the truth rows of the defects injected in either. An LA with episodes in history
    years only has no XML rows: its empty returns are written by ``cin_xml.empty_returns``."""
    episodes = episodes_in_returns(referrals, npd.HISTORY_FROM_YEAR, years[-1])
    snap = annual_snapshots(episodes, npd.HISTORY_FROM_YEAR, years[-1]).select(list(COLUMNS))
    xml = snap.filter(pc.greater_equal(snap.column("file_year"), years[0]))
    xml_truth = (cin_xml.la_returns(xml, seed, rate, years, out_dir) if xml.num_rows
                 else D.DEFECT_SCHEMA.empty_table())
    npd_truth = npd.la_extracts(snap, seed, rate, years[0], parts) if snap.num_rows else D.DEFECT_SCHEMA.empty_table()
    return pa.concat_tables([xml_truth, npd_truth])
