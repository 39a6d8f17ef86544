#!/usr/bin/env bash
# Stop the master and workers that start.sh started in RUN_DIR, and nothing else.
#
#   deploy/standalone/stop.sh [RUN_DIR]      (default RUN_DIR: $CSC_CLUSTER_DIR or /tmp/csc-demand-standalone)
#
# Each pid comes from RUN_DIR/<daemon>.pid and is signalled only while its command line still names the Spark
# daemon class, so a pid recycled by an unrelated process is left alone. Workers end their executors themselves.
set -uo pipefail
RUN_DIR="${1:-${CSC_CLUSTER_DIR:-/tmp/csc-demand-standalone}}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"

is_ours() {  # is_ours PID CLASS
  [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q "$2"
}

status=0
# Workers first, so they deregister and end their executors before the master goes.
for name in worker-2 worker-1 master; do
  pid_file="$RUN_DIR/$name.pid"
  [[ -f "$pid_file" ]] || continue
  pid="$(cat "$pid_file")"
  class="org.apache.spark.deploy.$([[ $name == master ]] && echo master.Master || echo worker.Worker)"
  if is_ours "$pid" "$class"; then
    kill -TERM "$pid"
    for _ in $(seq "$STOP_TIMEOUT"); do is_ours "$pid" "$class" || break; sleep 1; done
    if is_ours "$pid" "$class"; then
      echo "stop.sh: $name (pid $pid) still running after ${STOP_TIMEOUT}s; sending KILL" >&2
      kill -KILL "$pid" || status=1
    fi
    echo "stopped $name (pid $pid)"
  else
    echo "$name (pid $pid) was not running"
  fi
  rm -f "$pid_file"
done
rm -f "$RUN_DIR/cluster.env"
exit $status
