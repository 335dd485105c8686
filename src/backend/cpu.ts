import { allocHost, fromFloat64, toFloat64, type DType, type HostArray } from '../dtype.js';
import { getSpec, type OpName } from '../ops/registry.js';
import { inPlaceOf, type RefTensor, type TensorInfo } from '../ops/types.js';
import type { Tensor } from '../tensor.js';
import { BaseBackend } from './base.js';
import type { Capabilities, KernelBackend } from './interface.js';

/**
 * The cpu backend: the float64 references behind the interface, outputs rounded to their
 * dtype. It is the conformance oracle and the fallback that always works; not tuned.
 */
export class CpuBackend extends BaseBackend implements KernelBackend {
  readonly name = 'cpu' as const;

  protected tiersFor(op: OpName, dtype: DType): readonly string[] {
    return (getSpec(op).dtypes as readonly DType[]).includes(dtype) ? ['reference'] : [];
  }

  protected createStorage(dtype: DType, shape: readonly number[], data?: HostArray): HostArray {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = allocHost(dtype, n);
    if (data) out.set(data as never);
    return out;
  }

  protected async readStorage(t: Tensor): Promise<HostArray> {
    return t.storage<HostArray>('read').slice();
  }

  protected freeStorage(): void {}

  protected copyStorage(op: string, src: Tensor, scale: number): HostArray {
    const s = src.storage<HostArray>(op);
    return scale === 1 ? s.slice() : fromFloat64(src.dtype, toFloat64(src.dtype, s).map((v) => v * scale));
  }

  async sync(): Promise<void> {
    this.alive('sync');
  }

  protected execute(op: OpName, _tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>): Record<string, Tensor> {
    const refs: Record<string, RefTensor> = {};
    for (const [k, t] of Object.entries(inputs)) refs[k] = { dtype: t.dtype, shape: t.shape, data: toFloat64(t.dtype, t.storage<HostArray>(op)) };
    const res = getSpec(op).reference(refs, options) as Record<string, RefTensor | undefined>;
    const out: Record<string, Tensor> = {};
    const inPlace = inPlaceOf(getSpec(op), inputs, options);
    for (const [k, info] of Object.entries(outputs)) {
      const r = res[k];
      if (!r) throw new Error(`[${op}] reference produced no '${k}'`);
      const src = inPlace[k];
      if (src === undefined) out[k] = this.newTensor(info, fromFloat64(info.dtype, r.data));
      else {
        // Updated in place: the reference computed the new values on a copy; write back the
        // elements that changed, so an element the op leaves alone keeps its exact bits (a
        // NaN's payload, which a float64 round trip would not keep: a skipped AdamW step).
        const dst = inputs[src].storage<HostArray>(op);
        const next = fromFloat64(info.dtype, r.data);
        for (let e = 0; e < dst.length; e++) if (!Object.is(dst[e], next[e])) dst[e] = next[e];
        out[k] = inputs[src];
      }
    }
    return out;
  }

  capabilities(): Capabilities {
    return { backend: 'cpu', device: 'host (float64 reference)', features: [], tiers: ['reference'], ops: this.opSupport(), timestamps: false };
  }

  dispose(): void {
    this.markDisposed();
  }
}
