import { BYTES, DTYPES, fromFloat64, hostArrayMatches, isDType, type DType, type HostArray } from '../dtype.js';
import { BackendMismatchError, DTypeError, DisposedError, GpuOutOfMemoryError, NotSupportedError, PmetalError, ShapeError, TierUnavailableError } from '../errors.js';
import { expectIndexable, parseOptions } from '../ops/check.js';
import { OPS, OP_NAMES, PLANNED_OPS, getSpec, type OpName } from '../ops/registry.js';
import { inPlaceOf, type EmptyValue, type OpSpec, type TensorInfo } from '../ops/types.js';
import { Tensor, shapeSize, type TensorOwner } from '../tensor.js';
import { camel, type OpInputs, type OpMethods, type OpOptions, type OpOutputs, type PlannedMethod, type PlannedMethods } from '../ops/signature.js';
import type { BackendName, CallOptions, Capabilities, KernelBackend, TierSupport } from './interface.js';

/** What run() decides once per signature (see #plan). */
interface Plan {
  opts: unknown;
  outInfos: Record<string, TensorInfo>;
  tier: string;
  fill?: Record<string, EmptyValue>;
  /** Outputs updated in place (output → input), decided once per signature (inPlaceOf); undefined when none. */
  inPlace?: Record<string, string>;
}
/** Signatures planned per backend before the cache starts over. */
const PLAN_CACHE = 4096;

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
  /** When set, each run() appends its validation+routing and encoding times in ms (`pmetal bench --host`). */
  hostProbe?: { validate: number[]; encode: number[] };
  #seq: number;
  /**
   * Storage this backend made and has not freed, with the dtype and size it holds. The Tensor
   * constructor is public: a tensor built around smaller, foreign or freed storage is a
   * ShapeError here (own) before any kernel binds it, and disposing one frees nothing twice.
   */
  #live = new WeakMap<object, { dtype: DType; size: number }>();
  #disposed = false;

  /** Tiers that can run `op` on `dtype` here, best first; empty when unsupported. */
  protected abstract tiersFor(op: OpName, dtype: DType): readonly string[];
  protected abstract execute(op: OpName, tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>): Record<string, Tensor>;
  protected abstract createStorage(dtype: DType, shape: readonly number[], data?: HostArray): unknown;
  protected abstract readStorage(t: Tensor): Promise<HostArray>;
  /** Frees storage this backend made (once: releaseStorage guards it). */
  protected abstract freeStorage(storage: unknown): void;
  /**
   * Storage for a new tensor of `info` holding `src`'s elements times `scale` (the same dtype
   * and size), recorded in order with the work before it and without launching a kernel: the
   * output of a call with no work that carries an accumulator through (dw = dwIn, C = β·C).
   */
  protected abstract copyStorage(op: string, src: Tensor, scale: number, info: TensorInfo): unknown;
  /** Whether copyStorage can scale by `scale` without a kernel; where not, the op runs as usual. */
  protected copiesScaled(_scale: number): boolean {
    return true;
  }
  abstract sync(): Promise<void>;
  abstract capabilities(): Capabilities;
  abstract dispose(): void;

  constructor() {
    this.#seq = (created.get(new.target) ?? 0) + 1;
    created.set(new.target, this.#seq);
    // One generic path: each registry op's typed method (types derived from its spec in
    // ops/signature.ts) is `run` with the op's name.
    const self = this as unknown as Record<string, unknown>;
    for (const op of OP_NAMES) self[camel(op)] = (inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions) => this.run(op, inputs, options, call);
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

  /** Every backend's dispose() calls this: from then on every use is a DisposedError (disposing its tensors stays allowed). */
  protected markDisposed(): void {
    this.#disposed = true;
  }

  protected alive(what: string): void {
    if (this.#disposed) throw new DisposedError(`[${what}] the ${this.id} backend was disposed`);
  }

  tensor(data: HostArray, shape: readonly number[], dtype?: DType): Tensor {
    this.alive('tensor');
    const d = dtype ?? inferDtype(data);
    checkDtype('tensor', d);
    if (!hostArrayMatches(d, data)) throw new DTypeError(`[tensor] data: expected the host array of ${d} (${d === 'f16' || d === 'bf16' ? 'Uint16Array bit patterns' : d}), got ${data?.constructor?.name}`);
    checkShape('tensor', shape, d);
    if (shapeSize(shape) !== data.length) throw new ShapeError(`[tensor] data: expected ${shapeSize(shape)} elements for shape [${shape.join(',')}], got ${data.length}`);
    return this.newTensor({ dtype: d, shape }, this.#allocate('tensor', d, shape, data));
  }

  zeros(shape: readonly number[], dtype: DType): Tensor {
    this.alive('zeros');
    checkDtype('zeros', dtype);
    checkShape('zeros', shape, dtype);
    return this.newTensor({ dtype, shape }, this.#allocate('zeros', dtype, shape));
  }

  /** createStorage, with a host allocator's raw RangeError/TypeError (a size it cannot hold) made typed. */
  #allocate(op: string, dtype: DType, shape: readonly number[], data?: HostArray): unknown {
    try {
      return this.createStorage(dtype, shape, data);
    } catch (e) {
      if (e instanceof PmetalError && !(e instanceof GpuOutOfMemoryError)) throw e;
      const bytes = shapeSize(shape) * BYTES[dtype];
      throw new GpuOutOfMemoryError(`[${op}] ${dtype}[${shape.join(',')}]: the ${this.name} backend could not allocate ${bytes} bytes (${(e as Error)?.message ?? String(e)})`, { cause: e });
    }
  }

  reshape(t: Tensor, shape: readonly number[]): Tensor {
    this.own('reshape', 'tensor', t);
    checkShape('reshape', shape, t.dtype);
    if (shapeSize(shape) !== t.size) throw new ShapeError(`[reshape] shape: expected ${t.size} elements (those of ${t.describe()}), got [${shape.join(',')}]`);
    return new Tensor(this, t.dtype, shape, t.takeStorage('[reshape] tensor'));
  }

  async read(t: Tensor): Promise<HostArray> {
    this.alive('read');
    this.own('read', 'tensor', t);
    return this.readStorage(t);
  }

  setTier(op: OpName | '*', tier: string | undefined): void {
    if (op !== '*') getSpec(op);
    this.#plans.clear(); // routing changes: plans name their tier
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
    if (!tiers.includes(forced)) throw this.tierUnavailable(op, forced, dtype, tiers);
    return forced;
  }

  /** The error for a forced tier that cannot run here; a backend that knows why (metal: no NAX) says so. */
  protected tierUnavailable(op: OpName, tier: string, dtype: DType, available: readonly string[]): TierUnavailableError {
    return new TierUnavailableError(`[${op}] tier '${tier}' is not available on the ${this.name} backend for ${dtype} here (available: ${available.join(', ')})`);
  }

  /** Chooses among available tiers; shape-dependent backends (metal's gemm rule) override it. */
  protected pick(_op: OpName, tiers: readonly string[], _inputs: Record<string, Tensor | undefined>, _options?: Record<string, unknown>): string {
    return tiers[0];
  }

  run<N extends OpName>(op: N, inputs: OpInputs<N>, options?: OpOptions<N>, call?: CallOptions): OpOutputs<N>;
  run(op: OpName, inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions): Record<string, Tensor>;
  run(op: OpName, inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions): Record<string, Tensor> {
    this.alive(op);
    const probe = this.hostProbe;
    const t0 = probe ? performance.now() : 0;
    const spec = getSpec(op);
    const given: Record<string, Tensor> = {};
    let key = `${op}|${call?.tier ?? ''}`;
    for (const { name } of spec.inputs) {
      const t = inputs?.[name];
      if (t === undefined || t === null) continue;
      this.own(op, name, t);
      given[name] = t;
      key += `|${name}:${t.signature}`;
    }
    // A signature seen before (op, input shapes and dtypes, options, forced tier) reuses its
    // plan: options parsed, shapes checked, outputs and tier decided once (zod and the checks
    // were a third of recording a small op). Anything the key does not name is checked anew.
    const plan = this.#plan(op, spec, inputs, options, call, given, key);
    const { opts, outInfos, tier, fill, inPlace } = plan;
    if (inPlace) checkInPlace(op, inPlace, given);
    if (fill) return this.#filled(op, given, outInfos, fill, inPlace);
    if (!probe) return this.#executed(op, inPlace, tier, given, opts, outInfos);
    const t1 = performance.now();
    const out = this.#executed(op, inPlace, tier, given, opts, outInfos);
    probe.validate.push(t1 - t0);
    probe.encode.push(performance.now() - t1);
    return out;
  }

  /** execute, and for an op with in-place outputs the check that each is its input's own Tensor (a launcher that copied would silently leave the caller's tensor stale). */
  #executed(op: OpName, inPlace: Record<string, string> | undefined, tier: string, given: Record<string, Tensor>, opts: unknown, outInfos: Record<string, TensorInfo>): Record<string, Tensor> {
    const out = this.execute(op, tier, given, opts, outInfos);
    if (inPlace) {
      for (const [o, i] of Object.entries(inPlace)) {
        if (o in outInfos && out[o] !== given[i]) throw new Error(`[${op}] ${o}: the ${this.name} backend returned a new tensor for an output updated in place (expected input '${i}' itself)`);
      }
    }
    return out;
  }

  #plans = new Map<string, Plan>();

  #plan(op: OpName, spec: OpSpec, inputs: Record<string, Tensor | undefined>, options: Record<string, unknown> | undefined, call: CallOptions | undefined, given: Record<string, Tensor>, sig: string): Plan {
    let optKey: string | undefined;
    try {
      optKey = JSON.stringify(options ?? {});
    } catch {
      optKey = undefined; // not serialisable (a cycle, a BigInt): plan it every time
    }
    const key = optKey === undefined ? undefined : `${sig}|${optKey}`;
    const hit = key === undefined ? undefined : this.#plans.get(key);
    if (hit) {
      for (const k of Object.keys(inputs ?? {})) if (!(k in given) && inputs[k] !== undefined && inputs[k] !== null) this.#unknownInput(op, spec, k);
      return hit;
    }
    const opts = parseOptions(op, spec.options, options);
    for (const k of Object.keys(inputs ?? {})) if (!spec.inputs.some((i) => i.name === k) && inputs[k] !== undefined) this.#unknownInput(op, spec, k);
    const infos = given as Record<string, TensorInfo>;
    const outs = spec.check(infos, opts) as Record<string, TensorInfo | undefined>;
    const outInfos: Record<string, TensorInfo> = {};
    // Shapes frozen once here: every call's output Tensor shares them instead of copying.
    for (const [k, v] of Object.entries(outs)) if (v) outInfos[k] = { ...v, shape: Object.freeze([...v.shape]) };
    for (const [k, t] of [...Object.entries(infos), ...Object.entries(outInfos)]) expectIndexable(op, k, t);
    const inPlaceMap = inPlaceOf(spec, infos, opts);
    for (const [o, i] of Object.entries(inPlaceMap)) {
      const a = outInfos[o];
      const b = infos[i];
      if (a && (!b || a.dtype !== b.dtype || a.shape.join() !== b.shape.join())) throw new Error(`[${op}] ${o}: the spec updates input '${i}' in place but gives the output another dtype/shape`);
    }
    const tier = this.route(op, given, call, opts as Record<string, unknown>);
    // No work (an empty batch): nothing is launched on any backend. Outputs that are all
    // empty need nothing more; a non-empty output of an empty reduction (dw over zero rows,
    // a mean over zero targets) takes the value the op's spec gives, as PyTorch does.
    // An op updating inputs in place has no work when its primary input is empty (its
    // outputs are the inputs, empty or not).
    const inPlace = new Set(Object.keys(inPlaceMap));
    const primary = infos[spec.inputs[0].name];
    const allEmpty = Object.entries(outInfos).every(([k, o]) => inPlace.has(k) || shapeSize(o.shape) === 0) && (!inPlace.size || (!!primary && shapeSize(primary.shape) === 0));
    let fill = (allEmpty ? {} : spec.emptyResult?.(infos, opts)) as Record<string, EmptyValue> | undefined;
    // An input scaled by a factor this backend cannot apply without a kernel (webgpu: its
    // buffers are not host-visible): the op's own kernels compute it.
    if (fill && Object.values(fill).some((v) => typeof v === 'object' && !this.copiesScaled(v.scale ?? 1))) fill = undefined;
    const plan: Plan = { opts, outInfos, tier, fill, ...(inPlace.size ? { inPlace: inPlaceMap } : {}) };
    if (key !== undefined) {
      if (this.#plans.size >= PLAN_CACHE) this.#plans.clear();
      this.#plans.set(key, plan);
    }
    return plan;
  }

  #unknownInput(op: string, spec: OpSpec, k: string): never {
    throw new ShapeError(`[${op}] ${k}: unknown input (expected ${spec.inputs.map((i) => i.name).join(', ')})`);
  }

  /** Outputs of a call with no work, each as `fill` says (0 when absent), through the backend's storage path; an in-place output is its input, unchanged. */
  #filled(op: string, given: Record<string, Tensor>, outInfos: Record<string, TensorInfo>, fill: Record<string, EmptyValue>, inPlace: Record<string, string | undefined> | undefined): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    try {
      for (const [k, info] of Object.entries(outInfos)) {
        const same = inPlace?.[k];
        if (same !== undefined) {
          out[k] = given[same];
          continue;
        }
        const v = fill[k] ?? 0;
        if (typeof v === 'object') {
          const src = given[v.input];
          // A spec's promise, not the caller's input: a mismatch is a bug in the spec.
          if (!src || src.dtype !== info.dtype || src.size !== shapeSize(info.shape)) {
            throw new Error(`[${op}] emptyResult: output ${k} from input ${v.input} needs ${info.dtype}[${info.shape}], got ${src ? src.describe() : 'none'}`);
          }
          out[k] = this.newTensor(info, this.copyStorage(op, src, v.scale ?? 1, info));
          continue;
        }
        const n = shapeSize(info.shape);
        const data = n > 0 && !Object.is(v, 0) ? fromFloat64(info.dtype, new Array<number>(n).fill(v)) : undefined;
        out[k] = this.newTensor(info, this.createStorage(info.dtype, info.shape, data));
      }
    } catch (e) {
      // In-place outputs are the caller's inputs: never disposed here.
      for (const [k, t] of Object.entries(out)) if (inPlace?.[k] === undefined) t.dispose();
      throw e;
    }
    return out;
  }

  protected own(op: string, name: string, t: unknown): asserts t is Tensor {
    if (!(t instanceof Tensor)) throw new ShapeError(`[${op}] ${name}: expected a Tensor, got ${typeof t === 'object' ? t?.constructor?.name : typeof t}`);
    const s = t.storage(`[${op}] ${name}`);
    if (t.owner !== this) {
      const from = (t.owner as { id?: string }).id ?? t.backendName;
      throw new BackendMismatchError(`[${op}] ${name}: tensor belongs to backend ${from}, not ${this.id}; move it with read() + tensor()`);
    }
    const held = typeof s === 'object' && s !== null ? this.#live.get(s) : undefined;
    if (!held) throw new ShapeError(`[${op}] ${name}: tensor ${t.describe()} was built around storage the ${this.id} backend did not make or has freed`);
    if (held.size !== t.size || held.dtype !== t.dtype) {
      const need = t.size * BYTES[t.dtype];
      throw new ShapeError(`[${op}] ${name}: tensor ${t.describe()} needs ${need} bytes, its storage holds ${held.dtype}[${held.size}] (${held.size * BYTES[held.dtype]} bytes)`);
    }
  }

  /** Tensor.dispose() lands here: storage freed once, and only storage this backend made (a second Tensor built around it frees nothing twice). */
  releaseStorage(storage: unknown): void {
    if (typeof storage !== 'object' || storage === null || !this.#live.delete(storage)) return;
    this.freeStorage(storage);
  }

  // Node 20 defines Symbol.dispose / asyncDispose; TypeScript lowers `using` to them.
  [Symbol.dispose](): void {
    this.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  /** Every tensor a backend makes comes through here, so its storage is known to own(). */
  protected newTensor(info: TensorInfo, storage: unknown): Tensor {
    if (typeof storage === 'object' && storage !== null) this.#live.set(storage, { dtype: info.dtype, size: shapeSize(info.shape) });
    return new Tensor(this, info.dtype, info.shape, storage);
  }
}

/**
 * An input updated in place must be a tensor of its own: sharing storage with another input
 * would make the op read what it writes (and on WebGPU bind one buffer twice, once writable).
 */
function checkInPlace(op: string, inPlace: Record<string, string>, given: Record<string, Tensor>): void {
  for (const name of Object.values(inPlace)) {
    const t = given[name];
    if (!t) continue;
    const s = t.storage(`[${op}] ${name}`);
    for (const [other, u] of Object.entries(given)) {
      if (other !== name && u.storage(`[${op}] ${other}`) === s) throw new ShapeError(`[${op}] ${name}: expected a tensor of its own (it is updated in place), got the same tensor as ${other}`);
    }
  }
}

/** 0 is a valid extent (an empty tensor, as in PyTorch); sizes must stay exact in a JS number. */
function checkShape(op: string, shape: readonly number[], dtype: DType): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`[${op}] shape: expected an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const n = shapeSize(shape);
  if (n * BYTES[dtype] > Number.MAX_SAFE_INTEGER) {
    const e = (v: number) => v.toPrecision(5);
    throw new ShapeError(`[${op}] shape: [${shape.join(',')}] has ${e(n)} elements (${dtype}: ${e(n * BYTES[dtype])} bytes), more than 2^53 - 1`);
  }
}

function checkDtype(op: string, dtype: unknown): asserts dtype is DType {
  if (!isDType(dtype)) throw new DTypeError(`[${op}] dtype: expected one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype) ?? String(dtype)}`);
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

// The op and planned methods are installed by the constructor; this merge tells TypeScript.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface BaseBackend extends OpMethods, PlannedMethods {}
