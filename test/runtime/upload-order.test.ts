import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice } from '../../src/backend/webgpu/device.js';
import { Runtime } from '../../src/backend/webgpu/runtime.js';

// Small uploads skip a staging buffer of their own (queue.writeBuffer, or the per-batch upload
// ring when the open batch already names the buffer): each must still read as an in-order copy.
let rt: Runtime;
beforeAll(async () => {
  rt = new Runtime(await openDevice());
});
afterAll(() => rt?.destroy());

const words = (n: number, base: number) => Uint32Array.from({ length: n }, (_, i) => base + i);
const readWords = async (b: GPUBuffer, n: number) => new Uint32Array(await rt.read(b, 4 * n));

describe('webgpu runtime small uploads', () => {
  it('an upload into a buffer the open batch already copied from does not reach that earlier copy', async () => {
    const a = rt.createBuffer(64);
    const b = rt.createBuffer(64);
    const c = rt.createBuffer(64);
    rt.upload(a, words(16, 100)); // a untouched: written on the queue timeline
    rt.copy(a, 0, b, 0, 64);
    const queued = rt.writesQueued;
    rt.upload(a, words(16, 200)); // a named by the open batch: through the ring, in order
    expect(rt.writesQueued).toBe(queued + 1);
    rt.copy(a, 0, c, 0, 64);
    rt.upload(a, words(3, 300), 4); // an offset, 12 bytes
    expect(Array.from(await readWords(b, 16))).toEqual(Array.from(words(16, 100)));
    expect(Array.from(await readWords(c, 16))).toEqual(Array.from(words(16, 200)));
    const expected = words(16, 200);
    expected.set(words(3, 300), 1);
    expect(Array.from(await readWords(a, 16))).toEqual(Array.from(expected));
    for (const x of [a, b, c]) rt.releaseBuffer(x);
  });

  it('a byte count that is not a whole word is padded, the bytes after it in the word written as 0', async () => {
    const a = rt.createBuffer(16);
    rt.upload(a, new Uint8Array([1, 2, 3, 4, 5]));
    const got = new Uint8Array(await rt.read(a, 8));
    expect(Array.from(got)).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    rt.releaseBuffer(a);
  });

  it('past the ring (1 MiB a batch) uploads are staged, every one still in order', async () => {
    const n = 40; // 40 × 32 KiB = 1.25 MiB of uploads into buffers the batch names
    const src = rt.createBuffer(32 << 10);
    const dsts = Array.from({ length: n }, () => rt.createBuffer(32 << 10));
    for (let i = 0; i < n; i++) {
      rt.copy(src, 0, dsts[i], 0, 32 << 10); // names src in the batch
      rt.upload(src, words(8192, i * 10_000));
    }
    rt.copy(src, 0, dsts[0], 0, 32 << 10);
    // dsts[i] (i ≥ 1) holds upload i − 1; dsts[0] the last upload.
    for (let i = 1; i < n; i++) expect((await readWords(dsts[i], 4))[0]).toBe((i - 1) * 10_000);
    expect((await readWords(dsts[0], 2))[1]).toBe((n - 1) * 10_000 + 1);
    for (const x of [src, ...dsts]) rt.releaseBuffer(x);
  });

  it('read-back staging buffers are reused, and reads of one size in flight together each get their own', async () => {
    const bufs = Array.from({ length: 12 }, (_, i) => {
      const b = rt.createBuffer(16);
      rt.upload(b, words(4, 1000 * i));
      return b;
    });
    const all = await Promise.all(bufs.map((b) => readWords(b, 4)));
    all.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(words(4, 1000 * i))));
    const again = await Promise.all(bufs.map((b) => readWords(b, 4)));
    again.forEach((w, i) => expect(w[3]).toBe(1000 * i + 3));
    for (const b of bufs) rt.releaseBuffer(b);
  });
});
