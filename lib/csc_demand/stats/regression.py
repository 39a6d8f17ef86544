"""Adjusted odds ratios from MLlib's GeneralizedLinearRegression (binomial family, logit link).

Categorical covariates become 0/1 dummy columns against a reference level (the most frequent level unless
given), so every odds ratio reads "this level versus the reference, adjusted for the other covariates".
Only the distinct levels (a few dozen values) reach the driver, never row-level data.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import GeneralizedLinearRegression
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.stats.survival import Z_95

ODDS_RATIO_SCHEMA = ("outcome string, covariate string, level string, reference string, odds_ratio double, "
                     "ci_lower double, ci_upper double, coefficient double, std_error double, p_value double, "
                     "n_level long, n_total long")


def _levels_by_frequency(df: DataFrame, column: str) -> list[tuple[str, int]]:
    rows = df.groupBy(column).count().orderBy(F.desc("count"), F.asc(column)).collect()
    return [(row[column], row["count"]) for row in rows]


def odds_ratios(df: DataFrame, outcome: str, covariates: Sequence[str],
                references: Mapping[str, str] | None = None, max_iter: int = 50) -> DataFrame:
    """Fit ``outcome ~ covariates`` (logistic) and return one row per non-reference level.

    ``df`` holds a boolean or 0/1 ``outcome`` and string ``covariates`` (nulls are a level "unknown").
    Columns: outcome, covariate, level, reference, odds_ratio, ci_lower, ci_upper (Wald 95%), coefficient,
    std_error, p_value, n_level, n_total.
    """
    spark: SparkSession = df.sparkSession
    references = dict(references or {})
    data = df.select(F.col(outcome).cast("double").alias("label"),
                     *[F.coalesce(F.col(c).cast("string"), F.lit("unknown")).alias(c) for c in covariates]
                     ).persist()  # scanned once per covariate for its levels, then once per IRLS iteration
    try:
        return _fit(spark, data, outcome, covariates, references, max_iter)
    finally:
        data.unpersist()


def _fit(spark: SparkSession, data: DataFrame, outcome: str, covariates: Sequence[str],
         references: dict, max_iter: int) -> DataFrame:
    terms: list[tuple[str, str, str, int]] = []  # covariate, level, reference, n_level
    dummies = []
    for covariate in covariates:
        levels = _levels_by_frequency(data, covariate)
        reference = references.get(covariate, levels[0][0] if levels else None)
        for level, count in levels:
            if level == reference:
                continue
            terms.append((covariate, level, reference, count))
            dummies.append(F.when(F.col(covariate) == level, 1.0).otherwise(0.0).alias(f"x{len(dummies)}"))
    if not terms:
        return spark.createDataFrame([], ODDS_RATIO_SCHEMA)
    design = data.select("label", *dummies)
    assembled = VectorAssembler(inputCols=[f"x{i}" for i in range(len(terms))], outputCol="features"
                                ).transform(design)
    model = GeneralizedLinearRegression(family="binomial", link="logit", maxIter=max_iter, tol=1e-10,
                                        featuresCol="features", labelCol="label").fit(assembled)
    summary = model.summary
    n_total = summary.numInstances
    errors, p_values = summary.coefficientStandardErrors, summary.pValues  # the intercept comes last
    rows = []
    for i, (covariate, level, reference, n_level) in enumerate(terms):
        beta, se = float(model.coefficients[i]), float(errors[i])
        rows.append((outcome, covariate, level, reference, _exp(beta), _exp(beta - Z_95 * se),
                     _exp(beta + Z_95 * se), beta, se, float(p_values[i]), int(n_level), int(n_total)))
    return spark.createDataFrame(rows, ODDS_RATIO_SCHEMA)


def _exp(x: float) -> float:
    """exp that gives +inf instead of raising: a separated level (all or no events) has an unbounded interval."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf
