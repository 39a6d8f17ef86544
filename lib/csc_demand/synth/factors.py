"""Assessment factors from the latent class model, and the raw codes each year's return would use.

Indicators are independent Bernoulli draws given the class, conditioned on at least one factor (up to two
tries, then the class's signature factor): the model an LCA on assessments with factors estimates. numpy, for the
referral rounds (episodes.py); draws are ``hashing`` uniforms keyed on what they describe.
"""
from __future__ import annotations

import numpy as np

from csc_demand.codes import ALL_FACTOR_CODES, INDICATOR_NAMES, INDICATORS
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


ROWS_PER_BLOCK = 4096  # the hash arithmetic of a block of rows (x 34 indicators) stays in the CPU's cache
_COLUMNS = np.arange(N, dtype=np.int32)


def indicators(state: np.ndarray, latent_class: np.ndarray) -> np.ndarray:
    """(rows x 34) 0/1 indicators drawn with each row's class probabilities, at least one set: the first of two
    tries with any factor, else the class's signature factor. ``state``: the rows' hash of their keys; indicator
    j of try t is drawn from hash(state, "factor", t, j)."""
    rows = class_table_rows()
    class_probs = np.array([r[1] for r in rows])
    signature = np.array([r[2] for r in rows])[latent_class]
    result = np.zeros((len(latent_class), N), dtype=np.int32)
    result[np.arange(len(latent_class)), signature] = 1
    for start in range(0, len(latent_class), ROWS_PER_BLOCK):
        block = slice(start, start + ROWS_PER_BLOCK)
        factor, probs, chosen = hash_keys(state[block], "factor"), class_probs[latent_class[block]], result[block]
        for t in reversed(range(TRIES)):
            drawn = to_uniform(hash_keys(hash_keys(factor, t)[:, None], _COLUMNS)) < probs
            chosen[...] = np.where(drawn.any(axis=1, keepdims=True), drawn, chosen)
    return result


def _unsplit_share(year: np.ndarray) -> np.ndarray:
    share = np.where(year < 2021, 1.0, UNSPLIT_SHARE_LATER)
    for y, s in UNSPLIT_SHARE.items():
        share = np.where(year == y, s, share)
    return share


CODES = np.array(ALL_FACTOR_CODES, dtype=object)  # raw codes as indices into this: no object arrays per row
CODE_INDEX = {code: i for i, code in enumerate(ALL_FACTOR_CODES)}
_FIRST_CODES = np.array([CODE_INDEX[INDICATORS[name][0]] for name in INDICATOR_NAMES], dtype=np.int16)


def raw_code_index(state: np.ndarray, year: np.ndarray) -> np.ndarray:
    """(rows x 34) the raw factor code (index into CODES) each indicator would be returned as in the collection
    ``year``."""
    codes = np.repeat(_FIRST_CODES[None, :], len(year), axis=0)
    for j, name in enumerate(INDICATOR_NAMES):
        if name == "privately_fostered":
            u = to_uniform(hash_keys(state, "code", j))
            fostered = np.array([CODE_INDEX[code] for code in INDICATORS[name]], dtype=np.int16)
            codes[:, j] = fostered[np.floor(u * len(fostered)).astype(np.int64)]
        elif name in ("physical_abuse", "sexual_abuse"):
            u, u2 = to_uniform(hash_keys(state, "code", j)), to_uniform(hash_keys(state, "code2", j))
            stem = INDICATORS[name][0][:2]
            adult_or_child = np.where(u2 < CHILD_ON_CHILD_SHARE[name], CODE_INDEX[f"{stem}B"], CODE_INDEX[f"{stem}C"])
            codes[:, j] = np.where(u < _unsplit_share(year), CODE_INDEX[f"{stem}A"], adult_or_child)
        elif name == "gangs_criminal_exploitation":
            u = to_uniform(hash_keys(state, "code", j))
            codes[:, j] = np.where((year >= 2022) & (u < CRIMINAL_EXPLOITATION_SHARE), CODE_INDEX["24A"], CODE_INDEX["13A"])
    return codes
