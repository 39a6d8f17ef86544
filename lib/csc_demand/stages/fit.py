"""``csc-demand fit``: silver.assessments (with factors) -> latent class models for k in a range, selection, labels,
MLflow runs (parent + one nested run per k), the chosen model registered as a pyfunc with alias ``champion``.

Steps: read silver.assessments and its Delta version; compress to patterns once; fit every k (same seed and starts);
choose k (``csc_demand.model.selection.choose_k``) unless ``--k`` fixes it; name classes from conf/categories.yml;
optionally score MLlib baselines at the chosen k; log plots and tables; register.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import mlflow
from pyspark.sql import functions as F

from csc_demand.codes import INDICATOR_NAMES
from csc_demand.config import Config
from csc_demand.errors import ConfigurationError, MissingTableError
from csc_demand.io.delta import read_table, refuse_missing_local_tables, table_version
from csc_demand.model import tracking
from csc_demand.model.baselines import fit_baselines
from csc_demand.model.labelling import label_classes, load_categories
from csc_demand.model.lca import LatentClassAnalysis
from csc_demand.model.plots import plot_criteria, plot_profiles
from csc_demand.model.selection import KFit, choose_k, fit_range, metrics_table
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark

HELP = "fit the latent class demand model (k range or fixed k), track it in MLflow and register the chosen model"
INPUT = ("silver", "assessments")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, metavar="K", help="fix the number of classes (the study used 12); "
                        "default: choose k over --k-min..--k-max by the selection rule (docs/model.md)")
    parser.add_argument("--k-min", type=int, metavar="K", help="smallest k tried (default model.k_min, 2)")
    parser.add_argument("--k-max", type=int, metavar="K", help="largest k tried (default model.k_max, 15)")
    parser.add_argument("--starts", type=int, metavar="N", help="random starts per k (default model.n_starts, 10)")
    parser.add_argument("--seed", type=int, help="random seed (default model.seed)")
    parser.add_argument("--baselines", action="store_true",
                        help="also fit MLlib KMeans and BisectingKMeans at the chosen k")
    parser.add_argument("--categories", metavar="FILE", help="category definitions (default conf/categories.yml)")


def _k_range(cfg: Config) -> list[int]:
    if cfg.model.k is not None:
        k = cfg.model.k
        if k < 1:
            raise ConfigurationError(f"--k must be at least 1, got {k}")
        return [k]
    lo, hi = cfg.model.k_min, cfg.model.k_max
    if not 1 <= lo <= hi:
        raise ConfigurationError(f"need 1 <= --k-min <= --k-max, got {lo} and {hi}")
    return list(range(lo, hi + 1))


def _log_k_run(fit: KFit, log: RunLog, input_version: int, tags: dict) -> None:
    with mlflow.start_run(run_name=f"k={fit.k}", nested=True, tags=tags):
        mlflow.log_params({"k": fit.k, "input.silver.assessments.version": input_version})
        mlflow.log_metrics({key: float(v) for key, v in fit.metrics.items()})
        mlflow.log_metrics({f"mean_posterior_class_{c + 1}": v for c, v in enumerate(fit.mean_posterior)})
        mlflow.log_dict({"class_sizes": fit.model.classSizes.tolist(),
                         "conditional_probabilities": fit.model.conditionalProbabilities.tolist(),
                         "start_logliks": fit.model.fitInfo["start_logliks"]}, "parameters.json")
    log.step(f"k={fit.k}: loglik {fit.metrics['loglik']:.1f}, BIC {fit.metrics['bic']:.1f}, "
             f"entropy R2 {fit.metrics['entropy_r2']:.3f}, smallest class {fit.metrics['smallest_class_share']:.3f} "
             f"({fit.metrics['seconds']:.1f}s)")


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    categories = load_categories(args.categories)
    ks = _k_range(cfg)
    if cfg.model.n_starts < 1:
        raise ConfigurationError(f"--starts must be at least 1, got {cfg.model.n_starts}")
    refuse_missing_local_tables(cfg, [INPUT])
    spark = get_spark(cfg)
    seed, n_starts = cfg.model.seed, cfg.model.n_starts

    assessments = read_table(spark, cfg, *INPUT)
    version = table_version(spark, cfg, *INPUT)
    log.read("silver.assessments", version)
    with_factors = assessments.where(F.col("has_factors"))
    estimator = LatentClassAnalysis(featuresCol="indicators", nStarts=n_starts, seed=seed,
                                    maxIter=cfg.model.max_iter, tol=cfg.model.tol)
    log.step(f"compressing silver.assessments v{version} to distinct factor patterns")
    if with_factors.isEmpty():
        raise MissingTableError(
            f"silver.assessments v{version} holds no assessment with factors ({assessments.count()} assessments): the "
            f"model is fitted on the factors recorded at assessment; check that the returns hold them (CIN census "
            f"<FactorsIdentifiedAtAssessment>, NPD AssessmentFactors) and run `csc-demand ingest`")
    patterns = estimator.preparePatterns(with_factors)
    n_obs = int(patterns.data.n_obs)
    log.table("silver.assessments", received=assessments.count(), accepted=n_obs)
    log.metric("n_patterns", patterns.n_patterns)
    log.step(f"{n_obs} assessments with factors in {patterns.n_patterns} distinct patterns; fitting k {ks[0]}..{ks[-1]}"
             f" with {n_starts} starts each")

    tracking.configure(cfg)
    try:
        tags = tracking.run_tags(cfg)
        with mlflow.start_run(run_name=f"fit k={ks[0]}..{ks[-1]}", tags=tags) as parent, \
                tempfile.TemporaryDirectory() as tmp:
            tracking.log_input_table(with_factors, cfg, *INPUT, version, n_obs)
            mlflow.log_params({"k_range": f"{ks[0]}-{ks[-1]}", "n_starts": n_starts, "seed": seed,
                               "max_iter": cfg.model.max_iter, "tol": cfg.model.tol, "n_obs": n_obs,
                               "n_patterns": patterns.n_patterns, "distributed_e_step": patterns.distributed})
            fits = fit_range(estimator, patterns, ks, on_fit=lambda fit: _log_k_run(fit, log, version, tags))
            chosen = ks[0] if len(ks) == 1 else choose_k(fits)
            fit = next(f for f in fits if f.k == chosen)
            labels = label_classes(fit.model.conditionalProbabilities, fit.model.classSizes, categories)
            model = fit.model.relabelled(labels.order, labels.ids, labels.names)
            parameters = {**model.toParameters(INDICATOR_NAMES), "class_keys": labels.keys}
            mlflow.log_params({"chosen_k": chosen})
            mlflow.log_metrics({key: float(v) for key, v in fit.metrics.items()})
            table = metrics_table(fits, chosen)
            mlflow.log_dict(table, "selection/criteria.json")  # type: ignore[arg-type]  # any JSON value; typed dict
            mlflow.log_artifact(str(plot_criteria(table, Path(tmp) / "criteria_by_k.png", chosen)), "selection")
            mlflow.log_artifact(str(plot_profiles(model.conditionalProbabilities, labels.names, model.classSizes,
                                                  Path(tmp) / "class_profiles.png")), "model")
            model.write().save(str(Path(tmp) / "spark_model"))  # a new folder: no overwrite (which needs the JVM)
            mlflow.log_artifacts(str(Path(tmp) / "spark_model"), "spark_model")
            log.step(f"chose k={chosen}; classes: " + "; ".join(
                f"{i} {n} {s:.1%}" for i, n, s in zip(labels.ids, labels.names, model.classSizes, strict=True)))
            if args.baselines:
                log.step(f"fitting MLlib baselines at k={chosen}")
                scores = fit_baselines(patterns.table, patterns.data.n_indicators, chosen, seed)
                mlflow.log_dict(scores, "baselines/metrics.json")
                for name, metrics in scores.items():
                    mlflow.log_metrics({f"baseline.{name}.{key}": float(v) for key, v in metrics.items()
                                        if isinstance(v, (int, float))})
                    log.metric(f"baseline_{name}_bic", metrics.get("bic"))
            name, model_version = tracking.log_and_register(parameters, cfg, Path(tmp))
            log.step(f"registered {name} version {model_version} as @{tracking.CHAMPION} (run {parent.info.run_id})")
    finally:
        patterns.release()
    for key in ("loglik", "bic", "aic", "sabic", "entropy_r2", "smallest_class_share"):
        log.metric(key, fit.metrics[key])
    log.metric("chosen_k", chosen)
    log.metric("model_version", model_version)
    log.metric("mlflow_run_id", parent.info.run_id)
    log.metric("selection", json.loads(json.dumps(table, default=float)))
    return 0
