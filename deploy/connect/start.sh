#!/usr/bin/env bash
# Start a Spark Connect server from the pip-installed pyspark, with Delta, on loopback only.
#
#   deploy/connect/start.sh [RUN_DIR]      (default RUN_DIR: $CSC_CONNECT_DIR or /tmp/csc-demand-connect)
#
# Writes RUN_DIR/connect.env (SPARK_REMOTE=sc://127.0.0.1:PORT, SERVER_PID, LOG) for clients and stop.sh.
# Environment: PYTHON (default .venv/bin/python: the server's Python workers run it, so csc_demand must be importable
# there; PYTHONPATH is passed on), DRIVER_MEMORY (4g), MASTER (local[2]), START_TIMEOUT (300 s: the first start
# fetches Delta's jars through Ivy).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN_DIR="$(mkdir -p "${1:-${CSC_CONNECT_DIR:-/tmp/csc-demand-connect}}" && cd "${1:-${CSC_CONNECT_DIR:-/tmp/csc-demand-connect}}" && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
START_TIMEOUT="${START_TIMEOUT:-300}"

if [[ -f "$RUN_DIR/connect.env" ]]; then
  echo "start.sh: $RUN_DIR/connect.env exists: a server may already run there; run deploy/connect/stop.sh $RUN_DIR first" >&2
  exit 1
fi
SPARK_HOME="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
DELTA_VERSION="$("$PYTHON" -c 'from importlib.metadata import version; print(version("delta-spark"))')"
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost PYSPARK_PYTHON="$PYTHON"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# Delta's SQL extension and catalog only: Delta's Connect plugins (delta-connect-server) are not needed, since
# csc-demand uses Delta's SQL under Connect (io/delta.py).
nohup "$SPARK_HOME/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
  --name csc-demand-connect --master "${MASTER:-local[2]}" --driver-memory "${DRIVER_MEMORY:-4g}" \
  --packages "io.delta:delta-spark_4.1_2.13:$DELTA_VERSION" \
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
  --conf spark.connect.grpc.binding.address=127.0.0.1 --conf spark.connect.grpc.binding.port="$PORT" \
  --conf spark.ui.enabled=false --conf spark.sql.session.timeZone=UTC \
  --conf spark.pyspark.python="$PYTHON" \
  >"$RUN_DIR/server.log" 2>&1 </dev/null &
echo $! >"$RUN_DIR/server.pid"
cat >"$RUN_DIR/connect.env" <<ENV
SPARK_REMOTE=sc://127.0.0.1:$PORT
SERVER_PID=$(cat "$RUN_DIR/server.pid")
LOG=$RUN_DIR/server.log
ENV

# Ready when a client can run a query.
if ! SPARK_REMOTE="sc://127.0.0.1:$PORT" "$PYTHON" - "$START_TIMEOUT" "$(cat "$RUN_DIR/server.pid")" <<'PY'
import os, sys, time
from pyspark.sql import SparkSession
deadline, pid = time.time() + float(sys.argv[1]), int(sys.argv[2])
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    try:
        SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate().range(1).collect()
        sys.exit(0)
    except Exception:
        time.sleep(2)
sys.exit(1)
PY
then
  echo "start.sh: the Spark Connect server did not answer within ${START_TIMEOUT}s; its log: $RUN_DIR/server.log" >&2
  tail -20 "$RUN_DIR/server.log" >&2
  "$ROOT/deploy/connect/stop.sh" "$RUN_DIR" || true
  exit 1
fi
echo "Spark Connect server: sc://127.0.0.1:$PORT (pid $(cat "$RUN_DIR/server.pid"), log $RUN_DIR/server.log)"
echo "  export SPARK_REMOTE=sc://127.0.0.1:$PORT      # or: csc-demand ... --set spark.remote=sc://127.0.0.1:$PORT"
