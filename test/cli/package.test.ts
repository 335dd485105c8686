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
});
