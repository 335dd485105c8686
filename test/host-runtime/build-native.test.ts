// scripts/build-native.mjs is the package's install script: for a package user without the
// toolchain it must not fail `npm install`, and it must say what to install in words that
// work outside a checkout of the repository (no scripts/setup.sh: it is not in the package).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './helpers.js';

const bin = mkdtempSync(join(tmpdir(), 'pmetal-bare-path-'));
symlinkSync(process.execPath, join(bin, 'node'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe.skipIf(process.platform !== 'linux')('install script without a toolchain', () => {
  it('exits 0 and names what is missing and how to get it, for a package user', () => {
    // PATH holds node alone: no make, python3, C++ compiler or clang
    const r = spawnSync(join(bin, 'node'), [join(root, 'scripts', 'build-native.mjs')], { env: { PATH: bin, HOME: process.env.HOME }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('pmetal: native addon not built: missing make, python3 (node-gyp runs on it), a C++ compiler (g++ or clang++)');
    expect(r.stderr).toContain('sudo apt install python3 make g++');
    expect(r.stderr).toContain('sudo apt install -t bookworm-backports clang-19 libclang-rt-19-dev llvm-19');
    expect(r.stderr).toContain('then `npm rebuild pmetal`');
    expect(r.stderr).toContain('the cpu and webgpu backends work without it');
    expect(r.stderr).not.toContain('setup.sh');
  });

  it('PMETAL_SKIP_NATIVE=1 skips the build', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { env: { ...process.env, PMETAL_SKIP_NATIVE: '1' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('PMETAL_SKIP_NATIVE=1, skipping the native addon');
  });
});
