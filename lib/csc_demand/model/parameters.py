"""Parameter sets in the published-parameter format (JSON or YAML), shared by `classify --params`, the pyfunc and
the synthetic generator's truth file:

    indicator_names: [...]               # names from csc_demand.codes.INDICATOR_NAMES, any order
    class_names: [...]                   # one per class
    class_ids: [...]                     # optional; default 1..k
    class_sizes: [...]                   # shares or counts (normalised here)
    conditional_probabilities: [[...]]   # k rows x len(indicator_names), each in [0, 1]
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from csc_demand.codes import INDICATOR_NAMES
from csc_demand.config import parse_yaml
from csc_demand.errors import InputFileError, ModelError


def validate_parameters(raw: dict, source: str = "parameter set") -> dict:
    """Checked copy with indicators in INDICATOR_NAMES order (absent indicators are an error)."""
    for key in ("class_sizes", "conditional_probabilities"):
        if key not in raw:
            raise ModelError(f"{source}: missing key {key!r} (needs class_sizes and conditional_probabilities; "
                             "optional indicator_names, class_names, class_ids)")
    theta = np.asarray(raw["conditional_probabilities"], dtype=float)
    sizes = np.asarray(raw["class_sizes"], dtype=float)
    names = list(raw.get("indicator_names") or INDICATOR_NAMES)
    if theta.ndim != 2 or theta.shape != (len(sizes), len(names)):
        raise ModelError(f"{source}: conditional_probabilities must be {len(sizes)} x {len(names)} "
                         f"(classes x indicators), got shape {theta.shape}")
    unknown = sorted(set(names) - set(INDICATOR_NAMES))
    missing = sorted(set(INDICATOR_NAMES) - set(names))
    if unknown or missing:
        raise ModelError(f"{source}: indicator_names must be exactly csc_demand.codes.INDICATOR_NAMES "
                         f"(unknown: {unknown}, missing: {missing})")
    if np.any(~np.isfinite(theta)) or np.any(theta < 0) or np.any(theta > 1):
        raise ModelError(f"{source}: conditional probabilities must lie in [0, 1]")
    if np.any(sizes < 0) or sizes.sum() <= 0:
        raise ModelError(f"{source}: class_sizes must be non-negative with a positive sum")
    k = len(sizes)
    class_names = list(raw.get("class_names") or [f"Class {c + 1}" for c in range(k)])
    class_ids = [int(i) for i in (raw.get("class_ids") or range(1, k + 1))]
    if len(class_names) != k or len(class_ids) != k or len(set(class_ids)) != k:
        raise ModelError(f"{source}: need {k} class_names and {k} distinct class_ids")
    order = [names.index(n) for n in INDICATOR_NAMES]
    return {
        "indicator_names": list(INDICATOR_NAMES),
        "class_ids": class_ids,
        "class_names": class_names,
        "class_sizes": (sizes / sizes.sum()).tolist(),
        "conditional_probabilities": theta[:, order].tolist(),
    }


def load_parameter_file(path: str | Path) -> dict:
    """Read and validate a JSON (.json) or YAML (anything else) parameter file."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"parameter file {path} does not exist")
    text = path.read_text()
    if path.suffix.lower() != ".json":
        raw = parse_yaml(text, str(path), ModelError)
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise ModelError(f"{path}: not valid JSON: {err}") from err
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: expected a mapping with class_sizes and conditional_probabilities")
    return validate_parameters(raw, str(path))
