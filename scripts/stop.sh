#!/usr/bin/env bash
# `npm stop`: stop what `npm start` started (it stops its nginx, sidecar and embedded PostgreSQL itself).
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile="${MIRRORLANE_VAR:-var}/run/mirrorlane.pid"
if [ ! -f "$pidfile" ]; then
  echo "mirrorlane: not running (no $pidfile)"
  exit 0
fi
pid=$(cat "$pidfile")
if ! kill -0 "$pid" 2>/dev/null; then
  echo "mirrorlane: not running (stale $pidfile removed)"
  rm -f "$pidfile"
  exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || { echo "mirrorlane: stopped"; exit 0; }
  sleep 0.1
done
echo "mirrorlane: process $pid did not stop within 10 s; kill it with: kill -9 $pid" >&2
exit 1
