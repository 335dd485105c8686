import { getSpec } from '../src/ops/registry.js';
import { rng } from '../src/ops/random.js';
import type { OpCase, RefTensor } from '../src/ops/types.js';
import { toFloat64, type FloatDType } from '../src/dtype.js';

export interface GradRecord {
  op: string;
  case: string;
  input: string;
  pass: boolean;
  checked: number;
  maxAbsErr: number;
  tol: number;
}

/**
 * Central finite differences of the forward reference (float64) against the backward
 * reference, on sampled elements of every differentiable input. The loss is Σ up·out over
 * the forward outputs that take an upstream gradient. The truncation error is O(h²·f''');
 * the rounding error of one loss evaluation is of order ε64·M, M = Σ|up·out| (the terms'
 * magnitudes, not |L|: a large output's float64 roundings do not cancel between the two
 * evaluations), divided by h in the difference. Step h = max(1e-5, ∛(ε64·M))·max(1,|x|):
 * 1e-5 while M ≤ 4.5 (ε64 = 2^-52), then the classic balance of the two (h ∝ (ε·M)^⅓) — a loss of 10⁶
 * (fused_norm_lora's 64×1000 outputs) left ~1e-5 of noise at h = 1e-5, over the 1e-6
 * relative tolerance used, and leaves ~4e-7 at h ≈ 6e-4.
 */
export function gradCheck(backwardOp: string, c: OpCase, seed: number, samples = 8): GradRecord[] {
  const bwd = getSpec(backwardOp);
  const gc = bwd.gradCheck;
  if (!gc) return [];
  const fwd = getSpec(gc.forward);
  const dtype: FloatDType = 'f32';
  const host = c.make(dtype, seed);
  const opts = fwd.options.parse(c.options);
  const fin: Record<string, RefTensor> = {};
  for (const i of fwd.inputs) {
    const h = host[i.name];
    if (h) fin[i.name] = { dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) };
  }
  const fout = fwd.reference(fin, opts) as Record<string, RefTensor>;
  const r = rng(seed + 99);
  const up: Record<string, RefTensor> = {};
  for (const name of Object.keys(gc.upstream)) {
    const o = fout[name];
    // An optional output the case does not produce (rope's yk without k) takes no gradient.
    if (!o) continue;
    const d = new Float64Array(o.data.length);
    for (let i = 0; i < d.length; i++) d[i] = r() * 2 - 1;
    up[name] = { dtype: o.dtype, shape: o.shape, data: d };
  }
  const loss = (inputs: Record<string, RefTensor>) => {
    const out = fwd.reference(inputs, opts) as Record<string, RefTensor>;
    let l = 0;
    for (const name of Object.keys(up)) for (let i = 0; i < up[name].data.length; i++) l += up[name].data[i] * out[name].data[i];
    return l;
  };
  let mag = 0;
  for (const name of Object.keys(up)) for (let i = 0; i < up[name].data.length; i++) mag += Math.abs(up[name].data[i] * fout[name].data[i]);
  const step = Math.max(1e-5, Math.cbrt(Number.EPSILON * mag));
  const bopts = bwd.options.parse(pickKnown(bwd.options, c.options));
  const grads = bwd.reference(gc.backwardInputs(fin, fout, up), bopts) as Record<string, RefTensor>;
  const records: GradRecord[] = [];
  for (const [input, gname] of Object.entries(gc.grads)) {
    const x = fin[input];
    if (!x) continue;
    const g = grads[gname];
    let maxAbsErr = 0;
    let tol = 0;
    let pass = true;
    const n = x.data.length;
    const picks = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, () => Math.floor(r() * n));
    for (const j of picks) {
      const orig = x.data[j];
      const h = step * Math.max(1, Math.abs(orig));
      const plus = new Float64Array(x.data);
      plus[j] = orig + h;
      const minus = new Float64Array(x.data);
      minus[j] = orig - h;
      const fd = (loss({ ...fin, [input]: { ...x, data: plus } }) - loss({ ...fin, [input]: { ...x, data: minus } })) / (2 * h);
      const err = Math.abs(fd - g.data[j]);
      const t = 1e-6 * (1 + Math.abs(g.data[j]));
      if (err > maxAbsErr) {
        maxAbsErr = err;
        tol = t;
      }
      if (!(err <= t)) pass = false;
    }
    records.push({ op: backwardOp, case: `${backwardOp}:grad:${c.label}:seed=${seed}`, input, pass, checked: picks.length, maxAbsErr, tol });
  }
  return records;
}

/** The forward case's options restricted to the keys the backward op's schema knows. */
function pickKnown(schema: unknown, options: Record<string, unknown>): Record<string, unknown> {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (!shape) return options;
  return Object.fromEntries(Object.entries(options).filter(([k]) => k in shape));
}
