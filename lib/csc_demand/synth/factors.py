"""Assessment factors from the latent class model, and the raw codes each year's return would use.

Indicators are independent Bernoulli draws given the class, conditioned on at least one factor (up to two
tries, then the class's signature factor): the model an LCA on assessments with factors estimates. numpy, for the
referral rounds (episodes.py); draws are ``hashing`` uniforms keyed on what they describe.
"""
from __future__ import annotations

import numpy as np

from csc_demand.codes import INDICATOR_NAMES, INDICATORS
from csc_demand.synth import params as P
from csc_demand.synth.hashing import hash_keys, to_uniform

TRIES = 2
N = len(INDICATOR_NAMES)

# Share of the unsplit code (18A / 19A) among physical / sexual abuse codes by collection year (DfE c3 2021-2025).
UNSPLIT_SHARE = {2021: 0.32, 2022: 0.09}
UNSPLIT_SHARE_LATER = 0.04
CHILD_ON_CHILD_SHARE = {"physical_abuse": 0.25, "sexual_abuse": 0.40}
CRIMINAL_EXPLOITATION_SHARE = 0.47  # 24A among gangs/criminal exploitation from 2021-22


def class_table_rows() -> list[tuple[int, list[float], int]]:
    """(class, P(indicator | class) row, signature indicator) per class."""
    probs = P.conditional_probabilities()
    return [(k, [float(p) for p in probs[k]], int(probs[k].argmax())) for k in range(P.K)]


def indicators(state: np.ndarray, latent_class: np.ndarray) -> np.ndarray:
    """(rows x 34) 0/1 indicators drawn with each row's class probabilities, at least one set: the first of two
    tries with any factor, else the class's signature factor. ``state``: the rows' hash of their keys."""
    rows = class_table_rows()
    probs = np.array([r[1] for r in rows])[latent_class]
    signature = np.array([r[2] for r in rows])[latent_class]
    result = np.zeros((len(latent_class), N), dtype=np.int32)
    result[np.arange(len(latent_class)), signature] = 1
    factor = hash_keys(state, "factor")
    for t in reversed(range(TRIES)):
        at_t = hash_keys(factor, t)
        drawn = np.stack([to_uniform(hash_keys(at_t, j)) for j in range(N)], axis=1) < probs
        result = np.where(drawn.any(axis=1, keepdims=True), drawn.astype(np.int32), result)
    return result


def _unsplit_share(year: np.ndarray) -> np.ndarray:
    share = np.where(year < 2021, 1.0, UNSPLIT_SHARE_LATER)
    for y, s in UNSPLIT_SHARE.items():
        share = np.where(year == y, s, share)
    return share


def raw_codes(state: np.ndarray, year: np.ndarray) -> np.ndarray:
    """(rows x 34) the raw factor code each indicator would be returned as in the collection ``year``."""
    codes = np.empty((len(year), N), dtype=object)
    for j, name in enumerate(INDICATOR_NAMES):
        if name == "privately_fostered":
            u = to_uniform(hash_keys(state, "code", j))
            fostered = np.array(INDICATORS[name], dtype=object)
            codes[:, j] = fostered[np.floor(u * len(fostered)).astype(np.int64)]
        elif name in ("physical_abuse", "sexual_abuse"):
            u, u2 = to_uniform(hash_keys(state, "code", j)), to_uniform(hash_keys(state, "code2", j))
            stem = INDICATORS[name][0][:2]
            codes[:, j] = np.where(u < _unsplit_share(year), f"{stem}A",
                                   np.where(u2 < CHILD_ON_CHILD_SHARE[name], f"{stem}B", f"{stem}C"))
        elif name == "gangs_criminal_exploitation":
            u = to_uniform(hash_keys(state, "code", j))
            codes[:, j] = np.where((year >= 2022) & (u < CRIMINAL_EXPLOITATION_SHARE), "24A", "13A")
        else:
            codes[:, j] = INDICATORS[name][0]
    return codes
