"""MLflow: one parent run per fit with a nested run per k, the input dataset with its Delta version, tags (git
commit, config hash), artifacts, and registration of the chosen model as a pyfunc with alias ``champion``."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import zipfile
import zipimport
from importlib import metadata
from pathlib import Path
from typing import cast

import mlflow
from mlflow import MlflowClient
from mlflow.data.delta_dataset_source import DeltaDatasetSource
from mlflow.data.spark_dataset import SparkDataset
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

import csc_demand
from csc_demand import __version__
from csc_demand.config import Config
from csc_demand.errors import ModelError
from csc_demand.model.pyfunc import INPUT_COLUMN, CategoryClassifier

CHAMPION = "champion"
PYFUNC_NAME = "category_classifier"


def configure(cfg: Config) -> None:
    """Tracking and registry URIs, and the experiment, created with its artifacts under the lakehouse (MLflow's
    default would be ./mlruns of the working directory). On Databricks the workspace decides where artifacts go."""
    mlflow.set_tracking_uri(cfg.tracking_uri)
    if cfg.mlflow.registry_uri:
        mlflow.set_registry_uri(cfg.mlflow.registry_uri)
    if not cfg.on_databricks and mlflow.get_experiment_by_name(cfg.mlflow.experiment) is None:
        mlflow.create_experiment(cfg.mlflow.experiment, artifact_location=cfg.artifact_location)
    mlflow.set_experiment(cfg.mlflow.experiment)


def config_hash(cfg: Config) -> str:
    blob = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def git_commit() -> str | None:
    """The checkout's commit when running from a git working tree (None in an installed wheel)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def run_tags(cfg: Config) -> dict:
    """Tags for every MLflow run: the config's hash, the package version, the profile and the code's git commit
    (``git_commit`` from the config, as the Databricks job passes it, else the checkout's own)."""
    tags = {"config_hash": config_hash(cfg), "csc_demand_version": __version__, "profile": cfg.profile}
    commit = cfg.git_commit or git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
        tags["git_commit"] = commit
    return tags


def log_input_table(df, cfg: Config, layer: str, table: str, version: int, rows: int) -> None:
    """Record the input Delta table and the version read, as an MLflow dataset input and as params: by path, or
    by its Unity Catalog name on Databricks (which gives the workspace's lineage). ``rows``: the rows of ``df``,
    already counted, as the dataset's profile."""
    # The source as MLflow's from_spark records a Delta table, built here: from_spark takes only local or DBFS folders
    # for a path. The version as a string, as from_spark records it (the source leaves out 0 as an int).
    location = cfg.table_name(layer, table)
    where = {"delta_table_name": location} if cfg.on_databricks else {"path": location}
    source = DeltaDatasetSource(**where, delta_table_version=str(version))  # type: ignore[arg-type]
    dataset = CountedSparkDataset(rows, df=df, source=source, name=f"{layer}.{table}")
    mlflow.log_input(dataset, context="training")
    mlflow.log_params({f"input.{layer}.{table}.version": version})


def signature() -> ModelSignature:
    return ModelSignature(
        inputs=Schema([ColSpec("string", INPUT_COLUMN)]),
        outputs=Schema([ColSpec("long", "category_id"), ColSpec("string", "category_name"),
                        ColSpec("double", "probability")]))


# What CategoryClassifier needs when loaded without Spark: MLflow's client-side core, and its own imports.
MODEL_PACKAGES = ("mlflow-skinny", "numpy", "pandas", "scipy", "pyyaml")


def model_requirements() -> list[str]:
    """The model's pip requirements, pinned to the versions it was fitted with."""
    return [f"{name}=={metadata.version(name)}" for name in MODEL_PACKAGES]


def package_source(workdir: Path) -> str:
    """The csc_demand package folder that goes with the model.

    Under spark-submit the package is imported from the wheel given to ``--py-files`` (a zip), from which MLflow
    cannot copy: its ``csc_demand/`` entries are extracted into ``workdir`` first.
    """
    folder = Path(csc_demand.__file__).parent
    if folder.is_dir():
        return str(folder)
    target = Path(workdir) / "code"
    with zipfile.ZipFile(cast(zipimport.zipimporter, csc_demand.__loader__).archive) as wheel:
        wheel.extractall(target, members=[name for name in wheel.namelist() if name.startswith("csc_demand/")])
    return str(target / "csc_demand")


def log_and_register(parameters: dict, cfg: Config, workdir: Path) -> tuple[str, str]:
    """Log the pyfunc in the active run, register it and point the alias ``champion`` at the new version.

    Returns (model name, version)."""
    path = Path(workdir) / "parameters.json"
    path.write_text(json.dumps(parameters, indent=1))
    info = mlflow.pyfunc.log_model(
        name=PYFUNC_NAME, python_model=CategoryClassifier(), artifacts={"parameters": str(path)},
        signature=signature(), registered_model_name=cfg.mlflow.model_name,
        # The package's source goes with the model (csc-demand is not published), so serving or a fresh
        # environment rebuilds it from public packages alone: what the classifier imports, at the versions fitted.
        code_paths=[package_source(workdir)], pip_requirements=model_requirements())
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(cfg.mlflow.model_name, CHAMPION, version)
    return cfg.mlflow.model_name, version


def champion_uri(cfg: Config) -> str:
    return f"models:/{cfg.mlflow.model_name}@{CHAMPION}"


def load_registered_parameters(model_uri: str) -> tuple[dict, str, str | None]:
    """(parameter set, model name, version) of a registered pyfunc (``models:/name@alias`` or ``models:/name/3``).
    A model, version, alias or run that is not there is the user's to fix (ModelError), not a fault."""
    if model_uri.startswith("models:") and not model_uri.startswith("models:/"):  # MLflow: an INTERNAL_ERROR
        raise ModelError(f"--model-uri {model_uri}: a registered model's URI is models:/NAME@ALIAS or "
                         f"models:/NAME/VERSION, e.g. models:/csc_demand_categories@champion")
    try:
        model = mlflow.pyfunc.load_model(model_uri)
    except MlflowException as err:
        if err.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):  # the latter: no such alias
            raise
        raise ModelError(f"cannot load the model {model_uri} from the MLflow registry at {mlflow.get_registry_uri()}: "
                         f"{err.message.rstrip('.')}. Run `csc-demand fit` on this lakehouse first (it registers the "
                         "model it chooses with the alias @champion), or give --model-uri URI of a model that is "
                         "there, or --params FILE") from err
    parameters = model.unwrap_python_model().parameters
    name, version = model_uri, None
    if model_uri.startswith("models:/"):
        ref = model_uri[len("models:/"):]
        client = MlflowClient()
        if "@" in ref:
            name, alias = ref.split("@", 1)
            version = client.get_model_version_by_alias(name, alias).version
        else:
            name, version = ref.rsplit("/", 1)
    return parameters, name, str(version) if version is not None else None


class CountedSparkDataset(SparkDataset):
    """MLflow's Spark dataset with its profile given: MLflow's own counts the rows approximately by sending every
    row through Python workers, for up to 5 seconds and then on in the background."""

    def __init__(self, rows: int, **kwargs):
        super().__init__(**kwargs)
        self._rows = rows

    @property
    def profile(self) -> dict:
        return {"approx_count": self._rows}  # the key MLflow's own profile uses
