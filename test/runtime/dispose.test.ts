import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Counts the objects registered with it that were collected (deref() would keep them alive for the job). */
const collected = new Set<string>();
const registry = new FinalizationRegistry<string>((what) => collected.add(what));

/**
 * A backend that ran an op and a read, then was disposed — the last two right after a
 * submission whose error scopes are still pending — so only the registry sees it afterwards.
 */
async function usedAndDisposed(i: number): Promise<void> {
  const b = await WebGpuBackend.create();
  const x = b.tensor(new Float32Array(64).fill(1), [1, 64]);
  const w = b.tensor(new Float32Array(64).fill(1), [64]);
  const { y } = b.rmsNorm({ x, weight: w });
  await b.read(y);
  if (i > 0) {
    b.rmsNorm({ x, weight: w });
    b.rt.flush();
  }
  b.dispose();
  registry.register(b, `backend ${i}`);
  registry.register(b.rt, `runtime ${i}`);
}

describe('webgpu dispose', () => {
  // dawn.node holds the device's uncaptured-error handler strongly: a handler that reached
  // the runtime kept the backend, its device and its Dawn instance alive forever (a file
  // descriptor, 5 threads and ~1.7 MB per create/dispose while each backend had its own).
  it('a disposed backend is garbage collected', async () => {
    for (let i = 0; i < 3; i++) await usedAndDisposed(i);
    for (let i = 0; i < 20 && collected.size < 6; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect([...collected].sort()).toEqual(['backend 0', 'backend 1', 'backend 2', 'runtime 0', 'runtime 1', 'runtime 2']);
  });
});

// Issue 16 item 5: every backend throws DisposedError for any use after dispose() (the cpu
// backend used to go on working, the webgpu one threw DeviceLostError); disposing tensors
// and the backend again stay allowed.
describe.each(['cpu', 'webgpu', 'metal'] as const)('%s after dispose()', (name) => {
  it('every use is a DisposedError naming the call', async () => {
    const { createBackend } = await import('../../src/backend/load.js');
    const { DisposedError } = await import('../../src/errors.js');
    const b = await createBackend(name, name === 'metal' && process.platform !== 'darwin' ? { metal: { chip: 'M5' } } : {});
    const t = b.tensor(new Float32Array(4).fill(1), [4]);
    b.dispose();
    const uses: [string, () => unknown][] = [
      ['tensor', () => b.tensor(new Float32Array(4), [4])],
      ['zeros', () => b.zeros([4], 'f32')],
      ['swiglu', () => b.swiglu({ gate: t, up: t })],
    ];
    for (const [what, use] of uses) {
      expect(use, what).toThrow(DisposedError);
      expect(use, what).toThrow(new RegExp(`^\\[${what}\\] `));
    }
    await expect(b.read(t)).rejects.toThrow(DisposedError);
    await expect(b.sync()).rejects.toThrow(DisposedError);
    t.dispose();
    b.dispose();
  });
});
