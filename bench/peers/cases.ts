import type { FloatDType } from '../../src/dtype.js';
import { randomInts, uniform } from '../../src/ops/random.js';
import type { OpName } from '../../src/ops/registry.js';
import type { HostTensor } from '../../src/ops/types.js';
import { decodeInputs } from '../../src/ops/decode_attention/cases.js';
import { nbitsExactWeights } from './nbits.js';

/**
 * The shapes the peers are compared on. Each case is timed at its full shape and checked at
 * a cut of it: the same op, options and reduction lengths (K, the row length, V), only the
 * leading rows cut to a few, so the float64 reference and the op's derived bound are
 * affordable even for 4096³ or 8192×128256. The peers' graphs take symbolic leading dims,
 * so one session serves both.
 */
export interface PeerCase {
  op: OpName;
  /** Shown in the table; the same words as the op's bench shape where there is one. */
  label: string;
  /** pmetal options of the case. */
  options: Record<string, unknown>;
  /** Host inputs at the full (`cut` false) or check (`cut` true) shape; the same seeds for every column. */
  make(dtype: FloatDType, cut: boolean): Record<string, HostTensor>;
  /** What the peers need beyond the inputs' shapes. */
  params: GemmP | SoftmaxP | RmsP | SwigluP | RopeP | CeP | AttnP | DecodeP | QgemmP;
}

export interface GemmP {
  kind: 'gemm';
  m: number;
  n: number;
  k: number;
  transB: boolean;
}
export interface SoftmaxP {
  kind: 'softmax';
  shape: number[];
  scale: number;
  causal: boolean;
}
export interface RmsP {
  kind: 'rms_norm';
  rows: number;
  cols: number;
  residual: boolean;
  eps: number;
}
export interface SwigluP {
  kind: 'swiglu';
  rows: number;
  cols: number;
}
export interface RopeP {
  kind: 'rope';
  b: number;
  s: number;
  h: number;
  d: number;
  /** Positions tensor [B,S] drawn below maxPos, or none (positions 0..S−1). */
  positions: boolean;
  maxPos: number;
  base: number;
}
export interface CeP {
  kind: 'cross_entropy';
  rows: number;
  vocab: number;
}

/** flash_attention_forward, layout bshd, scale 1/√D (pmetal's default, passed to the peers explicitly). */
export interface AttnP {
  kind: 'attention';
  b: number;
  s: number;
  hq: number;
  hkv: number;
  d: number;
  causal: boolean;
  scale: number;
}
/**
 * decode_attention: B sequences of `ctx` keys each in a contiguous cache [B, Hkv, ctx, D] (the
 * T new tokens are its last T keys), scale 1/√D. `window` / `softcap`: pmetal's options of the
 * same names (window.left), for the peers that can express them.
 */
export interface DecodeP {
  kind: 'decode';
  b: number;
  ctx: number;
  t: number;
  hq: number;
  hkv: number;
  d: number;
  scale: number;
  window?: number;
  softcap?: number;
}
/** quantized_gemm with mlx4 weights that MatMulNBits holds exactly (nbits.ts). */
export interface QgemmP {
  kind: 'quantized_gemm';
  m: number;
  n: number;
  k: number;
  group: 32 | 64 | 128;
  /** 'sym': every zero point 8 (MatMulNBits without zero_points); 'asym': a uint4 zero point per block. */
  zp: 'sym' | 'asym';
}

const CHECK_ROWS = 8;
/**
 * Attention is checked at B = 1 and S = 128 — a whole square, since the peers' causal forms
 * (GroupQueryAttention's prompt, a [S, S] bias) need every key of the cut rows. The heads and D
 * stay: a peer's graph fixes them (num_heads, kv_num_heads and the [B, S, H·D] hidden size are
 * in the ONNX model, only B and S are symbolic), so the check runs the very graph that is timed.
 * (Cutting the heads to 2 KV heads made every full-shape ORT row fail its check with "Got
 * invalid dimensions for input: query".) Sk, the reduction length, is cut, and the bound is
 * derived for the cut shape (a full-length check would cost 10¹¹ float64 operations).
 */
const CHECK_SEQ = 128;
const SEED = 1;

function gemm(m: number, n: number, k: number, transB: boolean): PeerCase {
  return {
    op: 'gemm',
    label: `m=${m},n=${n},k=${k}${transB ? ',transB' : ''}`,
    options: transB ? { transB: true } : {},
    params: { kind: 'gemm', m, n, k, transB },
    make: (d, cut) => ({ a: uniform(d, [cut ? Math.min(m, CHECK_ROWS) : m, k], SEED), b: uniform(d, transB ? [n, k] : [k, n], SEED + 1) }),
  };
}

function softmax(shape: number[], scale: number, causal: boolean): PeerCase {
  // Causal: the check keeps one whole [Sq, Sk] matrix (the mask's alignment depends on Sq).
  const cutShape = causal ? [1, ...shape.slice(1)] : [1, Math.min(shape[1], CHECK_ROWS), shape[2]];
  return {
    op: 'softmax',
    label: `${causal ? 'causal,' : ''}${shape.join('x')},scale=${scale}`,
    options: { scale, causal },
    params: { kind: 'softmax', shape, scale, causal },
    make: (d, cut) => ({ x: uniform(d, cut ? cutShape : shape, SEED) }),
  };
}

function rmsNorm(rows: number, cols: number, residual: boolean): PeerCase {
  return {
    op: 'rms_norm',
    label: `rows=${rows},cols=${cols}${residual ? ',residual' : ''}`,
    options: { eps: 1e-6 },
    params: { kind: 'rms_norm', rows, cols, residual, eps: 1e-6 },
    make: (d, cut) => {
      const r = cut ? Math.min(rows, CHECK_ROWS) : rows;
      return {
        x: uniform(d, [r, cols], SEED, -2, 2),
        weight: uniform(d, [cols], SEED + 1, 0.5, 1.5),
        ...(residual ? { residual: uniform(d, [r, cols], SEED + 2) } : {}),
      };
    },
  };
}

function swiglu(rows: number, cols: number): PeerCase {
  return {
    op: 'swiglu',
    label: `${rows}x${cols}`,
    options: {},
    params: { kind: 'swiglu', rows, cols },
    make: (d, cut) => {
      const r = cut ? Math.min(rows, CHECK_ROWS) : rows;
      return { gate: uniform(d, [r, cols], SEED, -8, 8), up: uniform(d, [r, cols], SEED + 1, -2, 2) };
    },
  };
}

function rope(b: number, s: number, h: number, d: number, positions: boolean, maxPos = s): PeerCase {
  return {
    op: 'rope',
    label: `B=${b},S=${s},H=${h},D=${d}${positions ? `,positions=[B,S]<${maxPos}` : ''}`,
    options: {},
    params: { kind: 'rope', b, s, h, d, positions, maxPos, base: 10000 },
    make: (dt, cut) => {
      const [bb, ss] = cut ? [1, Math.min(s, CHECK_ROWS)] : [b, s];
      return {
        x: uniform(dt, [bb, ss, h, d], SEED, -2, 2),
        ...(positions ? { positions: randomInts('i32', [bb, ss], SEED + 1, 0, maxPos) } : {}),
      };
    },
  };
}

function crossEntropy(rows: number, vocab: number): PeerCase {
  return {
    op: 'cross_entropy',
    label: `rows=${rows},vocab=${vocab},mean`,
    options: {},
    params: { kind: 'cross_entropy', rows, vocab },
    make: (d, cut) => {
      const r = cut ? Math.min(rows, CHECK_ROWS) : rows;
      return { logits: uniform(d, [r, vocab], SEED, -8, 8), targets: randomInts('i32', [r], SEED + 1, 0, vocab) };
    },
  };
}

function attention(b: number, s: number, hq: number, hkv: number, d: number, causal: boolean): PeerCase {
  const scale = 1 / Math.sqrt(d);
  return {
    op: 'flash_attention_forward',
    label: `B=${b},S=${s},Hq=${hq},Hkv=${hkv},D=${d}${causal ? ',causal' : ''}`,
    options: { causal },
    params: { kind: 'attention', b, s, hq, hkv, d, causal, scale },
    make: (dt, cut) => {
      const [bb, ss] = cut ? [1, Math.min(s, CHECK_SEQ)] : [b, s];
      return { q: uniform(dt, [bb, ss, hq, d], SEED), k: uniform(dt, [bb, ss, hkv, d], SEED + 1), v: uniform(dt, [bb, ss, hkv, d], SEED + 2) };
    },
  };
}

/**
 * A decode step: every sequence full (length = ctx, the cache's capacity, as the op's bench).
 * Checked at B = 1 with the whole context: Sk is the reduction length here, and one sequence at
 * 32k keys is 10⁸ float64 operations.
 */
function decode(b: number, ctx: number, t: number, hq: number, hkv: number, d: number, extra: { window?: number; softcap?: number } = {}): PeerCase {
  const scale = 1 / Math.sqrt(d);
  return {
    op: 'decode_attention',
    label: `b=${b},t=${t},len=${ctx},hq=${hq},hkv=${hkv},d=${d},smax=${ctx}${extra.window !== undefined ? `,window=${extra.window}` : ''}${extra.softcap !== undefined ? `,softcap=${extra.softcap}` : ''}`,
    options: { ...(extra.window !== undefined ? { window: { left: extra.window } } : {}), ...(extra.softcap !== undefined ? { softcap: extra.softcap } : {}) },
    params: { kind: 'decode', b, ctx, t, hq, hkv, d, scale, ...extra },
    make: (dt, cut) => decodeInputs({ lengths: Array(cut ? 1 : b).fill(ctx), t, hq, hkv, d, smax: ctx, ...extra }, dt, SEED),
  };
}

/** The last case's weights, kept: they are the same at the check and the full shape (10⁸ nibbles take seconds to draw). */
let lastWeights: { key: string; w: ReturnType<typeof nbitsExactWeights> } | undefined;
function weights(n: number, k: number, group: 32 | 64 | 128, zp: 'sym' | 'asym') {
  const key = `${n},${k},${group},${zp}`;
  if (lastWeights?.key !== key) lastWeights = { key, w: nbitsExactWeights(n, k, group, zp, SEED + 1) };
  return lastWeights.w;
}

function qgemm(m: number, n: number, k: number, group: 32 | 64 | 128, zp: 'sym' | 'asym' = 'sym'): PeerCase {
  return {
    op: 'quantized_gemm',
    label: `mlx4,m=${m},n=${n},k=${k},gs=${group}${zp === 'asym' ? ',zero_points' : ''}`,
    options: { format: 'mlx4', groupSize: group },
    params: { kind: 'quantized_gemm', m, n, k, group, zp },
    // W is never cut (K and N are the reduction and the row): the same weights at both shapes.
    make: (d, cut) => ({ x: uniform(d, [cut ? Math.min(m, CHECK_ROWS) : m, k], SEED), ...weights(n, k, group, zp) }),
  };
}

/** Realistic LLM shapes (the H100 table). */
export const FULL_CASES: PeerCase[] = [
  gemm(4096, 4096, 4096, false),
  gemm(8, 4096, 14336, true),
  softmax([32, 4096, 4096], 0.088, false),
  softmax([32, 2048, 2048], 0.088, true),
  rmsNorm(16384, 4096, false),
  rmsNorm(4096, 8192, true),
  swiglu(8192, 14336),
  rope(1, 4096, 32, 128, false),
  rope(8, 2048, 8, 128, true, 8192),
  crossEntropy(8192, 128256),
  crossEntropy(4096, 32000),
  // Llama-3-8B prefill: GQA (Hkv = 8) and MHA (Hkv = Hq), causal and not.
  attention(4, 4096, 32, 8, 128, true),
  attention(4, 4096, 32, 8, 128, false),
  attention(4, 4096, 32, 32, 128, true),
  attention(4, 4096, 32, 32, 128, false),
  // One sequence: ORT's non-flash attention materialises [B, H, S, S] probabilities (4 GiB at
  // B = 4 in f16, over a binding limit), and some of its versions take the flash path at B = 1 only.
  attention(1, 4096, 32, 8, 128, true),
  attention(1, 4096, 32, 32, 128, true),
  // Llama-3-8B decode (GQA 4, D = 128) at decode_attention's bench shapes (contiguous cache):
  // one sequence and 16 at 8k keys, one and 8 at 32k (16 at 32k is a 2 GiB f32 cache, at the
  // 2 GiB binding limit), and a batch of 32 at 4k.
  decode(1, 8192, 1, 32, 8, 128),
  decode(16, 8192, 1, 32, 8, 128),
  decode(1, 32768, 1, 32, 8, 128),
  decode(8, 32768, 1, 32, 8, 128),
  decode(32, 4096, 1, 32, 8, 128),
  // Mistral's sliding window and Gemma 2's softcap on a decode step.
  decode(16, 8192, 1, 32, 8, 128, { window: 4096 }),
  decode(16, 8192, 1, 32, 8, 128, { softcap: 50 }),
  // 4-bit decode through the up/gate (4096→14336) and down (14336→4096) projections, the three
  // block sizes, zero points; prefill of 4096 tokens through a 4096×4096 projection.
  qgemm(1, 14336, 4096, 32),
  qgemm(8, 14336, 4096, 32),
  qgemm(1, 4096, 14336, 32),
  qgemm(8, 4096, 14336, 32),
  qgemm(1, 14336, 4096, 64),
  qgemm(1, 14336, 4096, 128),
  qgemm(1, 14336, 4096, 32, 'asym'),
  qgemm(4096, 4096, 4096, 32),
  qgemm(4096, 4096, 4096, 128),
];

/** Small shapes for lavapipe (the tests): every op and form once. */
export const QUICK_CASES: PeerCase[] = [
  gemm(64, 64, 64, false),
  gemm(4, 64, 96, true),
  softmax([2, 16, 128], 0.125, false),
  softmax([2, 16, 16], 0.125, true),
  rmsNorm(16, 256, false),
  rmsNorm(8, 128, true),
  swiglu(16, 256),
  rope(1, 16, 4, 32, false),
  rope(2, 8, 2, 32, true, 64),
  crossEntropy(16, 1000),
  // Every attention form of the peers: GQA causal, MHA + repeated KV heads, MHA with a causal bias, plain MHA.
  attention(2, 32, 4, 2, 32, true),
  attention(2, 32, 4, 2, 32, false),
  attention(1, 48, 2, 2, 64, true),
  attention(1, 48, 2, 2, 64, false),
  // Decode: GQA, MHA, two new tokens (ORT: n/a at B > 1), a window, a softcap.
  decode(2, 64, 1, 4, 2, 32),
  decode(1, 80, 1, 2, 2, 64),
  decode(2, 40, 2, 4, 1, 32),
  decode(2, 64, 1, 4, 2, 32, { window: 16 }),
  decode(2, 64, 1, 4, 2, 32, { softcap: 5 }),
  qgemm(1, 96, 256, 32, 'asym'),
  qgemm(4, 64, 128, 64),
  qgemm(20, 48, 256, 128),
];

/** The dtypes compared: bf16 is pmetal's alone (neither peer has it on WebGPU). */
export const PEER_DTYPES: FloatDType[] = ['f32', 'f16'];
