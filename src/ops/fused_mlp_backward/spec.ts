import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { expectShape, required } from '../check.js';
import { loraCommonOptions } from '../fused_lora_forward/spec.js';
import { MLP_BACKWARD_BENCH, MLP_BACKWARD_CASES } from '../fused_mlp/cases.js';
import { checkMlp, expectAbsent } from '../fused_mlp/check.js';
import { mlpBackwardFuzz } from '../fused_mlp/fuzz.js';
import { PROJS, type MlpOpts } from '../fused_mlp/reference.js';
import { ADAPTER_INPUTS } from '../fused_mlp/spec.js';
import { boundsOf } from '../tolerance.js';
import { defineOp, type RefTensor, type TensorInfo } from '../types.js';
import { mlpBackwardErrors, mlpBackwardRef, type MlpBackwardInputs } from './reference.js';

/** The forward's options (the same alpha, dropout, seed regenerate its masks; recompute as there) and `accumulate` (as fused_lora_backward). */
const { format: _f, groupSize: _g, ...loraOpts } = loraCommonOptions;
export const fusedMlpBackwardOptions = z.object({ ...loraOpts, recompute: z.boolean().default(true), accumulate: z.boolean().default(false) }).strict();
export type FusedMlpBackwardOptions = z.input<typeof fusedMlpBackwardOptions>;

const OP = 'fused_mlp_backward';

const PER_ADAPTER = PROJS.flatMap((p) => [
  { name: `${p}Xa`, optional: true, doc: `f32 [..., r]: the forward's ${p}Xa (with the ${p} adapter)` },
  { name: `${p}DAIn`, optional: true, doc: 'f32 [r, in]: with accumulate' },
  { name: `${p}DBIn`, optional: true, doc: 'f32 [out, r]: with accumulate' },
]);

export const fusedMlpBackward = defineOp({
  name: OP,
  summary:
    "Gradients of fused_mlp (W frozen): g and u recomputed from x (recompute, the default) or the saved ones, h = silu(g)·u re-formed; the down projection's LoRA backward gives dh (and its dA, dB), swiglu's backward dg and du, the gate and up projections' LoRA backward their dA, dB and dx = dx_gate + dx_up (the up pass adds the gate's dx under its own mask). dA/dB in f32 for each adapter given, `accumulate` adds into <proj>DAIn/DBIn.",
  inputs: [
    { name: 'dy', doc: '[..., N] upstream gradient, dtype of x' },
    { name: 'x', doc: '[..., K], the forward input' },
    { name: 'wGate', doc: '[I, K]' },
    { name: 'wUp', doc: '[I, K]' },
    { name: 'wDown', doc: '[N, I]' },
    ...ADAPTER_INPUTS,
    ...PER_ADAPTER,
    { name: 'gate', optional: true, doc: "[..., I]: the forward's g, with recompute = false" },
    { name: 'up', optional: true, doc: "[..., I]: the forward's u, with recompute = false" },
  ],
  outputs: [
    { name: 'dx', doc: 'shape and dtype of x' },
    ...PROJS.flatMap((p) => [
      { name: `${p}DA`, optional: true, doc: `f32 [r, in]: with the ${p} adapter` },
      { name: `${p}DB`, optional: true, doc: `f32 [out, r]: with the ${p} adapter` },
    ]),
  ],
  options: fusedMlpBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const dy = required(OP, 'dy', i.dy);
    const { x, k, inter, n, lead, ranks } = checkMlp(OP, i);
    expectShape(OP, 'dy', dy, [...lead, n], x.dtype);
    const out: Record<string, TensorInfo> = { dx: { dtype: x.dtype, shape: x.shape } };
    for (const p of PROJS) {
      const r = ranks[p];
      const [po, pi] = p === 'down' ? [n, inter] : [inter, k];
      if (!r) {
        for (const s of ['Xa', 'DAIn', 'DBIn']) expectAbsent(OP, `${p}${s}`, i[`${p}${s}`], `without the ${p} adapter`);
        continue;
      }
      expectShape(OP, `${p}Xa`, required(OP, `${p}Xa`, i[`${p}Xa`]), [...lead, r], 'f32');
      for (const [s, shape] of [
        ['DAIn', [r, pi]],
        ['DBIn', [po, r]],
      ] as const) {
        if (o.accumulate) expectShape(OP, `${p}${s}`, required(OP, `${p}${s}`, i[`${p}${s}`]), shape, 'f32');
        else expectAbsent(OP, `${p}${s}`, i[`${p}${s}`], 'without accumulate');
      }
      out[`${p}DA`] = { dtype: 'f32', shape: [r, pi] };
      out[`${p}DB`] = { dtype: 'f32', shape: [po, r] };
    }
    for (const s of ['gate', 'up']) {
      if (!o.recompute) expectShape(OP, s, required(OP, s, i[s]), [...lead, inter], x.dtype);
      else expectAbsent(OP, s, i[s], 'with recompute (g and u are recomputed from x)');
    }
    return out;
  },
  // Over zero rows every dA, dB is a sum of nothing: 0 (with accumulate the inputs pass
  // through the kernels' T = 0 products).
  emptyResult(i, o) {
    const t = i.x!.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (t !== 0 || o.accumulate) return undefined;
    return Object.fromEntries(PROJS.filter((p) => i[`${p}A`]).flatMap((p) => [[`${p}DA`, 0], [`${p}DB`, 0]]));
  },
  reference(i, o) {
    const b = mlpBackwardRef(i as MlpBackwardInputs, o as MlpOpts);
    const out: Record<string, RefTensor> = { dx: { dtype: i.x!.dtype, shape: i.x!.shape, data: b.dx } };
    for (const p of PROJS) {
      const gr = b.grads[p];
      const a = i[`${p}A`];
      if (!a || !gr.dA || !gr.dB) continue;
      out[`${p}DA`] = { dtype: 'f32', shape: a.shape, data: gr.dA };
      out[`${p}DB`] = { dtype: 'f32', shape: i[`${p}B`]!.shape, data: gr.dB };
    }
    return out as never;
  },
  bounds(i, o, ref) {
    // Derived in reference.ts (mlpBackwardErrors): fused_lora_backward's bounds (gemm's
    // without adapter) for each projection, the forward's bounds of the recomputed g, u, h,
    // swiglu_backward's with its inputs' errors carried through, and dy's error of each
    // projection carried through its products.
    const e = mlpBackwardErrors(i as MlpBackwardInputs, o as MlpOpts);
    const out: Record<string, Float64Array> = { dx: boundsOf(i.x!.dtype, ref.dx!.data, (q) => e.eDX[q]) };
    for (const p of PROJS) {
      const ea = e.eDA[p];
      const eb = e.eDB[p];
      const ra = ref[`${p}DA` as 'dx'];
      const rb = ref[`${p}DB` as 'dx'];
      if (ea && ra) out[`${p}DA`] = boundsOf('f32', ra.data, (q) => ea[q]);
      if (eb && rb) out[`${p}DB`] = boundsOf('f32', rb.data, (q) => eb[q]);
    }
    return out as never;
  },
  cases: MLP_BACKWARD_CASES,
  bench: MLP_BACKWARD_BENCH,
  cost(i, o) {
    const x = i.x!;
    const k = x.shape[x.shape.length - 1];
    const t = x.shape.reduce((a, b) => a * b, 1) / k;
    const inter = i.wGate!.shape[0];
    const n = i.wDown!.shape[0];
    const e = BYTES[x.dtype];
    // dh = dy·W_d, dx = dg·W_g + du·W_u; recomputing g and u adds two T×I×K products.
    let flops = 2 * t * n * inter + 4 * t * inter * k + (o.recompute ? 4 * t * inter * k : 0) + 18 * t * inter;
    let bytes = e * (t * n + 2 * t * k + 2 * inter * k + n * inter) + (o.recompute ? 0 : 2 * e * t * inter);
    for (const p of PROJS) {
      const a = i[`${p}A`];
      if (!a) continue;
      const r = a.shape[0];
      const [po, pi] = p === 'down' ? [n, inter] : [inter, k];
      flops += 4 * t * po * r + 4 * t * r * pi + (o.recompute && p !== 'down' ? 2 * t * r * pi + 2 * t * po * r : 0);
      bytes += e * (r * pi + po * r) + 4 * (t * r + (o.accumulate ? 2 : 1) * (r * pi + po * r));
    }
    return { flops, bytes };
  },
  gradCheck: {
    forward: 'fused_mlp',
    // The norm prologue (normWeight, residual) is forward-only: this backward takes the
    // normalised input, so forward cases with it (labels `norm` / `norm+res`) are not its gradient.
    applies: (c) => !/(^|,)norm(\+res)?(,|$)/.test(c.label),
    grads: { x: 'dx', gateA: 'gateDA', gateB: 'gateDB', upA: 'upDA', upB: 'upDB', downA: 'downDA', downB: 'downDB' },
    upstream: { y: 'dy' },
    backwardInputs: (fin, fout, up) => {
      const b: Record<string, RefTensor> = { dy: up.y };
      for (const [k, v] of Object.entries(fin)) b[k] = v;
      for (const name of ['gateXa', 'upXa', 'downXa', 'gate', 'up']) if (fout[name]) b[name] = fout[name];
      return b;
    },
  },
  fuzz: mlpBackwardFuzz,
});
