"""Draw indicator data from a known latent class model (tests and benchmarks; never used on real data).

``study_like_parameters()`` is a 12-class parameter set shaped like the study's categories (DOMAIN.md section 3):
the dominant factors of each class are set high, everything else at a low background rate. It is a plausible
stand-in, not the published (unavailable) estimates.
"""
from __future__ import annotations

import numpy as np
from csc_demand.codes import INDICATOR_NAMES

BACKGROUND = 0.005

# name, share, {indicator: probability}; each class has its own signature so that the classes are separable
# (the Bayes classifier under these parameters reaches an adjusted Rand index above 0.9).
STUDY_LIKE_CLASSES = [
    ("Domestic abuse (single factor)", 0.197, {"domestic_abuse_parent": 0.95, "domestic_abuse_child": 0.3}),
    ("Parental mental health with alcohol or drug misuse", 0.184,
     {"mental_health_parent": 0.9, "alcohol_parent": 0.55, "drugs_parent": 0.6, "domestic_abuse_parent": 0.15}),
    ("Complex domestic abuse and risks at home", 0.10,
     {"domestic_abuse_parent": 0.9, "emotional_abuse": 0.95, "domestic_abuse_child": 0.7, "physical_abuse": 0.3}),
    ("Child mental health", 0.08, {"mental_health_child": 0.95, "self_harm": 0.4}),
    ("Disability", 0.06, {"learning_disability_child": 0.9, "physical_disability_child": 0.7}),
    ("Risks outside the home", 0.06,
     {"going_missing": 0.9, "sexual_exploitation": 0.5, "gangs_criminal_exploitation": 0.5, "drugs_child": 0.5}),
    ("Risks in and outside the home", 0.05,
     {"socially_unacceptable_behaviour": 0.95, "mental_health_child": 0.4, "neglect": 0.4, "alcohol_child": 0.4}),
    ("Concerns about another person", 0.05,
     {"domestic_abuse_other": 0.9, "mental_health_other": 0.5, "drugs_other": 0.5, "alcohol_other": 0.4}),
    ("Physical and/or sexual abuse (single factor)", 0.07, {"physical_abuse": 0.9, "sexual_abuse": 0.7}),
    ("Neglect", 0.07, {"neglect": 0.95, "emotional_abuse": 0.15}),
    ("Other", 0.052, {"other": 0.95}),
    ("Parental disability or illness", 0.03,
     {"learning_disability_parent": 0.6, "physical_disability_parent": 0.9, "young_carer": 0.8}),
]


def study_like_parameters() -> dict:
    """A parameter set in the published-parameter format (see ``csc_demand.model.lca.parameters_from_mapping``)."""
    theta = np.full((len(STUDY_LIKE_CLASSES), len(INDICATOR_NAMES)), BACKGROUND)
    for c, (_, _, dominant) in enumerate(STUDY_LIKE_CLASSES):
        for name, p in dominant.items():
            theta[c, INDICATOR_NAMES.index(name)] = p
    sizes = np.array([share for _, share, _ in STUDY_LIKE_CLASSES])
    return {
        "indicator_names": list(INDICATOR_NAMES),
        "class_names": [name for name, _, _ in STUDY_LIKE_CLASSES],
        "class_sizes": (sizes / sizes.sum()).tolist(),
        "conditional_probabilities": theta.tolist(),
    }


def simulate(class_sizes, conditional_probabilities, n: int, seed: int):
    """n rows: (indicators (n, J) int8, true class (n,)). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    sizes = np.asarray(class_sizes, dtype=float)
    theta = np.asarray(conditional_probabilities, dtype=float)
    truth = rng.choice(len(sizes), size=n, p=sizes / sizes.sum())
    X = (rng.random((n, theta.shape[1])) < theta[truth]).astype(np.int8)
    return X, truth


def compress(X: np.ndarray):
    """Distinct rows of a 0/1 matrix with their counts (driver-side twin of the Spark pattern table)."""
    patterns, counts = np.unique(np.asarray(X, dtype=np.int8), axis=0, return_counts=True)
    return patterns, counts


def assessments_frame(spark, X: np.ndarray, collection_year: int = 2020):
    """A silver.assessments-shaped DataFrame (docs/tables.md) holding the rows of X as ``indicators``.

    Built from bit masks through pandas/Arrow, so a million rows cost seconds; keys are synthetic.
    """
    import pandas as pd
    from csc_demand.codes import INDICATORS
    from csc_demand.model.patterns import unpack_column
    from pyspark.sql import functions as F

    X = np.asarray(X, dtype=np.int64)
    masks = (X << np.arange(X.shape[1], dtype=np.int64)).sum(axis=1)
    first_codes = F.array(*[F.lit(INDICATORS[name][0]) for name in INDICATOR_NAMES])
    frame = spark.createDataFrame(pd.DataFrame({"row": np.arange(len(masks), dtype=np.int64), "mask": masks}))
    indicators = unpack_column("mask", X.shape[1])
    return (frame
            .withColumn("indicators", indicators)
            .select(
                F.concat(F.lit("a"), F.col("row").cast("string")).alias("assessment_key"),
                F.concat(F.lit("r"), F.col("row").cast("string")).alias("referral_key"),
                F.concat(F.lit("c"), (F.col("row") % 997).cast("string")).alias("child_key"),
                F.lit("999").alias("la_code"),
                F.lit("2019-06-01").cast("date").alias("start_date"),
                F.lit("2019-06-20").cast("date").alias("authorised_date"),
                F.filter(F.transform(F.sequence(F.lit(1), F.lit(X.shape[1])),
                                     lambda i: F.when(F.element_at("indicators", i) == 1,
                                                      F.element_at(first_codes, i))),
                         lambda c: c.isNotNull()).alias("factor_codes"),
                "indicators",
                F.aggregate("indicators", F.lit(0), lambda a, v: a + v).alias("n_factors"),
                F.exists("indicators", lambda v: v == 1).alias("has_factors"),
                F.lit(collection_year).alias("collection_year")))
