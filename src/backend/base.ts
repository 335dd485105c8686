import { hostArrayMatches, type DType, type HostArray } from '../dtype.js';
import { BackendMismatchError, DTypeError, NotSupportedError, ShapeError, TierUnavailableError } from '../errors.js';
import { parseOptions } from '../ops/check.js';
import { OPS, PLANNED_OPS, getSpec, type OpName } from '../ops/registry.js';
import type { TensorInfo } from '../ops/types.js';
import { Tensor, shapeSize, type TensorOwner } from '../tensor.js';
import type { BackendName, CallOptions, Capabilities, KernelBackend, PlannedMethod, PlannedMethods, TierSupport } from './interface.js';

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
/** Instances created so far, per backend class: the `#n` of BaseBackend.id. */
const created = new Map<unknown, number>();

/**
 * What every backend shares: option parsing, shape/dtype checks, ownership checks and
 * routing happen here, before a backend sees the call — so a bad call never reaches a GPU.
 * A backend supplies storage, its tiers per op, and `execute`.
 */
export abstract class BaseBackend implements TensorOwner {
  abstract readonly name: BackendName;
  #forced = new Map<string, string>();
  #seq: number;

  /** Tiers that can run `op` on `dtype` here, best first; empty when unsupported. */
  protected abstract tiersFor(op: OpName, dtype: DType): readonly string[];
  protected abstract execute(op: OpName, tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>): Record<string, Tensor>;
  protected abstract createStorage(dtype: DType, shape: readonly number[], data?: HostArray): unknown;
  protected abstract readStorage(t: Tensor): Promise<HostArray>;
  abstract releaseStorage(storage: unknown): void;
  abstract sync(): Promise<void>;
  abstract capabilities(): Capabilities;
  abstract dispose(): void;

  constructor() {
    this.#seq = (created.get(new.target) ?? 0) + 1;
    created.set(new.target, this.#seq);
    for (const op of PLANNED_OPS) {
      const fn: PlannedMethod = () => {
        throw new NotSupportedError(`[${op}] not supported by the ${this.name} backend (not implemented yet)`);
      };
      (this as unknown as Record<string, PlannedMethod>)[camel(op)] = fn;
    }
  }

  /** `webgpu#2`: tells two backends of one kind apart in messages (numbered in creation order). */
  get id(): string {
    return `${this.name}#${this.#seq}`;
  }

  /** Support table built from `tiersFor`, shared by capabilities() of every backend. */
  protected opSupport(): Record<string, TierSupport[]> {
    const out: Record<string, TierSupport[]> = {};
    for (const op of Object.keys(OPS) as OpName[]) {
      const byTier = new Map<string, TierSupport>();
      for (const d of OPS[op].dtypes) {
        for (const t of this.tiersFor(op, d)) {
          const s = byTier.get(t) ?? { tier: t, dtypes: [] };
          (s.dtypes as string[]).push(d);
          byTier.set(t, s);
        }
      }
      if (byTier.size) out[op] = [...byTier.values()];
    }
    return out;
  }

  supports(op: string, dtype?: DType): boolean {
    if (!(op in OPS)) return false;
    const spec = getSpec(op);
    const ds = dtype ? [dtype] : spec.dtypes;
    return ds.some((d) => this.tiersFor(op as OpName, d).length > 0);
  }

  tensor(data: HostArray, shape: readonly number[], dtype?: DType): Tensor {
    const d = dtype ?? inferDtype(data);
    if (!hostArrayMatches(d, data)) throw new DTypeError(`[tensor] data: expected the host array of ${d} (${d === 'f16' || d === 'bf16' ? 'Uint16Array bit patterns' : d}), got ${data?.constructor?.name}`);
    checkShape('tensor', shape);
    if (shapeSize(shape) !== data.length) throw new ShapeError(`[tensor] data: expected ${shapeSize(shape)} elements for shape [${shape.join(',')}], got ${data.length}`);
    return new Tensor(this, d, shape, this.createStorage(d, shape, data));
  }

  zeros(shape: readonly number[], dtype: DType): Tensor {
    checkShape('zeros', shape);
    return new Tensor(this, dtype, shape, this.createStorage(dtype, shape));
  }

  async read(t: Tensor): Promise<HostArray> {
    this.own('read', 'tensor', t);
    return this.readStorage(t);
  }

  setTier(op: OpName | '*', tier: string | undefined): void {
    if (op !== '*') getSpec(op);
    if (tier === undefined) this.#forced.delete(op);
    else this.#forced.set(op, tier);
  }

  route(op: OpName, inputs: Record<string, Tensor | undefined>, call?: CallOptions, options?: Record<string, unknown>): string {
    const spec = getSpec(op);
    const primary = inputs[spec.inputs[0].name];
    const dtype = primary?.dtype ?? spec.dtypes[0];
    const tiers = this.tiersFor(op, dtype);
    if (tiers.length === 0) throw new NotSupportedError(`[${op}] not supported by the ${this.name} backend for ${dtype}`);
    const forced = call?.tier ?? this.#forced.get(op) ?? this.#forced.get('*');
    if (forced === undefined) return this.pick(op, tiers, inputs, options);
    if (!tiers.includes(forced)) {
      throw new TierUnavailableError(`[${op}] tier '${forced}' is not available on the ${this.name} backend for ${dtype} here (available: ${tiers.join(', ')})`);
    }
    return forced;
  }

  /** Chooses among available tiers; shape-dependent backends (metal's gemm rule) override it. */
  protected pick(_op: OpName, tiers: readonly string[], _inputs: Record<string, Tensor | undefined>, _options?: Record<string, unknown>): string {
    return tiers[0];
  }

  run(op: OpName, inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions): Record<string, Tensor> {
    const spec = getSpec(op);
    const opts = parseOptions(op, spec.options, options);
    const infos: Record<string, TensorInfo> = {};
    const given: Record<string, Tensor> = {};
    const known = new Set(spec.inputs.map((i) => i.name));
    for (const k of Object.keys(inputs ?? {})) {
      if (!known.has(k) && inputs[k] !== undefined) throw new ShapeError(`[${op}] ${k}: unknown input (expected ${[...known].join(', ')})`);
    }
    for (const { name } of spec.inputs) {
      const t = inputs?.[name];
      if (t === undefined || t === null) continue;
      this.own(op, name, t);
      infos[name] = t;
      given[name] = t;
    }
    const outs = spec.check(infos, opts) as Record<string, TensorInfo | undefined>;
    const outInfos: Record<string, TensorInfo> = {};
    for (const [k, v] of Object.entries(outs)) if (v) outInfos[k] = v;
    const tier = this.route(op, given, call, opts as Record<string, unknown>);
    return this.execute(op, tier, given, opts, outInfos);
  }

  protected own(op: string, name: string, t: unknown): asserts t is Tensor {
    if (!(t instanceof Tensor)) throw new ShapeError(`[${op}] ${name}: expected a Tensor, got ${typeof t === 'object' ? t?.constructor?.name : typeof t}`);
    t.storage(`[${op}] ${name}`);
    if (t.owner !== this) {
      const from = (t.owner as { id?: string }).id ?? t.backendName;
      throw new BackendMismatchError(`[${op}] ${name}: tensor belongs to backend ${from}, not ${this.id}; move it with read() + tensor()`);
    }
  }

  protected newTensor(info: TensorInfo, storage: unknown): Tensor {
    return new Tensor(this, info.dtype, info.shape, storage);
  }

  crossEntropy(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('cross_entropy', inputs, options, call) as never;
  }
  crossEntropyBackward(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('cross_entropy_backward', inputs, options, call) as never;
  }
  gemm(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('gemm', inputs, options, call) as never;
  }
  rmsNorm(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('rms_norm', inputs, options, call) as never;
  }
  rmsNormBackward(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('rms_norm_backward', inputs, options, call) as never;
  }
  rope(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('rope', inputs, options, call) as never;
  }
  ropeBackward(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('rope_backward', inputs, options, call) as never;
  }
  softmax(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('softmax', inputs, options, call) as never;
  }
  swiglu(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('swiglu', inputs, options, call) as never;
  }
  swigluBackward(inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) {
    return this.run('swiglu_backward', inputs, options, call) as never;
  }
}

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(`[${op}] shape: expected an array of positive integers, got ${JSON.stringify(shape)}`);
  }
}

function inferDtype(data: HostArray): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint32Array) return 'u32';
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Uint16Array) throw new DTypeError(`[tensor] dtype: a Uint16Array holds f16 or bf16 bits; pass the dtype`);
  throw new DTypeError(`[tensor] data: expected a TypedArray, got ${(data as object)?.constructor?.name ?? typeof data}`);
}

export type { KernelBackend };

// The planned methods are installed by the constructor; this merge tells TypeScript.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface BaseBackend extends PlannedMethods {}
