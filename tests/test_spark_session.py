"""A job submitted without Delta's jars stops at session start with what to do, not with py4j's
"'JavaPackage' object is not callable" at the first table read."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyspark

ROOT = Path(__file__).resolve().parents[1]


def test_a_job_submitted_without_delta_stops_with_how_to_submit_it(tmp_path):
    # pyspark's own spark-submit with no --packages: the mistake deploy/spark-submit.sh exists to prevent
    submitted = subprocess.run(
        [str(Path(pyspark.__file__).parent / "bin/spark-submit"), "--master", "local[1]",
         str(ROOT / "jobs/classify.py"), "--lakehouse", str(tmp_path), "--set", "spark.ui=false"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"})
    # spark-submit's PythonRunner copies the driver's stderr to its own stdout
    assert submitted.returncode == 2, submitted.stdout[-3000:]
    assert ("csc-demand classify: error: Delta Lake is not on the Spark classpath. Submit jobs with "
            "deploy/spark-submit.sh, which adds it") in submitted.stdout
    assert "JavaPackage" not in submitted.stdout + submitted.stderr
