import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';

const run = promisify(execFile);

describe('one Dawn instance per set of flags', () => {
  it('backends with the same flags share the instance; other flags get their own', async () => {
    const a = await WebGpuBackend.create();
    const b = await WebGpuBackend.create();
    const c = await WebGpuBackend.create({ disableToggles: ['timestamp_quantization'] });
    try {
      expect(b.rt.opened.gpu).toBe(a.rt.opened.gpu);
      expect(c.rt.opened.gpu).not.toBe(a.rt.opened.gpu);
      // Disposing one leaves the other working on the shared instance.
      a.dispose();
      const t = b.tensor(new Float32Array([1, 2, 3, 4]), [4]);
      expect([...(await b.read(t))]).toEqual([1, 2, 3, 4]);
    } finally {
      for (const x of [a, b, c]) x.dispose();
    }
  });

  // Dawn prints its limit-clamping warnings (lavapipe reports limits over Dawn's maxima) to
  // fd 2 when an instance first enumerates adapters: once per process now, not per backend.
  it.skipIf(!existsSync('dist/index.js'))('three backends in a process print Dawn’s limit warnings at most once', async () => {
    const script = `const { createBackend } = await import(${JSON.stringify(`${process.cwd()}/dist/index.js`)});
for (let i = 0; i < 3; i++) { const b = await createBackend('webgpu'); await b.read(b.zeros([4], 'f32')); b.dispose(); }`;
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script]);
    const lines = stderr.split('\n').filter((l) => l.includes('artificially reduced'));
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(new Set(lines).size).toBe(lines.length);
  });
});
