"""The registered classifier works outside this project: loaded in a fresh virtualenv that holds only what the model's
own requirements name (no csc-demand, no Spark), it gives every assessment of the shared pipeline run the category
that run's Spark classification wrote to gold.assessment_category."""
from __future__ import annotations

import json
import subprocess
import venv

import mlflow
import pandas as pd
import pytest
from csc_demand.model.tracking import MODEL_PACKAGES

pytestmark = pytest.mark.integration

SCORE = """
import json, sys
import mlflow.pyfunc, pandas as pd
try:
    import csc_demand.model.pyfunc  # noqa: F401
    raise SystemExit("csc_demand is importable before the model is loaded")
except ImportError:
    pass
model = mlflow.pyfunc.load_model(sys.argv[1])
scored = model.predict(pd.read_csv(sys.argv[2], keep_default_na=False))
print(json.dumps({"category_id": scored["category_id"].tolist(), "pyspark": "pyspark" in sys.modules}))
"""


def test_registered_model_classifies_a_csv_in_a_fresh_virtualenv(local_pipeline, spark, tmp_path):
    assert local_pipeline.exit_code == 0
    mlflow.set_tracking_uri(f"sqlite:///{local_pipeline.lakehouse / 'mlflow.db'}")
    model_dir = mlflow.artifacts.download_artifacts("models:/csc_demand_categories@champion",
                                                    dst_path=str(tmp_path / "model"))
    requirements = (tmp_path / "model" / "requirements.txt").read_text().split()
    assert sorted(r.split("==")[0] for r in requirements) == sorted(MODEL_PACKAGES)

    # every assessment of the run, its factor codes as an analyst's spreadsheet would hold them
    gold = local_pipeline.lakehouse / "gold" / "assessment_category"
    silver = local_pipeline.lakehouse / "silver" / "assessments"
    rows = (spark.read.format("delta").load(str(silver)).select("assessment_key", "factor_codes")
            .join(spark.read.format("delta").load(str(gold)).select("assessment_key", "category_id"), "assessment_key")
            .orderBy("assessment_key").toPandas())
    assert len(rows) > 100
    csv = tmp_path / "assessments.csv"
    pd.DataFrame({"factor_codes": [", ".join([] if codes is None else codes) for codes in rows["factor_codes"]]}).to_csv(csv, index=False)

    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env)
    subprocess.run([str(env / "bin/python"), "-m", "pip", "install", "--quiet", "-r",
                    str(tmp_path / "model" / "requirements.txt")], check=True, timeout=900)
    scored = subprocess.run([str(env / "bin/python"), "-c", SCORE, model_dir, str(csv)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin"})
    assert scored.returncode == 0, scored.stderr[-3000:]
    result = json.loads(scored.stdout.strip().splitlines()[-1])
    assert result["pyspark"] is False
    assert result["category_id"] == rows["category_id"].tolist()
