// gemm_sgmat_bf16.wgsl run end to end on lavapipe, which has no subgroup matrices: the
// test swaps the four subgroup-matrix builtins for plain WGSL stand-ins (each lane holds
// the whole 16×16 matrix; loads, stores and the multiply-accumulate done element by
// element in f32, rounding each add to nearest) and fixes subgroups of 32 from the
// invocation index (lavapipe's are 8). Everything else — the prepass, the launcher's plan,
// the windows' scaling, the exactness flag and its SIMT path, the flushes into the register
// sums, the lane ownership and the epilogue — is the shipped code, checked against the
// reference within gemm's bf16 bound (the spec's own bounds function), and NaN/±inf
// against the portable kernel. The matrix units' truncating adds are not modelled here;
// gemm_bf16_mma.test.ts proves the bound under them. Slow: lavapipe compiles each of the
// two pipelines for minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { gemmLauncher } from '../../src/backend/webgpu/launchers/gemm.js';
import { shaderSource } from '../../src/backend/webgpu/pipelines.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import { WGSL } from '../../src/generated/kernels.js';
import { toFloat64, type FloatDType } from '../../src/dtype.js';
import { dtCode } from '../../src/backend/webgpu/pipelines.js';
import { rng, uniform } from '../../src/ops/random.js';
import { getSpec } from '../../src/ops/registry.js';
import type { HostTensor, RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';

const SHADER = 'gemm/gemm_sgmat_bf16.wgsl';
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });

/**
 * The stand-ins, distributed as the kernel's own lane ownership: lane l holds of a result
 * its 8 elements (row l/2, columns (l%2)·8 … +8), of a left matrix its row l/2, of a right
 * matrix its 8 columns — all a lane's multiply-accumulate needs (f16 values are exact in
 * f32; each add rounds to nearest).
 */
const EMULATION = `
var<private> g_lane: u32;
struct SM { v: array<f32, 8> }
struct SL { v: array<f32, 16> }
struct SR { v: array<f32, 128> }
fn mma(l: SL, r: SR, c: SM) -> SM {
  var o = c;
  for (var j = 0u; j < 8u; j = j + 1u) {
    var s = o.v[j];
    for (var k = 0u; k < 16u; k = k + 1u) {
      s = s + l.v[k] * r.v[k * 8u + j];
    }
    o.v[j] = s;
  }
  return o;
}
fn st_stage(o: u32, m: SM) {
  for (var j = 0u; j < 8u; j = j + 1u) {
    stage[o + (g_lane / 2u) * 16u + (g_lane % 2u) * 8u + j] = m.v[j];
  }
}
${['row', 'col']
  .map(
    (lay) => `fn ld_As_${lay}(o: u32, ld: u32) -> SL {
  var m: SL;
  let r = g_lane / 2u;
  for (var c = 0u; c < 16u; c = c + 1u) {
    m.v[c] = f32(As[o + ${lay === 'row' ? 'r * ld + c' : 'c * ld + r'}]);
  }
  return m;
}
fn ld_Bs_${lay}(o: u32, ld: u32) -> SR {
  var m: SR;
  for (var k = 0u; k < 16u; k = k + 1u) {
    for (var j = 0u; j < 8u; j = j + 1u) {
      let c = (g_lane % 2u) * 8u + j;
      m.v[k * 8u + j] = f32(Bs[o + ${lay === 'row' ? 'k * ld + c' : 'c * ld + k'}]);
    }
  }
  return m;
}`,
  )
  .join('\n')}
`;

/** The kernel's preprocessed source with the subgroup-matrix builtins replaced. */
function emulated(defines: Record<string, number | boolean>): string {
  // Comments dropped (they name the builtins too).
  let code = shaderSource({ shader: SHADER, defines }).code.replace(/\/\/[^\n]*/g, '');
  const swap = (re: RegExp, to: string) => {
    expect(code, String(re)).toMatch(re);
    code = code.replace(re, to);
  };
  swap(/enable chromium_experimental_subgroup_matrix;/, '');
  swap(/subgroup_matrix_result<f32, 16, 16>\(\)/g, 'SM()');
  swap(/subgroupMatrixLoad<subgroup_matrix_(?:left|right)<f16, 16, 16>, (row|col)_major>\(&(As|Bs), /g, 'ld_$2_$1(');
  swap(/subgroupMatrixMultiplyAccumulate\(/g, 'mma(');
  swap(/subgroupMatrixStore<row_major>\(&stage, ([^,]+), ([^,]+), 16u\)/g, 'st_stage($1, $2)');
  swap(/@builtin\(subgroup_id\) sg_id: u32, @builtin\(subgroup_invocation_id\) lane: u32,\s*@builtin\(subgroup_size\) sg_size: u32\) \{/, ') {\n  let sg_id = lid / 32u;\n  let lane = lid % 32u;\n  let sg_size = 32u;\n  g_lane = lane;');
  // After the workgroup arrays (the stand-ins name As, Bs and stage).
  swap(/(var<workgroup> stage: array<f32, [^;]+;)/, `$1\n${EMULATION}`);
  expect(code).not.toMatch(/subgroupMatrix|subgroup_matrix/);
  return code;
}

let gpu: WebGpuBackend;
let ctx: LaunchContext;
const original = WGSL[SHADER];
beforeAll(async () => {
  gpu = await WebGpuBackend.create();
  // NVIDIA's traits, so the launcher plans the matrix-unit kernel.
  const adapter: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16)], subgroupMinSize: 32, subgroupMaxSize: 32, limits: gpu.rt.opened.limits };
  ctx = { rt: gpu.rt, features: gpu.rt.opened.features, limits: gpu.rt.opened.limits, adapter, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => gpu.zeros(info.shape, info.dtype) };
}, 60_000);
afterAll(() => {
  WGSL[SHADER] = original;
  gpu?.dispose();
});

const spec = getSpec('gemm');

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  batchA?: number;
  beta?: number;
  bias?: boolean;
  outDtype?: FloatDType;
}

/** bf16 bits of ±(1 + f)·2^e. */
const bits = (neg: boolean, e: number, f: number) => (neg ? 0x8000 : 0) | ((e + 127) << 7) | (f & 0x7f);

/**
 * Inputs: uniform in [-1, 1) ('plain'); 'scaled' — each row of op(A) and column of op(B) has
 * its own exponent centre in 2^-50…2^50 and values within 2^±4 of it, 5% zeros: every window
 * exact, scaled by up to 2^±50 on the matrix units; 'wild' — runs of 64 stored elements
 * around a centre mixed with values anywhere in 2^-50…2^50 and bf16 subnormals (and, with
 * `specials`, ±inf and NaN): windows inexact, the SIMT path. Products stay inside f32's
 * range, as the f32 path needs too.
 */
function inputs(c: Case, kind: 'plain' | 'scaled' | 'wild', seed: number, specials: boolean): Record<string, HostTensor> {
  const aShape = c.transA ? [c.k, c.m] : [c.m, c.k];
  const bShape = c.transB ? [c.n, c.k] : [c.k, c.n];
  const od = c.outDtype ?? 'bf16';
  const yShape = c.batchA ? [c.batchA, c.m, c.n] : [c.m, c.n];
  // The op(A) row / op(B) column of a stored element.
  const aIndex = (e: number) => (c.transA ? e % c.m : Math.floor(e / c.k) % c.m);
  const bIndex = (e: number) => (c.transB ? Math.floor(e / c.k) % c.n : e % c.n);
  const make = (shape: number[], s: number, opIndex: (e: number) => number): HostTensor => {
    if (kind === 'plain') return uniform('bf16', shape, s);
    const r = rng(s);
    const n = shape.reduce((x, y) => x * y, 1);
    const d = new Uint16Array(n);
    const centres = Array.from({ length: 4096 }, () => Math.floor(r() * 101) - 50);
    let centre = 0;
    for (let i = 0; i < n; i++) {
      const u = r();
      if (kind === 'scaled') {
        d[i] = u < 0.05 ? 0 : bits(r() < 0.5, centres[opIndex(i)] + Math.floor(r() * 9) - 4, Math.floor(r() * 128));
        continue;
      }
      if (i % 64 === 0) centre = Math.floor(r() * 101) - 50;
      if (u < 0.05) d[i] = 0;
      else if (u < 0.07) d[i] = 1 + Math.floor(r() * 127); // subnormal
      else if (u < 0.12) d[i] = bits(r() < 0.5, Math.floor(r() * 101) - 50, Math.floor(r() * 128)); // far from the centre
      else d[i] = bits(r() < 0.5, centre + Math.floor(r() * 9) - 4, Math.floor(r() * 128));
    }
    if (specials) {
      d[Math.floor(r() * n)] = 0x7f80;
      d[Math.floor(r() * n)] = 0xff80;
      d[Math.floor(r() * n)] = 0x7fc0;
    }
    return { dtype: 'bf16', shape, data: d };
  };
  return {
    a: make(c.batchA ? [c.batchA, ...aShape] : aShape, seed, aIndex),
    b: make(bShape, seed + 1, bIndex),
    ...(c.beta ? { c: uniform(od, yShape, seed + 2) } : {}),
    ...(c.bias ? { bias: uniform(od, [c.n], seed + 3) } : {}),
  };
}

async function run(c: Case, h: Record<string, HostTensor>, tier: 'subgroup-matrix' | 'portable'): Promise<{ y: Float64Array; shaders: string[] }> {
  const o = spec.options.parse({ transA: !!c.transA, transB: !!c.transB, ...(c.beta ? { beta: c.beta } : {}), ...(c.outDtype ? { outDtype: c.outDtype } : {}) });
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(h)) ins[k] = gpu.tensor(t.data, t.shape, t.dtype);
  const outs = spec.check(ins, o) as Record<string, { dtype: FloatDType; shape: number[] }>;
  refreshTuning();
  gpu.rt.trace = [];
  const res = gemmLauncher.launch(ctx, tier, ins, o, outs);
  const shaders = gpu.rt.trace.map((d) => d.pipeline.shader);
  gpu.rt.trace = undefined;
  const y = toFloat64(res.y.dtype, await gpu.read(res.y));
  for (const t of [...Object.values(ins), res.y]) t.dispose();
  return { y, shaders };
}

/** The reference's view of host inputs (float64 values). */
function refs(h: Record<string, HostTensor>): Record<string, RefTensor> {
  const out: Record<string, RefTensor> = {};
  for (const [k, t] of Object.entries(h)) out[k] = { dtype: t.dtype, shape: t.shape, data: toFloat64(t.dtype, t.data) };
  return out;
}

const optionsOf = (c: Case) => spec.options.parse({ transA: !!c.transA, transB: !!c.transB, ...(c.beta ? { beta: c.beta } : {}), ...(c.outDtype ? { outDtype: c.outDtype } : {}) });

/** Runs case c through the launcher with the emulated kernel for its defines. */
async function runEmulated(c: Case, h: Record<string, HostTensor>): Promise<Float64Array> {
  WGSL[SHADER] = original;
  const code = emulated({ A_DT: 2, Y_DT: dtCode(c.outDtype ?? 'bf16'), TRANS_A: !!c.transA, TRANS_B: !!c.transB, HAS_C: !!c.beta, HAS_BIAS: !!c.bias });
  // Preprocessed text has no directives left: preprocessing it again returns it unchanged.
  WGSL[SHADER] = code;
  try {
    const { y, shaders } = await run(c, h, 'subgroup-matrix');
    expect(shaders).toEqual(['gemm/gemm_bf16_exps.wgsl', 'gemm/gemm_bf16_exps.wgsl', SHADER]);
    return y;
  } finally {
    WGSL[SHADER] = original;
  }
}

describe('gemm_sgmat_bf16.wgsl with emulated subgroup matrices (lavapipe)', () => {
  it.each([
    // Two pipelines in all (lavapipe takes minutes to compile each on a loaded host): a and
    // b as stored [M,K]·[K,N] with f32 out, and both transposed with c, bias and batches.
    ['plain, 2×2 tiles ragged, windows 128+128+8', { m: 136, n: 144, k: 264, outDtype: 'f32' }, 'plain'],
    ['plain, transA, transB, batched a, c, bias', { m: 40, n: 24, k: 200, transA: true, transB: true, batchA: 2, beta: -0.75, bias: true, outDtype: 'f32' }, 'plain'],
    ['wild exponents, subnormals, zeros (SIMT windows)', { m: 48, n: 40, k: 264, outDtype: 'f32' }, 'wild'],
    ['rows and columns scaled 2^-50…2^50 (matrix windows), transA, transB, batched a, c, bias', { m: 24, n: 72, k: 200, transA: true, transB: true, batchA: 2, beta: 0.5, bias: true, outDtype: 'f32' }, 'scaled'],
    ['rows and columns scaled 2^-50…2^50, as stored', { m: 40, n: 48, k: 264, outDtype: 'f32' }, 'scaled'],
  ] as [string, Case, 'plain' | 'scaled' | 'wild'][])(
    '%s: within the bf16 bound',
    async (_l, c, kind) => {
      const h = inputs(c, kind, 11, false);
      const y = await runEmulated(c, h);
      const o = optionsOf(c);
      const ref = spec.reference(refs(h), o);
      const bound = spec.bounds!(refs(h), o, ref).y!;
      const want = ref.y!.data;
      const bad: string[] = [];
      for (let i = 0; i < want.length; i++) if (!(Math.abs(y[i] - want[i]) <= bound[i])) bad.push(`y[${i}] = ${y[i]}, reference ${want[i]} ± ${bound[i]}`);
      expect(bad.slice(0, 5)).toEqual([]);
    },
    1_200_000,
  );

  it('±inf and NaN in a and b: the same NaN/±inf outputs as the portable f32 kernel, the rest within the bound', async () => {
    const c: Case = { m: 40, n: 48, k: 264, outDtype: 'f32' };
    const h = inputs(c, 'wild', 5, true);
    const y = await runEmulated(c, h);
    const { y: p } = await run(c, h, 'portable');
    const o = optionsOf(c);
    const ref = spec.reference(refs(h), o);
    const bound = spec.bounds!(refs(h), o, ref).y!;
    const want = ref.y!.data;
    const cls = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? '+inf' : v === -Infinity ? '-inf' : 'finite');
    let special = 0;
    const bad: string[] = [];
    for (let i = 0; i < y.length; i++) {
      if (cls(y[i]) !== cls(p[i])) bad.push(`y[${i}] = ${y[i]}, portable ${p[i]}`);
      if (cls(p[i]) !== 'finite') special++;
      else if (!(Math.abs(y[i] - want[i]) <= bound[i])) bad.push(`y[${i}] = ${y[i]}, reference ${want[i]} ± ${bound[i]}`);
    }
    expect(special).toBeGreaterThan(0);
    expect(bad.slice(0, 5)).toEqual([]);
  }, 1_200_000);
});
