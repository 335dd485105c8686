// Kernel bugs become typed errors naming the kernel and the line, never a hang or a crash.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTest, expectCode, f32Buffer, loadNative, mslTestDir, readF32, u32Bytes } from './helpers.js';

const dev = loadNative().openDevice();
const src = readFileSync(join(mslTestDir, 'errors.metal'), 'utf8').split('\n');
const lineOf = (needle: string, from = 0) => {
  const i = src.findIndex((l, k) => k >= from && l.includes(needle));
  if (i < 0) throw new Error(`not in errors.metal: ${needle}`);
  return i + 1;
};
const kernelLine = (name: string) => lineOf(`kernel void ${name}(`);

async function runOne(name: string, threads: number, extra: Partial<Parameters<typeof dev.run>[0][0]> = {}) {
  const lib = await compileTest(dev, 'errors.metal');
  const out = dev.buffer(1024);
  return dev.run([{ pipeline: lib.pipeline(name), buffers: [{ index: 0, buffer: out }], grid: [2, 1, 1], threadgroup: [threads, 1, 1], ...extra }]);
}

describe('MSL host runtime: error reporting', () => {
  it('a thread returning before a barrier is DIVERGENT_BARRIER with kernel and line', async () => {
    const e = await expectCode(runOne('early_return_barrier', 64), 'DIVERGENT_BARRIER');
    expect(e.message).toContain("kernel 'early_return_barrier'");
    expect(e.message).toContain(`errors.metal:${lineOf('threadgroup_barrier', kernelLine('early_return_barrier'))}`);
  });

  it('threads at two different barriers is DIVERGENT_BARRIER naming both lines', async () => {
    const e = await expectCode(runOne('two_barriers', 32), 'DIVERGENT_BARRIER');
    const k = kernelLine('two_barriers');
    expect(e.message).toContain("kernel 'two_barriers'");
    expect(e.message).toContain(`line ${lineOf('mem_threadgroup', k)}`);
    expect(e.message).toContain(`line ${lineOf('mem_device', k)}`);
  });

  it('lanes at two different SIMD functions is SIMD_LANE_MISSING (not merged)', async () => {
    const e = await expectCode(runOne('split_simd', 32), 'SIMD_LANE_MISSING');
    const k = kernelLine('split_simd');
    expect(e.message).toContain("kernel 'split_simd'");
    expect(e.message).toContain(`line ${lineOf('simd_sum', k)}`);
    expect(e.message).toContain(`line ${lineOf('simd_max', k)}`);
  });

  it('lanes missing from a SIMD function because they wait at a barrier is SIMD_LANE_MISSING', async () => {
    const e = await expectCode(runOne('simd_vs_barrier', 32), 'SIMD_LANE_MISSING');
    const k = kernelLine('simd_vs_barrier');
    expect(e.message).toContain("kernel 'simd_vs_barrier'");
    expect(e.message).toContain(`simd_sum at errors.metal:${lineOf('simd_sum', k)}`);
    expect(e.message).toContain(`line ${lineOf('threadgroup_barrier', k)}`);
  });

  it('the device still works after kernel errors', async () => {
    const lib = await compileTest(dev, 'errors.metal');
    const out = dev.buffer(64 * 4);
    await dev.run([{ pipeline: lib.pipeline('fine'), buffers: [{ index: 0, buffer: out }], grid: [2, 1, 1], threadgroup: [32, 1, 1] }]);
    expect(readF32(out)[63]).toBe(63);
  });

  it('a threadgroup array overrun trips the arena guard zone: OUT_OF_BOUNDS', async () => {
    const e = await expectCode(runOne('tg_overrun', 32), 'OUT_OF_BOUNDS');
    expect(e.message).toContain("kernel 'tg_overrun'");
    expect(e.message).toContain(`'tile' (line ${lineOf('threadgroup float tile[32]', kernelLine('tg_overrun'))})`);
  });

  it('a compile error is MSL_COMPILE with file:line:col', async () => {
    const bad = '#include <metal_stdlib>\nusing namespace metal;\nkernel void k(device float* o [[buffer(0)]]) {\n  o[0] = undefined_thing;\n}\n';
    const e = await expectCode(dev.compileLibrary(bad, { filename: 'bad.metal' }), 'MSL_COMPILE');
    expect(e.message).toMatch(/bad\.metal:4:10: error: use of undeclared identifier 'undefined_thing'/);
  });

  it('a preprocessor error is MSL_COMPILE too', async () => {
    const e = await expectCode(dev.compileLibrary('#include "nope.h"\n', { filename: 'pp.metal' }), 'MSL_COMPILE');
    expect(e.message).toMatch(/pp\.metal:1:10/);
  });

  it('an out-of-bounds device write under ASan is OUT_OF_BOUNDS naming kernel and buffer', async () => {
    const lib = await compileTest(dev, 'errors.metal', { asan: true });
    expect(lib.asan).toBe(true);
    const n = 16;
    const inp = f32Buffer(dev, Array.from({ length: n }, (_, i) => i));
    const out = dev.buffer(n * 4);
    const e = await expectCode(
      dev.run([{ pipeline: lib.pipeline('oob_write'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], bytes: [{ index: 2, data: u32Bytes(n) }], grid: [1, 1, 1], threadgroup: [n, 1, 1] }]),
      'OUT_OF_BOUNDS',
    );
    expect(e.message).toContain("kernel 'oob_write'");
    expect(e.message).toContain('buffer(1)');
    expect(e.message).toContain('write of 4 bytes at byte offset 64');
    // with an llvm-symbolizer on PATH the faulting source line is named too
    if (/\.metal:\d+/.test(e.message.split('\n')[0])) expect(e.message.split('\n')[0]).toContain(`errors.metal:${lineOf('out[gid + (gid == n - 1')}`);
    // the same library runs a correct kernel under ASan and returns its results
    const ok = dev.buffer(32 * 4);
    await dev.run([{ pipeline: lib.pipeline('fine'), buffers: [{ index: 0, buffer: ok }], grid: [1, 1, 1], threadgroup: [32, 1, 1] }]);
    expect(readF32(ok)[31]).toBe(31);
  });
});
