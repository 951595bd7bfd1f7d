#!/usr/bin/env bash
# `npm stop [-- --config FILE]`: stop what `npm start` started for that config (scripts/stop.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/stop.ts "$@"
