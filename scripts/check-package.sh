#!/usr/bin/env bash
# check-package.sh — install the packed tarball into a fresh project the way a user would
# (npm ≥ 11 runs a dependency's install script only where package.json's allowScripts allows it),
# type-check the README's usage example with strict settings and skipLibCheck off (no
# @webgpu/types, no DOM lib), then run it on every backend that is available here.
# Prints `package check: ok` on success; exits non-zero on the first failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
cd "$root"
npm pack --silent --pack-destination "$tmp" >/dev/null
mkdir "$tmp/app"
cd "$tmp/app"
tgz=$(ls "$tmp"/pmetal-*.tgz)
# A registry install is allowed by name ("pmetal": true); a tarball by its file: spec.
cat > package.json <<JSON
{ "name": "pmetal-package-check", "private": true, "type": "module", "allowScripts": { "file:$tgz": true } }
JSON
ts=$(node -p "require('$root/package.json').devDependencies.typescript")
tn=$(node -p "require('$root/package.json').devDependencies['@types/node']")
npm install --prefer-offline --no-audit --no-fund "$tgz" "typescript@$ts" "@types/node@$tn" >install.log 2>&1 || { cat install.log; exit 1; }
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
  "skipLibCheck": false, "types": ["node"], "lib": ["ES2023"], "outDir": "out" }, "files": ["use.ts"] }
JSON
# The README's usage example, on the backend named by argv (f16 activations, rms_norm then softmax).
cat > use.ts <<'TS'
import { createBackend, fromFloat64, toFloat64, type BackendName } from 'pmetal';

const name = (process.argv[2] ?? 'cpu') as BackendName;
const rows = 4;
const xs = Array.from({ length: rows * 64 }, (_, i) => Math.sin(i));
const gpu = await createBackend(name);
const x = gpu.tensor(fromFloat64('f16', xs), [rows, 64], 'f16');
const w = gpu.tensor(fromFloat64('f16', new Array(64).fill(1)), [64], 'f16');
const { y, rstd } = gpu.rmsNorm({ x, weight: w }, { eps: 1e-5 });
const { y: p } = gpu.softmax({ x: y }, { scale: 0.088, causal: false });
const out = toFloat64('f16', await gpu.read(p));
const sums = Array.from({ length: rows }, (_, r) => out.slice(r * 64, r * 64 + 64).reduce((a, b) => a + b, 0));
if (sums.some((s) => Math.abs(s - 1) > 0.05)) throw new Error(`${name}: softmax rows do not sum to 1: ${sums}`);
for (const t of [x, w, y, rstd, p]) t.dispose();
gpu.dispose();
console.log(`${name}: ok`);
TS
npx tsc -p .
for b in cpu webgpu metal; do
  if [ "$b" = metal ] && ! ls node_modules/pmetal/native/build/Release/pmetal_native.node >/dev/null 2>&1; then
    echo "metal: the addon was not built at install:"; grep -i "pmetal" install.log | tail -5; exit 1
  fi
  node out/use.js "$b" 2>&1 | grep -v '^Warning: '
done
echo "package check: ok"
