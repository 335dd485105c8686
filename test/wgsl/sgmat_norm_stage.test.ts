// gemm_sgmat_vec's normalised staging (NORM_A / NORM_B: gemm_sgmat_fetch → registers →
// gemm_sgmat_stash, with gemm_sgmat_norm.wgsl) run for real on the default adapter. Lavapipe
// has no subgroup matrices, so the kernel itself only compiles here (test/ops/
// fused_norm_lora_sgmat.test.ts); this harness includes the same fetch and stash pieces with
// gemm_sgmat_vec's constants, stages one K slice per workgroup and writes the staged
// workgroup arrays out, so the new code's indexing (the operand's stored row and column, the
// tile origins, the edges), the f32 normalisation with its f16 rounding and the dropout mask
// are checked against the host — everything of the NORM path but the matrix products, which
// are gemm_sgmat_vec's own.
import { describe, expect, it } from 'vitest';
import { GEMM_PARAMS } from '../../src/backend/webgpu/launchers/gemm.js';
import { NORM_PARAMS } from '../../src/backend/webgpu/launchers/norm_gemm.js';
import { DT_CODES } from '../../src/backend/webgpu/pipelines.js';
import { preprocess } from '../../src/backend/webgpu/preprocess.js';
import { packParams } from '../../src/backend/params.js';
import { fromFloat64, toFloat64 } from '../../src/dtype.js';
import { WGSL } from '../../src/generated/kernels.js';
import { dropThreshold, dropoutMask, mix32 } from '../../src/ops/fused_lora_forward/dropout.js';
import { normOperandError } from '../../src/ops/fused_norm_lora/reference.js';
import { rng } from '../../src/ops/random.js';
import { useWebGpu } from '../webgpu_backends.js';

// gemm_sgmat_vec.wgsl's tile constants (BN = 128: no WIDE_N; BK = 32: no SHALLOW_K) and its
// fetch/stash pieces; the slice's K origin comes in p.k_chunk (this harness's own use).
const STAGE = `
enable f16;
#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
const BM: u32 = 128u;
const BN: u32 = 128u;
const BK: u32 = 32u;
const PAD: u32 = 8u;
const WGT: u32 = 256u;
#if TRANS_A
const A_ROWS: u32 = BK;
const A_COLS: u32 = BM;
#else
const A_ROWS: u32 = BM;
const A_COLS: u32 = BK;
#endif
#if TRANS_B
const B_ROWS: u32 = BN;
const B_COLS: u32 = BK;
#else
const B_ROWS: u32 = BK;
const B_COLS: u32 = BN;
#endif
const LDA: u32 = A_COLS + PAD;
const LDB: u32 = B_COLS + PAD;
const A_V: u32 = A_COLS / 8u;
const B_V: u32 = B_COLS / 8u;
const A_PER: u32 = A_ROWS * A_V / WGT;
const B_PER: u32 = B_ROWS * B_V / WGT;
const A_SZ: u32 = A_ROWS * LDA;
const B_SZ: u32 = B_ROWS * LDB;
var<workgroup> As: array<f16, A_SZ>;
var<workgroup> Bs: array<f16, B_SZ>;
var<private> ra: array<vec4<u32>, A_PER>;
var<private> rb: array<vec4<u32>, B_PER>;
#include "gemm/gemm_sgmat_norm.wgsl"
@group(0) @binding(9) var<storage, read_write> dump: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  K_RANGE
  let av = p.a_base / 8u;
  let bv = p.b_base / 8u;
  let k0 = p.k_chunk;
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k0)
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=0)
  workgroupBarrier();
  let d0 = (wid.y * nwg.x + wid.x) * (A_SZ + B_SZ);
  for (var e = lid; e < A_SZ; e = e + WGT) {
    dump[d0 + e] = f32(As[e]);
  }
  for (var e = lid; e < B_SZ; e = e + WGT) {
    dump[d0 + A_SZ + e] = f32(Bs[e]);
  }
}
`;

const gpu = useWebGpu();

const rand = (n: number, lo: number, hi: number, seed: number) => {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
};
/** Values as f16 holds them. */
const asF16 = (v: Float64Array) => toFloat64('f16', fromFloat64('f16', v));

interface Case {
  /** Which operand is x (normalised, stored untransposed [rows, cols]); the other is a plain f16 operand. */
  norm: 'a' | 'b';
  m: number;
  n: number;
  k: number;
  /** The slice's K origin. */
  k0: number;
  dropout: number;
}

/** Stages slice k0 of every output tile and returns the dumped As and Bs of each workgroup, with the host's inputs. */
async function stage(c: Case) {
  const transA = c.norm === 'b';
  const transB = c.norm === 'a';
  const dev = gpu().rt.device;
  const code = preprocess({ ...WGSL, 'test/stage.wgsl': STAGE }, 'test/stage.wgsl', { ...DT_CODES, A_DT: 1, Y_DT: 0, HAS_C: 0, HAS_BIAS: 0, SPLIT_K: 0, TRANS_A: transA, TRANS_B: transB, NORM_A: c.norm === 'a', NORM_B: c.norm === 'b' }).code;
  // a: [m, k] (or [k, m] with transA), b: [k, n] (or [n, k] with transB); 8 halves of padding
  // before each operand and γ, 3 floats before rs, so every base is non-zero.
  const aVals = asF16(rand(c.m * c.k, -2, 2, 1));
  const bVals = asF16(rand(c.k * c.n, -2, 2, 2));
  const [xRows, xCols] = c.norm === 'a' ? [c.m, c.k] : [c.k, c.n];
  const rs = Float64Array.from(rand(xRows, 0.5, 1.5, 3), (v) => Math.fround(v));
  const gamma = asF16(rand(xCols, -1.5, 1.5, 4));
  const buf = (data: ArrayBufferView, usage: number) => {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const bb = dev.createBuffer({ size, usage: usage | GPUBufferUsage.COPY_DST });
    dev.queue.writeBuffer(bb, 0, data.buffer, data.byteOffset, data.byteLength);
    return bb;
  };
  const pad16 = (v: Float64Array) => {
    const out = new Uint16Array(8 + v.length);
    out.set(fromFloat64('f16', v), 8);
    return out;
  };
  const S = GPUBufferUsage.STORAGE;
  const rsHost = new Float32Array(3 + xRows);
  rsHost.set(rs, 3);
  const thr = c.dropout > 0 ? dropThreshold(c.dropout) : 0;
  const seed = 7;
  const tilesX = Math.ceil(c.n / 128);
  const tilesY = Math.ceil(c.m / 128);
  const aSz = transA ? 32 * 136 : 128 * 40;
  const bSz = transB ? 128 * 40 : 32 * 136;
  const dumpBytes = tilesX * tilesY * (aSz + bSz) * 4;
  const dump = dev.createBuffer({ size: dumpBytes, usage: S | GPUBufferUsage.COPY_SRC });
  const read = dev.createBuffer({ size: dumpBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const params = packParams(GEMM_PARAMS, { m: c.m, n: c.n, k: c.k, a_base: 8, b_base: 8, c_base: 0, bias_base: 0, y_base: 0, a_bstride: 0, b_bstride: 0, alpha: 1, beta: 0, k_chunk: c.k0 });
  const np = new Uint32Array(packParams(NORM_PARAMS, { rs_base: 3, g_base: 8, thr, seed_mix: mix32(seed) }));
  dev.pushErrorScope('validation');
  const pipeline = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
  const bind = (binding: number, buffer: GPUBuffer) => ({ binding, resource: { buffer } });
  const group = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      bind(0, buf(pad16(aVals), S)),
      bind(1, buf(pad16(bVals), S)),
      bind(5, buf(new Uint8Array(params), GPUBufferUsage.UNIFORM)),
      bind(6, buf(rsHost, S)),
      bind(7, buf(pad16(gamma), S)),
      bind(8, buf(np, S)),
      bind(9, dump),
    ],
  });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(tilesX, tilesY, 1);
  pass.end();
  enc.copyBufferToBuffer(dump, 0, read, 0, dumpBytes);
  dev.queue.submit([enc.finish()]);
  expect(await dev.popErrorScope()).toBeNull();
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  return { got, aVals, bVals, rs, gamma, xRows, xCols, tilesX, tilesY, aSz, bSz, keep: dropoutMask(xRows * xCols, c.dropout, seed) };
}

describe('gemm_sgmat_vec NORM staging, run on the default adapter', () => {
  it.each([
    // The forward's products: x = a [T, K] untransposed, W / A as b [N, K] (transB); two row
    // tiles (m0 = 128), a ragged last tile in M and K, the slice at K origin 16.
    ['NORM_A (forward: n·Wᵀ, drop(n)·Aᵀ)', { norm: 'a', m: 136, n: 24, k: 40, k0: 16, dropout: 0.3 }],
    ['NORM_A without dropout', { norm: 'a', m: 40, n: 16, k: 64, k0: 32, dropout: 0 }],
    // The backward's dA = gᵀ·drop(n): g = a [T, r] (transA), x = b [T, K] untransposed; two
    // column tiles (n0 = 128), the slice at token 32 of 56.
    ['NORM_B (backward: gᵀ·drop(n))', { norm: 'b', m: 16, n: 136, k: 56, k0: 32, dropout: 0.3 }],
  ] as [string, Case][])('%s', async (_l, c) => {
    const s = await stage(c);
    const e = normOperandError('f16', s.xCols, false);
    const transA = c.norm === 'b';
    const transB = c.norm === 'a';
    let kept = 0;
    let dropped = 0;
    let checked = 0;
    const bad: string[] = [];
    // n at the operand's stored (row, col), or the plain operand's value; 0 outside.
    const xAt = (row: number, col: number, vals: Float64Array) => {
      if (row >= s.xRows || col >= s.xCols) return { want: 0, norm: false };
      const q = row * s.xCols + col;
      if (!s.keep[q]) return { want: 0, norm: true, drop: true };
      return { want: vals[q] * s.rs[row] * s.gamma[col], norm: true };
    };
    for (let ty = 0; ty < s.tilesY; ty++)
      for (let tx = 0; tx < s.tilesX; tx++) {
        const d0 = (ty * s.tilesX + tx) * (s.aSz + s.bSz);
        const m0 = ty * 128;
        const n0 = tx * 128;
        // Staged a: rows along M (K with transA), 32 (128) columns of LDA = 40 (136).
        const [aRows, aCols, lda] = transA ? [32, 128, 136] : [128, 32, 40];
        const [bRows, bCols, ldb] = transB ? [128, 32, 40] : [32, 128, 136];
        const check = (which: 'a' | 'b', got: number, row: number, col: number, rows: number, cols: number, vals: Float64Array) => {
          checked++;
          const inside = row < rows && col < cols;
          if (c.norm === which) {
            const x = inside ? xAt(row, col, vals) : { want: 0, norm: false };
            if (x.drop) dropped++;
            else if (inside) kept++;
            const tol = x.drop ? 0 : e.rel * Math.abs(x.want) + (e.abs as number);
            if (!(Math.abs(got - x.want) <= tol)) bad.push(`${which}(${row},${col}): got ${got}, want ${x.want} ± ${tol}`);
          } else {
            const want = inside ? vals[row * cols + col] : 0;
            if (got !== want) bad.push(`${which}(${row},${col}): got ${got}, want ${want} exactly`);
          }
        };
        for (let r = 0; r < aRows; r++)
          for (let cc = 0; cc < aCols; cc++) {
            const got = s.got[d0 + r * lda + cc];
            // Stored a: [m, k] (row m0 + r, col k0 + cc) or with transA [k, m] (row k0 + r, col m0 + cc).
            if (transA) check('a', got, c.k0 + r, m0 + cc, c.k, c.m, s.aVals);
            else check('a', got, m0 + r, c.k0 + cc, c.m, c.k, s.aVals);
          }
        for (let r = 0; r < bRows; r++)
          for (let cc = 0; cc < bCols; cc++) {
            const got = s.got[d0 + s.aSz + r * ldb + cc];
            if (transB) check('b', got, n0 + r, c.k0 + cc, c.n, c.k, s.bVals);
            else check('b', got, c.k0 + r, n0 + cc, c.k, c.n, s.bVals);
          }
      }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(kept).toBeGreaterThan(0);
    if (c.dropout > 0) expect(dropped).toBeGreaterThan(0);
    else expect(dropped).toBe(0);
    expect(checked).toBeGreaterThan(0);
  });
});
