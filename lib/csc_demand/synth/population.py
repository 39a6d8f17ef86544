"""Local authorities and the children who are ever referred: LA, first referral, type, demographics, identifiers.

A child's "type" is the demand class of their first referral; demographics are drawn given the type (risks outside
the home: older, male, Black children over-represented; disability: disabled, more often male).
"""
from __future__ import annotations

import math
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import functions as F

from csc_demand.codes import DISABILITY_CODES, ETHNICITY_GROUP
from csc_demand.synth import draws
from csc_demand.synth import params as P
from csc_demand.synth.draws import Draws, add_months, date_array, draw_class, floor_int, pick_index
from csc_demand.synth.rand import cumulative

N_LA_NATIONAL = 152
# Children ever referred 2007-2021 at scale 1.0: 3.9M gave 3.82M assessments in 2014-15..2020-21 (seed 7,
# scale 0.01), so 4.3M gives the ~4.2M the study reports.
CHILDREN_NATIONAL = 4_300_000
HISTORY_YEARS = 7  # referrals start this many years before the first collection year's 1 April

# Stable 3-digit LA codes in the ranges DfE's old LA codes use.
LA_CODES: tuple[str, ...] = tuple(
    str(c) for c in [*range(201, 214), *range(301, 321), *range(330, 337), *range(340, 345), *range(350, 360),
                     *range(370, 374), *range(380, 385), *range(390, 395), *range(800, 883)])
assert len(LA_CODES) == N_LA_NATIONAL

ETHNICITY_SHARES = {
    "WBRI": 0.62, "WIRI": 0.004, "WIRT": 0.003, "WOTH": 0.06, "WROM": 0.008, "MWBC": 0.03, "MWBA": 0.01,
    "MWAS": 0.01, "MOTH": 0.025, "AIND": 0.013, "APKN": 0.025, "ABAN": 0.01, "AOTH": 0.015, "BCRB": 0.012,
    "BAFR": 0.04, "BOTH": 0.015, "CHNE": 0.002, "OOTH": 0.03, "REFU": 0.01, "NOBT": 0.058,
}
ETHNICITY_CODES = tuple(ETHNICITY_SHARES)
BLACK_CODES = tuple(c for c in ETHNICITY_CODES if ETHNICITY_GROUP[c] == "Black")
DISABILITY_LIST = tuple(c for c in DISABILITY_CODES if c != "NONE")


def n_las(scale: float) -> int:
    return max(3, min(N_LA_NATIONAL, round(N_LA_NATIONAL * scale)))


def la_weights(n: int, seed: int) -> list[float]:
    """Relative LA sizes: log-normal spread, fixed by the seed (pure Python: only n numbers)."""
    import random
    rng = random.Random(seed)
    return [math.exp(rng.gauss(0.0, 0.45)) for _ in range(n)]


def referral_window(first_year: int, last_year: int) -> tuple[date, date]:
    return date(first_year - 1 - HISTORY_YEARS, 4, 1), date(last_year, 3, 31)


def _ethnicity_cum_by_type() -> list[list[float]]:
    rows = []
    for cls in P.CLASS_NAMES:
        mult = P.EFFECTS[cls].black_multiplier
        rows.append(cumulative([ETHNICITY_SHARES[c] * (mult if c in BLACK_CODES else 1.0) for c in ETHNICITY_CODES]))
    return rows


def collection_year(d) -> F.Column:
    """Collection year (ending 31 March) of a date column."""
    return F.year(d) + F.when(F.month(d) >= 4, 1).otherwise(0)


def permuted_digits(x, multiplier: int, offset: int, modulus: int, width: int) -> F.Column:
    """A bijection of 0..modulus-1 written as zero-padded digits: collision-free pseudonymous numbers."""
    value = F.pmod(x * F.lit(multiplier) + F.lit(offset % modulus), F.lit(modulus))
    return F.lpad(value.cast("string"), width, "0")


def pmr_for(child_id, seed: int) -> F.Column:
    """PupilMatchingRefAnonymous: 'P' + 11 digits, bijective in the id."""
    return F.concat(F.lit("P"), permuted_digits(child_id, 69621, seed * 7919, 10**11, 11))


def _prefixed(prefix: str | pa.Array, values: np.ndarray, width: int) -> pa.Array:
    """prefix + values as zero-padded digits (pyarrow's string kernels: Python strings are slow at 4.3M rows)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def children(scale: float, seed: int, first_year: int, last_year: int) -> pa.Table:
    """One row per child ever referred in the simulated window, with everything fixed for life (numpy: the draws
    and values the Spark expressions of ``pmr_for`` and ``collection_year`` give)."""
    n_children = max(50, round(CHILDREN_NATIONAL * scale))
    n_la = n_las(scale)
    start, end = referral_window(first_year, last_year)
    eff = [P.EFFECTS[c] for c in P.CLASS_NAMES]
    child_id = np.arange(n_children, dtype=np.int64)
    u = Draws(seed, child_id)
    la_index = pick_index(u("la"), cumulative(la_weights(n_la, seed)))
    first_referral = (start - date(1970, 1, 1)).days + floor_int(u("first") * (end - start).days)
    child_type = draw_class(u("type"), draws.collection_year(first_referral))

    def by_type(values) -> np.ndarray:
        return np.array(values)[child_type]
    age_lo, age_hi = by_type([e.age_lo for e in eff]), by_type([e.age_hi for e in eff])
    birth = first_referral - floor_int((age_lo + (age_hi - age_lo) * u("age")) * 365.25)
    disabled = u("disabled") < by_type([e.disabled_share for e in eff])
    n_dis = len(DISABILITY_LIST)
    dis1 = floor_int(u("dis1") * n_dis)
    dis2 = (dis1 + 1 + floor_int(u("dis2") * (n_dis - 1))) % n_dis
    two = disabled & (u("dis_n") < 0.3)
    alphabetical = np.argsort(np.argsort(DISABILITY_LIST))  # two codes are listed in alphabetical order
    first = np.where(two & (alphabetical[dis2] < alphabetical[dis1]), dis2, dis1)
    second = np.where(first == dis1, dis2, dis1)
    codes = np.stack([np.where(disabled, first, n_dis), second], axis=1)[np.stack([np.ones_like(two), two], axis=1)]
    disabilities = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(1 + two)]).astype(np.int32)),
                                            pa.array([*DISABILITY_LIST, "NONE"]).take(codes))
    eth_index = pick_index(u("eth"), np.array(_ethnicity_cum_by_type())[child_type])
    la_code = pa.array(LA_CODES[:n_la]).take(la_index)
    within_la = np.empty(n_children, dtype=np.int64)  # LAchildID: a sequence within the LA (the same id occurs
    order = np.argsort(la_index, kind="stable")       # in different LAs, as in real returns)
    sizes = np.bincount(la_index, minlength=n_la)
    within_la[order] = np.arange(n_children) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    return pa.table({
        "child_id": child_id, "la_code": la_code, "la_child_id": _prefixed("C", within_la, 7),
        "upn": _prefixed(pc.binary_join_element_wise("A", la_code, ""), (child_id * 48271 + seed % 10**9) % 10**9, 9),
        "pmr": _prefixed("P", (child_id * 69621 + (seed * 7919) % 10**11) % 10**11, 11),
        "birth_date": date_array(birth), "birthday_18": date_array(add_months(birth, 18 * 12)),
        "sex": pa.array(["F", "M"]).take((u("sex") < by_type([e.male_share for e in eff])).astype(np.int64)),
        "ethnicity": pa.array(ETHNICITY_CODES).take(eth_index),
        "black": np.isin(eth_index, [ETHNICITY_CODES.index(c) for c in BLACK_CODES]),
        "disabled": disabled, "disabilities": disabilities, "child_type": pa.array(child_type, pa.int32()),
        "first_referral": date_array(first_referral)})
