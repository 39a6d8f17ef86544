"""Referral histories: one round per referral of a child, each round a pure function of the child and round number.

Round k turns a child's k-th referral into a whole episode (assessments and factors, Section 47, CP plan, CIN plan,
periods of care, closure) and decides whether and when the next referral comes. The hazard of coming back, the
pathway after assessment and the care history depend on the demand class and on age and ethnicity (params.py).

The rounds run in numpy inside each LA's Spark task (``by_la``), every round of a block of children at once: a
child's episodes depend on nobody else's. The task writes its referrals as parquet itself (pyarrow), one file per
round. Each draw is Spark's xxhash64 of (seed, child, round,
purpose) computed in numpy (``hashing``), so the rows do not depend on blocks or partitions; dates are days since
1970-01-01.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from csc_demand.codes import ABUSE_CATEGORIES, NO_FACTOR_CODE, REFERRAL_SOURCES
from csc_demand.synth import params as P
from csc_demand.synth.draws import (
    Draws,
    add_months,
    bernoulli_logit,
    collection_year,
    date_array,
    draw_class,
    exponential,
    floor_int,
    greatest,
    list_array,
    lognormal_days,
    pick,
    pick_index,
)
from csc_demand.synth.factors import CODE_INDEX, CODES, class_table_rows, indicators, raw_code_index
from csc_demand.synth.hashing import hash_keys
from csc_demand.synth.rand import cumulative

MAX_ROUNDS = 25
# Children simulated together: Spark hands Arrow batches of 10,000 rows, and a round's numpy calls cost the same
# Python overhead for a few rows as for many.
CHILDREN_PER_BLOCK = 50_000
# Referrals stop two months before the 18th birthday, so every episode's assessment falls before it.
LAST_REFERRAL_BEFORE_18_DAYS = 60
CHILD_COLUMNS = ("child_id", "birth_date", "birthday_18", "black", "child_type")
# The child's identifiers and attributes every referral carries, so the returns and the truth need no join.
CHILD_ATTRS = (("la_code", pa.string()), ("la_child_id", pa.string()), ("upn", pa.string()), ("pmr", pa.string()),
               ("sex", pa.string()), ("ethnicity", pa.string()), ("disabilities", pa.list_(pa.string())))

REFERRAL_SOURCE_WEIGHTS = {"1A": 0.02, "1B": 0.03, "1C": 0.02, "1D": 0.01, "2A": 0.17, "2B": 0.01, "3A": 0.05,
                           "3B": 0.02, "3C": 0.02, "3D": 0.03, "3E": 0.02, "3F": 0.01, "4": 0.02, "5A": 0.06,
                           "5B": 0.03, "5C": 0.02, "5D": 0.01, "6": 0.29, "7": 0.02, "8": 0.02, "9": 0.09, "10": 0.03}
assert tuple(REFERRAL_SOURCE_WEIGHTS) == REFERRAL_SOURCES
# Reason a period of care ends, by age at exit: (codes, weights).
EXIT_UNDER_5 = (("E4A", "E11", "E12", "E43", "E41", "E44", "E13", "E15"),
                (0.40, 0.18, 0.04, 0.10, 0.08, 0.06, 0.08, 0.06))
EXIT_5_PLUS = (("E4A", "E4B", "E41", "E43", "E45", "E13", "E5", "E7", "E3", "E15", "E9"),
               (0.50, 0.06, 0.06, 0.06, 0.02, 0.11, 0.04, 0.06, 0.03, 0.04, 0.02))
# Reasons only an older child leaves care for (DfE 387: independent living from 14; 389: adult social care from
# 16); a younger child drawn one leaves to live with parents, relatives or others (E13) instead.
MIN_AGE_AT_EXIT = {"E5": 14, "E7": 16}
YOUNGER_EXIT = "E13"
# At 18: remained with their carers (E17, staying put: 18 or over only, DfE 460) or ceased for another reason (E8).
EXIT_AT_18 = (("E8", "E17"), (0.80, 0.20))
MAX_EXTRA_EPISODES = 3  # 903 episodes of a period after its first (changes of placement or legal status)

PERIOD = pa.struct([("period_no", pa.int32()), ("start", pa.date32()), ("end", pa.date32()), ("rec", pa.string()),
                    ("n_episodes", pa.int32())])
# The referrals table's columns (the round last, as the partition column it becomes).
REFERRAL_FIELDS = (
    ("child_id", pa.int64()), ("birth_date", pa.date32()), ("birthday_18", pa.date32()),
    ("black", pa.bool_()), ("child_type", pa.int32()), ("referral_date", pa.date32()),
    ("cy", pa.int32()), ("age_at_referral", pa.float64()), ("latent_class", pa.int32()),
    ("class_id", pa.int32()), ("referral_nfa", pa.bool_()), ("no_factor", pa.bool_()),
    ("referral_source", pa.string()), ("primary_need", pa.string()), ("closure_date", pa.date32()),
    ("closure_reason", pa.string()), ("a1_start", pa.date32()), ("a1_auth", pa.date32()),
    ("a1_ind", pa.list_(pa.int32())), ("a1_codes", pa.list_(pa.string())),
    ("a2_start", pa.date32()), ("a2_auth", pa.date32()), ("a2_ind", pa.list_(pa.int32())),
    ("a2_codes", pa.list_(pa.string())), ("s47", pa.bool_()), ("s47_start", pa.date32()),
    ("icpc_date", pa.date32()), ("cp", pa.bool_()), ("cp_start", pa.date32()),
    ("cp_end", pa.date32()), ("cp_initial_category", pa.string()),
    ("cp_latest_category", pa.string()), ("cp_previous", pa.int32()),
    ("cp_reviews", pa.list_(pa.date32())), ("cin_plan_start", pa.date32()),
    ("cin_plan_end", pa.date32()), ("care", pa.bool_()), ("care_start", pa.date32()),
    ("care_periods", pa.list_(PERIOD)), ("next_referral_date", pa.date32()),
    ("cpp_count", pa.int32()), ("round", pa.int32()))
SCHEMA = pa.schema(REFERRAL_FIELDS)
ATTR_NAMES = tuple(name for name, _ in CHILD_ATTRS)
OUTPUT_SCHEMA = pa.schema(REFERRAL_FIELDS + CHILD_ATTRS)
FILE_SCHEMA = OUTPUT_SCHEMA.remove(OUTPUT_SCHEMA.get_field_index("round"))  # the round is the file's folder


class ClassTable:
    """Per-class parameters, indexed by each row's latent class."""

    def __init__(self):
        effects = [P.EFFECTS[P.CLASS_NAMES[k]] for k, _, _ in class_table_rows()]

        def per_class(name: str) -> np.ndarray:
            return np.array([float(getattr(e, name)) for e in effects])
        self.cp_logit, self.care_logit = per_class("cp_logit"), per_class("care_logit")
        self.return_prob, self.return_mean_days = per_class("return_prob"), per_class("return_mean_days")
        self.cin_plan_prob, self.reentry_prob = per_class("cin_plan_prob"), per_class("reentry_prob")
        self.extra_episodes_mean = per_class("extra_episodes_mean")
        self.cat_cum = np.array([cumulative(e.cp_category) for e in effects])
        self.primary_need = np.array([e.primary_need for e in effects], dtype=object)


# ---- one round: the k-th referral of each child in ``c`` ------------------------------------------------------

def _exit_code(u: np.ndarray, birth: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Reason care ended on ``end`` before the 18th birthday (minimum ages as the DfE's rules count them)."""
    age = (end - birth) / 365.25
    drawn = np.where(age < 5, pick(u, *EXIT_UNDER_5), pick(u, *EXIT_5_PLUS))
    too_young = np.zeros(len(u), dtype=bool)
    for code, min_age in MIN_AGE_AT_EXIT.items():
        too_young |= (drawn == code) & (add_months(birth, 12 * min_age) > end)
    return np.where(too_young, YOUNGER_EXIT, drawn)


def _care_period(u: Draws, n: int, start: np.ndarray, birth: np.ndarray, b18: np.ndarray) -> dict:
    """One period of care from its start: end (capped at 18), reason it ended."""
    end_raw = start + lognormal_days(u(f"p{n}d1"), u(f"p{n}d2"), P.CARE_PERIOD_MEDIAN_DAYS, 1.0)
    end = np.minimum(end_raw, b18)
    rec_u = u(f"p{n}rec")
    rec = np.where(end_raw >= b18, pick(rec_u, *EXIT_AT_18), _exit_code(rec_u, birth, end))
    return {"start": start, "end": end, "rec": rec}


def episode_round(c: dict[str, np.ndarray], seed: int, k: int, data_end: int) -> dict[str, tuple]:
    """Round k for the children in ``c`` (arrays: CHILD_COLUMNS, referral_date, prev_class, cpp_count).

    Returns column -> (values, present) (present None: never null), in REFERRAL_FIELDS' terms."""
    u = Draws(seed, c["child_id"], k)
    table = ClassTable()
    r, birth, b18 = c["referral_date"], c["birth_date"], c["birthday_18"]
    n = len(r)
    cy = collection_year(r)
    age = (r - birth) / 365.25
    latent = c["child_type"] if k == 0 else np.where(u("persist") < P.CLASS_PERSISTENCE, c["prev_class"],
                                                     draw_class(u("class"), cy))
    nfa = u("nfa") < P.NFA_PROB
    no_factor = ~nfa & (u("nofac") < P.NO_FACTOR_PROB)
    assessed, classed = ~nfa, ~nfa & ~no_factor

    # ---- assessments --------------------------------------------------------------------------------------
    a1_start = r + floor_int(u("a1s") * 8)
    a1_auth = np.minimum(a1_start + 7 + np.minimum(floor_int(exponential(u("a1d"), 22.0)), 110), b18)
    a2_start = a1_auth + 5 + floor_int(u("a2s") * 60)
    a2_auth = a2_start + 7 + np.minimum(floor_int(exponential(u("a2d"), 22.0)), 110)
    has_a2 = assessed & (u("a2") < P.SECOND_ASSESSMENT_PROB) & (a2_auth < b18)
    ind = indicators(u.state, latent)  # a second assessment of the same episode finds the same factors
    codes = {number: _codes(raw_code_index(hash_keys(u.state, number), collection_year(auth)), ind, no_factor,
                             present)
             for number, auth, present in ((1, a1_auth, assessed), (2, a2_auth, has_a2))}

    # ---- pathway: CP plan, care, S47, CIN plan ---------------------------------------------------------------
    n_factors = ind.sum(axis=1)
    neglect = ind[:, P.IDX["neglect"]]
    older = (age >= 13).astype(np.float64)
    black = c["black"].astype(np.float64)
    cp_logit = (table.cp_logit[latent] + P.CP_NEGLECT * neglect + P.CP_PER_EXTRA_FACTOR * (n_factors - 1)
                + P.CP_AGE_13_PLUS * older + P.CP_BLACK * black
                + P.CP_AFTER_PREVIOUS_PLAN * (c["cpp_count"] > 0).astype(np.float64))
    care_logit = table.care_logit[latent] + P.CARE_AGE_13_PLUS * older + P.CARE_BLACK * black
    cp = classed & bernoulli_logit(u("cp"), cp_logit)
    care_drawn = classed & bernoulli_logit(u("care"), care_logit)
    s47 = cp | (classed & (u("s47") < P.S47_WITHOUT_PLAN))
    s47_start = a1_start + floor_int(u("s47s") * 10)
    icpc = s47_start + 10 + floor_int(u("icpc") * 6)
    cp_duration = lognormal_days(u("cpd1"), u("cpd2"), P.CP_PLAN_MEDIAN_DAYS, 0.6)
    u_cs = u("cs")
    care_start = np.where(cp, icpc + 1 + floor_int(u_cs * (cp_duration - 1)), a1_start + floor_int(u_cs * 60))
    care = care_drawn & (care_start < b18 - 7)
    cp_end = np.minimum(np.where(care, care_start, icpc + cp_duration), b18)
    initial = np.array(ABUSE_CATEGORIES, dtype=object)[pick_index(u("cat"), table.cat_cum[latent])]
    latest = np.where(u("latest") < 0.85, initial, "MUL")
    plan_days = cp_end - icpc
    n_reviews = np.where(plan_days > 90, floor_int((plan_days - 91) / 180) + 1, 0)
    has_reviews = cp & (n_reviews > 0)
    counts = np.where(has_reviews, n_reviews, 0)
    row, nth = _repeat(counts)
    reviews = list_array(counts, date_array(icpc[row] + 90 + 180 * nth), has_reviews)
    step_down = cp & ~care & (u("sd") < P.STEP_DOWN_CIN_PROB)
    cin_only = classed & ~cp & ~care & (u("cin") < table.cin_plan_prob[latent])
    cin_start = np.where(cin_only, a1_auth + floor_int(u("cins") * 14), cp_end + 1)
    cin_duration = lognormal_days(u("cind1"), u("cind2"), P.CIN_PLAN_MEDIAN_DAYS, 0.7)
    has_cin = (cin_only | step_down) & (cin_start < b18)
    cin_end = np.minimum(cin_start + cin_duration, b18)

    # ---- periods of care (at most two per episode: a first period and a re-entry after returning home) ---------
    p1 = _care_period(u, 1, care_start, birth, b18)
    reentry_start = p1["end"] + 1 + floor_int(exponential(u("regap"), P.REENTRY_MEAN_DAYS))
    reentry = (care & np.isin(p1["rec"], ("E4A", "E4B")) & (u("re") < table.reentry_prob[latent])
               & (reentry_start < b18 - 7))
    p2 = _care_period(u, 2, reentry_start, birth, b18)
    for number, p in ((1, p1), (2, p2)):
        extra = np.minimum(MAX_EXTRA_EPISODES, floor_int(exponential(u(f"p{number}ne"),
                                                                     table.extra_episodes_mean[latent])))
        p["n_episodes"] = np.where(p["end"] - p["start"] < 8, 1, 1 + extra)
    last_end = np.where(reentry, p2["end"], p1["end"])
    last_rec = np.where(reentry, p2["rec"], p1["rec"])

    # ---- closure ----------------------------------------------------------------------------------------------
    last_activity = greatest((a1_auth, assessed), (a2_auth, has_a2), (cp_end, cp), (cin_end, has_cin),
                             (last_end, care))
    closure_raw = np.where(nfa, r + floor_int(u("nfac") * 3), last_activity + floor_int(u("cl") * 21))
    closure = np.minimum(closure_raw, b18)
    u_rc = u("rc")
    reason = np.select(
        [nfa, closure_raw >= b18, care & np.isin(last_rec, ("E11", "E12")),
         care & np.isin(last_rec, ("E43", "E44", "E45")), care & (last_rec == "E41"), care | cp | s47 | has_cin],
        ["RC8", "RC7", "RC1", "RC4", "RC3", np.where(u_rc < 0.05, "RC5", "RC7")],
        np.where(u_rc < 0.55, "RC8", "RC9")).astype(object)
    source = pick(u("src"), REFERRAL_SOURCES, list(REFERRAL_SOURCE_WEIGHTS.values()))

    # ---- the next referral --------------------------------------------------------------------------------------
    return_prob = np.where(classed, table.return_prob[latent], P.UNCLASSED_RETURN[0])
    return_prob = return_prob * np.where(cp, P.RETURN_AFTER_CP, 1.0)
    # Gaps are a mixture: a quick return (likelier after a short episode: NFA or assessment only) or the class's
    # slower return; this is what puts about 22% of referrals within 12 months of the previous one.
    short_episode = ~cp & ~care & ~has_cin
    quick = u("quick") < np.where(short_episode, P.QUICK_RETURN_SHARE[0], P.QUICK_RETURN_SHARE[1])
    gap_mean = np.where(quick, P.QUICK_RETURN_MEAN_DAYS,
                        np.where(classed, table.return_mean_days[latent], P.UNCLASSED_RETURN[1]))
    next_referral = closure + 1 + floor_int(exponential(u("gap"), gap_mean))
    has_next = ((u("ret") < return_prob) & (reason != "RC1") & (closure_raw < b18) & (next_referral <= data_end)
                & (next_referral <= b18 - LAST_REFERRAL_BEFORE_18_DAYS))

    counts = np.where(care, 1 + reentry, 0)
    row, nth = _repeat(counts)
    second = nth == 1

    def field(name: str) -> np.ndarray:
        return np.where(second, p2[name][row], p1[name][row])
    periods = list_array(counts, pa.StructArray.from_arrays(
        [pa.array(nth + 1, pa.int32()), date_array(field("start")), date_array(field("end")),
         pa.array(field("rec"), pa.string()), pa.array(field("n_episodes"), pa.int32())], fields=list(PERIOD)), care)
    indicator_lists = list_array(np.where(classed, P.N_IND, 0), pa.array(ind[classed].ravel(), pa.int32()), classed)
    a2_ind = has_a2 & classed
    a2_indicator_lists = list_array(np.where(a2_ind, P.N_IND, 0), pa.array(ind[a2_ind].ravel(), pa.int32()), a2_ind)
    return {
        "child_id": (c["child_id"], None), "birth_date": (birth, None), "birthday_18": (b18, None),
        "black": (c["black"], None), "child_type": (c["child_type"], None), "referral_date": (r, None),
        "cy": (cy, None), "age_at_referral": (age, None), "latent_class": (latent, None),
        "class_id": (latent, classed), "referral_nfa": (nfa, None), "no_factor": (no_factor, None),
        "referral_source": (source, None),
        "primary_need": (np.where(classed, table.primary_need[latent], "N9"), None),
        "closure_date": (closure, None), "closure_reason": (reason, None),
        "a1_start": (a1_start, assessed), "a1_auth": (a1_auth, assessed), "a1_ind": (indicator_lists, None),
        "a1_codes": (codes[1], None), "a2_start": (a2_start, has_a2), "a2_auth": (a2_auth, has_a2),
        "a2_ind": (a2_indicator_lists, None), "a2_codes": (codes[2], None), "s47": (s47, None),
        "s47_start": (s47_start, s47), "icpc_date": (icpc, cp), "cp": (cp, None), "cp_start": (icpc, cp),
        "cp_end": (cp_end, cp), "cp_initial_category": (initial, cp), "cp_latest_category": (latest, cp),
        "cp_previous": (c["cpp_count"], cp), "cp_reviews": (reviews, None),
        "cin_plan_start": (cin_start, has_cin), "cin_plan_end": (cin_end, has_cin), "care": (care, None),
        "care_start": (care_start, care), "care_periods": (periods, None),
        "next_referral_date": (next_referral, has_next), "cpp_count": (c["cpp_count"], None),
        "round": (np.full(n, k), None),
    }


def _repeat(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For list columns with ``counts`` items per row: each item's row and its position in the row's list."""
    row = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return row, np.arange(len(row)) - starts[row]


_CODE_STRINGS = pa.array(CODES, pa.string())


def _codes(raw: np.ndarray, ind: np.ndarray, no_factor: np.ndarray, present: np.ndarray) -> pa.Array:
    """The codes (``raw``: indices into CODES) of the indicators set, in indicator order; code 21 alone for an
    assessment without factors."""
    chosen = (ind == 1) & ~no_factor[:, None]
    raw = raw.copy()
    raw[no_factor, 0] = CODE_INDEX[NO_FACTOR_CODE]
    chosen[no_factor, 0] = True
    chosen[~present] = False
    return list_array(chosen.sum(axis=1), _CODE_STRINGS.take(pa.array(raw[chosen])), present)


def _arrow(columns: dict[str, tuple]) -> pa.RecordBatch:
    arrays = []
    for field in SCHEMA:
        values, present = columns[field.name]
        if isinstance(values, pa.Array):
            arrays.append(values)
        elif pa.types.is_date32(field.type):
            arrays.append(date_array(values, present))
        else:
            arrays.append(pa.array(values, field.type, mask=None if present is None else ~present))
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _days(column: pa.Array) -> np.ndarray:
    return column.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def histories(batch: pa.RecordBatch, seed: int, data_end: int) -> Iterator[pa.RecordBatch]:
    """Every referral of the children in ``batch`` (CHILD_COLUMNS, first_referral and CHILD_ATTRS), round by round,
    with its child's CHILD_ATTRS."""
    attrs = pa.Table.from_batches([batch]).select(list(ATTR_NAMES))
    c = {"child_id": batch.column("child_id").to_numpy().astype(np.int64),
         "birth_date": _days(batch.column("birth_date")), "birthday_18": _days(batch.column("birthday_18")),
         "black": batch.column("black").to_numpy(zero_copy_only=False).astype(bool),
         "child_type": batch.column("child_type").to_numpy().astype(np.int64),
         "referral_date": _days(batch.column("first_referral"))}
    c["prev_class"] = np.full(len(c["child_id"]), -1)
    c["cpp_count"] = np.zeros(len(c["child_id"]), dtype=np.int64)
    row = np.arange(len(c["child_id"]))  # each child's row in batch
    for k in range(MAX_ROUNDS):
        if len(c["child_id"]) == 0:
            return
        columns = episode_round(c, seed, k, data_end)
        simulated = _arrow(columns)
        yield pa.RecordBatch.from_arrays(
            simulated.columns + [column.combine_chunks() for column in attrs.take(pa.array(row)).columns],
            schema=OUTPUT_SCHEMA)
        next_date, back = columns["next_referral_date"]
        row = row[back]
        c = {name: c[name][back] for name in CHILD_COLUMNS} | {
            "referral_date": next_date[back], "prev_class": columns["latent_class"][0][back],
            "cpp_count": c["cpp_count"][back] + columns["cp"][0][back]}
    if len(c["child_id"]):
        raise RuntimeError(f"children still being re-referred after {MAX_ROUNDS} rounds: raise MAX_ROUNDS")


def _blocks(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The batches joined into blocks of about CHILDREN_PER_BLOCK rows (a child's rows never depend on the others)."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHILDREN_PER_BLOCK:
            yield pa.concat_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.concat_batches(pending)


def write_histories(children: pa.Table, seed: int, data_end: int, path: Path, name: str) -> pa.Table:
    """Every referral of ``children``, written by pyarrow as ``path``/round=k/part-``name``.parquet, one file per
    round (Spark's writer spent most of the step turning the nested columns into rows), and returned."""
    writers: dict[int, pq.ParquetWriter] = {}
    referrals = []
    try:
        for block in _blocks(children.to_batches()):
            for batch in histories(block, seed, data_end):
                k = batch.column("round")[0].as_py()
                if k not in writers:
                    (path / f"round={k}").mkdir(parents=True, exist_ok=True)
                    writers[k] = pq.ParquetWriter(path / f"round={k}" / f"part-{name}.parquet", FILE_SCHEMA)
                writers[k].write_batch(batch.drop_columns(["round"]))
                referrals.append(batch)
    finally:
        for writer in writers.values():
            writer.close()
    return pa.Table.from_batches(referrals, OUTPUT_SCHEMA)
