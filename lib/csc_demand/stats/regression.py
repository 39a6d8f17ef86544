"""Adjusted odds ratios from MLlib's GeneralizedLinearRegression (binomial family, logit link).

Categorical covariates become 0/1 dummy columns against a reference level (the most frequent level), so every
odds ratio reads "this level versus the reference, adjusted for the other covariates".

With categorical covariates only, rows sharing their covariate levels are interchangeable, so the fit runs on one
row per pattern of levels in grouped binomial form: label = share of rows with the outcome, weight = rows. The
likelihood is the row-level one up to a constant, so estimates and standard errors are the same; the iterations
run over a few thousand rows however many assessments there are. (Rows counted by outcome, label 0/1 with the
count as weight, give the same likelihood but not the same start: MLlib starts IRLS at
mu = (weight * label + 0.5) / (weight + 1), near 0 or 1 for a large count, and IRLS has no step-halving, so
that form diverged to coefficients ~1e15 on the small pipeline's pathways.)

A level in which no row, or every row, has the outcome has no finite maximum-likelihood estimate (separation):
its rows are left out of the fit and the level is reported with null estimates and ``not_estimable`` saying why,
repeated until every level in the fit has rows with and without the outcome. Only per-level and per-pattern counts
(a few thousand rows) reach the driver or MLlib's iterations, never row-level data.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import GeneralizedLinearRegression
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from csc_demand.stats.survival import Z_95

ODDS_RATIO_SCHEMA = ("outcome string, covariate string, level string, reference string, odds_ratio double, "
                     "ci_lower double, ci_upper double, coefficient double, std_error double, p_value double, "
                     "n_level long, n_total long, not_estimable string")
NO_EVENTS, ALL_EVENTS, NO_ROWS_LEFT, NOT_CONVERGED = "no events", "all events", "no rows left", "not converged"


def odds_ratios(df: DataFrame, outcome: str, covariates: Sequence[str], max_iter: int = 50) -> DataFrame:
    """Fit ``outcome ~ covariates`` (logistic) and return one row per non-reference level.

    ``df`` holds a boolean or 0/1 ``outcome`` (rows where it is null are left out) and string ``covariates``
    (nulls are a level "unknown"). Columns: outcome, covariate, level, reference, odds_ratio, ci_lower, ci_upper
    (Wald 95%), coefficient, std_error, p_value, n_level (rows of the level in the fit, or left out), n_total
    (rows in the fit), not_estimable (null, or why the estimates are null: NO_EVENTS / ALL_EVENTS for a level
    left out, NO_ROWS_LEFT for a level whose rows all fell in such levels, NOT_CONVERGED when IRLS stopped at
    ``max_iter``).
    """
    covariates = list(covariates)
    if not covariates:
        raise ValueError(f"odds_ratios for {outcome!r} needs at least one covariate (the levels to compare)")
    cells = (df.where(F.col(outcome).isNotNull())
             .select(F.col(outcome).cast("long").alias("_y"),
                     *[F.coalesce(F.col(c).cast("string"), F.lit("unknown")).alias(c) for c in covariates])
             .groupBy(*covariates).agg(F.sum("_y").alias("_events"), F.count(F.lit(1)).alias("_n"))
             # A few thousand rows read once per IRLS iteration: one partition, one task per iteration.
             .coalesce(1)).persist()
    try:
        return _fit(df.sparkSession, cells, outcome, covariates, max_iter)
    finally:
        cells.unpersist()


def _level_counts(cells: DataFrame, covariates: list[str]) -> list[tuple[str, str, int, int]]:
    """(covariate, level, rows, events) for every level of every covariate, in one pass over the cells."""
    levels = F.explode(F.array(*[F.struct(F.lit(c).alias("covariate"), F.col(c).alias("level"))
                                 for c in covariates])).alias("l")
    rows = (cells.select(levels, "_n", "_events").groupBy("l.covariate", "l.level")
            .agg(F.sum("_n").alias("n"), F.sum("_events").alias("events")).collect())
    return [(r["covariate"], r["level"], int(r["n"]), int(r["events"])) for r in rows]


def _without_separated_levels(cells: DataFrame, covariates: list[str]):
    """Drop the rows of levels with no events or only events until none is left; return the kept cells, their
    level counts and {(covariate, level): (reason, rows)} of the levels left out."""
    left_out: dict[tuple[str, str], tuple[str, int]] = {}
    first = None
    while True:
        counts = _level_counts(cells, covariates)
        first = first or counts
        separated = {(c, level): (NO_EVENTS if events == 0 else ALL_EVENTS, n)
                     for c, level, n, events in counts if events in (0, n)}
        if not separated:
            remaining = {(c, level) for c, level, _, _ in counts}
            left_out.update({(c, level): (NO_ROWS_LEFT, n) for c, level, n, _ in first
                             if (c, level) not in remaining and (c, level) not in left_out})
            return cells, counts, left_out
        left_out.update(separated)
        # Leaving rows out can separate a level of another covariate, hence the loop (at most one round per level).
        in_separated = F.lit(False)
        for c, level in separated:
            in_separated = in_separated | (F.col(c) == level)
        cells = cells.where(~in_separated)


def _fit(spark: SparkSession, cells: DataFrame, outcome: str, covariates: list[str], max_iter: int) -> DataFrame:
    kept, counts, left_out = _without_separated_levels(cells, covariates)
    references: dict[str, str] = {}
    terms: list[tuple[str, str, int]] = []  # covariate, level, n_level
    for covariate in covariates:
        levels = sorted((-n, level) for c, level, n, _ in counts if c == covariate)
        if levels:
            references[covariate] = levels[0][1]
            terms += [(covariate, level, -minus_n) for minus_n, level in levels[1:]]
    n_total = sum(n for c, _, n, _ in counts if c == covariates[0])
    rows = []
    if terms:
        dummies = [F.when(F.col(c) == level, 1.0).otherwise(0.0).alias(f"x{i}")
                   for i, (c, level, _) in enumerate(terms)]
        design = kept.select((F.col("_events") / F.col("_n")).alias("label"),
                             F.col("_n").cast("double").alias("weight"), *dummies)
        assembled = VectorAssembler(inputCols=[f"x{i}" for i in range(len(terms))], outputCol="features"
                                    ).transform(design)
        model = GeneralizedLinearRegression(family="binomial", link="logit", maxIter=max_iter, tol=1e-10,
                                            featuresCol="features", labelCol="label", weightCol="weight"
                                            ).fit(assembled)
        summary = model.summary
        if summary.numIterations >= max_iter:
            rows += [_not_estimated(outcome, c, level, references[c], n_level, n_total, NOT_CONVERGED)
                     for c, level, n_level in terms]
        else:
            errors, p_values = summary.coefficientStandardErrors, summary.pValues  # the intercept comes last
            for i, (covariate, level, n_level) in enumerate(terms):
                beta, se = float(model.coefficients[i]), float(errors[i])
                rows.append((outcome, covariate, level, references[covariate], _exp(beta), _exp(beta - Z_95 * se),
                             _exp(beta + Z_95 * se), beta, se, float(p_values[i]), n_level, n_total, None))
    rows += [_not_estimated(outcome, c, level, references.get(c), n_level, n_total, reason)
             for (c, level), (reason, n_level) in sorted(left_out.items())]
    return spark.createDataFrame(rows, ODDS_RATIO_SCHEMA)


def _not_estimated(outcome: str, covariate: str, level: str, reference: str | None, n_level: int, n_total: int,
                   reason: str) -> tuple:
    return (outcome, covariate, level, reference, None, None, None, None, None, None, n_level, n_total, reason)


def _exp(x: float) -> float:
    """exp that gives +inf instead of raising: a nearly separated level can have an unbounded interval."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf
