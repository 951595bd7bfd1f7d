#!/usr/bin/env bash
# `npm start`: install what is missing, then run the redirector in the foreground (scripts/start.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh start
exec node --import tsx scripts/start.ts "$@"
