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
 * the forward outputs that take an upstream gradient. Step h = 1e-5·max(1,|x|): the
 * truncation error is O(h²·f''') and the cancellation error O(ε64·|L|/h), both far below
 * the 1e-6 relative tolerance used.
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
      const h = 1e-5 * Math.max(1, Math.abs(orig));
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
