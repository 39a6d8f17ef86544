"""Deterministic random numbers as Spark column expressions.

Every draw is a hash of (seed, entity ids, purpose), never a generator with state, so a value depends only on what
it describes and not on partitioning, ordering or how many other values were drawn.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pyspark.sql import Column
from pyspark.sql import functions as F

_MASK53 = (1 << 53) - 1
_TWO53 = float(1 << 53)


def _col(value) -> Column:
    return value if isinstance(value, Column) else F.lit(value)


def uniform(seed: int, *keys) -> Column:
    """U(0,1), strictly inside the interval, from xxhash64 of the seed and keys (columns or literals)."""
    hashed = F.xxhash64(F.lit(seed), *[_col(k) for k in keys])
    return (hashed.bitwiseAND(F.lit(_MASK53)).cast("double") + F.lit(0.5)) / F.lit(_TWO53)


def add_uniforms(df, seed: int, keys: list, purposes: Sequence[str]):
    """Columns u_<purpose>: uniforms that CASE-based picks can reference without re-hashing in every branch."""
    return df.withColumns({f"u_{p}": uniform(seed, *keys, F.lit(p)) for p in purposes})


def exponential(u: Column, mean) -> Column:
    return -F.log(u) * _col(mean)


def normal(u1: Column, u2: Column) -> Column:
    """Standard normal by Box-Muller from two independent uniforms."""
    return F.sqrt(F.lit(-2.0) * F.log(u1)) * F.cos(F.lit(2.0 * math.pi) * u2)


def cumulative(weights: Sequence[float] | np.ndarray) -> list[float]:
    total = float(sum(weights))
    out, acc = [], 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0 + 1e-9  # guards against rounding: every u < 1 finds a bucket
    return out


def _sql_literal(value) -> str:
    """A number or code as SQL text that parses back to the very value F.lit would give (same type too)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value)) if -(2**31) <= value < 2**31 else f"{int(value)}L"
    if isinstance(value, float | np.floating):
        assert math.isfinite(value), value
        return np.format_float_positional(float(value), unique=True, trim="0") + "D"  # shortest exact digits
    assert isinstance(value, str) and "'" not in value and "\\" not in value, value
    return f"'{value}'"


def _sql_array(values: Sequence) -> str:
    return "array(" + ", ".join(_sql_literal(v) for v in values) + ")"


# One parsed SQL expression instead of a py4j call per element: a 19 x 12 table built element by element took
# seconds of driver time per referral round (profile in benchmarks/results/synth_profile.json). The optimizer folds
# either form into the same array literal.
def literal_array(values: Sequence) -> Column:
    return F.expr(_sql_array(values))


def pick_index(u: Column, cum, n: int | None = None) -> Column:
    """0-based bucket of u in cumulative probabilities: a Python list, or an array column of length n.

    A CASE chain rather than a higher-order function, so it compiles with whole-stage codegen.
    """
    if isinstance(cum, Column):
        assert n is not None, "an array column needs its length n"
        bounds = [F.element_at(cum, i + 1) for i in range(n)]
    else:
        bounds = [F.lit(c) for c in cum]
    expr = F.when(u < bounds[0], F.lit(0))
    for i in range(1, len(bounds) - 1):
        expr = expr.when(u < bounds[i], F.lit(i))
    return expr.otherwise(F.lit(len(bounds) - 1))


def pick(u: Column, values: Sequence, weights: Sequence[float]) -> Column:
    """A value drawn from a fixed categorical distribution."""
    cum = cumulative(weights)
    expr = F.when(u < F.lit(cum[0]), F.lit(values[0]))
    for value, bound in zip(values[1:-1], cum[1:-1], strict=True):
        expr = expr.when(u < F.lit(bound), F.lit(value))
    return expr.otherwise(F.lit(values[-1]))
