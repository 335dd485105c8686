import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { DTypeError, ShapeError } from '../../src/errors.js';
import { distillForward, type DistillOpts } from '../../src/ops/fused_distill_loss/reference.js';
import type { RefTensor } from '../../src/ops/types.js';

const cpu = new CpuBackend();
const t = (rows: number, v: number, f: (k: number) => number): RefTensor => ({ dtype: 'f32', shape: [rows, v], data: Float64Array.from({ length: rows * v }, (_, k) => f(k)) });
const loss = (s: RefTensor, te: RefTensor, o: Partial<DistillOpts>) => distillForward(s, te, { loss: 'kl', temperature: 1, reduction: 'none', ...o }).loss;

describe('fused_distill_loss reference: the divergences it names', () => {
  const s = t(3, 11, (k) => Math.sin(k) * 3);
  const w = t(3, 11, (k) => Math.cos(k * 1.3) * 2);
  it('KL(p‖q) is kl_div(log q, p): Σ p·(log p − log q), times τ²', () => {
    const tau = 2;
    const [r0] = loss(s, w, { temperature: tau });
    const row = (x: RefTensor) => {
      const z = Array.from(x.data.subarray(0, 11), (v) => v / tau);
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      return z.map((v) => v - lse);
    };
    const lq = row(s);
    const lp = row(w);
    expect(r0).toBeCloseTo(tau * tau * lp.reduce((a, l, j) => a + Math.exp(l) * (l - lq[j]), 0), 12);
  });
  it('reverse KL swaps the roles, JS is symmetric and at most τ²·log 2, soft CE = KL + entropy(p)·τ²', () => {
    const rk = loss(s, w, { loss: 'reverse_kl' });
    const kSwapped = loss(w, s, { loss: 'kl' });
    for (let r = 0; r < 3; r++) expect(rk[r]).toBeCloseTo(kSwapped[r], 12);
    const js = loss(s, w, { loss: 'js', temperature: 3 });
    const jsSwapped = loss(w, s, { loss: 'js', temperature: 3 });
    for (let r = 0; r < 3; r++) {
      expect(js[r]).toBeCloseTo(jsSwapped[r], 12);
      expect(js[r]).toBeGreaterThan(0);
      expect(js[r]).toBeLessThanOrEqual(9 * Math.log(2));
    }
    const kl = loss(s, w, {});
    const ce = loss(s, w, { loss: 'soft_ce' });
    const entropy = loss(w, w, { loss: 'soft_ce' });
    for (let r = 0; r < 3; r++) expect(ce[r]).toBeCloseTo(kl[r] + entropy[r], 12);
    expect(Array.from(loss(s, s, {}), Math.abs).every((x) => x < 1e-12)).toBe(true);
  });
});

describe('fused_distill_loss input checks', () => {
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  it.each([
    ['teacher of another shape', () => cpu.fusedDistillLoss({ student: f([2, 5]), teacher: f([2, 6]) }), ShapeError, /^\[fused_distill_loss\] teacher: expected f32\[2,5\], got f32\[2,6\]$/],
    ['teacher of another dtype', () => cpu.fusedDistillLoss({ student: f([2, 5]), teacher: cpu.tensor(new Uint16Array(10), [2, 5], 'bf16') }), DTypeError, /^\[fused_distill_loss\] teacher: expected f32\[2,5\], got bf16\[2,5\]$/],
    ['dloss per row with a mean', () => cpu.fusedDistillLossBackward({ student: f([2, 5]), teacher: f([2, 5]), studentLse: f([2]), teacherLse: f([2]), dloss: f([2]) }), ShapeError, /^\[fused_distill_loss_backward\] dloss: expected f32\[1\], got f32\[2\]$/],
    ['zero temperature', () => cpu.fusedDistillLoss({ student: f([2, 5]), teacher: f([2, 5]) }, { temperature: 0 }), Error, /^\[fused_distill_loss\] temperature: /],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});
