#!/usr/bin/env bash
# `npm test`: install what is missing, type-check, lint, build the njs handler, run unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
bin=node_modules/.bin
echo "== type-check (tsc --noEmit, strict)"
"$bin/tsc" --noEmit -p .
"$bin/tsc" --noEmit -p njs
echo "== lint (eslint, njs 0.7.9 subset in njs/)"
"$bin/eslint" --max-warnings 0 .
echo "== build the njs handler and the bundled CLI"
node --import tsx scripts/build-njs.ts
node --import tsx scripts/build-cli.ts
echo "== tests (node:test)"
# Test files pass their own arguments: `npm test -- test/unit/paths.test.ts` runs one.
if [ $# -gt 0 ]; then files=("$@"); else files=(test/unit/*.test.ts test/integration/*.test.ts); fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
