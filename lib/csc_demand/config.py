"""Typed configuration: defaults in code, a profile from conf/*.yml on top, CLI overrides last.

Profiles live in the top-level ``conf/`` folder (packaged into the wheel as ``csc_demand/conf``).
Every key a YAML file or ``--set`` names must exist here, so a typo is an error that says which key and file.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from csc_demand import locations
from csc_demand.errors import ConfigurationError, CscDemandError

PROFILES = ("local", "cluster", "databricks")
LAYERS = ("bronze", "silver", "gold")
MIN_KEY_LENGTH = 32  # characters of the pseudonymisation key: a short key can be guessed and every pseudonym undone
# The one key in the code: only `run` uses it, on the set it synthesised itself; ingest refuses it for any other file.
SYNTHETIC_ONLY_KEY = "synthetic-data-only-not-for-real-records"


JVM_MEMORY = re.compile(r"\d+[kKmMgGtT]?")  # what java -Xmx takes (no "gb")


@dataclass
class SparkConf:
    master: str | None = "local[2]"
    # A Spark Connect server (sc://host:port); None: the SPARK_REMOTE environment variable, else master above.
    remote: str | None = None
    driver_memory: str | None = "12g"
    shuffle_partitions: int = 8
    ui: bool = False
    extra: dict = field(default_factory=dict)
    packages: list = field(default_factory=list)  # Maven coordinates added to Delta's in local mode (e.g. hadoop-aws)


@dataclass
class MlflowConf:
    tracking_uri: str | None = None  # None: sqlite:///<lakehouse>/mlflow.db (a lakehouse on this machine)
    artifact_location: str | None = None  # None: <lakehouse>/mlflow-artifacts (s3a:// -> s3:// for MLflow)
    registry_uri: str | None = None
    experiment: str = "csc-demand"
    model_name: str = "csc_demand_categories"


@dataclass
class SynthConf:
    scale: float = 0.01
    seed: int = 20240601
    defects: float = 0.0
    first_year: int = 2015  # collection year ending 31 March 2015, i.e. 2014-15
    last_year: int = 2021


@dataclass
class ModelConf:
    k: int | None = None  # None: choose k by the selection rule
    k_min: int = 2
    k_max: int = 15
    n_starts: int = 10
    max_iter: int = 500
    tol: float = 1e-8
    seed: int = 42


@dataclass
class OutcomesConf:
    end_date: date | None = None  # None: the last census reference date in the data
    pathway_window_months: int = 12
    cross_la: bool = False
    # KS4 cohorts are reported when CIN history covers this many academic years up to the end of KS4 (docs/methods.md)
    education_lookback_years: int = 7


@dataclass
class DisclosureConf:
    min_count: int = 10
    round_to: int = 5
    zeros_are_disclosive: bool = False  # ACRO's switch: True suppresses zero counts as well


@dataclass
class Config:
    profile: str = "local"
    lakehouse: str = "lakehouse"
    catalog: str | None = None  # set on Databricks: tables are catalog.schema.table
    schemas: dict = field(default_factory=lambda: {layer: layer for layer in LAYERS})
    pseudonym_key_env: str = "CSC_PSEUDONYM_KEY"
    pseudonym_key: str | None = None  # prefer the environment variable; never commit a real key
    # "scope/key" of a Databricks secret holding the key, read with dbutils when the environment variable is unset:
    # serverless jobs have no spark_env_vars to pass it in (deploy/databricks/resources/csc_demand_serverless_job.yml)
    pseudonym_secret: str | None = None
    git_commit: str | None = None  # the code's commit when it runs from a wheel (the Databricks job passes it)
    spark: SparkConf = field(default_factory=SparkConf)
    mlflow: MlflowConf = field(default_factory=MlflowConf)
    synth: SynthConf = field(default_factory=SynthConf)
    model: ModelConf = field(default_factory=ModelConf)
    outcomes: OutcomesConf = field(default_factory=OutcomesConf)
    disclosure: DisclosureConf = field(default_factory=DisclosureConf)

    # ---- derived values -------------------------------------------------------------------------
    @property
    def on_databricks(self) -> bool:
        return self.catalog is not None

    def table_name(self, layer: str, table: str) -> str:
        """Where a table lives: a path or URI under the lakehouse (io.hadoop_fs), ``catalog.schema.table`` on
        Databricks."""
        if layer not in LAYERS:
            raise ConfigurationError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        if self.on_databricks:
            return f"{self.catalog}.{self.schemas[layer]}.{table}"
        return locations.join(self.lakehouse, layer, table)

    @property
    def runs_dir(self) -> str:
        return locations.join(self.lakehouse, "_runs")

    @property
    def tracking_uri(self) -> str:
        if self.mlflow.tracking_uri:
            return self.mlflow.tracking_uri
        if not locations.is_local(self.lakehouse):
            raise ConfigurationError(
                f"the lakehouse {self.lakehouse} is not on this machine, so the MLflow tracking database cannot sit "
                "in it: set mlflow.tracking_uri (a tracking server, or e.g. --set mlflow.tracking_uri=sqlite:////"
                "data/mlflow.db); artifacts still go to the lakehouse")
        return f"sqlite:///{locations.join(locations.local_path(self.lakehouse), 'mlflow.db')}"

    @property
    def artifact_location(self) -> str:
        """Where MLflow stores run artifacts: next to the tables, in the object store when the lakehouse is one.
        MLflow reaches S3 through boto3, which names the scheme ``s3``."""
        if self.mlflow.artifact_location:
            return self.mlflow.artifact_location
        location = locations.join(self.lakehouse, "mlflow-artifacts")
        scheme = locations.scheme(location)
        if scheme in ("s3a", "s3n"):
            return "s3" + location[len(scheme):]
        return location if scheme else Path(location).as_uri()

    def resolve_pseudonym_key(self) -> str:
        key = os.environ.get(self.pseudonym_key_env) or self.pseudonym_key
        if not key and self.pseudonym_secret:
            key = databricks_secret(self.pseudonym_secret)
        if not key:
            raise ConfigurationError(
                f"no pseudonymisation key: set the environment variable {self.pseudonym_key_env} "
                "(or pseudonym_key in your config file, kept out of version control)"
            )
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"the pseudonymisation key ({self.pseudonym_key_env} or pseudonym_key) has {len(key)} characters; "
                f"it needs at least {MIN_KEY_LENGTH} random ones. Make one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(32))' and keep it out of version control"
            )
        return key


def databricks_secret(name: str) -> str:
    """The value of the Databricks secret ``scope/key`` (through dbutils, on Databricks only)."""
    scope, _, key = name.partition("/")
    if not (scope and key):
        raise ConfigurationError(f"pseudonym_secret={name!r}: expected SCOPE/KEY of a Databricks secret")
    if "DATABRICKS_RUNTIME_VERSION" not in os.environ:
        raise ConfigurationError(f"pseudonym_secret={name} names a Databricks secret, which only a Databricks job or "
                                 "notebook can read: set the environment variable CSC_PSEUDONYM_KEY instead")
    from databricks.sdk.runtime import dbutils  # the runtime's own, authenticated as the job's identity

    return str(dbutils.secrets.get(scope=scope, key=key))


def conf_dir() -> Path | Traversable:
    """The profiles folder: the checkout's conf/ when run from source, else the copy inside the package."""
    # Read through importlib.resources so profiles load from a zipped wheel too (spark-submit --py-files).
    packaged = files("csc_demand") / "conf"
    source = Path(__file__).resolve().parents[2] / "conf"
    return source if (source / "local.yml").exists() else packaged


def _coerce(value: Any, hint: Any, where: str) -> Any:
    if value is None:
        return None
    # get_origin, not __origin__: the latter is missing on PEP 604 unions (``int | None``).
    args = [a for a in get_args(hint) if a is not type(None)]
    target = args[0] if get_origin(hint) is not None and args else hint
    try:
        if target is bool and isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if target is date and isinstance(value, str):
            return date.fromisoformat(value)
        if target in (int, float, str, bool) and not isinstance(value, target):
            return target(value)
        if target in (dict, list) and not isinstance(value, target):
            raise ValueError(value)
    except (TypeError, ValueError) as err:
        raise ConfigurationError(f"{where}: {value!r} is not a valid {getattr(target, '__name__', target)}") from err
    return value


def _apply(obj: Any, updates: dict, where: str) -> None:
    hints = get_type_hints(type(obj))
    for key, value in updates.items():
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise ConfigurationError(f"{where}: unknown key {key!r} (known keys: {known})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigurationError(f"{where}.{key}: expected a mapping, got {value!r}")
            _apply(current, value, f"{where}.{key}")
        elif isinstance(current, dict) and isinstance(value, dict):
            setattr(obj, key, {**current, **value})
        else:
            setattr(obj, key, _coerce(value, hints[key], f"{where}.{key}"))


def load_config(conf: str | os.PathLike | None = None, profile: str | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then a profile (``local``/``cluster``/``databricks``) or a YAML file, then dotted overrides.

    ``overrides`` maps dotted keys (``model.k``) to values; ``None`` values are ignored, so CLI flags
    that were not given leave the file's value alone.
    """
    cfg = Config()
    path: Path | Traversable
    if conf is None:
        profile = profile or os.environ.get("CSC_PROFILE") or (
            "databricks" if "DATABRICKS_RUNTIME_VERSION" in os.environ else "local")
        if profile not in PROFILES:
            raise ConfigurationError(f"unknown profile {profile!r}; expected one of {PROFILES} or --config FILE")
        path = conf_dir() / f"{profile}.yml"  # a packaged profile: a Traversable inside a zipped wheel
    else:
        path = Path(conf)
    if not path.is_file():
        raise ConfigurationError(f"config file {path} does not exist")
    data = parse_yaml(path.read_text(), str(path)) or {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping at the top level")
    _apply(cfg, data, str(path))
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        *parents, leaf = dotted.split(".")
        nested: dict = {leaf: value}
        for parent in reversed(parents):
            nested = {parent: nested}
        _apply(cfg, nested, "override")  # its keys are added as they are applied: override.model.k
    memory = cfg.spark.driver_memory
    if memory is not None and not JVM_MEMORY.fullmatch(memory):  # else the JVM exits at start, after 10 s
        raise ConfigurationError(f"spark.driver_memory {memory!r} is not a JVM memory size such as 4g or 512m")
    return cfg


def parse_yaml(text: str, where: str, error: type[CscDemandError] = ConfigurationError) -> Any:
    """``text`` as YAML, or ``error`` naming ``where``, the line and column, and what the parser found."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise error(f"{where}{at}: not valid YAML: {getattr(err, 'problem', None) or err}") from err


def parse_set_option(items: list[str] | None) -> dict[str, Any]:
    """``--set model.k=12 --set outcomes.cross_la=true`` -> {"model.k": 12, ...} (values parsed as YAML). A value
    that is a YAML mapping, ``--set "{catalog: c, schemas: {gold: g}}"``, sets each of its keys (one argument for
    several settings, e.g. the ones every task of the Databricks job passes)."""
    result: dict[str, Any] = {}
    for item in items or []:
        if item.lstrip().startswith("{"):
            settings = parse_yaml(item, f"--set {item!r}")
            result.update({str(key): value for key, value in settings.items()})
            continue
        if "=" not in item:
            raise ConfigurationError(f"--set {item!r}: expected KEY=VALUE, e.g. --set model.k=12")
        key, raw = item.split("=", 1)
        result[key.strip()] = parse_yaml(raw, f"--set {item!r}: the value {raw!r}")
    return result
