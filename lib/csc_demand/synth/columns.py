"""Text and flags from Arrow columns, written as the generator's Spark expressions wrote them: the writers that
build files inside one task per LA (CIN XML, NPD CSV) share these so that a date or a null reads the same in each.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csc_demand.synth.draws import date_array


def iso(days: np.ndarray | pa.Array) -> pa.Array:
    """YYYY-MM-DD of a date column or of days since 1970-01-01."""
    return pc.cast(days if isinstance(days, pa.Array) else date_array(days), pa.string())


def malformed_iso(days: np.ndarray) -> pa.Array:
    """A date with month 13 in YYYY-MM-DD form: not a calendar date."""
    d = date_array(days)
    return pc.binary_join_element_wise(pc.cast(pc.year(d), pa.string()), "-13-",
                                       pc.utf8_lpad(pc.cast(pc.day(d), pa.string()), 2, "0"), "")


def concat(*parts) -> pa.Array:
    """The parts joined, null ones left out (SQL's concat_ws)."""
    return pc.binary_join_element_wise(*parts, "", null_handling="skip")


def when(condition: np.ndarray, value: pa.Array) -> pa.Array:
    """value where condition holds, else null."""
    return pc.if_else(pa.array(condition), value, pa.scalar(None, pa.string()))


def flag(column: pa.Array) -> np.ndarray:
    """A boolean column as numpy (null = false)."""
    return pc.fill_null(column, False).to_numpy(zero_copy_only=False)


def first_of_each(year: np.ndarray, child: pa.Array) -> np.ndarray:
    """For rows sorted by year then child: True on each (year, child)'s first row."""
    new = np.ones(len(year), dtype=bool)
    new[1:] = (year[1:] != year[:-1]) | flag(pc.not_equal(child[1:], child[:-1]))
    return new


def days(column: pa.Array) -> np.ndarray:
    """Days since 1970-01-01 (0 where null: read only where present)."""
    return pc.fill_null(column.cast(pa.int32()), 0).to_numpy().astype(np.int64)


def csv_fields(*columns: pa.Array) -> pa.Array:
    """CSV lines of codes and dates (never commas or quotes): each value as Spark casts it to a string, null as an
    empty field (``textfiles.csv_line``)."""
    return pc.binary_join_element_wise(*[c if pa.types.is_string(c.type) else pc.cast(c, pa.string())
                                         for c in columns], ",", null_handling="replace")


def text_bytes(lines: pa.Array) -> memoryview:
    """The lines, each ended by a newline, as one block of UTF-8: what Spark's text writer writes for them."""
    ended = pc.binary_join_element_wise(lines, "\n", "")
    if len(ended) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(ended.buffers()[1], np.int32)[ended.offset:ended.offset + len(ended) + 1]
    return memoryview(ended.buffers()[2])[offsets[0]:offsets[-1]]
