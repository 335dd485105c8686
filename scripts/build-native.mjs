#!/usr/bin/env node
// Builds the optional native addon (native/ -> native/build/Release/pmetal_native.node) with
// node-gyp. It is the package's `install` script, so it runs for a package user too: it never
// fails the install. When the addon cannot be built it says what is missing and how to get it
// (words for whoever installed the package, not for a checkout of the repository) and exits
// 0; the cpu and webgpu backends work without it, and asking for the metal backend then gives
// a typed error with the same fix.
//   node scripts/build-native.mjs [--verbose] [--debug]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const verbose = process.argv.includes('--verbose');
const timeoutMs = Number(process.env.PMETAL_BUILD_TIMEOUT_MS ?? 600_000);
const require = createRequire(join(root, 'package.json'));

/** What to install, per platform, for building the addon and for the MSL host runtime. */
const FIX = {
  linux:
    'a C++ toolchain for node-gyp (Debian/Ubuntu: `sudo apt install python3 make g++`) and clang 16 or newer for the MSL host runtime ' +
    '(Debian 12: `sudo apt install -t bookworm-backports clang-19 libclang-rt-19-dev llvm-19`, after adding ' +
    '"deb http://deb.debian.org/debian bookworm-backports main" to the apt sources), then `npm rebuild pmetal`',
  darwin: 'the Xcode command-line tools (`xcode-select --install`), then `npm rebuild pmetal`',
};

function warn(msg) {
  console.warn(`pmetal: native addon not built: ${msg}`);
  const fix = FIX[process.platform];
  if (fix) console.warn(`pmetal: to build it, install ${fix}.`);
  console.warn('pmetal: the cpu and webgpu backends work without it (the metal backend needs it).');
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * node-gyp: the package's own (a checkout of the repository has it as a devDependency), else
 * the one npm runs install scripts with ($npm_config_node_gyp, set by npm for every lifecycle
 * script), else the one bundled next to the npm that runs us, else one on PATH.
 */
function findNodeGyp() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    // not installed with the package: a package user's install
  }
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const c of candidates) if (c && existsSync(c)) return c.endsWith('.js') ? [process.execPath, c] : [c];
  const bin = onPath('node-gyp');
  return bin ? [bin] : undefined;
}

/** The tools node-gyp needs on this platform and, on Linux, the host runtime's clang; [missing, warnings]. */
function checkToolchain() {
  const missing = [];
  const notes = [];
  if (process.platform === 'darwin') {
    if (!onPath('clang++') && !onPath('c++')) missing.push('a C++ compiler (the Xcode command-line tools)');
    return [missing, notes];
  }
  if (!onPath('make')) missing.push('make');
  if (!onPath('python3') && !onPath('python')) missing.push('python3 (node-gyp runs on it)');
  if (!['c++', 'g++', 'clang++', 'clang++-19', 'clang++-18', 'clang++-17', 'clang++-16'].some(onPath)) missing.push('a C++ compiler (g++ or clang++)');
  const clang = process.env.PMETAL_CLANG || ['clang++-19', 'clang++-18', 'clang++-17', 'clang++-16', 'clang++'].find(onPath);
  if (!clang) notes.push('no clang++ (16 or newer) found: the addon builds, but the MSL host runtime needs clang to compile kernels');
  return [missing, notes];
}

function main() {
  if (process.env.PMETAL_SKIP_NATIVE === '1') {
    console.log('pmetal: PMETAL_SKIP_NATIVE=1, skipping the native addon');
    return;
  }
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    console.warn(`pmetal: native addon not built: platform ${process.platform} has no Metal and no MSL host runtime; the cpu and webgpu backends work.`);
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) return warn("node-gyp was not found (npm runs install scripts with its own; outside npm, `npm install -g node-gyp`)");
  try {
    require.resolve('node-addon-api');
  } catch {
    return warn('node-addon-api is not installed (it is a dependency of pmetal: reinstall the package)');
  }
  const [missing, notes] = checkToolchain();
  if (missing.length) return warn(`missing ${missing.join(', ')}`);
  for (const n of notes) console.warn(`pmetal: ${n}; install ${FIX.linux}.`);
  const debug = process.argv.includes('--debug');
  const args = [...gyp.slice(1), 'rebuild', '-j', 'max'];
  if (debug) args.push('--debug');
  // Use the installed Node headers when they exist (no download needed, works offline).
  const nodeDir = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${nodeDir}`);
  } else if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) {
    args.push('--nodedir=/usr');
  }
  const r = spawnSync(gyp[0], args, {
    cwd: nativeDir,
    stdio: verbose ? 'inherit' : 'pipe',
    timeout: timeoutMs,
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    return warn(r.error ? String(r.error.message) : `node-gyp exited with ${r.status}\n${out}`);
  }
  const built = join(nativeDir, 'build', debug ? 'Debug' : 'Release', 'pmetal_native.node');
  if (!existsSync(built)) return warn('node-gyp succeeded but produced no pmetal_native.node');
  console.log(`pmetal: built ${built}`);
}

try {
  main();
} catch (e) {
  warn(e instanceof Error ? e.message : String(e));
}
process.exit(0);
