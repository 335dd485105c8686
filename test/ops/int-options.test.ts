// Integer options and device integers at the ends of their range: every value the schema
// accepts gives the reference's result on every backend (no wrap in a kernel's 32-bit
// arithmetic, no out-of-bounds access: the metal part runs under AddressSanitizer on Linux,
// so an overflow there is a KernelError instead of a crashed worker), and every value it
// cannot represent is a typed OptionsError before anything runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { OptionsError } from '../../src/errors.js';
import { randomInts, uniform } from '../../src/ops/random.js';
import { checkAgainstReference } from './against_reference.js';

const HOST = process.platform !== 'darwin';
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = new CpuBackend();
  backends.webgpu = await WebGpuBackend.create();
  backends.metal = await MetalBackend.create(HOST ? { chip: 'M5', asan: true } : {});
});
afterAll(() => {
  for (const b of Object.values(backends)) b.dispose();
});
const NAMES = ['cpu', 'webgpu', 'metal'];

describe.each(NAMES)('causal softmax queryOffset at the ends of i32 on %s', (name) => {
  // [1, Sq, Sk] rows: f32 rows of 40 take the register kernel on webgpu, 33 the word kernel.
  it.each([
    [2 ** 31 - 2, 40],
    [2 ** 31 - 2, 33],
    [2 ** 31 - 1, 40],
    [-(2 ** 31) + 1, 40],
    [-(2 ** 31), 33],
  ])('queryOffset = %d, Sk = %d', async (queryOffset, sk) => {
    const b = backends[name];
    const x = uniform('f32', [2, 3, sk], 7, -4, 4);
    const r = await checkAgainstReference(b, 'softmax', { x }, { causal: true, queryOffset });
    expect(r.bad).toEqual([]);
    // Past the row (every key visible): each row sums to 1; before it: all zeros.
    const y = r.got.y;
    for (let row = 0; row < 6; row++) {
      const s = y.slice(row * sk, (row + 1) * sk).reduce((a, v) => a + v, 0);
      expect(s).toBeCloseTo(queryOffset > 0 ? 1 : 0, 5);
    }
  });

  it('an equal row is uniform with every key visible', async () => {
    const b = backends[name];
    const x = b.tensor(new Float32Array(3 * 8).fill(0.25), [1, 3, 8]);
    const { y } = b.softmax({ x }, { causal: true, queryOffset: 2 ** 31 - 2 }) as { y: { dispose(): void } };
    expect([...(await b.read(y as never))]).toEqual(new Array(24).fill(1 / 8));
    x.dispose();
    y.dispose();
  });

  it.each([2 ** 31, 2 ** 40, -(2 ** 31) - 1, 1.5])('queryOffset = %d is an OptionsError naming the i32 range', (queryOffset) => {
    const b = backends[name];
    const x = b.tensor(new Float32Array(8), [1, 2, 4]);
    expect(() => b.softmax({ x }, { causal: true, queryOffset })).toThrow(OptionsError);
    try {
      b.softmax({ x }, { causal: true, queryOffset });
    } catch (e) {
      expect((e as Error).message).toMatch(Number.isInteger(queryOffset) ? /^\[softmax\] queryOffset: expected an integer in \[-2\^31, 2\^31 - 1\] \(the kernels take it as i32\)/ : /^\[softmax\] queryOffset: /);
    }
    x.dispose();
  });
});

describe.each(NAMES)('rope with positions at the ends of i32 on %s', (name) => {
  // Device data: any i32 is a position (negative ones too). The angle pos·inv_freq is formed
  // in f32 by the kernels, so the derived bound grows with |pos| (trigError); what must hold
  // is that no kernel overflows or reads out of bounds and every result is within that bound
  // of the float64 rotation.
  const extremes = Int32Array.of(-(2 ** 31), 2 ** 31 - 1, -1, 0, 1, 2 ** 24 + 1, -(2 ** 24) - 1, 65535);
  it.each([
    ['neox', [1, 8, 2, 16]],
    ['gptj', [2, 8, 3, 6]],
    ['neox', [1, 8, 1, 10]],
  ] as const)('%s, x %j', async (style, shape) => {
    const b = backends[name];
    const [bs, s] = shape;
    const positions = bs === 1 ? { dtype: 'i32' as const, shape: [s], data: extremes } : { dtype: 'i32' as const, shape: [bs, s], data: Int32Array.from([...extremes, ...extremes].reverse()) };
    for (const op of ['rope', 'rope_backward']) {
      const x = uniform('f32', [...shape], 3, -2, 2);
      const r = await checkAgainstReference(b, op, { [op === 'rope' ? 'x' : 'dy']: x, positions }, { style });
      expect(r.bad).toEqual([]);
      // A rotation keeps each pair's norm: nothing overflowed into Inf/NaN.
      for (const v of Object.values(r.got)[0]) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('offset + S − 1 past 2^31 − 1 is an OptionsError', () => {
    const b = backends[name];
    const x = b.tensor(new Float32Array(4 * 2), [4, 1, 2]);
    expect(() => b.rope({ x }, { offset: 2 ** 31 - 3 })).toThrow(/^\[rope\] offset: expected offset \+ S - 1 ≤ 2\^31 - 1/);
    x.dispose();
  });
});

describe('cross_entropy targets at the ends of i32 (device data)', () => {
  it.each(NAMES)('on %s: rows with INT32_MIN / INT32_MAX targets are NaN, ignoreIndex at INT32_MIN is honoured', async (name) => {
    const b = backends[name];
    const logits = uniform('f32', [4, 9], 5, -3, 3);
    const targets = { dtype: 'i32' as const, shape: [4], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 3, 8) };
    const r1 = await checkAgainstReference(b, 'cross_entropy', { logits, targets }, { reduction: 'none' });
    expect(r1.bad).toEqual([]);
    expect([...r1.got.loss].map(Number.isNaN)).toEqual([true, true, false, false]);
    const r2 = await checkAgainstReference(b, 'cross_entropy', { logits, targets }, { reduction: 'none', ignoreIndex: -(2 ** 31) });
    expect(r2.bad).toEqual([]);
    expect(r2.got.loss[0]).toBe(0);
    const rnd = randomInts('i32', [4], 9, 0, 9);
    const r3 = await checkAgainstReference(b, 'cross_entropy', { logits, targets: rnd }, { ignoreIndex: 2 ** 31 - 1 });
    expect(r3.bad).toEqual([]);
  });

  it('an ignoreIndex outside i32 is an OptionsError', () => {
    const b = backends.cpu;
    const logits = b.tensor(new Float32Array(4), [1, 4]);
    const targets = b.tensor(new Int32Array(1), [1]);
    expect(() => b.crossEntropy({ logits, targets }, { ignoreIndex: 2 ** 31 })).toThrow(OptionsError);
  });
});
