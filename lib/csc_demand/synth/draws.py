"""Draws, categorical picks and dates in numpy, as the generator's Spark expressions evaluated them.

A draw is Spark's xxhash64 of (seed, entity ids, purpose) as U(0,1) (``hashing``), so a value depends only on what
it describes; dates are days since 1970-01-01.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from csc_demand.synth import params as P
from csc_demand.synth.hashing import SPARK_SEED, hash_keys, to_uniform
from csc_demand.synth.rand import cumulative


class Draws:
    """U(0,1) per row for a purpose: Spark's ``uniform(seed, child_id, *keys, *purpose)``, the keys hashed once
    (``hash_keys``' types: an int an int literal, an int32 array an int column)."""

    def __init__(self, seed: int, child_id: np.ndarray, *keys: int | np.ndarray):
        self.state = hash_keys(SPARK_SEED, seed, child_id, *keys)

    def __call__(self, *purpose: str | int | np.ndarray) -> np.ndarray:
        """The draw for ``purpose`` (further keys, then the purpose's name)."""
        return to_uniform(hash_keys(self.state, *purpose))


def pick_index(u: np.ndarray, cum) -> np.ndarray:
    """0-based bucket of u: the first i with u < cum[i], else the last (a list, or one row of bounds per u)."""
    cum = np.asarray(cum)
    if cum.ndim == 1:
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    return np.minimum((cum[:, :-1] <= u[:, None]).sum(axis=1), cum.shape[1] - 1)


def pick(u: np.ndarray, values, weights) -> np.ndarray:
    return np.array(values, dtype=object)[pick_index(u, cumulative(weights))]


def floor_int(x: np.ndarray) -> np.ndarray:
    return np.floor(x).astype(np.int64)


def exponential(u: np.ndarray, mean) -> np.ndarray:
    return -np.log(u) * mean


def lognormal_days(u1: np.ndarray, u2: np.ndarray, median_days: float, sigma: float) -> np.ndarray:
    normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return np.maximum(1, floor_int(np.exp(np.log(median_days) + sigma * normal)))


def bernoulli_logit(u: np.ndarray, logit: np.ndarray) -> np.ndarray:
    return u < 1.0 / (1.0 + np.exp(-logit))


def year_month(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // 12 + 1970, months % 12 + 1


def collection_year(days: np.ndarray) -> np.ndarray:
    year, month = year_month(days)
    return year + (month >= 4)


def add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Spark's add_months: the same day of the month, or the month's last day when it has fewer."""
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    target = month_start + months
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    day = (d - month_start.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]").astype(np.int64) + np.minimum(day, length - 1)


@lru_cache(maxsize=1)
def class_cum_by_year() -> np.ndarray:
    """Row i: cumulative class sizes for collection year 2008 + i (2008..2026)."""
    return np.array([cumulative(P.draw_weights(y)) for y in range(2008, 2027)])


def draw_class(u: np.ndarray, year: np.ndarray) -> np.ndarray:
    """A class drawn from the year's class sizes (years clamped to 2008..2026)."""
    return pick_index(u, class_cum_by_year()[np.clip(year, 2008, 2026) - 2008])


def greatest(*pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Spark's greatest over nullable dates (value, present): nulls skipped."""
    low = np.iinfo(np.int64).min
    return np.max(np.stack([np.where(present, value, low) for value, present in pairs]), axis=0)


def date_array(days: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """Days since 1970-01-01 as an Arrow date column (null where not ``present``)."""
    mask = None if present is None else ~present
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32(), mask=mask).cast(pa.date32())


def list_array(counts: np.ndarray, items: pa.Array, present: np.ndarray | None = None) -> pa.ListArray:
    """Lists of ``counts`` consecutive items each (null where not ``present``)."""
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, items, mask=None if present is None else pa.array(~present))
