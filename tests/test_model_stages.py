"""`fit` and `classify` end to end on real Delta tables and a real MLflow store; the registered pyfunc; labels;
selection rule; parameter files."""
from __future__ import annotations

import json
import math
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from csc_demand import cli
from csc_demand.codes import INDICATOR_NAMES
from csc_demand.config import load_config
from csc_demand.errors import ModelError
from csc_demand.io.delta import read_table, write_table
from csc_demand.model import em
from csc_demand.model.assign import GOLD_COLUMNS
from csc_demand.model.labelling import label_classes, load_categories
from csc_demand.model.lca import information_criteria
from csc_demand.model.parameters import load_parameter_file
from csc_demand.model.selection import KFit, choose_k, score_parameters
from helpers.simulate import assessments_frame, simulate
from mlflow import MlflowClient
from pyspark.sql import functions as F

IDX = {name: j for j, name in enumerate(INDICATOR_NAMES)}


def profile(**high) -> list[float]:
    row = [0.01] * len(INDICATOR_NAMES)
    for name, p in high.items():
        row[IDX[name]] = p
    return row


# Two categories a reader can check by hand: single-factor domestic abuse and neglect.
HAND_PARAMETERS = {
    "indicator_names": list(INDICATOR_NAMES),
    "class_ids": [1, 3],
    "class_names": ["Domestic abuse and violence (single factor)", "Neglect"],
    "class_sizes": [0.6, 0.4],
    "conditional_probabilities": [profile(domestic_abuse_parent=0.9), profile(neglect=0.9, emotional_abuse=0.5)],
}


def test_registered_champion_scores_a_pandas_frame_without_spark(tmp_path, cfg):
    from csc_demand.model import tracking

    cfg.mlflow.tracking_uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    tracking.configure(cfg)
    with mlflow.start_run():
        name, version = tracking.log_and_register(HAND_PARAMETERS, cfg, tmp_path)
    assert (name, version) == ("csc_demand_categories", "1")
    model = mlflow.pyfunc.load_model("models:/csc_demand_categories@champion")
    scored = model.predict(pd.DataFrame({"factor_codes": ["3B", "16A, 17A", "21", "3B;16A;17A"]}))
    # by hand: "3B" -> DA  0.6*0.9 vs 0.4*0.01 (x 0.99 for the rest): DA; "16A 17A" -> neglect;
    # "21" -> no factors; all three -> 0.6*.9*.01*.01 vs 0.4*.01*.9*.5: neglect.
    assert scored["category_id"].tolist() == [1, 3, 0, 3]
    assert scored["category_name"].tolist()[2] == "No factors identified"
    # "3B": both classes share 0.99 for the 31 other indicators; DA class: 0.9 for 3B, 0.99 x 0.99 for absent
    # neglect and emotional abuse; neglect class: 0.01 for 3B, 0.1 and 0.5 for their absence.
    da = 0.6 * 0.9 * 0.99 * 0.99
    neg = 0.4 * 0.01 * 0.1 * 0.5
    assert scored["probability"][0] == pytest.approx(da / (da + neg), rel=1e-9)
    assert math.isnan(scored["probability"][2])


def test_input_lineage_names_a_catalog_table_by_name_and_a_lakehouse_table_by_path(spark, cfg, tmp_path):
    from csc_demand.model import tracking

    table = cfg.table_name("silver", "assessments")
    spark.createDataFrame([(1,)], "x int").write.format("delta").save(table)
    # a catalog table as Unity Catalog names them (catalog.schema.table), here in the session's own catalog
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS h6_lineage_silver LOCATION '{tmp_path / 'schema'}'")
    spark.sql(f"CREATE TABLE IF NOT EXISTS spark_catalog.h6_lineage_silver.assessments USING delta LOCATION '{table}'")
    catalog_cfg = load_config(profile="local", overrides={"catalog": "spark_catalog",
                                                         "schemas": {"silver": "h6_lineage_silver"}})
    # a lakehouse on object storage: named by its URI (the table is not read, so no S3 is needed)
    s3a_cfg = load_config(profile="local", overrides={"lakehouse": "s3a://bucket/lake"})
    sources = []
    # one experiment each: MLflow keeps one dataset per name and digest within an experiment
    for config, experiment in ((catalog_cfg, "lineage-by-name"), (cfg, "lineage-by-path"), (s3a_cfg, "lineage-s3a")):
        config.mlflow.tracking_uri, config.mlflow.experiment = f"sqlite:///{tmp_path / 'lineage.db'}", experiment
        tracking.configure(config)
        # rows that fail when read: the dataset is recorded without reading them (its profile is the count given)
        unreadable = spark.read.format("delta").load(table).select(
            F.raise_error(F.lit("rows read")).cast("int").alias("x"))
        with mlflow.start_run() as run:
            tracking.log_input_table(unreadable, config, "silver", "assessments", 0, rows=7)
        (dataset_input,) = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
        sources.append(json.loads(dataset_input.dataset.source))
        assert json.loads(dataset_input.dataset.profile) == {"approx_count": 7}
    spark.sql("DROP TABLE spark_catalog.h6_lineage_silver.assessments")
    assert sources == [{"delta_table_name": "spark_catalog.h6_lineage_silver.assessments", "delta_table_version": "0"},
                       {"path": table, "delta_table_version": "0"},
                       {"path": "s3a://bucket/lake/silver/assessments", "delta_table_version": "0"}]


def test_classify_from_a_yaml_parameter_file_writes_gold(spark, cfg, tmp_path):
    rows = [("a1", "c1", [IDX["domestic_abuse_parent"]], True), ("a2", "c2", [IDX["neglect"]], True),
            ("a3", "c3", [], False)]
    frame = spark.createDataFrame(
        [(key, child, "201", [int(j in on) for j in range(len(INDICATOR_NAMES))], has, 2020)
         for key, child, on, has in rows],
        "assessment_key string, child_key string, la_code string, indicators array<int>, has_factors boolean, "
        "collection_year int")
    write_table(frame, cfg, "silver", "assessments")
    reordered = list(reversed(INDICATOR_NAMES))  # files may list indicators in any order
    params = {**HAND_PARAMETERS, "indicator_names": reordered,
              "conditional_probabilities": [list(reversed(r)) for r in HAND_PARAMETERS["conditional_probabilities"]]}
    path = tmp_path / "published.yml"
    import yaml
    path.write_text(yaml.safe_dump(params))
    assert cli.main(["classify", "--lakehouse", cfg.lakehouse, "--params", str(path),
                     "--set", "spark.driver_memory=4g"]) == 0
    gold = read_table(spark, cfg, "gold", "assessment_category")
    assert tuple(gold.columns) == GOLD_COLUMNS
    got = {r["assessment_key"]: (r["category_id"], r["category_name"], r["model_name"]) for r in gold.collect()}
    assert got == {"a1": (1, "Domestic abuse and violence (single factor)", "file:published.yml"),
                   "a2": (3, "Neglect", "file:published.yml"),
                   "a3": (0, "No factors identified", "file:published.yml")}
    da = 0.6 * 0.9 * 0.99 * 0.99  # as in the pyfunc test: the same hand calculation for "3B"
    neg = 0.4 * 0.01 * 0.1 * 0.5
    prob = gold.where("assessment_key = 'a1'").first()["posterior_probability"]
    assert prob == pytest.approx(da / (da + neg), rel=1e-9)
    assert gold.where("assessment_key = 'a3'").first()["posterior_probability"] is None


def test_classify_without_the_model_it_names_says_what_is_missing_and_to_fit_first(spark, cfg, capsys):
    """No registered model, a model without the alias, a version that is not there: exit 2 with what to do, not an
    unexpected error (3) with a traceback."""
    registry_misses = [
        ([], "Registered Model with name=csc_demand_categories not found"),
        (["--model-uri", "models:/csc_demand_categories@champion"], None),  # created below, without an alias
        (["--model-uri", "models:/csc_demand_categories/7"],
         "Model Version (name=csc_demand_categories, version=7) not found")]
    for options, missing in registry_misses:
        if missing is None:
            mlflow.set_tracking_uri(cfg.tracking_uri)
            MlflowClient().create_registered_model("csc_demand_categories")
            missing = "Registered model alias champion not found"
        assert cli.main(["classify", "--lakehouse", cfg.lakehouse, *options, "--set", "spark.driver_memory=4g"]) == 2
        err = capsys.readouterr().err
        assert f"{missing}. Run `csc-demand fit` on this lakehouse first" in err
        assert "Traceback" not in err


def test_a_model_uri_not_of_the_registry_s_form_is_named_with_the_forms(tmp_path, capsys):
    assert cli.main(["classify", "--lakehouse", str(tmp_path), "--model-uri", "models:csc_demand_categories"]) == 2
    assert ("error: --model-uri models:csc_demand_categories: a registered model's URI is models:/NAME@ALIAS or "
            "models:/NAME/VERSION, e.g. models:/csc_demand_categories@champion") in capsys.readouterr().err


def test_bad_parameter_file_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"class_sizes": [1, 1], "conditional_probabilities": [[0.5] * 3, [0.5] * 3]}))
    with pytest.raises(ValueError, match=r"bad.json: conditional_probabilities must be 2 x 34"):
        load_parameter_file(path)
    path = tmp_path / "bad.yml"
    path.write_text("class_sizes: [0.5, 0.5\n")
    with pytest.raises(ModelError, match=r"bad.yml, line 2, column 1: not valid YAML: expected ',' or ']'"):
        load_parameter_file(path)


def test_a_categories_file_that_is_missing_or_malformed_is_named_with_what_is_wrong(tmp_path, capsys):
    assert cli.main(["fit", "--lakehouse", str(tmp_path / "lh"), "--categories", str(tmp_path / "none.yml")]) == 2
    assert f"categories file {tmp_path / 'none.yml'} does not exist" in capsys.readouterr().err
    path = tmp_path / "categories.yml"
    for text, error in (
            ("categories: [\n", r"categories.yml, line 2, column 1: not valid YAML: expected the node content"),
            ("- id: 1\n", r"categories.yml: expected a mapping with a `categories` list"),
            ("categories:\n  - {id: 1, key: a, name: A, require: {neglect: 0.5}}\n  - {id: 2, name: B}\n",
             r"categories.yml: category 2 is not in the form conf/categories.yml describes .*: KeyError 'key'"),
            ("categories:\n  - {id: one, key: a, name: A, require: {neglect: 0.5}}\n",
             r"category 1 is not in the form .*: ValueError invalid literal for int\(\) with base 10: 'one'")):
        path.write_text(text)
        with pytest.raises(ModelError, match=error):
            load_categories(path)


def test_fit_on_assessments_without_factors_says_what_the_model_needs(spark, cfg, capsys):
    write_table(assessments_frame(spark, np.zeros((3, len(INDICATOR_NAMES)))), cfg, "silver", "assessments")
    assert cli.main(["fit", "--lakehouse", cfg.lakehouse, "--k", "2", "--set", "spark.driver_memory=4g"]) == 2
    assert ("error: silver.assessments v0 holds no assessment with factors (3 assessments): the model is fitted on "
            "the factors recorded at assessment") in capsys.readouterr().err


def test_fit_selects_k_logs_to_mlflow_registers_and_classify_matches_the_pyfunc(spark, cfg):
    theta = np.array([profile(domestic_abuse_parent=0.95), profile(neglect=0.95, emotional_abuse=0.4),
                      profile(mental_health_child=0.95, self_harm=0.5)])
    X, _ = simulate([0.5, 0.3, 0.2], theta, 3000, seed=12)
    write_table(assessments_frame(spark, X), cfg, "silver", "assessments")
    assert cli.main(["fit", "--lakehouse", cfg.lakehouse, "--k-min", "2", "--k-max", "4", "--starts", "3",
                     "--baselines", "--set", "spark.driver_memory=4g"]) == 0
    summary = json.loads(sorted(Path(cfg.runs_dir).glob("fit-*.json"))[-1].read_text())
    assert summary["metrics"]["chosen_k"] == 3
    assert summary["versions_read"] == {"silver.assessments": 0}  # created with its rows and comments

    mlflow.set_tracking_uri(cfg.tracking_uri)
    client = MlflowClient()
    champion = client.get_model_version_by_alias("csc_demand_categories", "champion")
    parent = client.get_run(champion.run_id)
    assert parent.data.params["chosen_k"] == "3"
    assert parent.data.params["input.silver.assessments.version"] == "0"
    assert len(parent.data.tags["config_hash"]) == 16
    assert [d.dataset.name for d in parent.inputs.dataset_inputs] == ["silver.assessments"]
    assert json.loads(parent.inputs.dataset_inputs[0].dataset.source)["delta_table_version"] == "0"
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(r.data.params["k"] for r in children) == ["2", "3", "4"]
    assert {r.data.params["input.silver.assessments.version"] for r in children} == {"0"}
    assert {m.split(".")[1] for m in parent.data.metrics if m.startswith("baseline.")} == {"kmeans", "bisecting_kmeans"}
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "selection")}
    assert artifacts == {"selection/criteria.json", "selection/criteria_by_k.png"}

    assert cli.main(["classify", "--lakehouse", cfg.lakehouse, "--set", "spark.driver_memory=4g"]) == 0
    gold = read_table(spark, cfg, "gold", "assessment_category").toPandas().sort_values("assessment_key")
    codes = read_table(spark, cfg, "silver", "assessments").select("assessment_key", "factor_codes").toPandas()
    codes = codes.sort_values("assessment_key")
    # independent path: the registered pyfunc (numpy) on the raw factor codes
    expected = mlflow.pyfunc.load_model("models:/csc_demand_categories@champion").predict(
        pd.DataFrame({"factor_codes": codes["factor_codes"].map(list)}))
    assert gold["category_id"].tolist() == expected["category_id"].tolist()
    np.testing.assert_allclose(gold["posterior_probability"].astype(float), expected["probability"], rtol=1e-9)
    assert set(gold["category_name"]) == {"Domestic abuse and violence (single factor)", "Neglect",
                                          "Child mental health", "No factors identified"}
    assert (gold["model_version"] == "1").all()


def test_synthetic_truth_classes_get_their_own_category_in_a_stable_order():
    synth = pytest.importorskip("csc_demand.synth.params")
    theta = synth.conditional_probabilities()
    shuffle = np.random.default_rng(0).permutation(len(theta))
    labels = label_classes(theta[shuffle], synth.class_sizes(2018)[shuffle], load_categories())
    assert labels.keys == [synth.CLASS_NAMES[shuffle[c]] for c in labels.order]
    assert labels.ids == list(range(1, 13))
    assert sorted(labels.keys) == sorted(synth.CLASS_NAMES)


def test_unmatched_class_is_named_by_its_top_factors():
    theta = np.array([profile(domestic_abuse_parent=0.9),
                      profile(female_genital_mutilation=0.9, faith_linked_abuse=0.8, trafficking=0.5)])
    labels = label_classes(theta, [0.7, 0.3], load_categories())
    assert labels.ids == [1, 101]
    assert labels.names[1] == "Top factors: female genital mutilation, faith linked abuse, trafficking"
    assert labels.order == [0, 1]


def fake_fit(k, bic, smallest):
    return KFit(k, None, {"bic": bic, "smallest_class_share": smallest})


def test_selection_rule_takes_the_smallest_k_with_99_percent_of_the_bic_gain():
    fits = [fake_fit(2, 1000.0, 0.4), fake_fit(3, 400.0, 0.2), fake_fit(4, 105.0, 0.1), fake_fit(5, 100.0, 0.05),
            fake_fit(6, 98.0, 0.005)]
    # k=6 is inadmissible (a class under 1%); best admissible BIC 100; gain 900; 1% of it = 9 -> k=4 (105 - 100 = 5)
    assert choose_k(fits) == 4
    assert choose_k(fits, bic_gain_share=1.0) == 5


def test_criteria_by_hand_for_perfectly_separated_classes():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([30.0, 70.0])
    theta = np.array([[1 - 1e-15, 1e-15], [1e-15, 1 - 1e-15]])
    metrics, mean_post = score_parameters(em.LocalPatterns(X, w), np.array([0.3, 0.7]), theta)
    loglik = 30 * math.log(0.3) + 70 * math.log(0.7)
    assert metrics["loglik"] == pytest.approx(loglik, rel=1e-9)
    assert metrics["bic"] == pytest.approx(-2 * loglik + 5 * math.log(100), rel=1e-9)
    assert metrics["sabic"] == pytest.approx(-2 * loglik + 5 * math.log(102 / 24), rel=1e-9)
    assert metrics["entropy_r2"] == pytest.approx(1.0, abs=1e-9)
    assert metrics["smallest_class_share"] == 0.3
    assert mean_post == pytest.approx([1.0, 1.0])
    assert information_criteria(-10.0, 3, 20)["aic"] == 26.0
