"""Name latent classes by the declarative category definitions in conf/categories.yml, in a stable order.

Every class is scored against every category (see the file's header for the rule language); classes and
categories are paired one-to-one by the Hungarian algorithm (most matched pairs first, then the largest total
margin). Matched classes take the category's id and name and come first, in id order; unmatched classes are named
by their top factors, take ids 101, 102, ... in order of class size, and come last.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from csc_demand.codes import INDICATOR_NAMES
from csc_demand.config import conf_dir, parse_yaml
from csc_demand.errors import InputFileError, ModelError

UNMATCHED_FIRST_ID = 101
NO_FACTORS_ID = 0
NO_FACTORS_NAME = "No factors identified"


@dataclass(frozen=True)
class Category:
    id: int
    key: str
    name: str
    require: dict
    any_of: tuple
    exclude: dict
    complex: bool = False  # a multi-factor category: counted in gold.complexity_trends (docs/methods.md, Trends)

    def score(self, profile: np.ndarray) -> float | None:
        """Total margin over the thresholds when the class profile matches, else None."""
        p = dict(zip(INDICATOR_NAMES, profile, strict=True))
        margins = [p[name] - t for name, t in self.require.items()]
        margins += [max(p[name] - t for name, t in group.items()) for group in self.any_of]
        margins += [t - p[name] for name, t in self.exclude.items()]
        if not margins or min(margins) < 0:
            return None
        return float(sum(margins))


@dataclass(frozen=True)
class Labels:
    order: list          # fitted class index for each labelled position
    ids: list
    names: list
    keys: list


def categories_path() -> Path | Traversable:
    return conf_dir() / "categories.yml"


def load_categories(path: str | Path | None = None) -> list[Category]:
    """Parse and check categories.yml (a missing or malformed file or entry, unknown indicators, duplicate ids or
    keys are errors naming the file)."""
    source = Path(path) if path else categories_path()
    if path and not Path(path).is_file():
        raise InputFileError(f"categories file {path} does not exist")
    raw = parse_yaml(source.read_text(), str(source), ModelError) or {}
    entries = raw.get("categories", []) if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ModelError(f"{source}: expected a mapping with a `categories` list, as in conf/categories.yml")
    result = []
    for number, entry in enumerate(entries, 1):
        try:
            groups = tuple(dict(g) for g in entry.get("any_of", []) or [])
            cat = Category(int(entry["id"]), str(entry["key"]), str(entry["name"]), dict(entry.get("require") or {}),
                           groups, dict(entry.get("exclude") or {}), bool(entry.get("complex", False)))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise ModelError(f"{source}: category {number} is not in the form conf/categories.yml describes (id, key, "
                             f"name, require / any_of / exclude mappings of indicator: threshold): "
                             f"{type(err).__name__} {err}") from err
        named = set(cat.require) | set(cat.exclude) | {n for g in groups for n in g}
        unknown = sorted(named - set(INDICATOR_NAMES))
        if unknown:
            raise ModelError(f"{source}: category {cat.key!r} names unknown indicators {unknown}")
        if not (cat.require or cat.any_of):
            raise ModelError(f"{source}: category {cat.key!r} needs `require` or `any_of`")
        if not 0 < cat.id < UNMATCHED_FIRST_ID:
            raise ModelError(f"{source}: category {cat.key!r} id must be between 1 and {UNMATCHED_FIRST_ID - 1}")
        result.append(cat)
    for field in ("id", "key"):
        values = [getattr(c, field) for c in result]
        if len(set(values)) != len(values):
            raise ModelError(f"{source}: duplicate category {field}s")
    if not result:
        raise ModelError(f"{source}: no categories defined")
    return result


def top_factor_name(profile: np.ndarray, n: int = 3) -> str:
    top = np.argsort(-profile, kind="stable")[:n]
    return "Top factors: " + ", ".join(INDICATOR_NAMES[j].replace("_", " ") for j in top)


def label_classes(theta: np.ndarray, sizes: Sequence[float] | np.ndarray, categories: Sequence[Category]) -> Labels:
    """Pair classes (rows of theta) with categories and return the stable order, ids, names and keys."""
    k = theta.shape[0]
    scores = np.full((k, len(categories)), np.nan)
    for c in range(k):
        for j, cat in enumerate(categories):
            s = cat.score(theta[c])
            if s is not None:
                scores[c, j] = s
    matched = ~np.isnan(scores)
    # Matches dominate (one unit each beats any total margin), margins break ties.
    weight = np.where(matched, 1000.0 + np.nan_to_num(scores), 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    pairs = sorted(((categories[int(j)].id, c, categories[int(j)]) for c, j in zip(rows, cols, strict=True)
                    if matched[c, j]),
                   key=lambda t: t[0])
    paired = {c for _, c, _ in pairs}
    rest = sorted((c for c in range(k) if c not in paired), key=lambda c: (-sizes[c], c))
    order = [c for _, c, _ in pairs] + rest
    ids = [cat.id for _, _, cat in pairs] + [UNMATCHED_FIRST_ID + i for i in range(len(rest))]
    names = [cat.name for _, _, cat in pairs] + [top_factor_name(theta[c]) for c in rest]
    keys = [cat.key for _, _, cat in pairs] + [f"unmatched_{i + 1}" for i in range(len(rest))]
    return Labels(order, ids, names, keys)
