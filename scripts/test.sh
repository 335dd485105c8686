#!/usr/bin/env bash
# test.sh — the README's test command: installs what is missing (scripts/setup.sh), runs
# the type check and the vitest suite, and ends with one plain line `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
rm -f reports/vitest.json
npm run build --silent && npx tsc -p tsconfig.json --noEmit
typecheck=$?
npx vitest run "$@"
status=$?
node -e '
const fs = require("fs");
let p = 0, f = 0;
try { const r = JSON.parse(fs.readFileSync("reports/vitest.json", "utf8")); p = r.numPassedTests; f = r.numFailedTests + (r.numFailedTestSuites || 0); } catch { f = 1; }
if (process.argv[1] !== "0") f += 1;
console.log(`${p} passed, ${f} failed`);
' "$typecheck"
[ "$typecheck" = 0 ] && [ "$status" = 0 ]
