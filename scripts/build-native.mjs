#!/usr/bin/env node
// Builds the optional native addon (native/ -> native/build/Release/pmetal_native.node) with
// node-gyp. Part of `npm install`: it never fails the install. When the addon cannot be built,
// it prints why and exits 0; the cpu and webgpu backends work without it, and asking for the
// metal backend gives a typed error that says how to fix it.
//   node scripts/build-native.mjs [--verbose] [--debug]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const verbose = process.argv.includes('--verbose');
const timeoutMs = Number(process.env.PMETAL_BUILD_TIMEOUT_MS ?? 600_000);

function warn(msg) {
  console.warn(`pmetal: native addon not built: ${msg}`);
  console.warn('pmetal: the cpu and webgpu backends work without it; see README ("Metal backend") to build it.');
}

function main() {
  if (process.env.PMETAL_SKIP_NATIVE === '1') {
    console.log('pmetal: PMETAL_SKIP_NATIVE=1, skipping the native addon');
    return;
  }
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    warn(`platform ${process.platform} has no Metal and no MSL host runtime`);
    return;
  }
  const require = createRequire(join(root, 'package.json'));
  let gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    warn('node-gyp is not installed (npm install node-gyp)');
    return;
  }
  try {
    require.resolve('node-addon-api');
  } catch {
    warn('node-addon-api is not installed');
    return;
  }
  const args = [gyp, 'rebuild', '-j', 'max'];
  if (process.argv.includes('--debug')) args.push('--debug');
  // Use the installed Node headers when they exist (no download needed, works offline).
  const nodeDir = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${nodeDir}`);
  } else if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) {
    args.push('--nodedir=/usr');
  }
  const r = spawnSync(process.execPath, args, {
    cwd: nativeDir,
    stdio: verbose ? 'inherit' : 'pipe',
    timeout: timeoutMs,
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    warn(r.error ? String(r.error.message) : `node-gyp exited with ${r.status}\n${out}`);
    return;
  }
  const built = join(nativeDir, 'build', 'Release', 'pmetal_native.node');
  if (!existsSync(built)) {
    warn('node-gyp succeeded but produced no pmetal_native.node');
    return;
  }
  console.log(`pmetal: built ${built}`);
}

try {
  main();
} catch (e) {
  warn(e instanceof Error ? e.message : String(e));
}
process.exit(0);
