"""The CIN census XML returns and the NPD CIN and CP extracts in one pass over the annual snapshots.

Both formats show the same snapshot rows: the XML those of the collection years, the NPD extracts those of every
year from 2008-09 (``npd.HISTORY_FROM_YEAR``). So the episodes open in any NPD year, with their child's
attributes, are grouped by LA once (one shuffle, one row per episode), and each LA's task builds its snapshots of every NPD year
(``snapshot.annual_snapshots``), writes its XML files (``cin_xml.la_returns``) and its NPD part files
(``npd.la_extracts``) and returns the truth rows of both formats' defects (told apart by their ``format`` column).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from csc_demand.synth import cin_xml, npd
from csc_demand.synth import defects as D
from csc_demand.synth.snapshot import annual_snapshots, episodes_in_returns

# The snapshot columns either format shows.
COLUMNS = tuple(dict.fromkeys(cin_xml.COLUMNS + npd.SNAPSHOT_COLUMNS))


def la_task(episodes: pa.Table, seed: int, rate: float, years: list[int], out_dir: Path, parts: Path) -> pa.Table:
    """One LA's XML files of the collection ``years`` and NPD part files of every year from its episodes
    (``snapshot.episodes_in_returns``); the truth rows of the defects injected in either. An LA with episodes in
    history years only has no XML rows: its empty returns are written by ``cin_xml.empty_returns``."""
    snap = annual_snapshots(episodes, npd.HISTORY_FROM_YEAR, years[-1]).select(list(COLUMNS))
    xml = snap.filter(pc.greater_equal(snap.column("file_year"), years[0]))
    xml_truth = (cin_xml.la_returns(xml, seed, rate, years, out_dir) if xml.num_rows
                 else D.DEFECT_SCHEMA.empty_table())
    return pa.concat_tables([xml_truth, npd.la_extracts(snap, seed, rate, years[0], parts)])


def write_cin_returns(spark: SparkSession, referrals: DataFrame, seed: int, rate: float,
                      la_codes: list[str], first_year: int, last_year: int, out_dir: Path,
                      work_dir: Path) -> tuple[list[str], DataFrame]:
    """Every LA's CIN census XML of the collection years and the national NPD CIN and CP extracts of every NPD
    year, one task per LA; returns the paths written and the defects' truth rows."""
    years = list(range(first_year, last_year + 1))
    parts, path = work_dir / "npd_parts", str(work_dir / "cin_defects")
    (episodes_in_returns(referrals, npd.HISTORY_FROM_YEAR, last_year).groupBy("la_code")
     .applyInArrow(lambda table: la_task(table, seed, rate, years, out_dir, parts), from_arrow_schema(D.DEFECT_SCHEMA))
     .write.mode("overwrite").parquet(path))
    files = cin_xml.empty_returns(out_dir, la_codes, years)
    files += npd.join_extracts(out_dir, list(range(npd.HISTORY_FROM_YEAR, last_year + 1)), parts)
    return files, spark.read.parquet(path)
