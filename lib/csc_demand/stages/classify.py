"""``csc-demand classify``: silver.assessments -> gold.assessment_category, from the registered model (default
``models:/<model_name>@champion``) or from a parameter file (``--params``, JSON or YAML), so a published parameter
set can be used without refitting. Also writes the model's class profiles (gold.category_profiles) for the report."""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from pyspark.sql import functions as F

from csc_demand.config import Config
from csc_demand.io.delta import read_table, refuse_missing_local_tables, table_version, write_table
from csc_demand.model.assign import assign_categories
from csc_demand.model.lca import LatentClassModel
from csc_demand.model.parameters import load_parameter_file, validate_parameters
from csc_demand.model.profiles import category_profiles
from csc_demand.runlog import RunLog
from csc_demand.spark import get_spark

HELP = "assign a demand category to every assessment (gold.assessment_category) from the registered model or a file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--params", metavar="FILE",
                        help="parameter file (JSON or YAML: class_sizes, conditional_probabilities, class_names, "
                             "optional class_ids and indicator_names) instead of the registered model")
    source.add_argument("--model-uri", metavar="URI",
                        help="registered model to use (default models:/<mlflow.model_name>@champion)")


def _parameters(args: argparse.Namespace, cfg: Config, log: RunLog) -> tuple[dict, str, str | None]:
    if args.params:
        path = Path(args.params)
        parameters = load_parameter_file(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        log.step(f"using parameter file {path} (sha256 {digest})")
        return parameters, f"file:{path.name}", digest
    from csc_demand.model import tracking  # MLflow only when the registry is used

    tracking.configure(cfg)
    uri = args.model_uri or tracking.champion_uri(cfg)
    parameters, name, version = tracking.load_registered_parameters(uri)
    log.step(f"using registered model {uri} (version {version})")
    return validate_parameters(parameters, uri), name, version


def run(args: argparse.Namespace, cfg: Config, log: RunLog) -> int:
    parameters, model_name, model_version = _parameters(args, cfg, log)  # a bad file or model URI: said at once
    refuse_missing_local_tables(cfg, [("silver", "assessments")])
    spark = get_spark(cfg)
    assessments = read_table(spark, cfg, "silver", "assessments")
    log.read("silver.assessments", table_version(spark, cfg, "silver", "assessments"))
    model = LatentClassModel.fromParameters(parameters)
    categories = assign_categories(assessments, model, model_name, model_version)
    version = write_table(categories, cfg, "gold", "assessment_category")
    log.wrote("gold.assessment_category", version)
    counts = {row["category_id"]: row["n"] for row in
              read_table(spark, cfg, "gold", "assessment_category").groupBy("category_id").agg(F.count(F.lit(1)).alias("n")).collect()}
    received, written = assessments.count(), sum(counts.values())
    log.table("gold.assessment_category", received=received, accepted=written, quarantined=0)
    log.metric("category_counts", {str(k): v for k, v in sorted(counts.items(), key=lambda t: t[0] or 0)})
    log.step(f"wrote gold.assessment_category v{version}: {written} assessments in {len(counts)} categories")
    profiles = category_profiles(model)
    profiles_df = spark.createDataFrame(profiles).withColumn("category_id", F.col("category_id").cast("int"))
    profiles_version = write_table(profiles_df, cfg, "gold", "category_profiles")
    log.wrote("gold.category_profiles", profiles_version)
    log.step(f"wrote gold.category_profiles v{profiles_version}: {len(model.classSizes)} categories x "
             f"{profiles['indicator'].nunique()} indicators")
    return 0
