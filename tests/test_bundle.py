"""The Databricks bundle, the built wheel and the job scripts agree with the CLI (no Spark needed).

The wheel is built once for the module, the way the bundle's artifact and deploy/spark-submit.sh build it.
"""
from __future__ import annotations

import ast
import configparser
import re
import runpy
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from csc_demand import cli, entrypoints
from csc_demand.stages.run import pipeline_verbs
from databricks.bundles.experiments import MlflowExperiment
from databricks.bundles.jobs import Job, JobRunAs
from databricks.bundles.registered_models import RegisteredModel
from databricks.bundles.schemas import Schema
from databricks.bundles.volumes import Volume

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "deploy" / "databricks"
JOB_FILE = BUNDLE / "resources" / "csc_demand_job.yml"
SERVERLESS_JOB_FILE = BUNDLE / "resources" / "csc_demand_serverless_job.yml"
# The job on a job cluster and the same job on serverless compute (Spark Connect).
JOBS = {"csc_demand": JOB_FILE, "csc_demand_serverless": SERVERLESS_JOB_FILE}
FAKE_USER = "analyst@example.org"
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
# The databricks-bundles package's typed model of each resource kind the bundle declares.
RESOURCE_MODELS = {"jobs": Job, "schemas": Schema, "volumes": Volume, "experiments": MlflowExperiment,
                   "registered_models": RegisteredModel}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", str(out)],
                   check=True, capture_output=True)
    (built,) = out.glob("csc_demand-*.whl")
    return zipfile.ZipFile(built)


def bundle_config() -> dict:
    return yaml.safe_load((BUNDLE / "databricks.yml").read_text())


def job(name: str = "csc_demand") -> dict:
    return yaml.safe_load(JOBS[name].read_text())["resources"]["jobs"][name]


def target_variables(target: str) -> dict[str, str]:
    config = bundle_config()
    values = {name: str(spec["default"]) for name, spec in config["variables"].items()}
    values.update({k: str(v) for k, v in config["targets"][target].get("variables", {}).items()})
    return values


def resolve_variables(text: str, target: str) -> str:
    """What the Databricks CLI substitutes at deploy time."""
    variables = target_variables(target)
    text = re.sub(r"\$\{var\.(\w+)\}", lambda m: variables[m.group(1)], text)
    text = text.replace("${bundle.git.commit}", FAKE_COMMIT)
    return text.replace("${workspace.current_user.userName}", FAKE_USER)  # also inside a variable's value


def resolve(text: str, target: str, name: str = "csc_demand") -> str:
    """Bundle variables, then what the Jobs service substitutes at run time: job parameter defaults."""
    defaults = {p["name"]: resolve_variables(str(p["default"]), target) for p in job(name)["parameters"]}
    return re.sub(r"\{\{job\.parameters\.(\w+)\}\}", lambda m: defaults[m.group(1)],
                  resolve_variables(text, target))


def tasks_in_dependency_order(name: str = "csc_demand") -> list[dict]:
    """Follow depends_on from the task with no dependency; fails unless the tasks form one chain."""
    tasks = {t["task_key"]: t for t in job(name)["tasks"]}
    next_of = {}
    for key, task in tasks.items():
        deps = [d["task_key"] for d in task.get("depends_on", [])]
        assert len(deps) <= 1, f"task {key} depends on {deps}: expected a chain"
        if deps:
            assert deps[0] not in next_of, f"two tasks depend on {deps[0]}"
            next_of[deps[0]] = key
    (first,) = [k for k, t in tasks.items() if not t.get("depends_on")]
    order = [first]
    while order[-1] in next_of:
        order.append(next_of[order[-1]])
    assert len(order) == len(tasks), f"tasks not reachable from {first}: {set(tasks) - set(order)}"
    return [tasks[key] for key in order]


@pytest.mark.parametrize("name", JOBS)
def test_job_runs_every_pipeline_stage_in_order(name):
    assert [t["task_key"] for t in tasks_in_dependency_order(name)] == pipeline_verbs()
    assert [t["python_wheel_task"]["parameters"][0] for t in tasks_in_dependency_order(name)] == pipeline_verbs()


@pytest.mark.parametrize("name", JOBS)
def test_every_entry_point_the_bundle_names_is_in_the_wheel(wheel, name):
    names = wheel.namelist()
    (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    distribution = dist_info.split("-")[0]
    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel.read(f"{dist_info}/entry_points.txt").decode())
    declared = {name: target for section in entry_points.sections() for name, target in entry_points[section].items()}
    for task in job(name)["tasks"]:
        wheel_task = task["python_wheel_task"]
        assert wheel_task["package_name"].replace("-", "_") == distribution
        target = declared[wheel_task["entry_point"]]
        module, function = target.split(":")
        source = wheel.read(module.replace(".", "/") + ".py").decode()
        functions = {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
        assert function in functions, f"{target} is not defined in the wheel"


@pytest.mark.parametrize("name", JOBS)
@pytest.mark.parametrize("target, catalog", [("dev", "dev_csc"), ("prod", "csc")])
def test_cli_accepts_the_exact_parameters_each_task_passes(target, catalog, name):
    parser = cli.build_parser()
    for task in job(name)["tasks"]:
        argv = [resolve(str(p), target, name) for p in task["python_wheel_task"]["parameters"]]
        assert not [a for a in argv if "${" in a or "{{" in a], f"unresolved reference in {argv}"
        args = parser.parse_args(argv)
        assert args.verb == task["task_key"]
        cfg = cli.config_from_args(args)
        assert cfg.table_name("silver", "referrals") == f"{catalog}.csc_silver.referrals"
        assert cfg.table_name("gold", "categories") == f"{catalog}.csc_gold.categories"
        assert (cfg.mlflow.tracking_uri, cfg.mlflow.registry_uri) == ("databricks", "databricks-uc")
        assert cfg.mlflow.model_name == f"{catalog}.csc_gold.csc_demand_categories"
        assert cfg.model.k is None and cfg.outcomes.end_date is None  # empty job parameters keep the defaults
        assert cfg.git_commit == FAKE_COMMIT  # tagged on every MLflow run (tracking.run_tags)
        if args.verb == "ingest":
            assert args.source == f"/Volumes/{catalog}/csc_bronze/returns"
            # serverless has no spark_env_vars: ingest reads the key from the secret the job cluster's tasks get
            if name == "csc_demand_serverless":
                secret = job()["job_clusters"][0]["new_cluster"]["spark_env_vars"]["CSC_PSEUDONYM_KEY"]
                assert resolve(secret, target) == "{{secrets/" + cfg.pseudonym_secret + "}}"
    assert resolve("${var.experiment}", "dev") == f"/Users/{FAKE_USER}/csc-demand-dev"


def bundle_files() -> list[Path]:
    return [BUNDLE / "databricks.yml", *sorted((BUNDLE / "resources").glob("*.yml"))]


def test_bundle_uses_only_declared_variables():
    used = set(re.findall(r"\$\{var\.(\w+)\}", "".join(f.read_text() for f in bundle_files())))
    assert used <= set(bundle_config()["variables"])


def test_every_resource_fits_the_databricks_bundles_typed_model():
    declared = []
    for path in bundle_files()[1:]:
        for kind, resources in yaml.safe_load(path.read_text())["resources"].items():
            for key, spec in resources.items():
                RESOURCE_MODELS[kind].from_dict(spec)  # raises on an unknown key, a wrong type or enum value
                declared.append(f"{kind}.{key}")
    assert sorted(declared) == ["experiments.csc_demand", "jobs.csc_demand", "jobs.csc_demand_serverless",
                                "registered_models.csc_demand_categories",
                                "schemas.bronze", "schemas.gold", "schemas.silver", "volumes.reports", "volumes.returns"]
    # the check can fail: a misspelt key is refused
    with pytest.raises(ValueError, match="Unexpected field 'package_nam'"):
        Job.from_dict({**job(), "tasks": [{"task_key": "ingest", "python_wheel_task": {"package_nam": "x"}}]})


def test_the_job_reads_the_declared_volume_and_registers_the_declared_model():
    resources = yaml.safe_load((BUNDLE / "resources" / "catalog.yml").read_text())["resources"]
    volume, model = resources["volumes"]["returns"], resources["registered_models"]["csc_demand_categories"]
    schema = {f"${{resources.schemas.{layer}.name}}": resources["schemas"][layer]["name"] for layer in resources["schemas"]}
    for target in ("dev", "prod"):
        assert resolve_variables(f"/Volumes/{volume['catalog_name']}/{schema[volume['schema_name']]}/{volume['name']}",
                                 target) == target_variables(target)["source_volume"]
        mlflow_setting = next(p for p in job()["tasks"][0]["python_wheel_task"]["parameters"] if "model_name" in p)
        assert resolve_variables(f"{model['catalog_name']}.{schema[model['schema_name']]}.{model['name']}", target) \
            in resolve_variables(mlflow_setting, target)


def test_prod_runs_as_a_service_principal_under_a_shared_root_with_permissions():
    prod = bundle_config()["targets"]["prod"]
    assert prod["mode"] == "production"
    assert prod["workspace"]["root_path"].startswith("/Workspace/Shared/")
    assert str(JobRunAs.from_dict(prod["run_as"]).service_principal_name) == "${var.service_principal}"
    for permission in prod["permissions"]:
        assert permission["level"] in {"CAN_VIEW", "CAN_RUN", "CAN_MANAGE"}
        assert len(set(permission) & {"user_name", "group_name", "service_principal_name"}) == 1


def test_serverless_job_runs_its_tasks_in_a_serverless_environment_with_the_wheel():
    serverless = job("csc_demand_serverless")
    assert "job_clusters" not in serverless
    (environment,) = serverless["environments"]
    assert environment["spec"]["environment_version"] == "${var.serverless_environment_version}"
    assert resolve_variables(environment["spec"]["environment_version"], "dev").isdigit()
    artifact = bundle_config()["artifacts"]["csc_demand_wheel"]
    (dependency,) = environment["spec"]["dependencies"]
    assert (SERVERLESS_JOB_FILE.parent / dependency).resolve() == (BUNDLE / artifact["path"]).resolve() / "dist/*.whl"
    for task in serverless["tasks"]:
        assert task["environment_key"] == environment["environment_key"]
        assert not set(task) & {"job_cluster_key", "new_cluster", "existing_cluster_id", "libraries"}
    # the same stages with the same parameters as the job on a cluster, but for the key's secret
    classic = {t["task_key"]: t["python_wheel_task"] for t in job()["tasks"]}
    for task in serverless["tasks"]:
        parameters = task["python_wheel_task"]["parameters"]
        secret = {i for i, p in enumerate(parameters) if str(p).startswith("pseudonym_secret=")}  # and its --set
        kept = [p for i, p in enumerate(parameters) if not {i, i + 1} & secret]
        assert {**task["python_wheel_task"], "parameters": kept} == classic[task["task_key"]]
    # the typed model refuses a task key the Jobs API does not have
    with pytest.raises(ValueError, match="Unexpected field 'environment'"):
        Job.from_dict({**serverless, "tasks": [{"task_key": "ingest", "environment": "csc_demand_env"}]})


def test_tasks_install_the_wheel_the_artifact_builds():
    artifact = bundle_config()["artifacts"]["csc_demand_wheel"]
    project = (BUNDLE / artifact["path"]).resolve()
    assert (project / "pyproject.toml").is_file()
    assert "-w dist" in artifact["build"]
    for task in job()["tasks"]:
        (library,) = task["libraries"]
        assert (JOB_FILE.parent / library["whl"]).resolve() == (project / "dist" / "*.whl").resolve()


def test_wheel_holds_every_file_of_the_package_including_profiles(wheel):
    package = ROOT / "lib" / "csc_demand"  # conf/ is a symlink to the top-level conf/: its files must be copied
    expected = {
        "csc_demand/" + str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    packaged = {name for name in wheel.namelist() if name.startswith("csc_demand/")}
    assert expected - packaged == set()
    assert {n for n in packaged - expected if n.endswith(".py")} == set(), \
        "modules no longer in lib/ came from a stale build/ folder: delete build/ and rebuild"
    assert {f"csc_demand/conf/{p.name}" for p in (ROOT / "conf").glob("*.yml")} <= set(wheel.namelist())


def test_profiles_load_from_the_zipped_wheel(wheel, tmp_path):
    # As under spark-submit --py-files: the package is imported from inside the zip.
    code = ("import csc_demand.config as c; cfg = c.load_config(profile='cluster'); "
            "print(c.__file__); print(cfg.spark.shuffle_partitions, cfg.spark.master)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": wheel.filename, "PATH": "/usr/bin:/bin"}).stdout.splitlines()
    cluster = yaml.safe_load((ROOT / "conf" / "cluster.yml").read_text())["spark"]
    assert out[0].startswith(wheel.filename + "/")
    assert out[1] == f"{cluster['shuffle_partitions']} {cluster['master']}"


@pytest.mark.parametrize("verb", ["synth", "ingest", "fit", "classify", "outcomes", "report", "pipeline"])
def test_each_job_script_runs_its_verb(verb, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [f"jobs/{verb}.py", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "jobs" / f"{verb}.py"), run_name="__main__")
    assert exit_info.value.code == 0
    assert f"usage: csc-demand {'run' if verb == 'pipeline' else verb} " in capsys.readouterr().out


def test_jobs_default_to_the_cluster_profile_unless_told():
    assert entrypoints.with_default_profile(["--lakehouse", "x"], "cluster") == \
        ["--lakehouse", "x", "--profile", "cluster"]
    assert entrypoints.with_default_profile(["--conf", "my.yml"], "cluster") == ["--conf", "my.yml"]
    assert entrypoints.with_default_profile(["--profile=local"], "cluster") == ["--profile=local"]


def test_wheel_task_fails_the_databricks_task_on_a_nonzero_exit(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["csc_demand", "run", "--set", "model.kk=1"])
    with pytest.raises(SystemExit) as exit_info:
        entrypoints.wheel_task()
    assert exit_info.value.code == 2
    assert "unknown key 'kk'" in capsys.readouterr().err
