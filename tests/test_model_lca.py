"""LatentClassAnalysis / LatentClassModel on Spark: recovery of known parameters, both E-step paths, transform
against a hand computation, persistence, and clear errors on bad input."""
from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from chispa import assert_df_equality
from csc_demand.model import LatentClassAnalysis, LatentClassModel
from csc_demand.model.selection import fit_k, fit_range
from helpers.classes import matched
from helpers.simulate import assessments_frame, simulate, study_like_parameters
from pyspark.ml.linalg import Vectors
from pyspark.sql import functions as F
from sklearn.metrics import adjusted_rand_score


def test_recovers_a_12_class_model_shaped_like_the_study(spark):
    truth_params = study_like_parameters()
    theta_true = np.array(truth_params["conditional_probabilities"])
    X, truth = simulate(truth_params["class_sizes"], theta_true, 300_000, seed=7)
    frame = assessments_frame(spark, X).select("assessment_key", "indicators")
    model = LatentClassAnalysis(k=12, nStarts=10, seed=3).fit(frame)
    order = matched(model.conditionalProbabilities, theta_true)
    assert np.abs(model.conditionalProbabilities[order] - theta_true).max() < 0.02
    np.testing.assert_allclose(model.classSizes[order], truth_params["class_sizes"], atol=0.01)
    row = F.expr("int(substring(assessment_key, 2))")
    predicted = (model.transform(frame.where(row < 20_000)).select(row.alias("row"), "prediction")
                 .orderBy("row").toPandas())
    assert adjusted_rand_score(truth[predicted["row"]], predicted["prediction"]) >= 0.9
    assert model.numObservations == 300_000


def test_the_estimator_docstring_example_runs(spark):
    from csc_demand.model import lca

    result = doctest.testmod(lca, extraglobs={"spark": spark})
    assert (result.attempted, result.failed) == (8, 0)


def test_driver_and_distributed_e_steps_give_the_same_log_likelihood(spark):
    X, _ = simulate([0.6, 0.4], [[0.8, 0.7, 0.1, 0.2, 0.1], [0.1, 0.2, 0.9, 0.7, 0.6]], 600, seed=8)
    frame = spark.createDataFrame([([int(v) for v in row],) for row in X], "indicators array<int>")
    settings = dict(k=2, nStarts=2, burnInIter=1, nRefine=1, maxIter=2, seed=5)
    local = LatentClassAnalysis(**settings).fit(frame)
    distributed = LatentClassAnalysis(maxDriverPatterns=0, **settings).fit(frame)
    assert distributed.fitInfo["distributed"] and not local.fitInfo["distributed"]
    assert distributed.logLikelihood == pytest.approx(local.logLikelihood, rel=1e-9)
    np.testing.assert_allclose(distributed.conditionalProbabilities, local.conditionalProbabilities, rtol=1e-9)


def test_the_distributed_e_step_keeps_one_pattern_partition_per_task_slot(spark):
    # Every pass is a job of Python tasks with a fixed cost each: as many partitions as the session runs at once.
    frame = spark.createDataFrame([([i % 2, i // 2 % 2, i // 4 % 2],) for i in range(8)] * 3,
                                  "indicators array<int>").repartition(5)
    prepared = LatentClassAnalysis(maxDriverPatterns=0).preparePatterns(frame)
    try:
        assert prepared.data.df.rdd.getNumPartitions() == spark.sparkContext.defaultParallelism == 2
        assert prepared.data.n_obs == 24
    finally:
        prepared.release()
    assert not prepared.data.df.is_cached and not prepared.table.is_cached


def test_selection_on_distributed_patterns_shares_passes_and_keeps_each_k_result(spark):
    # Fitted at once, the k share passes: as many as the k with the most, each k's result as when fitted alone.
    X, _ = simulate([0.5, 0.3, 0.2], [[0.8, 0.7, 0.1, 0.2, 0.1, 0.5], [0.1, 0.2, 0.9, 0.7, 0.6, 0.5],
                                      [0.5, 0.9, 0.9, 0.1, 0.1, 0.9]], 800, seed=9)
    frame = spark.createDataFrame([([int(v) for v in row],) for row in X], "indicators array<int>")
    estimator = LatentClassAnalysis(nStarts=3, nRefine=2, maxIter=12, seed=4, maxDriverPatterns=0)
    prepared = estimator.preparePatterns(frame)
    try:
        alone, passes_alone = [], []
        for k in (1, 2, 3):
            before = prepared.data.passes
            alone.append(fit_k(estimator, prepared, k))
            passes_alone.append(prepared.data.passes - before)
        before = prepared.data.passes
        seen = []
        together = fit_range(estimator, prepared, (1, 2, 3), on_fit=lambda f: seen.append(f.k))
        passes_together = prepared.data.passes - before
    finally:
        prepared.release()
    assert seen == [1, 2, 3] and [f.k for f in together] == [1, 2, 3]
    assert passes_together == max(passes_alone) < sum(passes_alone)
    for a, t in zip(alone, together, strict=True):
        assert t.metrics["loglik"] == a.metrics["loglik"] and t.metrics["bic"] == a.metrics["bic"]
        np.testing.assert_array_equal(t.model.conditionalProbabilities, a.model.conditionalProbabilities)


def hand_posterior(x, sizes, theta):
    joint = [s * math.prod(t[j] if x[j] else 1 - t[j] for j in range(len(x))) for s, t in zip(sizes, theta, strict=True)]
    return [v / sum(joint) for v in joint]


def test_transform_adds_modal_class_and_posterior_for_arrays_and_vectors(spark):
    sizes, theta = [0.25, 0.75], [[0.9, 0.2, 0.6], [0.1, 0.7, 0.3]]
    model = LatentClassModel.fromParameters({"class_sizes": sizes, "conditional_probabilities": theta})
    rows = [[1, 0, 1], [0, 1, 0], [0, 0, 0]]
    arrays = spark.createDataFrame([(i, r) for i, r in enumerate(rows)], "id int, indicators array<int>")
    vectors = spark.createDataFrame([(i, Vectors.dense(r)) for i, r in enumerate(rows)], ["id", "indicators"])
    for frame in (arrays, vectors):
        out = model.transform(frame).orderBy("id").collect()
        for row, x in zip(out, rows, strict=True):
            expected = hand_posterior(x, sizes, theta)
            np.testing.assert_allclose(row["probability"].toArray(), expected, rtol=1e-12)
            assert row["prediction"] == int(np.argmax(expected))
    assert [r["prediction"] for r in out] == [0, 1, 1]


def test_posterior_has_no_lambda_functions_which_spark_would_interpret_row_by_row(spark):
    model = LatentClassModel.fromParameters({"class_sizes": [0.5, 0.5],
                                             "conditional_probabilities": [[0.9, 0.2], [0.1, 0.7]]})
    frame = spark.createDataFrame([(0, [1, 0])], "id int, indicators array<int>")
    plan = model.withPosterior(frame, "post")._jdf.queryExecution().executedPlan().toString()
    assert "lambdafunction" not in plan and plan.startswith("*(1) Project")  # *: compiled by code generation


def test_save_and_load_give_an_identical_transform(spark, tmp_path):
    X, _ = simulate([0.5, 0.5], [[0.9, 0.8, 0.1], [0.1, 0.2, 0.9]], 400, seed=9)
    frame = spark.createDataFrame([(i, [int(v) for v in row]) for i, row in enumerate(X)],
                                  "id int, indicators array<int>")
    model = LatentClassAnalysis(k=2, nStarts=2, seed=1, predictionCol="cls").fit(frame)
    model.write().overwrite().save(str(tmp_path / "lca"))
    loaded = LatentClassModel.load(str(tmp_path / "lca"))
    assert loaded.getPredictionCol() == "cls" and loaded.getK() == 2
    assert loaded.logLikelihood == model.logLikelihood
    assert_df_equality(loaded.transform(frame), model.transform(frame), ignore_row_order=True)
    estimator = LatentClassAnalysis(k=5, nStarts=3)
    estimator.write().overwrite().save(str(tmp_path / "estimator"))
    assert LatentClassAnalysis.load(str(tmp_path / "estimator")).getK() == 5


def test_compression_counts_each_distinct_pattern_under_its_bit_mask(spark):
    from csc_demand.model.patterns import pack, pattern_table

    rows = [[1, 0, 1], [0, 0, 0], [1, 0, 1], [0, 1, 1], [1, 0, 1]]
    for frame in (spark.createDataFrame([(r,) for r in rows], "indicators array<int>"),
                  spark.createDataFrame([(Vectors.dense(r),) for r in rows], ["indicators"])):
        n_ind, table = pattern_table(frame, "indicators")
        counts = {r["mask"]: r["count"] for r in table.collect()}
        table.unpersist()
        assert n_ind == 3
        assert counts == {int(pack([[1, 0, 1]])[0]): 3, 0: 1, int(pack([[0, 1, 1]])[0]): 1} == {5: 3, 0: 1, 6: 1}


def test_non_binary_indicators_are_rejected_with_the_count_and_an_example(spark):
    frame = spark.createDataFrame([("a1", [0, 1]), ("a2", [2, 0]), ("a3", [1, None])],
                                  "assessment_key string, indicators array<int>")
    with pytest.raises(ValueError, match=r"2 row\(s\) have a null or non-0/1 value in 'indicators'"):
        LatentClassAnalysis(k=2).fit(frame)
    ragged = spark.createDataFrame([([0, 1],), ([1, 0, 1],)], "indicators array<int>")
    with pytest.raises(ValueError, match="different lengths"):
        LatentClassAnalysis(k=2).fit(ragged)
