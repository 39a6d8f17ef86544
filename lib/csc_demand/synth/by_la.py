"""One Spark task per LA: its children's referral histories, then its CIN census XML, SSDA903 files and NPD CIN and
CP extracts.

The children are written one parquet file per LA (``write_children``), and each LA's task reads its file, runs every
referral round (``episodes.write_histories``, which writes the referrals as parquet, one file per round), then
hands the same referrals, still in memory, to ``cin_returns.la_task`` and ``care.la_files`` for the returns (and the
truth rows of the defects injected) and to ``truth`` for the LA's truth files of assessments and events, one parquet file per LA named
by its code. So the referrals are not read back and grouped by LA in a shuffle for the returns or the truth. Tasks
run largest LA first, so the last to finish is a small one.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from csc_demand.synth import care, cin_returns, cin_xml, npd, truth
from csc_demand.synth.episodes import write_histories

# The truth files written per LA, from its referrals.
TRUTH = {"assessments.parquet": truth.assessment_truth, "events.parquet": truth.event_truth}
ROUND_COUNTS = pa.schema([("round", pa.int32()), ("referrals", pa.int64())])


def write_children(children: pa.Table, path: Path) -> list[str]:
    """``children`` as one parquet file per LA (path/part-<LA>.parquet, rows in child_id order); returns the LA
    codes, the largest LA first."""
    children = children.sort_by([("la_code", "ascending"), ("child_id", "ascending")])
    counts = pc.value_counts(children.column("la_code")).to_pylist()  # in order of first appearance: sorted
    path.mkdir(parents=True)
    offset = 0
    for count in counts:
        pq.write_table(children.slice(offset, count["counts"]), path / f"part-{count['values']}.parquet")
        offset += count["counts"]
    return [c["values"] for c in sorted(counts, key=lambda c: (-c["counts"], c["values"]))]


def histories_and_returns(spark: SparkSession, all_children: pa.Table, la_codes: list[str], seed: int, rate: float,
                          years: list[int], data_end: date, out_dir: Path, work_dir: Path,
                          log_step: Callable[[str], None] | None = None) -> tuple[DataFrame, list[str], DataFrame]:
    """Every referral of ``all_children`` (written under work_dir/referrals, partitioned by round), the CIN census
    XML and SSDA903 files of every LA in ``la_codes`` for the collection ``years``, the national NPD CIN and CP extracts of every NPD
    year and the truth files of assessments and events; the children are kept under work_dir/children. Returns the
    referrals, the paths of the returns and the defects' truth rows."""
    end_day = (data_end - date(1970, 1, 1)).days
    children, referrals = work_dir / "children", work_dir / "referrals"
    parts, defects = work_dir / "npd_parts", work_dir / "cin_defects"
    truth_dir = out_dir / "_truth"
    tasks = write_children(all_children, children)
    for folder in (defects, *[truth_dir / name for name in TRUTH]):
        folder.mkdir(parents=True)

    def task(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for index in batch.column("id").to_pylist():
                la_code = tasks[index]
                la_referrals = write_histories(pq.read_table(children / f"part-{la_code}.parquet"), seed, end_day,
                                               referrals, la_code)
                pq.write_table(pa.concat_tables([
                    cin_returns.la_task(la_referrals, seed, rate, years, out_dir, parts),
                    care.la_files(la_referrals, seed, rate, years, out_dir)]), defects / f"part-{la_code}.parquet")
                for folder, rows in TRUTH.items():
                    pq.write_table(rows(la_referrals), truth_dir / folder / f"part-{la_code}.parquet")
                by_round = pc.value_counts(la_referrals.column("round")).to_pylist()
                yield pa.RecordBatch.from_pylist([{"round": c["values"], "referrals": c["counts"]} for c in by_round],
                                                 ROUND_COUNTS)

    counts: dict[int, int] = {}
    for k, n in spark.range(0, len(tasks), 1, len(tasks)).mapInArrow(task, from_arrow_schema(ROUND_COUNTS)).collect():
        counts[k] = counts.get(k, 0) + n
    if log_step:
        log_step(f"referral histories: {sum(counts.values())} referrals in {len(counts)} rounds "
                 f"(children per round: {', '.join(str(counts[k]) for k in sorted(counts))})")
    files = cin_xml.empty_returns(out_dir, la_codes, years) + care.empty_files(out_dir, la_codes, years)
    files += npd.join_extracts(out_dir, list(range(npd.HISTORY_FROM_YEAR, years[-1] + 1)), parts)
    return spark.read.parquet(str(referrals)), files, spark.read.parquet(str(defects))
