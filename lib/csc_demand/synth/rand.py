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


def lognormal_days(u1: Column, u2: Column, median_days, sigma: float) -> Column:
    """Whole days >= 1 from a log-normal with the given median."""
    value = F.exp(F.log(_col(median_days)) + F.lit(sigma) * normal(u1, u2))
    return F.greatest(F.lit(1), F.floor(value).cast("int"))


def cumulative(weights: Sequence[float] | np.ndarray) -> list[float]:
    total = float(sum(weights))
    out, acc = [], 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0 + 1e-9  # guards against rounding: every u < 1 finds a bucket
    return out


def literal_array(values: Sequence) -> Column:
    return F.array(*[F.lit(v) for v in values])


def literal_table(rows: Sequence[Sequence]) -> Column:
    return F.array(*[literal_array(r) for r in rows])


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


def bernoulli_logit(u: Column, logit: Column) -> Column:
    return u < F.lit(1.0) / (F.lit(1.0) + F.exp(-logit))
