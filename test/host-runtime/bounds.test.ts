// Every binding of a dispatch is checked against the memory behind it before anything runs:
// a buffer window past the buffer's end, setBytes data shorter than the kernel's `constant T&`
// parameter, an index outside the binding table — each a typed error, never a read or write
// past an allocation.
import { describe, expect, it } from 'vitest';
import { compileTest, expectCode, f32Buffer, loadNative, readF32, u32Bytes, type Dispatch } from './helpers.js';

const dev = loadNative().openDevice({ chip: 'M5' });

function saxpyParams(n: number, scale: number): Uint8Array {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setUint32(0, n, true);
  new DataView(p.buffer).setFloat32(4, scale, true);
  return p;
}

describe('dispatch bindings are checked against their buffers', () => {
  it('a buffer shorter than the declared byteLength is OUT_OF_RANGE and nothing runs', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const x = f32Buffer(dev, [1, 2, 3, 4]); // 16 bytes
    const y = f32Buffer(dev, [10, 20, 30, 40]);
    const run = (b: Partial<NonNullable<Dispatch['buffers']>[number]>) =>
      dev.run([
        { pipeline: lib.pipeline('saxpy'), buffers: [{ index: 0, buffer: x, ...b }, { index: 1, buffer: y }], bytes: [{ index: 2, data: saxpyParams(4, 1) }], grid: [1, 1, 1], threadgroup: [4, 1, 1] },
      ]);
    const e = await expectCode(run({ byteLength: 4096 }), 'OUT_OF_RANGE');
    expect(e.message).toContain('dispatches[0].buffers[0] (buffer(0)): 4096 bytes at offset 0 exceed the buffer');
    expect(e.message).toContain("16 bytes");
    await expectCode(run({ offset: 8, byteLength: 12 }), 'OUT_OF_RANGE');
    await expectCode(run({ offset: 20 }), 'OUT_OF_RANGE');
    await expectCode(run({ offset: -4 }), 'OUT_OF_RANGE');
    await expectCode(run({ byteLength: 1.5 }), 'BAD_ARGUMENT');
    expect(Array.from(readF32(y))).toEqual([10, 20, 30, 40]);
    // a window inside the buffer runs
    await run({ offset: 0, byteLength: 16 });
    expect(Array.from(readF32(y))).toEqual([11, 22, 33, 44]);
  });

  it('the kernel gets exactly the declared window: past it is OUT_OF_BOUNDS under ASan', async () => {
    const lib = await compileTest(dev, 'basic.metal', { asan: true });
    const x = f32Buffer(dev, Array.from({ length: 64 }, (_, i) => i));
    const y = dev.buffer(64 * 4);
    const e = await expectCode(
      dev.run([
        { pipeline: lib.pipeline('saxpy'), buffers: [{ index: 0, buffer: x, byteLength: 16 * 4 }, { index: 1, buffer: y }], bytes: [{ index: 2, data: saxpyParams(64, 1) }], grid: [1, 1, 1], threadgroup: [64, 1, 1] },
      ]),
      'OUT_OF_BOUNDS',
    );
    expect(e.message).toContain("kernel 'saxpy'");
    expect(e.message).toContain('buffer(0) (64 bytes): read of 4 bytes at byte offset 64');
  });

  for (const asan of [false, true]) {
    it(`setBytes shorter than the kernel's constant Params& is OUT_OF_RANGE naming the parameter${asan ? ' (ASan)' : ''}`, async () => {
      const lib = await compileTest(dev, 'basic.metal', { asan });
      const x = f32Buffer(dev, [1, 2, 3, 4]);
      const y = f32Buffer(dev, [10, 20, 30, 40]);
      const e = await expectCode(
        dev.run([{ pipeline: lib.pipeline('saxpy'), buffers: [{ index: 0, buffer: x }, { index: 1, buffer: y }], bytes: [{ index: 2, data: u32Bytes(4) }], grid: [1, 1, 1], threadgroup: [4, 1, 1] }]),
        'OUT_OF_RANGE',
      );
      expect(e.message).toContain("kernel 'saxpy': parameter 'p' [[buffer(2)]] reads 8 bytes, but only 4 are bound");
      expect(Array.from(readF32(y))).toEqual([10, 20, 30, 40]);
      // a by-value parameter bound to a buffer window: 'constant uint& n' needs 4 bytes
      const errs = await compileTest(dev, 'errors.metal', { asan });
      const n = dev.buffer(8);
      const e2 = await expectCode(
        dev.run([{ pipeline: errs.pipeline('oob_write'), buffers: [{ index: 0, buffer: x }, { index: 1, buffer: y }, { index: 2, buffer: n, offset: 6 }], grid: [1, 1, 1], threadgroup: [1, 1, 1] }]),
        'OUT_OF_RANGE',
      );
      expect(e2.message).toContain("parameter 'n' [[buffer(2)]] reads 4 bytes, but only 2 are bound");
    });
  }

  it('binding slots, setBytes and threadgroup memory sizes, grid and threadgroup are checked', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const p = lib.pipeline('saxpy');
    const x = f32Buffer(dev, [1, 2, 3, 4]);
    const y = f32Buffer(dev, [10, 20, 30, 40]);
    const base: Dispatch = { pipeline: p, buffers: [{ index: 0, buffer: x }, { index: 1, buffer: y }], bytes: [{ index: 2, data: saxpyParams(4, 1) }], grid: [1, 1, 1], threadgroup: [4, 1, 1] };
    const bad = (d: Partial<Dispatch>) => dev.run([{ ...base, ...d }]);
    await expectCode(bad({ buffers: [{ index: 31, buffer: x }] }), 'OUT_OF_RANGE');
    await expectCode(bad({ buffers: [{ index: -1, buffer: x }] }), 'OUT_OF_RANGE');
    await expectCode(bad({ buffers: [{ index: 0, buffer: x }, { index: 0, buffer: y }] }), 'BAD_ARGUMENT');
    await expectCode(bad({ bytes: [{ index: 1, data: u32Bytes(1) }] }), 'BAD_ARGUMENT'); // slot 1 holds y
    await expectCode(bad({ bytes: [{ index: 2, data: new Uint8Array(4097) }] }), 'OUT_OF_RANGE');
    await expectCode(bad({ threadgroupMemory: [{ index: 0, byteLength: 32769 }] }), 'OUT_OF_RANGE');
    await expectCode(bad({ threadgroupMemory: [{ index: 0, byteLength: 16384 }, { index: 1, byteLength: 16400 }] }), 'OUT_OF_RANGE');
    await expectCode(bad({ threadgroupMemory: [{ index: 0, byteLength: 0 }] }), 'OUT_OF_RANGE');
    await expectCode(bad({ grid: [1, NaN, 1] as never }), 'BAD_ARGUMENT');
    await expectCode(bad({ grid: [2 ** 32, 1, 1] }), 'OUT_OF_RANGE');
    await expectCode(bad({ grid: [2 ** 32 - 1, 2 ** 32 - 1, 2] }), 'OUT_OF_RANGE');
    await expectCode(bad({ threadgroup: [65536, 65536, 65536] }), 'OUT_OF_RANGE');
    await expectCode(bad({ threadgroup: [0, 1, 1] }), 'OUT_OF_RANGE');
    await expectCode(bad({ threadgroup: [1, 1, 1, 1] as never }), 'BAD_ARGUMENT');
    expect(Array.from(readF32(y))).toEqual([10, 20, 30, 40]);
    // setBytes data may be any byte source, a DataView or a SharedArrayBuffer view included
    const sab = new Uint8Array(new SharedArrayBuffer(8));
    sab.set(saxpyParams(4, 2));
    await dev.run([{ ...base, bytes: [{ index: 2, data: sab }] }]);
    await dev.run([{ ...base, bytes: [{ index: 2, data: new DataView(saxpyParams(4, 1).buffer) as never }] }]);
    expect(Array.from(readF32(y))).toEqual([13, 26, 39, 52]);
  });
});
