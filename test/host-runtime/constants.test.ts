// Function constants (bool/int/float, is_function_constant_defined, optional buffers) and
// template kernels instantiated under [[host_name]].
import { describe, expect, it } from 'vitest';
import { compileTest, f32Buffer, f16ToF32, i32Buffer, loadNative, readF32, readI32 } from './helpers.js';

const dev = loadNative().openDevice();

describe('MSL host runtime: function constants and templates', () => {
  it('function constants change behaviour per pipeline', async () => {
    const lib = await compileTest(dev, 'constants.metal');
    const x = f32Buffer(dev, [1, 2, 3, 4]);
    const bias = f32Buffer(dev, [10, 20, 30, 40]);
    const run = async (constants: Parameters<typeof lib.pipeline>[1], withBias: boolean) => {
      const y = dev.buffer(16);
      const buffers = [{ index: 0, buffer: x }, { index: 1, buffer: y }];
      if (withBias) buffers.push({ index: 2, buffer: bias });
      await dev.run([{ pipeline: lib.pipeline('fc_kernel', constants), buffers, grid: [1, 1, 1], threadgroup: [4, 1, 1] }]);
      return Array.from(readF32(y));
    };
    expect(await run([{ index: 0, type: 'bool', value: true }, { index: 1, type: 'int', value: 2 }], true)).toEqual([12, 24, 36, 48]);
    // bias buffer is optional ([[buffer(2), function_constant(use_bias)]]) when use_bias is false
    expect(await run([{ index: 0, type: 'bool', value: false }, { index: 1, type: 'int', value: 3 }], false)).toEqual([-3, -6, -9, -12]);
    expect(
      await run([{ index: 0, type: 'bool', value: false }, { index: 1, type: 'int', value: 1 }, { index: 2, type: 'float', value: 0.5 }], false),
    ).toEqual([1.5, 2.5, 3.5, 4.5]);
  });

  it('rejects an unknown constant type', async () => {
    const lib = await compileTest(dev, 'constants.metal');
    expect(() => lib.pipeline('fc_kernel', [{ index: 0, type: 'double' as 'float', value: 1 }])).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
  });

  it('template kernels are reachable by their host names', async () => {
    const lib = await compileTest(dev, 'constants.metal');
    expect(lib.functionNames).toEqual(expect.arrayContaining(['fc_kernel', 'scale_f32_3', 'scale_i32_5', 'scale_h_2']));
    expect(lib.functionNames).not.toContain('scale_n');
    const yf = dev.buffer(8);
    await dev.run([{ pipeline: lib.pipeline('scale_f32_3'), buffers: [{ index: 0, buffer: f32Buffer(dev, [1.5, -2]) }, { index: 1, buffer: yf }], grid: [1, 1, 1], threadgroup: [2, 1, 1] }]);
    expect(Array.from(readF32(yf))).toEqual([4.5, -6]);
    const yi = dev.buffer(8);
    await dev.run([{ pipeline: lib.pipeline('scale_i32_5'), buffers: [{ index: 0, buffer: i32Buffer(dev, [3, -7]) }, { index: 1, buffer: yi }], grid: [2, 1, 1], threadgroup: [1, 1, 1] }]);
    expect(Array.from(readI32(yi))).toEqual([15, -35]);
    const hx = dev.buffer(4);
    hx.write(new Uint16Array([0x3e00, 0xc000])); // 1.5, -2
    const hy = dev.buffer(4);
    await dev.run([{ pipeline: lib.pipeline('scale_h_2'), buffers: [{ index: 0, buffer: hx }, { index: 1, buffer: hy }], grid: [1, 1, 1], threadgroup: [2, 1, 1] }]);
    expect(Array.from(new Uint16Array(hy.read().buffer)).map(f16ToF32)).toEqual([3, -4]);
  });

  it('an unknown function name is NO_SUCH_FUNCTION', async () => {
    const lib = await compileTest(dev, 'constants.metal');
    expect(() => lib.pipeline('scale_n')).toThrow(expect.objectContaining({ code: 'NO_SUCH_FUNCTION' }));
  });
});
