import { z } from 'zod';
import type { KernelBackend } from '../../backend/interface.js';
import { OptionsError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { convertFloat } from '../convert.js';
import type { LoraAdapters, LoraGrads, LoraTarget } from './adapters.js';

export const loraAdamWOptions = z
  .object({
    lr: z.number().finite().min(0).default(2e-4),
    beta1: z.number().finite().min(0).lt(1).default(0.9),
    beta2: z.number().finite().min(0).lt(1).default(0.999),
    eps: z.number().finite().positive().default(1e-8),
    /** 0 by default, as Hugging Face's Trainer (PyTorch's AdamW default is 1e-2). */
    weightDecay: z.number().finite().min(0).default(0),
  })
  .strict();
export type LoraAdamWOptions = z.input<typeof loraAdamWOptions>;

interface Slot {
  m: Tensor;
  v: Tensor;
  /** f32 master weights when the adapters are f16/bf16. */
  master?: Tensor;
}

/**
 * AdamW over the adapters with fused_adamw_step, one call per A/B tensor (the adapters are
 * separate tensors, and the op takes one flat list: global-norm clipping across them is
 * therefore not offered here). The update is in place (the op's `inPlace`, as PyTorch's
 * optimizers): the adapters, their moments and f32 master weights (16-bit adapters) keep
 * their tensors — and so their GPU buffers — for the whole run, so a training loop's later
 * ops see the same buffers every step (bind groups and launch tapes reused; replacing them
 * each step made ~90% of a step's bind groups new). Every call ORs its flag into one tensor:
 * a step is one read, not one per adapter tensor.
 */
export class LoraAdamW {
  readonly options: z.output<typeof loraAdamWOptions>;
  #slots = new Map<string, Slot>();
  #step = 0;

  constructor(
    private readonly backend: KernelBackend,
    private readonly adapters: LoraAdapters,
    options: LoraAdamWOptions = {},
  ) {
    const p = loraAdamWOptions.safeParse(options);
    if (!p.success) throw new OptionsError(`[lora] optimizer options: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
    this.options = p.data;
  }

  get stepsTaken(): number {
    return this.#step;
  }

  /**
   * One update with `grads` (from loraStep; not consumed). `lr` overrides the options' (a
   * schedule). Resolves to false when a non-finite gradient made the op skip the update of
   * some adapter tensor (that tensor, its moments and master are left as they were).
   */
  async step(grads: LoraGrads, lr = this.options.lr): Promise<boolean> {
    const flag = this.record(grads, lr);
    try {
      return (await this.backend.read(flag))[0] === 0;
    } finally {
      flag.dispose();
    }
  }

  /**
   * step() without the wait: the update recorded, its flag (i32 [1]: 0, or the OR of every
   * skipped tensor's bits) returned for the caller to read — with the loss, one wait a
   * training step — and dispose.
   */
  record(grads: LoraGrads, lr = this.options.lr, clip?: { normSq: Tensor; maxGradNorm: number }): Tensor {
    const b = this.backend;
    const a = this.adapters;
    if (grads.layers.length !== a.layers.length) throw new OptionsError(`[lora] grads: expected ${a.layers.length} layers, got ${grads.layers.length}`);
    // Everything checked before anything moves: a refused step leaves the state as it was.
    a.layers.forEach((la, l) => {
      for (const t of a.settings.targets) {
        if (!la[t]) continue;
        if (!grads.layers[l][t]) throw new OptionsError(`[lora] grads: layer ${l} has no gradient for target ${t}`);
        if (a.dtype !== 'f32' && !this.#slots.get(`${l}.${t}.A`)?.master) throw new OptionsError(`[lora] optimizer: ${a.dtype} adapters need f32 master weights; call initMasters() first`);
      }
    });
    this.#step++;
    // lr and the step count go in as the op's device scalars, so every step has the same
    // options: the same plan and launch tape (run S7: with them in the options, every tensor's
    // update was planned and recorded afresh each step).
    const o = { ...this.options, lr: 0, step: 1, inPlace: true, ...(clip ? { maxGradNorm: clip.maxGradNorm } : {}) };
    const scalars = b.tensor(new Float32Array([lr, this.#step]), [2], 'f32');
    const flag = b.zeros([1], 'i32');
    try {
      a.layers.forEach((la, l) => {
        for (const t of a.settings.targets) {
          const p = la[t];
          const g = grads.layers[l][t as LoraTarget];
          if (!p || !g) continue;
          this.#update(`${l}.${t}.A`, p.A, g.dA, o, scalars, flag, clip?.normSq);
          this.#update(`${l}.${t}.B`, p.B, g.dB, o, scalars, flag, clip?.normSq);
        }
      });
      return flag;
    } catch (e) {
      flag.dispose();
      throw e;
    } finally {
      scalars.dispose();
    }
  }

  #update(key: string, param: Tensor, grad: Tensor, o: object, scalars: Tensor, flag: Tensor, normSq: Tensor | undefined): void {
    const b = this.backend;
    let s = this.#slots.get(key);
    if (!s) {
      s = { m: b.zeros(param.shape, 'f32'), v: b.zeros(param.shape, 'f32') };
      this.#slots.set(key, s);
    }
    // In place: params, m, v, master and flag are the tensors passed in.
    b.fusedAdamwStep({ params: param, grads: grad, m: s.m, v: s.v, scalars, flag, ...(s.master ? { master: s.master } : {}), ...(normSq ? { normSq } : {}) }, o).gradNorm.dispose();
  }

  /** For f16/bf16 adapters: f32 master copies of the current weights (read once from the backend). */
  async initMasters(): Promise<void> {
    const b = this.backend;
    const a = this.adapters;
    for (let l = 0; l < a.layers.length; l++) {
      for (const t of a.settings.targets) {
        const p = a.layers[l][t];
        if (!p || p.A.dtype === 'f32') continue;
        for (const [m, x] of [['A', p.A], ['B', p.B]] as const) {
          const key = `${l}.${t}.${m}`;
          const s = this.#slots.get(key) ?? { m: b.zeros(x.shape, 'f32'), v: b.zeros(x.shape, 'f32') };
          s.master?.dispose();
          s.master = b.tensor(convertFloat(a.dtype, 'f32', await b.read(x)), x.shape, 'f32');
          this.#slots.set(key, s);
        }
      }
    }
  }

  /**
   * The moments (and masters) as f32 host tensors keyed `<layer>.<target>.<A|B>.<m|v|master>`,
   * and the step count: what a checkpoint needs to resume bit for bit.
   */
  async exportState(): Promise<{ step: number; tensors: Record<string, { dtype: 'f32'; shape: readonly number[]; data: Float32Array }> }> {
    const tensors: Record<string, { dtype: 'f32'; shape: readonly number[]; data: Float32Array }> = {};
    for (const [key, s] of this.#slots) {
      for (const [name, t] of [['m', s.m], ['v', s.v], ['master', s.master]] as const) {
        if (t) tensors[`${key}.${name}`] = { dtype: 'f32', shape: t.shape, data: (await this.backend.read(t)) as Float32Array };
      }
    }
    return { step: this.#step, tensors };
  }

  /**
   * Restores exportState's output (replacing any state held): every key must name an adapter
   * tensor this optimizer updates, with its shape; an unknown key or shape is an OptionsError.
   */
  importState(step: number, tensors: Readonly<Record<string, { dtype: string; shape: readonly number[]; data: ArrayLike<number> }>>): void {
    if (!Number.isInteger(step) || step < 0) throw new OptionsError(`[lora] optimizer state: step: expected an integer ≥ 0, got ${step}`);
    const shapes = new Map<string, readonly number[]>();
    this.adapters.layers.forEach((la, l) => {
      for (const t of this.adapters.settings.targets) {
        const p = la[t];
        if (p) (shapes.set(`${l}.${t}.A`, p.A.shape), shapes.set(`${l}.${t}.B`, p.B.shape));
      }
    });
    const parsed = Object.entries(tensors).map(([name, t]) => {
      const m = /^(.+)\.(m|v|master)$/.exec(name);
      const shape = m ? shapes.get(m[1]) : undefined;
      if (!m || !shape) throw new OptionsError(`[lora] optimizer state: "${name}" names no adapter tensor of these adapters`);
      if (t.dtype !== 'f32' || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]) || t.data.length !== shape.reduce((a, d) => a * d, 1)) {
        throw new OptionsError(`[lora] optimizer state: "${name}": expected f32[${shape.join(',')}], got ${t.dtype}[${t.shape.join(',')}]`);
      }
      return { key: m[1], part: m[2] as 'm' | 'v' | 'master', shape, data: Float32Array.from(t.data) };
    });
    for (const key of new Set(parsed.map((p) => p.key))) {
      const parts = new Set(parsed.filter((p) => p.key === key).map((p) => p.part));
      if (!parts.has('m') || !parts.has('v')) throw new OptionsError(`[lora] optimizer state: "${key}" needs both m and v`);
    }
    this.dispose();
    for (const p of parsed) {
      const s = this.#slots.get(p.key) ?? ({} as Slot);
      s[p.part] = this.backend.tensor(p.data, p.shape, 'f32');
      this.#slots.set(p.key, s);
    }
    this.#step = step;
  }

  dispose(): void {
    for (const s of this.#slots.values()) (s.m.dispose(), s.v.dispose(), s.master?.dispose());
    this.#slots.clear();
  }
}
