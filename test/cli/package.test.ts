import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// As a package user: `npm pack`, install the tarball into a fresh project (npm 11's
// allowScripts lets the addon build), type-check the README example strictly with
// skipLibCheck off and without @webgpu/types, run it on cpu, webgpu and metal
// (scripts/check-package.sh). npm installs from its cache where it can.
describe('the packed package', () => {
  it('installs, type-checks strictly and runs the README example on every backend', () => {
    const r = spawnSync('bash', ['scripts/check-package.sh'], { encoding: 'utf8', timeout: 540_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out).toMatch(/cpu: ok/);
    expect(out).toMatch(/webgpu: ok/);
    expect(out).toMatch(/metal: ok/);
    expect(r.status, out.slice(-2000)).toBe(0);
  }, 600_000);

  // Issue 16 item 7: the bench-only payload (onnxruntime's wasm, the peers bundle, source
  // maps, MSL test kernels) was 85% of a 6 MB tarball. The file list as npm packs it (no
  // prepack build: the list depends only on package.json's "files").
  it('leaves out the bench-only payload and keeps what a user needs', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const [pack] = JSON.parse(r.stdout) as { size: number; files: { path: string }[] }[];
    const files = pack.files.map((f) => f.path);
    expect(files.filter((f) => /\.map$|^dist\/peers\.js$|\.wasm(\.br)?$|^msl\/test\//.test(f))).toEqual([]);
    for (const f of ['dist/index.js', 'dist/cli.js', 'dist/types/index.d.ts', 'native/binding.gyp', 'native/host/include/metal_stdlib', 'scripts/build-native.mjs', 'README.md']) {
      expect(files, f).toContain(f);
    }
    expect(pack.size).toBeLessThan(1.5 * 2 ** 20);
  }, 150_000);
});
