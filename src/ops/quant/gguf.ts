import { f16ToNumber, numberToF16 } from '../../dtype.js';
import { f, nearestInt, roundf, truncInt } from './f32.js';

/**
 * GGUF/ggml blocks, bit for bit as llama.cpp lays them out (ggml/src/ggml-common.h), and the
 * reference quantizers ported from ggml/src/ggml-quants.c (`quantize_row_*_ref`, the
 * deterministic "reference implementation for deterministic creation of model files"). Every
 * f32 operation of the C code is one f() here (see f32.ts); fp16 stores are
 * GGML_FP32_TO_FP16, round to nearest even.
 *
 *   block_q4_0 (32 elements, 18 bytes): d f16 | qs[16]: element j < 16 the low nibble of
 *     qs[j], element j + 16 its high nibble;  w = (q − 8)·d
 *   block_q8_0 (32, 34 bytes): d f16 | qs[32] int8;  w = q·d
 *   block_q4_K (256, 144 bytes): d f16 | dmin f16 | scales[12] (eight 6-bit scale/min pairs,
 *     get_scale_min_k4) | qs[128]: 64-element groups g, element 64g + l the low nibble of
 *     qs[32g + l] (l < 32, pair 2g) or the high nibble of qs[32g + l − 32] (pair 2g + 1);
 *     w = (d·sc)·q − dmin·m
 *   block_q6_K (256, 210 bytes): ql[128] | qh[64] | scales[16] int8 | d f16; 128-element
 *     halves h, quarter c of 32, lane l: low 4 bits from ql[64h + l + 32(c&1)] (high nibble
 *     when c ≥ 2), high 2 bits from qh[32h + l] >> 2c, scale scales[8h + l/16 + 2c];
 *     w = d·sc·(q − 32)
 */
export const QK4_0 = 32;
export const QK8_0 = 32;
export const QK_K = 256;

const GROUP_MAX_EPS = f(1e-15);
const f16 = (x: number): number => numberToF16(x);
const h2f = (bits: number): number => f16ToNumber(bits);

function putF16(out: Uint8Array, at: number, x: number): void {
  const b = f16(x);
  out[at] = b & 0xff;
  out[at + 1] = b >> 8;
}
const getF16 = (b: Uint8Array, at: number): number => h2f(b[at] | (b[at + 1] << 8));

/** quantize_row_q4_0_ref over k elements (k a multiple of 32) of f32 values. */
export function quantizeQ4_0(x: ArrayLike<number>, k: number, out: Uint8Array, outAt = 0): void {
  for (let i = 0; i < k / QK4_0; i++) {
    const x0 = i * QK4_0;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = x[x0 + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    const o = outAt + i * 18;
    putF16(out, o, d);
    for (let j = 0; j < QK4_0 / 2; j++) {
      const a = f(x[x0 + j] * id);
      const b = f(x[x0 + QK4_0 / 2 + j] * id);
      // (int8_t)(x + 8.5f) truncates; MIN(15, ·).
      const xi0 = Math.min(15, truncInt(f(a + 8.5)));
      const xi1 = Math.min(15, truncInt(f(b + 8.5)));
      out[o + 2 + j] = ((xi0 & 0xff) | ((xi1 & 0xff) << 4)) & 0xff;
    }
  }
}

/** quantize_row_q8_0_ref. */
export function quantizeQ8_0(x: ArrayLike<number>, k: number, out: Uint8Array, outAt = 0): void {
  for (let i = 0; i < k / QK8_0; i++) {
    const x0 = i * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(x[x0 + j]));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    const o = outAt + i * 34;
    putF16(out, o, d);
    for (let j = 0; j < QK8_0; j++) out[o + 2 + j] = roundf(f(x[x0 + j] * id)) & 0xff;
  }
}

/** make_qkx2_quants: a scale and (negated) min for n values with weights, L ∈ [0, nmax]. */
function makeQkx2Quants(n: number, nmax: number, x: ArrayLike<number>, x0: number, weights: Float64Array, L: Uint8Array, l0: number, rmin: number, rdelta: number, nstep: number): { scale: number; theMin: number } {
  let min = x[x0];
  let max = x[x0];
  let sumW = weights[0];
  let sumX = f(sumW * x[x0]);
  for (let i = 1; i < n; i++) {
    if (x[x0 + i] < min) min = x[x0 + i];
    if (x[x0 + i] > max) max = x[x0 + i];
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * x[x0 + i]));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[l0 + i] = 0;
    return { scale: 0, theMin: -min };
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = nearestInt(f(iscale * f(x[x0 + i] - min)));
    L[l0 + i] = Math.max(0, Math.min(nmax, l));
    let diff = f(f(f(scale * L[l0 + i]) + min) - x[x0 + i]);
    diff = f(diff * diff);
    bestError = f(bestError + f(weights[i] * diff));
  }
  const laux = new Uint8Array(n);
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      let l = nearestInt(f(iscale * f(x[x0 + i] - min)));
      l = Math.max(0, Math.min(nmax, l));
      laux[i] = l;
      const w = weights[i];
      sumL = f(sumL + f(w * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
      sumXL = f(sumXL + f(f(w * l) * x[x0 + i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = f(f(f(thisScale * laux[i]) + thisMin) - x[x0 + i]);
        diff = f(diff * diff);
        curError = f(curError + f(weights[i] * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[l0 + i] = laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return { scale, theMin: -min };
}

/** get_scale_min_k4: the 6-bit scale and min of pair j from the 12 packed bytes at `at`. */
export function scaleMinK4(j: number, q: Uint8Array, at: number): [number, number] {
  if (j < 4) return [q[at + j] & 63, q[at + j + 4] & 63];
  return [(q[at + j + 4] & 0xf) | ((q[at + j - 4] >> 6) << 4), (q[at + j + 4] >> 4) | ((q[at + j] >> 6) << 4)];
}

/** quantize_row_q4_K_ref. */
export function quantizeQ4K(x: ArrayLike<number>, k: number, out: Uint8Array, outAt = 0): void {
  const L = new Uint8Array(QK_K);
  const weights = new Float64Array(32);
  const mins = new Float64Array(8);
  const scales = new Float64Array(8);
  for (let i = 0; i < k / QK_K; i++) {
    const xb = i * QK_K;
    const o = outAt + i * 144;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[xb + 32 * j + l] * x[xb + 32 * j + l]));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[xb + 32 * j + l]));
      const r = makeQkx2Quants(32, 15, x, xb + 32 * j, weights, L, 32 * j, -1, f(0.1), 20);
      scales[j] = r.scale;
      mins[j] = r.theMin;
      if (r.scale > maxScale) maxScale = r.scale;
      if (r.theMin > maxMin) maxMin = r.theMin;
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    const sc = o + 4;
    for (let j = 0; j < 8; j++) {
      // uint8_t ls = nearest_int(…) (wraps mod 256), then MIN(63, ·).
      const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
      if (j < 4) {
        out[sc + j] = ls;
        out[sc + j + 4] = lm;
      } else {
        out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        out[sc + j - 4] |= (ls >> 4) << 6;
        out[sc + j] |= (lm >> 4) << 6;
      }
    }
    putF16(out, o, f(maxScale / 63));
    putF16(out, o + 2, f(maxMin / 63));
    const dAll = getF16(out, o);
    const mAll = getF16(out, o + 2);
    for (let j = 0; j < 8; j++) {
      const [s, m] = scaleMinK4(j, out, sc);
      const d = f(dAll * s);
      if (!d) continue;
      const dm = f(mAll * m);
      for (let ii = 0; ii < 32; ii++) {
        const l = nearestInt(f(f(x[xb + 32 * j + ii] + dm) / d));
        L[32 * j + ii] = Math.max(0, Math.min(15, l));
      }
    }
    for (let j = 0, q = o + 16; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 4);
    }
  }
}

/** make_qx_quants with rmse_type = 1 and no quant weights (what quantize_row_q6_K_ref calls). */
function makeQxQuants(n: number, nmax: number, x: ArrayLike<number>, x0: number, L: Int8Array, l0: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[x0 + i]);
    if (ax > amax) {
      amax = ax;
      max = x[x0 + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[l0 + i] = 0;
    return 0;
  }
  const clampL = (l: number) => Math.max(-nmax, Math.min(nmax - 1, l));
  let iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[x0 + i];
    const l = clampL(nearestInt(f(iscale * xi)));
    L[l0 + i] = l + nmax;
    const w = f(xi * xi);
    sumlx = f(sumlx + f(f(w * xi) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[x0 + i];
      const l = clampL(nearestInt(f(iscale * xi)));
      const w = f(xi * xi);
      sumlx = f(sumlx + f(f(w * xi) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) L[l0 + i] = nmax + clampL(nearestInt(f(iscale * x[x0 + i])));
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/** quantize_row_q6_K_ref. */
export function quantizeQ6K(x: ArrayLike<number>, k: number, out: Uint8Array, outAt = 0): void {
  const L = new Int8Array(QK_K);
  const scales = new Float64Array(16);
  for (let i = 0; i < k / QK_K; i++) {
    const xb = i * QK_K;
    const o = outAt + i * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xb + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      out.fill(0, o, o + 210);
      putF16(out, o + 208, 0);
      continue;
    }
    const iscale = f(-128 / maxScale);
    putF16(out, o + 208, f(1 / iscale));
    for (let ib = 0; ib < 16; ib++) out[o + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    const dAll = getF16(out, o + 208);
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * ((out[o + 192 + j] << 24) >> 24));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f(x[xb + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let j = 0, ql = o, qh = o + 128; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l] & 0xf;
        const q2 = L[j + l + 32] & 0xf;
        const q3 = L[j + l + 64] & 0xf;
        const q4 = L[j + l + 96] & 0xf;
        out[ql + l] = q1 | (q3 << 4);
        out[ql + l + 32] = q2 | (q4 << 4);
        out[qh + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
      }
    }
  }
}

/**
 * Element e of the block at byte `at`, exactly (float64): the value llama.cpp's
 * dequantize_row_* computes before its f32 rounding (see each format above).
 */
export function ggufElement(format: 'q4_0' | 'q8_0' | 'q4_k' | 'q6_k', b: Uint8Array, at: number, e: number): number {
  switch (format) {
    case 'q4_0': {
      const byte = b[at + 2 + (e % 16)];
      return ((e < 16 ? byte & 0xf : byte >> 4) - 8) * getF16(b, at);
    }
    case 'q8_0':
      return ((b[at + 2 + e] << 24) >> 24) * getF16(b, at);
    case 'q4_k': {
      const g = e >> 6;
      const l = e & 63;
      const byte = b[at + 16 + 32 * g + (l & 31)];
      const [sc, m] = scaleMinK4(2 * g + (l >> 5), b, at + 4);
      return getF16(b, at) * sc * (l < 32 ? byte & 0xf : byte >> 4) - getF16(b, at + 2) * m;
    }
    case 'q6_k': {
      const h = e >> 7;
      const c = (e >> 5) & 3;
      const l = e & 31;
      const lo = b[at + 64 * h + l + 32 * (c & 1)];
      const q = ((c >= 2 ? lo >> 4 : lo & 0xf) | (((b[at + 128 + 32 * h + l] >> (2 * c)) & 3) << 4)) - 32;
      const sc = (b[at + 192 + 8 * h + (l >> 4) + 2 * c] << 24) >> 24;
      return getF16(b, at + 208) * sc * q;
    }
  }
}
