#!/usr/bin/env bash
# Start a standalone Spark master and two workers from the pip-installed pyspark, on loopback only.
#
#   deploy/standalone/start.sh [RUN_DIR]      (default RUN_DIR: $CSC_CLUSTER_DIR or /tmp/csc-demand-standalone)
#
# Writes RUN_DIR/cluster.env (SPARK_MASTER_URL, ports, pids, log paths) for deploy/spark-submit.sh and stop.sh.
# Environment: PYTHON (default .venv/bin/python; finds pyspark and free ports), WORKER_CORES (1), WORKER_MEMORY (2g),
# START_TIMEOUT (90 s). Workers get no Python: executors run the environment each job ships (deploy/spark-submit.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUN_DIR="$(mkdir -p "${1:-${CSC_CLUSTER_DIR:-/tmp/csc-demand-standalone}}" && cd "${1:-${CSC_CLUSTER_DIR:-/tmp/csc-demand-standalone}}" && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORKER_CORES="${WORKER_CORES:-1}"
WORKER_MEMORY="${WORKER_MEMORY:-2g}"
START_TIMEOUT="${START_TIMEOUT:-90}"

if [[ -f "$RUN_DIR/cluster.env" ]]; then
  echo "start.sh: $RUN_DIR/cluster.env exists: a cluster may already run there; run deploy/standalone/stop.sh $RUN_DIR first" >&2
  exit 1
fi

# pip's pyspark ships bin/spark-class but not sbin/start-master.sh, so start the daemons with spark-class.
SPARK_HOME="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
# Every listener (RPC, web UIs, block managers) binds to this address, so nothing is reachable off the machine.
export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost
# The master's REST submission server would take the fixed port 6066; jobs go through spark-submit's RPC instead.
export SPARK_MASTER_OPTS="${SPARK_MASTER_OPTS:-} -Dspark.master.rest.enabled=false"

# Ask the kernel for free ports (master, master UI, and per worker: RPC and UI).
read -r MASTER_PORT MASTER_UI_PORT W1_PORT W1_UI_PORT W2_PORT W2_UI_PORT < <("$PYTHON" - <<'PY'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)
MASTER_URL="spark://127.0.0.1:$MASTER_PORT"

launch() {  # launch NAME CLASS ARGS... : background daemon with its own log and pid file
  local name="$1"; shift
  nohup "$SPARK_HOME/bin/spark-class" "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

launch master org.apache.spark.deploy.master.Master \
  --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
for i in 1 2; do
  port_var="W${i}_PORT"; ui_var="W${i}_UI_PORT"
  mkdir -p "$RUN_DIR/worker-$i"
  launch "worker-$i" org.apache.spark.deploy.worker.Worker "$MASTER_URL" \
    --host 127.0.0.1 --port "${!port_var}" --webui-port "${!ui_var}" \
    --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --work-dir "$RUN_DIR/worker-$i"
done

cat >"$RUN_DIR/cluster.env" <<ENV
SPARK_MASTER_URL=$MASTER_URL
SPARK_MASTER_WEBUI=http://127.0.0.1:$MASTER_UI_PORT
SPARK_HOME=$SPARK_HOME
MASTER_PID=$(cat "$RUN_DIR/master.pid")
WORKER_1_PID=$(cat "$RUN_DIR/worker-1.pid")
WORKER_2_PID=$(cat "$RUN_DIR/worker-2.pid")
WORKER_PORTS="$W1_PORT $W2_PORT"
WORKER_WEBUIS="http://127.0.0.1:$W1_UI_PORT http://127.0.0.1:$W2_UI_PORT"
LOGS="$RUN_DIR/master.log $RUN_DIR/worker-1.log $RUN_DIR/worker-2.log"
ENV

# Ready when the master's JSON status lists two ALIVE workers.
if ! "$PYTHON" - "http://127.0.0.1:$MASTER_UI_PORT/json/" "$START_TIMEOUT" <<'PY'
import json, sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        status = json.load(urllib.request.urlopen(url, timeout=2))
        if status.get("aliveworkers", 0) >= 2:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(1)
sys.exit(1)
PY
then
  echo "start.sh: the master did not report 2 alive workers within ${START_TIMEOUT}s; see the logs:" >&2
  tail -n 20 "$RUN_DIR"/*.log >&2
  "$ROOT/deploy/standalone/stop.sh" "$RUN_DIR" >&2 || true
  exit 1
fi

echo "standalone cluster up (loopback only)"
echo "  master:   $MASTER_URL   web UI http://127.0.0.1:$MASTER_UI_PORT   pid $(cat "$RUN_DIR/master.pid")"
echo "  worker 1: 127.0.0.1:$W1_PORT   web UI http://127.0.0.1:$W1_UI_PORT   pid $(cat "$RUN_DIR/worker-1.pid")   ${WORKER_CORES} core, $WORKER_MEMORY"
echo "  worker 2: 127.0.0.1:$W2_PORT   web UI http://127.0.0.1:$W2_UI_PORT   pid $(cat "$RUN_DIR/worker-2.pid")   ${WORKER_CORES} core, $WORKER_MEMORY"
echo "  logs:     $RUN_DIR/{master,worker-1,worker-2}.log"
echo "  settings: $RUN_DIR/cluster.env   stop with: deploy/standalone/stop.sh $RUN_DIR"
