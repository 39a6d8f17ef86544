"""Ground truth under <out>/_truth/ (never read by the pipeline): true classes, parameters, effects, targets,
defects. Formats are documented in docs/synth.md."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_schema

from csc_demand.codes import INDICATOR_NAMES
from csc_demand.synth import params as P
from csc_demand.synth.columns import days, flag, iso
from csc_demand.synth.draws import collection_year


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def write_by_la(df: DataFrame, order: tuple[str, ...], path: Path) -> None:
    """Write ``df`` as parquet sorted by la_code then ``order`` (as ``orderBy`` sorts: strings by UTF-8 bytes,
    nulls first), one file per LA that the LA's task sorts and writes, named by its code: read back in name order
    (the codes all have three digits), the rows come as one global sort gives them, without its sampling pass and
    range shuffle. The fields keep ``df``'s nullability, as Spark's writer records it."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    schema = to_arrow_schema(df.schema)

    def task(table: pa.Table) -> pa.Table:
        table = pa.Table.from_arrays(table.select(schema.names).columns, schema=schema)
        table = table.sort_by([(name, "ascending", "at_start") for name in ("la_code", *order)])
        pq.write_table(table, path / f"part-{table.column('la_code')[0].as_py()}.parquet")
        return pa.table({"la_code": pa.array([], pa.string())})
    df.groupBy("la_code").applyInArrow(task, "la_code string").collect()
    if not any(path.iterdir()):
        pq.write_table(schema.empty_table(), path / "part-none.parquet")


def params_json(first_year: int, last_year: int) -> dict:
    years = range(first_year, last_year + 1)
    return {
        "indicator_names": list(INDICATOR_NAMES),
        "class_names": list(P.CLASS_NAMES),
        "class_sizes": [float(x) for x in np.sum([P.class_sizes(y) for y in years], axis=0) / len(years)],
        "class_sizes_by_year": {str(y): [float(x) for x in P.class_sizes(y)] for y in years},
        "conditional_probabilities": [[float(p) for p in row] for row in P.conditional_probabilities()],
        "notes": "class_sizes: mean over the collection years of the sampling class sizes (assessments with "
                 "factors). Indicators are drawn independently given the class and conditioned on at least one "
                 "factor; re-referrals keep the previous class with probability class_persistence, so realised "
                 "class sizes (see _summary.json) differ slightly from the sampling sizes.",
        "class_persistence": P.CLASS_PERSISTENCE,
    }


def effects_json() -> dict:
    names = ("CP_NEGLECT", "CP_PER_EXTRA_FACTOR", "CP_AGE_13_PLUS", "CARE_AGE_13_PLUS", "CARE_BLACK", "CP_BLACK",
             "CP_AFTER_PREVIOUS_PLAN", "QUICK_RETURN_SHARE", "QUICK_RETURN_MEAN_DAYS",
             "S47_WITHOUT_PLAN", "NFA_PROB", "NO_FACTOR_PROB", "SECOND_ASSESSMENT_PROB", "CLASS_PERSISTENCE",
             "UNCLASSED_RETURN", "RETURN_AFTER_CP", "REENTRY_MEAN_DAYS", "CARE_PERIOD_MEDIAN_DAYS",
             "CP_PLAN_MEDIAN_DAYS", "CIN_PLAN_MEDIAN_DAYS", "STEP_DOWN_CIN_PROB", "ATT8_NEVER_MEAN",
             "ATT8_LEVEL_MULT", "ATT8_OPEN_AT_31_MARCH_MULT", "ATT8_PER_EXTRA_EPISODE_MULT", "ATT8_SEN_MULT",
             "ATT8_SEN_AND_CSC_MULT", "ATT8_SD_SHARE", "EXCLUSION_PROB", "EXCLUSION_SEN_MULT_NEVER",
             "EXCLUSION_SEN_MULT_CSC", "PERMANENT_SHARE", "SEN_PROBS", "SEN_DISABLED_EXTRA_E")
    return {
        "per_class": {c: dataclasses.asdict(P.EFFECTS[c]) for c in P.CLASS_NAMES},
        "shared": {n.lower(): getattr(P, n) for n in names},
        "model": {
            "cp_plan": "logit P(CP | assessment with factors) = cp_logit[class] + cp_neglect*neglect + "
                       "cp_per_extra_factor*(n_factors-1) + cp_age_13_plus*(age>=13) + cp_black*black + "
                       "cp_after_previous_plan*(had a plan before)",
            "care": "logit P(care | assessment with factors) = care_logit[class] + care_age_13_plus*(age>=13) + "
                    "care_black*black",
            "rereferral": "after closure: re-referred with probability return_prob[class] (x return_after_cp "
                          "after a CP plan; unclassed_return for NFA / code 21 episodes), gap ~ 1 + "
                          "Exponential(quick_return_mean_days) with probability quick_return_share[0] after an "
                          "episode without plan or care ([1] otherwise), else 1 + Exponential(return_mean_days); "
                          "not after adoption, 18th birthday or data end",
            "reentry": "after a period of care ending E4A/E4B: re-entry with probability reentry_prob[class], "
                       "gap ~ 1 + Exponential(reentry_mean_days)",
            "att8": "att8_never_mean * att8_level_mult[level] * open_31_march * per_extra_episode^(n-1) * "
                    "att8_sen_mult[sen] * sen_and_csc * (1 + att8_sd_share * N(0,1)), clipped to 0..90",
        },
    }


def targets_json() -> dict:
    return {**P.TARGETS, "category_orderings": P.category_orderings()}


ASSESSMENTS = pa.schema([
    ("la_code", pa.string()), ("child_id", pa.string()), ("referral_date", pa.string()),
    ("assessment_start_date", pa.string()), ("authorised_date", pa.string()), ("collection_year", pa.int32()),
    pa.field("assessment_number", pa.int32(), nullable=False), ("class_id", pa.int32()), ("class_name", pa.string()),
    ("factor_codes", pa.string()), ("indicators", pa.string())])
EVENTS = pa.schema([("la_code", pa.string()), ("child_id", pa.string()), pa.field("event", pa.string(), nullable=False),
                    ("start_date", pa.string())])


def assessment_truth(referrals: pa.Table) -> pa.Table:
    """One row per assessment of ``referrals`` (``episodes.OUTPUT_SCHEMA``): the key ingest produces and the true
    class (null for code 21 alone), sorted by LA, child, referral date and assessment number."""
    parts = []
    for n in (1, 2):
        r = referrals.filter(pc.is_valid(referrals.column(f"a{n}_start"))).combine_chunks()
        c = {name: r.column(name).combine_chunks() for name in r.column_names}
        auth = c[f"a{n}_auth"]
        parts.append(pa.table([
            c["la_code"], c["la_child_id"], iso(c["referral_date"]), iso(c[f"a{n}_start"]), iso(auth),
            pa.array(collection_year(days(auth)), pa.int32(), mask=~flag(pc.is_valid(auth))),
            pa.array(np.full(r.num_rows, n, np.int32)), c["class_id"],
            pa.array(P.CLASS_NAMES, pa.string()).take(c["class_id"]),
            pc.binary_join(c[f"a{n}_codes"], ";"), pc.binary_join(c[f"a{n}_ind"].cast(pa.list_(pa.string())), ""),
        ], schema=ASSESSMENTS))
    return pa.concat_tables(parts).sort_by(
        [(name, "ascending", "at_start") for name in ("la_code", "child_id", "referral_date", "assessment_number")])


def event_truth(referrals: pa.Table) -> pa.Table:
    """One row per CP plan and per period of care (start dates) of ``referrals``: what a pathway window looks for,
    sorted by LA, child, start date and event."""
    plans = referrals.filter(referrals.column("cp")).combine_chunks()
    care = referrals.filter(referrals.column("care")).combine_chunks()
    periods = care.column("care_periods").combine_chunks()
    period_of = pc.list_parent_indices(periods)
    events = pa.table([
        pa.concat_arrays([plans.column(name).combine_chunks(), care.column(name).combine_chunks().take(period_of)])
        for name in ("la_code", "la_child_id")] + [
        pa.array(["cp_plan"] * plans.num_rows + ["care"] * len(period_of), pa.string()),
        iso(pa.concat_arrays([plans.column("cp_start").combine_chunks(),
                              pc.struct_field(pc.list_flatten(periods), "start")]))], schema=EVENTS)
    return events.sort_by([(name, "ascending", "at_start") for name in ("la_code", "child_id", "start_date", "event")])
