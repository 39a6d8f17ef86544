from pathlib import Path

import pytest
from csc_demand.config import conf_dir, load_config, parse_set_option
from csc_demand.errors import ConfigurationError


def test_profiles_load_with_their_own_values():
    assert load_config(profile="local").spark.master == "local[2]"
    assert load_config(profile="cluster").spark.master is None
    databricks = load_config(profile="databricks")
    assert databricks.table_name("silver", "referrals") == "main.csc_silver.referrals"


def test_local_table_names_are_paths_under_the_lakehouse(tmp_path):
    cfg = load_config(profile="local", overrides={"lakehouse": str(tmp_path)})
    assert cfg.table_name("gold", "referral_windows") == str(tmp_path / "gold" / "referral_windows")
    assert cfg.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.mark.parametrize("lakehouse", ["s3a://bucket/lake", "s3a://bucket/lake/", "abfss://c@account.dfs.core.windows.net/lake",
                                       "gs://bucket/lake", "hdfs://namenode:8020/lake"])
def test_lakehouse_uris_keep_their_scheme(lakehouse):
    cfg = load_config(profile="cluster", overrides={"lakehouse": lakehouse})
    base = lakehouse.rstrip("/")
    assert cfg.table_name("silver", "referrals") == f"{base}/silver/referrals"
    assert cfg.runs_dir == f"{base}/_runs"
    assert cfg.artifact_location == ("s3://bucket/lake/mlflow-artifacts" if lakehouse.startswith("s3a")
                                     else f"{base}/mlflow-artifacts")
    with pytest.raises(ConfigurationError, match="set mlflow.tracking_uri"):
        cfg.tracking_uri  # noqa: B018  (a property that raises)
    cfg.mlflow.tracking_uri = "sqlite:////srv/mlflow.db"
    assert cfg.tracking_uri == "sqlite:////srv/mlflow.db"


def test_file_uri_and_relative_lakehouses_are_local(tmp_path, monkeypatch):
    cfg = load_config(profile="local", overrides={"lakehouse": tmp_path.as_uri()})
    assert cfg.table_name("gold", "x") == f"{tmp_path.as_uri()}/gold/x"
    assert cfg.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    relative = load_config(profile="local", overrides={"lakehouse": "lake"})
    assert relative.table_name("gold", "x") == str(tmp_path / "lake" / "gold" / "x")
    assert relative.artifact_location == f"file://{tmp_path}/lake/mlflow-artifacts"


def test_overrides_are_typed_and_beat_the_file():
    cfg = load_config(profile="local", overrides=parse_set_option(["model.k=12", "outcomes.end_date=2021-03-31"]))
    assert cfg.model.k == 12
    assert str(cfg.outcomes.end_date) == "2021-03-31"


def test_a_mapping_sets_each_of_its_keys_and_a_later_set_wins():
    overrides = parse_set_option(["{catalog: c1, model: {k: 12}, git_commit: '0123'}", "catalog=c2"])
    assert overrides == {"catalog": "c2", "model": {"k": 12}, "git_commit": "0123"}
    cfg = load_config(profile="databricks", overrides=overrides)
    assert (cfg.catalog, cfg.model.k, cfg.git_commit, cfg.schemas["gold"]) == ("c2", 12, "0123", "csc_gold")
    with pytest.raises(ConfigurationError, match=r"^--set '\{catalog: \[c', line 1, column 13: not valid YAML"):
        parse_set_option(["{catalog: [c"])


def test_yaml_that_does_not_parse_is_named_with_its_line_and_column(tmp_path):
    with pytest.raises(ConfigurationError, match=r"^--set 'model.k=\[': the value '\[', line 1, column 2: not valid "
                                                 r"YAML: expected the node content, but found '<stream end>'$"):
        parse_set_option(["model.k=["])
    bad = tmp_path / "bad.yml"
    bad.write_text("model:\n  k: [12\n")
    with pytest.raises(ConfigurationError, match=r"bad.yml, line 3, column 1: not valid YAML: expected ',' or ']'"):
        load_config(bad)


def test_unknown_key_is_named_in_the_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("model:\n  kk: 3\n")
    with pytest.raises(ConfigurationError, match=r"bad.yml.model: unknown key 'kk'"):
        load_config(bad)


def test_wrong_type_is_reported():
    with pytest.raises(ConfigurationError, match=r"^override\.model\.k: 'twelve' is not a valid int$"):
        load_config(profile="local", overrides={"model.k": "twelve"})


@pytest.mark.parametrize("memory", ["abc", "4gb", "4 g", ""])
def test_a_driver_memory_the_jvm_cannot_take_is_refused(memory):
    with pytest.raises(ConfigurationError, match=rf"^spark.driver_memory '{memory}' is not a JVM memory size such as "
                                                 "4g or 512m$"):
        load_config(profile="local", overrides={"spark.driver_memory": memory})
    assert load_config(profile="local", overrides={"spark.driver_memory": "512M"}).spark.driver_memory == "512M"


def test_missing_pseudonym_key_says_which_variable(monkeypatch):
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="CSC_PSEUDONYM_KEY"):
        load_config(profile="local").resolve_pseudonym_key()


def test_profiles_folder_is_the_checkout_conf():
    assert conf_dir() == Path(__file__).resolve().parents[1] / "conf"


def test_a_verb_flag_sets_its_config_key_and_wins_over_set(tmp_path):
    from csc_demand import cli
    args = cli.build_parser().parse_args(["fit", "--k", "7", "--starts", "3", "--set", "model.k=5",
                                          "--set", "model.seed=11", "--lakehouse", str(tmp_path)])
    cfg = cli.config_from_args(args)
    assert (cfg.model.k, cfg.model.n_starts, cfg.model.seed) == (7, 3, 11)
    synth = cli.config_from_args(cli.build_parser().parse_args(
        ["synth", "--out", str(tmp_path), "--scale", "0.5", "--seed", "9", "--first-year", "2016"]))
    assert (synth.synth.scale, synth.synth.seed, synth.synth.first_year, synth.model.seed) == (0.5, 9, 2016, 42)


def test_every_flag_in_the_table_is_an_option_of_its_verb():
    from csc_demand import cli
    parser = cli.build_parser()
    for verb, flags in cli.FLAG_KEYS.items():
        args = parser.parse_args([verb, "--out", "x"] if verb == "synth" else [verb])
        assert set(flags) <= set(vars(args)), verb


def test_config_file_option_and_its_deprecated_spelling(tmp_path, capsys):
    from csc_demand import cli
    conf = tmp_path / "my.yml"
    conf.write_text("model:\n  k: 4\n")
    for option in ("--config", "--conf"):
        cfg = cli.config_from_args(cli.build_parser().parse_args(["fit", option, str(conf)]))
        assert cfg.model.k == 4
    assert capsys.readouterr().err.count("--conf FILE is deprecated") == 1


def test_a_pseudonym_secret_is_read_only_on_databricks_and_the_variable_wins(monkeypatch):
    # serverless tasks have no spark_env_vars: they name the secret (SCOPE/KEY) and read it through dbutils
    monkeypatch.delenv("CSC_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    cfg = load_config(profile="databricks", overrides={"pseudonym_secret": "csc-demand/pseudonym-key"})
    with pytest.raises(ConfigurationError, match="only a Databricks job or notebook can read: set the environment"):
        cfg.resolve_pseudonym_key()
    with pytest.raises(ConfigurationError, match="expected SCOPE/KEY"):
        load_config(profile="databricks", overrides={"pseudonym_secret": "no-key"}).resolve_pseudonym_key()
    monkeypatch.setenv("CSC_PSEUDONYM_KEY", "k" * 32)
    assert cfg.resolve_pseudonym_key() == "k" * 32
