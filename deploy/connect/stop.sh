#!/usr/bin/env bash
# Stop the Spark Connect server deploy/connect/start.sh started in RUN_DIR (default as start.sh's).
set -euo pipefail
RUN_DIR="${1:-${CSC_CONNECT_DIR:-/tmp/csc-demand-connect}}"
if [[ ! -f "$RUN_DIR/connect.env" ]]; then
  echo "stop.sh: no $RUN_DIR/connect.env: no server started there" >&2
  exit 1
fi
PID="$(sed -n 's/^SERVER_PID=//p' "$RUN_DIR/connect.env")"
# spark-submit's launcher runs java as a child (or exec's it): end both, first politely.
pids="$PID $(pgrep -P "$PID" || true)"
kill $pids 2>/dev/null || true
for _ in $(seq 1 30); do
  alive=""
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
  [[ -z "$alive" ]] && break
  sleep 1
done
[[ -n "${alive:-}" ]] && kill -9 $alive 2>/dev/null || true
rm -f "$RUN_DIR/connect.env" "$RUN_DIR/server.pid"
echo "stopped the Spark Connect server (pid $PID)"
