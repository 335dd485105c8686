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
