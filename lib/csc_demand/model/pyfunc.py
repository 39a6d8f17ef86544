"""The registered classifier: an MLflow pyfunc that assigns demand categories to lists of factor codes, without
Spark (pandas in, pandas out), so an LA analyst can score a spreadsheet of assessments.

Input: a DataFrame with a column ``factor_codes`` holding, per assessment, a list of CIN factor codes or one string
of codes separated by commas, semicolons or spaces (e.g. "3B, 4B"). Output: ``category_id``, ``category_name`` and
``probability`` (posterior of the assigned category). An assessment with no model factor (empty, or only code 21)
gets category 0, "No factors identified", probability NaN.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from csc_demand.codes import indicator_vector
from csc_demand.model.em import EPS, posterior
from csc_demand.model.labelling import NO_FACTORS_ID, NO_FACTORS_NAME

INPUT_COLUMN = "factor_codes"


def parse_codes(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [c for c in re.split(r"[,;\s]+", value) if c]
    return [str(c) for c in value]


def classify_codes(parameters: dict, factor_codes) -> pd.DataFrame:
    """Category of each list of codes under a validated parameter set (``csc_demand.model.parameters``)."""
    X = np.array([indicator_vector(parse_codes(v)) for v in factor_codes], dtype=float).reshape(
        -1, len(parameters["indicator_names"]))
    post = posterior(X, np.log(np.asarray(parameters["class_sizes"])),
                     np.clip(np.asarray(parameters["conditional_probabilities"]), EPS, 1 - EPS))
    best = post.argmax(axis=1)
    has_factor = X.sum(axis=1) > 0
    ids = np.asarray(parameters["class_ids"])[best]
    names = np.asarray(parameters["class_names"], dtype=object)[best]
    return pd.DataFrame({
        "category_id": np.where(has_factor, ids, NO_FACTORS_ID).astype("int64"),
        "category_name": np.where(has_factor, names, NO_FACTORS_NAME),
        "probability": np.where(has_factor, post.max(axis=1), np.nan),
    })


class CategoryClassifier(PythonModel):
    """Holds the parameter set (artifact ``parameters``: the published-parameter JSON)."""

    def __init__(self, parameters: dict | None = None):
        self.parameters = parameters

    def load_context(self, context):
        with open(context.artifacts["parameters"]) as fh:
            self.parameters = json.load(fh)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        if INPUT_COLUMN not in model_input:
            raise ValueError(f"input needs a column {INPUT_COLUMN!r} (a list of CIN factor codes per assessment)")
        assert self.parameters is not None, "built with a parameter set or loaded by MLflow (load_context)"
        return classify_codes(self.parameters, list(model_input[INPUT_COLUMN]))
