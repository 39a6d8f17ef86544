"""Writing one text file per key (LA-year, year) from Spark, in parallel, with deterministic content.

Rows carry the file key, a sort key and the line. Spark writes each key's rows, sorted, as one part file in a
partition folder; the part file is then moved to its final name. Header lines are rows like any other (sort group
0), so a file is complete as written and no driver-side copying is needed.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

HEADER, BODY = 0, 1


def lines(df: DataFrame, file_key, sort_group: int, sort_key, line) -> DataFrame:
    """Rows in the common line schema (file_key, sort_group, sort_key, line)."""
    return df.select(file_key.cast("string").alias("file_key"), F.lit(sort_group).alias("sort_group"),
                     sort_key.cast("string").alias("sort_key"), line.alias("line"))


def write_files(rows: DataFrame, out_dir: Path, work_dir: Path, name: str,
                final_path: Callable[[str], str]) -> list[str]:
    """Write every file_key's lines, sorted by (sort_group, sort_key), to out_dir/final_path(file_key).

    Returns the relative paths written.
    """
    staging = work_dir / f"text_{name}"
    (rows.repartition("file_key")
         .sortWithinPartitions("file_key", "sort_group", "sort_key")
         .select("file_key", "line")
         .write.mode("overwrite").partitionBy("file_key").text(str(staging)))
    written = []
    for folder in sorted(staging.glob("file_key=*")):
        key = folder.name.split("=", 1)[1]
        parts = sorted(folder.glob("part-*"))
        target = out_dir / final_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(parts) == 1:
            shutil.move(str(parts[0]), target)
        else:  # cannot happen with one partition per key, but never lose lines if it does
            with open(target, "wb") as sink:
                for part in parts:
                    with open(part, "rb") as source:
                        shutil.copyfileobj(source, sink)
        written.append(str(target.relative_to(out_dir)))
    shutil.rmtree(staging, ignore_errors=True)
    return written


def csv_line(columns: Sequence) -> F.Column:
    """A CSV line from columns (codes and dates only, never commas or quotes); null -> empty field."""
    return F.concat_ws(",", *[F.coalesce(c.cast("string"), F.lit("")) for c in columns])
