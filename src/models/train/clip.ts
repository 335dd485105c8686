import type { KernelBackend } from '../../backend/interface.js';
import { OptionsError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import type { LoraGrads } from './adapters.js';

/** Every adapter's gradient pair, layer by layer in target order (the order both sums take). */
function gradEntries(grads: LoraGrads) {
  return grads.layers.flatMap((la) => Object.values(la).flatMap((p) => [p!]));
}

/**
 * torch.nn.utils.clip_grad_norm_ over every adapter gradient together: the global L2 norm,
 * then every gradient × min(1, maxNorm / (norm + 1e-6)). fused_adamw_step clips one flat list
 * only, and the adapters are separate tensors, so this composes it from gemm: Σg² of a tensor
 * is g[1, n]·g[1, n]ᵀ (one f32 dot product), the scale is g[n, 1]·[[c]] (one rounding per
 * element, O(n)). The norms are read back (one small host sync). Replaces the tensors in
 * `grads` when it scales; resolves to the norm before clipping.
 */
export async function clipGradNorm(b: KernelBackend, grads: LoraGrads, maxNorm: number): Promise<number> {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw new OptionsError(`[lora] maxGradNorm: expected a finite number > 0, got ${maxNorm}`);
  const entries = gradEntries(grads);
  const squares: Tensor[] = [];
  try {
    for (const p of entries) {
      for (const k of ['dA', 'dB'] as const) {
        const shape = p[k].shape;
        const row = b.reshape(p[k], [1, p[k].size]);
        squares.push(b.gemm({ a: row, b: row }, { transB: true }).y);
        p[k] = b.reshape(row, shape);
      }
    }
    // Read together (one wait for the GPU), summed in list order.
    let sum = 0;
    for (const s of await Promise.all(squares.map((t) => b.read(t)))) sum += s[0];
    const norm = Math.sqrt(sum);
    const c = maxNorm / (norm + 1e-6);
    if (c < 1) {
      const factor = b.tensor(new Float32Array([c]), [1, 1], 'f32');
      try {
        for (const p of entries) {
          for (const k of ['dA', 'dB'] as const) {
            const shape = p[k].shape;
            const col = b.reshape(p[k], [p[k].size, 1]);
            const scaled = b.gemm({ a: col, b: factor }).y;
            col.dispose();
            p[k] = b.reshape(scaled, shape);
          }
        }
      } finally {
        factor.dispose();
      }
    }
    return norm;
  } finally {
    for (const s of squares) s.dispose();
  }
}

/**
 * Σg² over every adapter gradient, on the backend (f32 [1]): each tensor's g[1, n]·g[1, n]ᵀ
 * added to the running sum by gemm's c (β = 1), in list order — no read-back. The LoRA
 * trainer hands it to fused_adamw_step's normSq so every adapter's update clips by the global
 * norm (torch.nn.utils.clip_grad_norm_'s factor) without the host waiting in mid-step, which
 * clipGradNorm does.
 */
export function gradNormSq(b: KernelBackend, grads: LoraGrads): Tensor {
  const entries = gradEntries(grads);
  let total: Tensor | undefined;
  try {
    for (const p of entries) {
      for (const k of ['dA', 'dB'] as const) {
        const shape = p[k].shape;
        const row = b.reshape(p[k], [1, p[k].size]);
        const next = b.gemm({ a: row, b: row, ...(total ? { c: total } : {}) }, { transB: true, ...(total ? { beta: 1 } : {}) }).y;
        total?.dispose();
        total = next;
        p[k] = b.reshape(row, shape);
      }
    }
    const out = total ? b.reshape(total, [1]) : b.zeros([1], 'f32');
    total = undefined;
    return out;
  } finally {
    total?.dispose();
  }
}
