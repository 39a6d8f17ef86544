#!/usr/bin/env bash
# Build the csc-demand wheel and submit a job to any Spark master with the Delta package, the wheel, the
# executors' Python environment and the config file.
#
#   deploy/spark-submit.sh [--conf KEY=VALUE ...] JOB [JOB OPTIONS...]
#   e.g. MASTER=spark://127.0.0.1:7077 deploy/spark-submit.sh jobs/pipeline.py --lakehouse /data/csc-lakehouse
#
# --conf KEY=VALUE before JOB goes to spark-submit (e.g. spark.hadoop.fs.s3a.endpoint=http://host:9000); after JOB,
# --config FILE is the job's csc-demand config. When an argument names an s3a:// location, hadoop-aws of Spark's own
# Hadoop version is added to --packages.
#
# Environment (all optional):
#   MASTER           master URL; default: SPARK_MASTER_URL from $CSC_CLUSTER_DIR/cluster.env (written by
#                    deploy/standalone/start.sh; CSC_CLUSTER_DIR defaults to /tmp/csc-demand-standalone), else local[2]
#   CONF_FILE        csc-demand config passed to the job as --config unless JOB OPTIONS name --config, --conf or --profile
#                    (default conf/cluster.yml)
#   PYTHON           the driver's Python, with the project installed (default .venv/bin/python)
#   ENV_ARCHIVE      the executors' Python environment, shipped with --archives and unpacked by Spark in each
#                    executor's folder (default dist/executor-env.zip, made by deploy/executor-env.sh on first use and
#                    again when pyproject.toml or constraints.txt change); workers need Java and the base Python it was
#                    made from at the same path, nothing else. ENV_ARCHIVE=none (and any local[...] master): executors
#                    run PYTHON instead, which must then exist with the dependencies at the same path on every worker.
#   WHEEL_DIR        where the wheel is built (default dist/)
#   DRIVER_MEMORY (2g), EXECUTOR_MEMORY (1g), TOTAL_EXECUTOR_CORES (2), SPARK_SUBMIT_OPTS_EXTRA (more options)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SUBMIT_CONFS=()
while [[ $# -ge 2 && "$1" == --conf ]]; do SUBMIT_CONFS+=(--conf "$2"); shift 2; done
if [[ $# -lt 1 ]]; then
  sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
JOB="$1"; shift
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
CLUSTER_ENV="${CSC_CLUSTER_DIR:-/tmp/csc-demand-standalone}/cluster.env"
if [[ -z "${MASTER:-}" && -f "$CLUSTER_ENV" ]]; then
  MASTER="$(sed -n 's/^SPARK_MASTER_URL=//p' "$CLUSTER_ENV")"
fi
MASTER="${MASTER:-local[2]}"
CONF_FILE="${CONF_FILE:-$ROOT/conf/cluster.yml}"
WHEEL_DIR="${WHEEL_DIR:-$ROOT/dist}"
ENV_ARCHIVE="${ENV_ARCHIVE:-$ROOT/dist/executor-env.zip}"
SPARK_HOME="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"

# 1. The wheel: the code the driver and executors import (shipped with --py-files).
mkdir -p "$WHEEL_DIR"
rm -f "$WHEEL_DIR"/csc_demand-*.whl
"$PYTHON" -m pip wheel "$ROOT" --no-deps --quiet -w "$WHEEL_DIR"
WHEEL="$(ls "$WHEEL_DIR"/csc_demand-*.whl)"

# 2. The Delta package and session settings, from the same places local mode takes them
#    (delta-spark's configure_spark_with_delta_pip and csc_demand.spark.DELTA_CONF).
mapfile -t DELTA < <("$PYTHON" - <<'PY'
from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession

from csc_demand.spark import DELTA_CONF

print(configure_spark_with_delta_pip(SparkSession.builder)._options["spark.jars.packages"])
for key, value in DELTA_CONF.items():
    print(f"{key}={value}")
PY
)
if [[ ${#DELTA[@]} -lt 2 || "${DELTA[0]}" != io.delta:* ]]; then
  echo "spark-submit.sh: could not read the Delta package from $PYTHON (is the project installed? make install)" >&2
  exit 1
fi
PACKAGES="${DELTA[0]}"
DELTA_CONFS=()
for setting in "${DELTA[@]:1}"; do DELTA_CONFS+=(--conf "$setting"); done

# 3. Object storage: S3A comes with hadoop-aws, whose version must be Spark's own Hadoop's.
if [[ " $* ${SUBMIT_CONFS[*]} " == *s3a://* ]]; then
  HADOOP_JAR="$(basename "$(ls "$SPARK_HOME"/jars/hadoop-client-api-*.jar)" .jar)"
  PACKAGES+=",org.apache.hadoop:hadoop-aws:${HADOOP_JAR#hadoop-client-api-}"
fi

# 4. The executors' Python: csc-demand's dependencies packed by deploy/executor-env.sh (the code itself comes with
#    the wheel, always current), unpacked by Spark as ./environment in each executor's folder.
#    In local mode the executors are this machine's driver process, so they run PYTHON.
if [[ "$ENV_ARCHIVE" == none || "$MASTER" == local* ]]; then
  ENV_ARCHIVE=none
  ENV_OPTS=(--conf "spark.pyspark.python=$PYTHON")
else
  if [[ ! -f "$ENV_ARCHIVE" || "$ROOT/constraints.txt" -nt "$ENV_ARCHIVE" || "$ROOT/pyproject.toml" -nt "$ENV_ARCHIVE" ]]; then
    echo "spark-submit.sh: packing the executors' environment into $ENV_ARCHIVE (once per dependency change)" >&2
    PYTHON="$PYTHON" "$ROOT/deploy/executor-env.sh" "$ENV_ARCHIVE"
  fi
  # spark.pyspark.python would be the driver's too (it outranks PYSPARK_DRIVER_PYTHON), so name the driver's.
  ENV_OPTS=(--archives "$ENV_ARCHIVE#environment" --conf spark.pyspark.python=./environment/bin/python
            --conf "spark.pyspark.driver.python=$PYTHON")
fi

# 5. Options for the job itself: the config file unless the caller chose a config or profile.
JOB_ARGS=("$@")
config_given=false
for arg in "$@"; do
  case "$arg" in --config|--config=*|--conf|--conf=*|--profile|--profile=*) config_given=true ;; esac
done
$config_given || JOB_ARGS+=(--config "$CONF_FILE")

CLUSTER_OPTS=()
if [[ "$MASTER" == spark://* ]]; then
  CLUSTER_OPTS+=(--total-executor-cores "${TOTAL_EXECUTOR_CORES:-2}" --executor-memory "${EXECUTOR_MEMORY:-1g}")
fi
# A driver next to a loopback-only cluster (or in local mode) stays on loopback too.
if [[ "$MASTER" == local* || "$MASTER" == spark://127.0.0.1:* || "$MASTER" == spark://localhost:* ]]; then
  export SPARK_LOCAL_IP=127.0.0.1
fi
export PYSPARK_DRIVER_PYTHON="$PYTHON"

echo "spark-submit: master $MASTER, wheel $(basename "$WHEEL"), packages $PACKAGES, executors' Python" \
     "${ENV_ARCHIVE/#none/$PYTHON}, job $JOB ${JOB_ARGS[*]}" >&2
# shellcheck disable=SC2086  # SPARK_SUBMIT_OPTS_EXTRA is a list of options
exec "$SPARK_HOME/bin/spark-submit" \
  --master "$MASTER" \
  --name "csc-demand $(basename "$JOB" .py)" \
  --driver-memory "${DRIVER_MEMORY:-2g}" \
  "${CLUSTER_OPTS[@]}" \
  --packages "$PACKAGES" \
  "${DELTA_CONFS[@]}" \
  "${ENV_OPTS[@]}" \
  "${SUBMIT_CONFS[@]}" \
  --py-files "$WHEEL" \
  ${SPARK_SUBMIT_OPTS_EXTRA:-} \
  "$JOB" "${JOB_ARGS[@]}"
