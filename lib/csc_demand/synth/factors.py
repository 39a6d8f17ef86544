"""Assessment factors from the latent class model, and the raw codes each year's return would use.

Indicators are independent Bernoulli draws given the class, conditioned on at least one factor (up to two
tries, then the class's signature factor): the model an LCA on assessments with factors estimates.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from csc_demand.codes import INDICATOR_NAMES, INDICATORS
from csc_demand.synth import params as P
from csc_demand.synth.rand import literal_array, uniform

TRIES = 2
N = len(INDICATOR_NAMES)

# Share of the unsplit code (18A / 19A) among physical / sexual abuse codes by collection year (DfE c3 2021-2025).
UNSPLIT_SHARE = {2021: 0.32, 2022: 0.09}
UNSPLIT_SHARE_LATER = 0.04
CHILD_ON_CHILD_SHARE = {"physical_abuse": 0.25, "sexual_abuse": 0.40}
CRIMINAL_EXPLOITATION_SHARE = 0.47  # 24A among gangs/criminal exploitation from 2021-22


def class_table_rows() -> list[tuple[int, list[float], int]]:
    """(class, P(indicator | class) row, signature indicator) for a small broadcast table."""
    probs = P.conditional_probabilities()
    return [(k, [float(p) for p in probs[k]], int(probs[k].argmax())) for k in range(P.K)]


def with_indicators(df: DataFrame, name: str, seed: int, keys: list, probs: Column, signature: Column,
                    when: Column) -> DataFrame:
    """Adds ``name``: array<int> of 34 indicators drawn with the class's probabilities, at least one set.

    Unrolled over the indicators (no lambdas) so the draws compile with codegen; each try is its own column so the
    choice between tries does not repeat the hashing.
    """
    tries = {f"_{name}_t{t}": F.array(*[F.when(uniform(seed, *keys, F.lit("factor"), F.lit(t), F.lit(j))
                                               < F.element_at(probs, j + 1), 1).otherwise(0) for j in range(N)])
             for t in range(TRIES)}
    df = df.withColumns({c: F.when(when, expr) for c, expr in tries.items()})
    result = F.array(*[F.when(signature == j, 1).otherwise(0) for j in range(N)])
    for column in reversed(list(tries)):
        result = F.when(F.array_contains(F.col(column), 1), F.col(column)).otherwise(result)
    return df.withColumn(name, F.when(when, result)).drop(*tries)


def _unsplit_share(year: Column) -> Column:
    expr = F.when(year < 2021, F.lit(1.0))
    for y, share in UNSPLIT_SHARE.items():
        expr = expr.when(year == y, F.lit(share))
    return expr.otherwise(F.lit(UNSPLIT_SHARE_LATER))


def _split_abuse_code(u: Column, u2: Column, year: Column, stem: str, indicator: str) -> Column:
    return (F.when(u < _unsplit_share(year), F.lit(f"{stem}A"))
            .when(u2 < CHILD_ON_CHILD_SHARE[indicator], F.lit(f"{stem}B"))
            .otherwise(F.lit(f"{stem}C")))


def raw_codes(seed: int, keys: list, indicators: Column, year: Column) -> Column:
    """array<string> of raw factor codes (in indicator order) for the collection year of the assessment."""
    fostered = INDICATORS["privately_fostered"]

    def code(j: int) -> Column:
        name = INDICATOR_NAMES[j]
        u = uniform(seed, *keys, F.lit("code"), F.lit(j))
        if name == "privately_fostered":
            return F.element_at(literal_array(fostered), F.floor(u * len(fostered)).cast("int") + 1)
        if name in ("physical_abuse", "sexual_abuse"):
            u2 = uniform(seed, *keys, F.lit("code2"), F.lit(j))
            return _split_abuse_code(u, u2, year, INDICATORS[name][0][:2], name)
        if name == "gangs_criminal_exploitation":
            return F.when((year >= 2022) & (u < CRIMINAL_EXPLOITATION_SHARE), F.lit("24A")).otherwise(F.lit("13A"))
        return F.lit(INDICATORS[name][0])

    return F.array_compact(F.array(*[F.when(F.element_at(indicators, j + 1) == 1, code(j)) for j in range(N)]))
