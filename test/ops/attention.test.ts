// flash_attention_forward/backward and decode_attention beyond the conformance catalogue: properties of the float64
// reference (so the oracle itself is checked), typed errors, the webgpu launchers under
// WebGPU's default limits (16 KiB of workgroup memory, small binding windows: chunked
// dispatches), malformed cu_seqlens — NaN outputs, never an out-of-bounds access (metal
// under AddressSanitizer, webgpu) — and a deterministic backward (no float atomics).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../conformance/compare.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import type { LaunchContext } from '../../src/backend/webgpu/launch.js';
import { flashAttentionForwardLauncher, simtBytes, simtPlan } from '../../src/backend/webgpu/launchers/flash_attention.js';
import { bwdDkvBytes, bwdDqBytes, bwdPlan, flashAttentionBackwardLauncher } from '../../src/backend/webgpu/launchers/flash_attention_backward.js';
import { backwardInputs } from '../../src/ops/flash_attention_backward/cases.js';
import { decodeInputs, type DecodeProblem } from '../../src/ops/decode_attention/cases.js';
import { toFloat64, type FloatDType } from '../../src/dtype.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { problemInputs, type AttnProblem } from '../../src/ops/flash_attention_forward/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { HostTensor, RefTensor } from '../../src/ops/types.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import type { Tensor } from '../../src/tensor.js';
import { useWebGpu } from '../webgpu_backends.js';

const cpu = new CpuBackend();
const spec = getSpec('flash_attention_forward');
const bwd = getSpec('flash_attention_backward');
const dec = getSpec('decode_attention');
const ref = (h: Record<string, HostTensor>, options: Record<string, unknown>, sp = spec) => {
  const refs: Record<string, RefTensor> = {};
  for (const [k, t] of Object.entries(h)) refs[k] = { dtype: t.dtype, shape: t.shape, data: toFloat64(t.dtype, t.data) };
  const opts = sp.options.parse(options);
  const out = sp.reference(refs, opts) as Record<string, RefTensor>;
  return { refs, opts, out, bounds: sp.bounds(refs, opts, out) as Record<string, Float64Array> };
};
const host = (p: AttnProblem, dtype: FloatDType = 'f32', seed = 3) => problemInputs(p, dtype, seed);
const f32 = (shape: number[], data: number[]): HostTensor => ({ dtype: 'f32', shape, data: Float32Array.from(data) });

/** [B, S, H, D] → [B, H, S, D] of a host tensor. */
function toBhsd(t: HostTensor): HostTensor {
  const [b, s, h, d] = t.shape;
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let x = 0; x < b; x++) for (let y = 0; y < s; y++) for (let z = 0; z < h; z++) for (let w = 0; w < d; w++) out[((x * h + z) * s + y) * d + w] = src[((x * s + y) * h + z) * d + w];
  return { dtype: t.dtype, shape: [b, h, s, d], data: out };
}

describe('flash_attention_forward reference (float64)', () => {
  it('a row that sees one key returns that value and its logit', () => {
    // Sk = 3, causal with queryOffset 0: query 0 sees key 0 only, query 1 keys 0..1.
    const h = { q: f32([1, 2, 1, 8], [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), k: f32([1, 3, 1, 8], Array.from({ length: 24 }, (_, i) => ((i % 9) + 1) / 4)), v: f32([1, 3, 1, 8], Array.from({ length: 24 }, (_, i) => i - 5)) };
    const { out, refs } = ref(h, { causal: true, queryOffset: 0, scale: 0.5 });
    expect(Array.from(out.o.data.slice(0, 8))).toEqual(Array.from(refs.v.data.slice(0, 8)));
    expect(out.lse.data[0]).toBe(0.5 * refs.k.data[0]);
  });

  it("reads 'bhsd' in place: the same result as 'bshd', transposed", () => {
    const p: AttnProblem = { b: 2, sq: 5, sk: 7, hq: 4, hkv: 2, d: 16, causal: true };
    const a = host(p);
    const b = { q: toBhsd(a.q), k: toBhsd(a.k), v: toBhsd(a.v) };
    const ra = ref(a, { causal: true }).out;
    const rb = ref(b, { causal: true, layout: 'bhsd' }).out;
    expect(Array.from(toFloat64('f32', toBhsd({ dtype: 'f32', shape: ra.o.shape, data: Float32Array.from(ra.o.data) }).data))).toEqual(Array.from(Float32Array.from(rb.o.data)));
    expect(Array.from(rb.lse.data)).toEqual(Array.from(ra.lse.data));
  });

  it('GQA equals multi-head attention with the kv heads repeated', () => {
    const p: AttnProblem = { sq: 6, sk: 9, hq: 6, hkv: 2, d: 8, window: { left: 3, right: 1 } };
    const a = host(p);
    const rep = (t: HostTensor): HostTensor => {
      const [b, s, h, d] = t.shape;
      const src = t.data as Float32Array;
      const out = new Float32Array(b * s * 6 * d);
      for (let y = 0; y < b * s; y++) for (let z = 0; z < 6; z++) for (let w = 0; w < d; w++) out[(y * 6 + z) * d + w] = src[(y * h + Math.floor(z / 3)) * d + w];
      return { dtype: 'f32', shape: [b, s, 6, d], data: out };
    };
    const o = { window: { left: 3, right: 1 } };
    expect(Array.from(ref(a, o).out.o.data)).toEqual(Array.from(ref({ q: a.q, k: rep(a.k), v: rep(a.v) }, o).out.o.data));
  });

  it('a varlen batch equals each sequence run alone (and padding tokens are 0 / −∞)', () => {
    const p: AttnProblem = { sq: 0, sk: 0, seqQ: [3, 0, 4], seqK: [5, 2, 6], padQ: 2, hq: 2, hkv: 1, d: 8, causal: true };
    const a = host(p);
    const full = ref(a, { causal: true }).out;
    const cuQ = [0, 3, 3, 7];
    const cuK = [0, 5, 7, 13];
    for (let b = 0; b < 3; b++) {
      const [q0, q1, k0, k1] = [cuQ[b], cuQ[b + 1], cuK[b], cuK[b + 1]];
      if (q1 === q0) continue;
      const slice = (t: HostTensor, t0: number, t1: number): HostTensor => ({ dtype: 'f32', shape: [1, t1 - t0, ...t.shape.slice(1)], data: (t.data as Float32Array).slice(t0 * 2 * 8, t1 * 2 * 8) });
      const one = ref({ q: slice(a.q, q0, q1), k: { ...slice(a.k, k0, k1), shape: [1, k1 - k0, 1, 8], data: (a.k.data as Float32Array).slice(k0 * 8, k1 * 8) }, v: { dtype: 'f32', shape: [1, k1 - k0, 1, 8], data: (a.v.data as Float32Array).slice(k0 * 8, k1 * 8) } }, { causal: true }).out;
      expect(Array.from(full.o.data.slice(q0 * 16, q1 * 16))).toEqual(Array.from(one.o.data));
      for (let h = 0; h < 2; h++) expect(Array.from(full.lse.data.slice(h * 9 + q0, h * 9 + q1))).toEqual(Array.from(one.lse.data.slice(h * (q1 - q0), (h + 1) * (q1 - q0))));
    }
    expect(Array.from(full.o.data.slice(7 * 16))).toEqual(new Array(32).fill(0));
    expect([full.lse.data[7], full.lse.data[8], full.lse.data[16], full.lse.data[17]]).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
  });

  it('a sink is a key with logit `sink` and value 0 (and a row that sees nothing gets lse = sink)', () => {
    const p: AttnProblem = { sq: 4, sk: 3, hq: 1, hkv: 1, d: 8, causal: true };
    const a = host(p);
    const sink = Math.fround(0.7);
    const withSink = ref({ ...a, sinks: f32([1], [sink]) }, { causal: true, scale: 1 }).out;
    const q = a.q.data as Float32Array;
    for (let i = 0; i < 4; i++) {
      // Row i sees keys ≤ i − 1 (offset Sk − Sq = −1); expected from the plain formula.
      let m = sink;
      const z: number[] = [];
      for (let j = 0; j <= i - 1; j++) {
        let t = 0;
        for (let x = 0; x < 8; x++) t += q[i * 8 + x] * (a.k.data as Float32Array)[j * 8 + x];
        z.push(t);
        m = Math.max(m, t);
      }
      const l = z.reduce((s, t) => s + Math.exp(t - m), Math.exp(sink - m));
      expect(withSink.lse.data[i]).toBeCloseTo(m + Math.log(l), 12);
      for (let c = 0; c < 8; c++) {
        const want = z.reduce((s, t, j) => s + (Math.exp(t - m) / l) * (a.v.data as Float32Array)[j * 8 + c], 0);
        expect(withSink.o.data[i * 8 + c]).toBeCloseTo(want, 12);
      }
    }
    expect(withSink.lse.data[0]).toBe(sink);
  });
});

describe('decode_attention reference', () => {
  it('a paged cache gives exactly what the same keys give in a contiguous one', () => {
    const pp: DecodeProblem = { lengths: [21, 9, 0], t: 3, hq: 4, hkv: 2, d: 16, paged: { blockSize: 4, numBlocks: 18, maxBlocks: 6 }, window: 7, sinks: true };
    const h = decodeInputs(pp, 'f32', 5);
    // The same keys laid out contiguously: [B, Hkv, Smax = 24, D], copied through the block table.
    const contiguous = (src: HostTensor): HostTensor => {
      const out = new Float32Array(3 * 2 * 24 * 16);
      const table = h.blockTable.data as Int32Array;
      for (let b = 0; b < 3; b++)
        for (let j = 0; j < pp.lengths[b]; j++)
          for (let kv = 0; kv < 2; kv++)
            for (let x = 0; x < 16; x++) out[((b * 2 + kv) * 24 + j) * 16 + x] = (src.data as Float32Array)[((table[b * 6 + Math.floor(j / 4)] * 4 + (j % 4)) * 2 + kv) * 16 + x];
      return { dtype: 'f32', shape: [3, 2, 24, 16], data: out };
    };
    const o = { window: { left: 7 } };
    const a = ref(h, o, dec).out;
    const b = ref({ q: h.q, kCache: contiguous(h.kCache), vCache: contiguous(h.vCache), lengths: h.lengths, sinks: h.sinks }, o, dec).out;
    expect(Array.from(a.o.data)).toEqual(Array.from(b.o.data));
    expect(Array.from(a.lse.data)).toEqual(Array.from(b.lse.data));
    // The empty sequence: o = 0 and lse = the sink.
    expect(Array.from(a.o.data.slice(2 * 3 * 4 * 16))).toEqual(new Array(3 * 4 * 16).fill(0));
    expect(a.lse.data[2 * 12]).toBe(h.sinks.data[0]);
  });
});

describe('flash_attention_forward rejects bad calls before any GPU work', () => {
  const t = (shape: number[], dtype: 'f32' | 'f16' = 'f32') => cpu.tensor(dtype === 'f32' ? new Float32Array(shape.reduce((a, b) => a * b, 1)) : new Uint16Array(shape.reduce((a, b) => a * b, 1)), shape, dtype);
  const i32 = (xs: number[]) => cpu.tensor(Int32Array.from(xs), [xs.length]);
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ['head dim not a multiple of 8', () => cpu.flashAttentionForward({ q: t([1, 2, 1, 12]), k: t([1, 2, 1, 12]), v: t([1, 2, 1, 12]) }), ShapeError, /^\[flash_attention_forward\] q: expected a head dim that is a multiple of 8 from 8 to 256, got f32\[1,2,1,12\]$/],
    ['head dim over 256', () => cpu.flashAttentionForward({ q: t([1, 1, 1, 8]), k: t([1, 1, 1, 8]), v: t([1, 1, 1, 264]) }), ShapeError, /^\[flash_attention_forward\] v: expected a head dim/],
    ['Hq not a multiple of Hkv', () => cpu.flashAttentionForward({ q: t([1, 2, 3, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]) }), ShapeError, /^\[flash_attention_forward\] k: expected a kv head count dividing Hq = 3/],
    ['k with another batch', () => cpu.flashAttentionForward({ q: t([2, 2, 2, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]) }), ShapeError, /^\[flash_attention_forward\] k: expected f32\[2,2,2,8\]/],
    ['v with other keys', () => cpu.flashAttentionForward({ q: t([1, 2, 2, 8]), k: t([1, 3, 2, 8]), v: t([1, 4, 2, 8]) }), ShapeError, /^\[flash_attention_forward\] v: expected f32\[1,3,2,8\]/],
    ['k dtype', () => cpu.flashAttentionForward({ q: t([1, 2, 2, 8]), k: t([1, 2, 2, 8], 'f16'), v: t([1, 2, 2, 8]) }), DTypeError, /^\[flash_attention_forward\] k: expected f32 \(the dtype of q\), got f16\[1,2,2,8\]$/],
    ['rank 3 without cu_seqlens', () => cpu.flashAttentionForward({ q: t([2, 2, 8]), k: t([2, 2, 8]), v: t([2, 2, 8]) }), ShapeError, /^\[flash_attention_forward\] q: expected \[B, Sq, Hq, D\] \(layout 'bshd'\)/],
    ['one cu_seqlens only', () => cpu.flashAttentionForward({ q: t([4, 2, 8]), k: t([4, 2, 8]), v: t([4, 2, 8]), cuSeqlensQ: i32([0, 4]) }), ShapeError, /^\[flash_attention_forward\] cuSeqlensK: expected both cuSeqlensQ and cuSeqlensK for a variable-length batch, got only cuSeqlensQ$/],
    ['cu_seqlens of different lengths', () => cpu.flashAttentionForward({ q: t([4, 2, 8]), k: t([4, 2, 8]), v: t([4, 2, 8]), cuSeqlensQ: i32([0, 4]), cuSeqlensK: i32([0, 2, 4]) }), ShapeError, /^\[flash_attention_forward\] cuSeqlensK: expected i32\[2\]/],
    ['sinks shape', () => cpu.flashAttentionForward({ q: t([1, 2, 2, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]), sinks: t([3]) }), ShapeError, /^\[flash_attention_forward\] sinks: expected f32\[2\], got f32\[3\]$/],
    ['negative window side', () => cpu.flashAttentionForward({ q: t([1, 2, 2, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]) }, { window: { left: -1 } }), OptionsError, /^\[flash_attention_forward\] window\.left: /],
    ['queryOffset beyond 2^29', () => cpu.flashAttentionForward({ q: t([1, 2, 2, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]) }, { queryOffset: 2 ** 30 }), OptionsError, /^\[flash_attention_forward\] queryOffset: /],
    ['softcap 0', () => cpu.flashAttentionForward({ q: t([1, 2, 2, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]) }, { softcap: 0 }), OptionsError, /^\[flash_attention_forward\] softcap: /],
    ['backward lse shape', () => cpu.flashAttentionBackward({ q: t([1, 2, 2, 8]), k: t([1, 2, 2, 8]), v: t([1, 2, 2, 8]), o: t([1, 2, 2, 8]), dO: t([1, 2, 2, 8]), lse: t([1, 2, 3]) }), ShapeError, /^\[flash_attention_backward\] lse: expected f32\[1,2,2\], got f32\[1,2,3\]$/],
    ['decode: too many new tokens', () => cpu.decodeAttention({ q: t([1, 17, 2, 8]), kCache: t([1, 2, 32, 8]), vCache: t([1, 2, 32, 8]), lengths: i32([20]) }), ShapeError, /^\[decode_attention\] q: expected at most 16 query tokens per sequence/],
    ['decode: lengths dtype', () => cpu.decodeAttention({ q: t([1, 1, 2, 8]), kCache: t([1, 2, 32, 8]), vCache: t([1, 2, 32, 8]), lengths: t([1]) }), ShapeError, /^\[decode_attention\] lengths: expected i32\[1\], got f32\[1\]$/],
    ['decode: paged v layout', () => cpu.decodeAttention({ q: t([2, 1, 2, 8]), kCache: t([5, 4, 2, 8]), vCache: t([5, 8, 2, 8]), lengths: i32([3, 4]), blockTable: i32([0, 1, 2, 3]) }), ShapeError, /^\[decode_attention\] vCache: expected f32\[5,4,2,8\]/],
    ['decode: window right side', () => cpu.decodeAttention({ q: t([1, 1, 2, 8]), kCache: t([1, 2, 32, 8]), vCache: t([1, 2, 32, 8]), lengths: i32([20]) }, { window: { left: 3, right: 1 } } as never), OptionsError, /^\[decode_attention\] window: /],
  ];
  it.each(cases)('%s', (_l, fn, cls, msg) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(msg);
  });
});

/** Runs an op on host inputs on a backend, checks every output against the reference's bounds, returns them. */
async function checkHost(be: KernelBackend, sp: typeof spec, h: Record<string, HostTensor>, options: Record<string, unknown>, run?: (ins: Record<string, Tensor>) => Record<string, Tensor>) {
  const r = ref(h, options, sp);
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(h)) ins[k] = be.tensor(t.data, t.shape, t.dtype);
  const out = run ? run(ins) : be.run(sp.name as 'flash_attention_forward', ins, options);
  const got: Record<string, Float64Array> = {};
  for (const name of Object.keys(r.out)) {
    expect(out[name], name).toBeDefined();
    got[name] = toFloat64(out[name].dtype, await be.read(out[name]));
    const c = compare(got[name], r.out[name].data, r.bounds[name]);
    expect(c.firstBad, `${name}`).toBeUndefined();
  }
  for (const t of [...Object.values(ins), ...Object.values(out)]) t.dispose();
  return got;
}

/** A forward (or, with `backward`, backward) problem through checkHost. */
const check = (be: KernelBackend, p: AttnProblem, dtype: FloatDType, options: Record<string, unknown>, run?: (ins: Record<string, Tensor>) => Record<string, Tensor>, backward = false) =>
  checkHost(be, backward ? bwd : spec, backward ? backwardInputs(p, dtype, 3) : host(p, dtype), options, run);

/** Decode problems with invalid sequences (a negative length, one past the capacity, a huge one, block-table entries outside the cache): NaN for those sequences only. */
const BAD_DECODE: [string, DecodeProblem][] = [
  ['lengths', { lengths: [5, -1, 41, 2 ** 31 - 1], t: 2, hq: 2, hkv: 1, d: 16, smax: 40, sinks: true }],
  ['block table', { lengths: [5, 30, 9], t: 1, hq: 4, hkv: 2, d: 24, dv: 40, paged: { blockSize: 8, numBlocks: 8, maxBlocks: 4 }, badTable: 1, sinks: true }],
];
async function checkBadDecode(be: KernelBackend, p: DecodeProblem) {
  const h = decodeInputs(p, 'f16', 4);
  if (p.badTable !== undefined) (h.blockTable.data as Int32Array)[p.badTable * 4] = -(2 ** 31);
  const got = await checkHost(be, dec, h, {});
  const per = p.t * p.hq;
  p.lengths.forEach((len, b) => {
    const bad = len < 0 || len > (p.smax ?? 32) || b === p.badTable;
    expect(got.lse.slice(b * per, (b + 1) * per).every(Number.isNaN), `sequence ${b}`).toBe(bad);
  });
}

const MALFORMED: [string, number[], number[]][] = [
  ['decreasing', [0, 5, 3, 9], [0, 4, 8, 12]],
  ['past the end', [0, 3, 6, 9], [0, 4, 8, 13]],
  ['first not 0', [1, 3, 6, 9], [0, 4, 8, 12]],
  ['huge', [0, 3, 2 ** 31 - 1, 9], [0, 4, 8, 12]],
  ['negative', [0, 3, 6, 9], [0, -(2 ** 31), 8, 12]],
];

describe('webgpu attention', () => {
  const gpu = useWebGpu();

  it('fits WebGPU\'s default 16 KiB of workgroup memory for every head-dim class (K/V sharing a buffer where needed)', () => {
    for (const [d, dv] of [[8, 8], [64, 64], [128, 128], [256, 256], [24, 256]]) {
      for (const sub of [false, true]) {
        const p = simtPlan(d, dv, 16384, 256, sub);
        expect(simtBytes(p, sub)).toBeLessThanOrEqual(16384);
      }
    }
    expect(simtPlan(256, 256, 16384, 256, false).kvShared).toBe(true);
  });

  it('under the default limits (16 KiB workgroup memory, 4 KiB bindings: one dispatch per batch), within bounds', async () => {
    const lim = gpu().rt.opened.limits;
    const limits = { ...Object.fromEntries(['maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment', 'maxComputeInvocationsPerWorkgroup'].map((k) => [k, lim[k as keyof GPUSupportedLimits]])), maxComputeWorkgroupStorageSize: 16384, maxStorageBufferBindingSize: 4096 } as unknown as GPUSupportedLimits;
    const ctx: LaunchContext = { rt: gpu().rt, features: gpu().rt.opened.features, limits, adapter: { ...gpu().adapter, limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => gpu().zeros(info.shape, info.dtype) };
    gpu().rt.trace = [];
    for (const [p, o] of [
      [{ b: 3, sq: 5, sk: 6, hq: 2, hkv: 1, d: 128, causal: true }, { causal: true }],
      [{ b: 2, sq: 3, sk: 4, hq: 2, hkv: 1, d: 256, layout: 'bhsd' }, { layout: 'bhsd' }],
    ] as [AttnProblem, Record<string, unknown>][]) {
      for (const tier of ['portable', 'subgroups'] as const) {
        await check(gpu(), p, 'f16', o, (ins) => {
          const outs = spec.check(ins, spec.options.parse(o)) as Record<string, { dtype: 'f32'; shape: number[] }>;
          return flashAttentionForwardLauncher.launch(ctx, tier, ins, spec.options.parse(o), outs);
        });
      }
    }
    // A batch of q is 2560 / 3072 bytes: one batch per dispatch, 3 + 2 per tier.
    expect(gpu().rt.trace!.length).toBe(2 * (3 + 2));
    gpu().rt.trace = undefined;
  });

  it.each(MALFORMED)('malformed cu_seqlens (%s): every output is NaN', async (_l, cuQ, cuK) => {
    const got = await check(gpu(), { sq: 9, sk: 12, cuQ, cuK, hq: 2, hkv: 1, d: 16, sinks: true }, 'f16', {});
    expect(got.o.every(Number.isNaN) && got.lse.every(Number.isNaN)).toBe(true);
    const g = await check(gpu(), { sq: 9, sk: 12, cuQ, cuK, hq: 2, hkv: 1, d: 16, sinks: true }, 'f16', {}, undefined, true);
    expect(Object.values(g).every((a) => a.every(Number.isNaN))).toBe(true);
  });

  it('backward tiles fit 16 KiB for every head-dim class', () => {
    for (const [d, dv] of [[8, 8], [64, 64], [128, 128], [256, 256], [24, 256]]) {
      const p = bwdPlan(d, dv, 16384, 256);
      expect(bwdDqBytes(p)).toBeLessThanOrEqual(16384);
      expect(bwdDkvBytes(p)).toBeLessThanOrEqual(16384);
    }
  });

  it('backward under the default limits (16 KiB, 4 KiB bindings: a dispatch set per batch, dsinks summed over them), within bounds', async () => {
    const lim = gpu().rt.opened.limits;
    const limits = { ...Object.fromEntries(['maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment', 'maxComputeInvocationsPerWorkgroup'].map((k) => [k, lim[k as keyof GPUSupportedLimits]])), maxComputeWorkgroupStorageSize: 16384, maxStorageBufferBindingSize: 4096 } as unknown as GPUSupportedLimits;
    const ctx: LaunchContext = { rt: gpu().rt, features: gpu().rt.opened.features, limits, adapter: { ...gpu().adapter, limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => gpu().zeros(info.shape, info.dtype) };
    // D = 256 takes the smallest tiles (4 keys per dq tile); every batch is a dispatch set.
    for (const [p, o, batches] of [
      [{ b: 3, sq: 5, sk: 6, hq: 4, hkv: 2, d: 64, causal: true, sinks: true, window: { left: 3 } }, { causal: true, window: { left: 3 } }, 3],
      [{ b: 2, sq: 3, sk: 5, hq: 2, hkv: 1, d: 256, dv: 128, sinks: true }, {}, 2],
    ] as [AttnProblem, Record<string, unknown>, number][]) {
      gpu().rt.trace = [];
      await check(gpu(), p, 'bf16', o, (ins) => {
        const outs = bwd.check(ins, bwd.options.parse(o)) as Record<string, { dtype: 'f32'; shape: number[] }>;
        return flashAttentionBackwardLauncher.launch(ctx, 'portable', ins, bwd.options.parse(o), outs);
      }, true);
      // Per batch: prep, dq, dk, dv, dsink.
      expect(gpu().rt.trace!.map((d) => d.pipeline.shader.split('/')[1])).toEqual(Array(batches).fill(['fa_bwd_prep.wgsl', 'fa_bwd_dq.wgsl', 'fa_bwd_dkv.wgsl', 'fa_bwd_dkv.wgsl', 'fa_bwd_dsink.wgsl']).flat());
    }
    gpu().rt.trace = undefined;
  });

  it.each(BAD_DECODE)('decode with invalid %s: NaN for those sequences, the others within bounds', async (_l, p) => {
    await checkBadDecode(gpu(), p);
  });

  it('backward is deterministic (bitwise the same twice)', async () => {
    const p: AttnProblem = { b: 2, sq: 37, sk: 45, hq: 8, hkv: 2, d: 32, causal: true, sinks: true };
    const a = await check(gpu(), p, 'f32', { causal: true }, undefined, true);
    const b = await check(gpu(), p, 'f32', { causal: true }, undefined, true);
    for (const k of Object.keys(a)) expect(Array.from(b[k])).toEqual(Array.from(a[k]));
  });
});

describe.skipIf(process.platform === 'darwin')('metal attention under AddressSanitizer', () => {
  let asan: MetalBackend;
  beforeAll(async () => {
    asan = await MetalBackend.create({ chip: 'M5', asan: true });
  });
  afterAll(() => asan?.dispose());

  it.each(MALFORMED)('malformed cu_seqlens (%s): every output is NaN, no out-of-bounds access', async (_l, cuQ, cuK) => {
    const got = await check(asan, { sq: 9, sk: 12, cuQ, cuK, hq: 2, hkv: 1, d: 16, sinks: true }, 'bf16', {});
    expect(got.o.every(Number.isNaN) && got.lse.every(Number.isNaN)).toBe(true);
    const g = await check(asan, { sq: 9, sk: 12, cuQ, cuK, hq: 2, hkv: 1, d: 16, sinks: true }, 'bf16', {}, undefined, true);
    expect(Object.values(g).every((a) => a.every(Number.isNaN))).toBe(true);
  });

  it('varlen with empty sequences, padding and a window: in bounds and within bounds (forward and backward)', async () => {
    const p: AttnProblem = { sq: 0, sk: 0, seqQ: [3, 0, 5, 2], seqK: [0, 4, 7, 3], padQ: 2, padK: 3, hq: 4, hkv: 2, d: 24, dv: 40, sinks: true, window: { left: 2, right: 1 } };
    await check(asan, p, 'f16', { window: { left: 2, right: 1 } });
    await check(asan, p, 'f16', { window: { left: 2, right: 1 } }, undefined, true);
  });

  it.each(BAD_DECODE)('decode with invalid %s: NaN for those sequences, no out-of-bounds access', async (_l, p) => {
    await checkBadDecode(asan, p);
  });

  it('backward is deterministic (bitwise the same twice)', async () => {
    const p: AttnProblem = { b: 2, sq: 19, sk: 23, hq: 4, hkv: 2, d: 16, causal: true, sinks: true };
    const a = await check(asan, p, 'f32', { causal: true }, undefined, true);
    const b = await check(asan, p, 'f32', { causal: true }, undefined, true);
    for (const k of Object.keys(a)) expect(Array.from(b[k])).toEqual(Array.from(a[k]));
  });
});
