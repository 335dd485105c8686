import type { DType, FloatDType, HostArray } from '../dtype.js';
import type { CrossEntropyOptions } from '../ops/cross_entropy/spec.js';
import type { CrossEntropyBackwardOptions } from '../ops/cross_entropy_backward/spec.js';
import type { GemmOptions } from '../ops/gemm/spec.js';
import type { RmsNormBackwardOptions } from '../ops/rms_norm_backward/spec.js';
import type { RmsNormOptions } from '../ops/rms_norm/spec.js';
import type { RopeOptions } from '../ops/rope/spec.js';
import type { RopeBackwardOptions } from '../ops/rope_backward/spec.js';
import type { SoftmaxOptions } from '../ops/softmax/spec.js';
import type { SwigluOptions } from '../ops/swiglu/spec.js';
import type { SwigluBackwardOptions } from '../ops/swiglu_backward/spec.js';
import type { OpName, PlannedOp } from '../ops/registry.js';
import type { Tensor } from '../tensor.js';

export type BackendName = 'cpu' | 'webgpu' | 'metal';

/** Per-call routing: force a tier (for cross-checks and benchmarks). */
export interface CallOptions {
  tier?: string;
}

export interface TierSupport {
  readonly tier: string;
  readonly dtypes: readonly FloatDType[];
}

export interface Capabilities {
  readonly backend: BackendName;
  /** Adapter / chip name. */
  readonly device: string;
  /** Features the tiers depend on (WebGPU features, Metal families). */
  readonly features: readonly string[];
  /** Every tier this backend can run here, best first. */
  readonly tiers: readonly string[];
  /** Implemented ops and, per op, the tiers and dtypes available here. */
  readonly ops: { readonly [op: string]: readonly TierSupport[] };
  readonly timestamps: boolean;
}

/** A method of PMetal's trait that no backend implements yet: it throws NotSupportedError. */
export type PlannedMethod = (inputs: Record<string, Tensor>, options?: Record<string, unknown>, call?: CallOptions) => never;

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
export type PlannedMethods = { [K in PlannedOp as Camel<K>]: PlannedMethod };

/**
 * The interface every backend implements; it mirrors PMetal's KernelBackend trait. Ops are
 * recorded synchronously (a GPU backend batches them into one submission) and results are
 * read back asynchronously. Inputs and outputs are named objects, the same names the op
 * registry and the conformance records use.
 */
export interface KernelBackend extends PlannedMethods {
  readonly name: BackendName;
  capabilities(): Capabilities;
  /** True when `op` is implemented here (for `dtype`, when given). */
  supports(op: string, dtype?: DType): boolean;

  tensor(data: HostArray, shape: readonly number[], dtype?: DType): Tensor;
  zeros(shape: readonly number[], dtype: DType): Tensor;
  read(t: Tensor): Promise<HostArray>;
  /** Waits for all recorded work; GPU errors raised by it surface here as typed errors. */
  sync(): Promise<void>;

  /** Global override: force `tier` for `op` (or '*' for every op); undefined restores routing. */
  setTier(op: OpName | '*', tier: string | undefined): void;
  /** The tier a call would run on (options matter where routing depends on them: gemm's transposes). */
  route(op: OpName, inputs: Record<string, Tensor | undefined>, call?: CallOptions, options?: Record<string, unknown>): string;
  /** Generic entry: validate, route, run. The typed methods below call this. */
  run(op: OpName, inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions): Record<string, Tensor>;

  crossEntropy(inputs: { logits: Tensor; targets: Tensor }, options?: CrossEntropyOptions, call?: CallOptions): { loss: Tensor; lse: Tensor };
  crossEntropyBackward(inputs: { logits: Tensor; targets: Tensor; lse: Tensor; dloss: Tensor }, options?: CrossEntropyBackwardOptions, call?: CallOptions): { dlogits: Tensor };
  gemm(inputs: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor }, options?: GemmOptions, call?: CallOptions): { y: Tensor };
  rmsNorm(inputs: { x: Tensor; weight: Tensor; residual?: Tensor }, options?: RmsNormOptions, call?: CallOptions): { y: Tensor; rstd: Tensor; residual?: Tensor };
  rmsNormBackward(inputs: { dy: Tensor; x: Tensor; weight: Tensor; rstd?: Tensor }, options?: RmsNormBackwardOptions, call?: CallOptions): { dx: Tensor; dw: Tensor };
  rope(inputs: { x: Tensor; positions?: Tensor }, options?: RopeOptions, call?: CallOptions): { y: Tensor };
  ropeBackward(inputs: { dy: Tensor; positions?: Tensor }, options?: RopeBackwardOptions, call?: CallOptions): { dx: Tensor };

  softmax(inputs: { x: Tensor }, options?: SoftmaxOptions, call?: CallOptions): { y: Tensor };
  swiglu(inputs: { gate: Tensor; up: Tensor }, options?: SwigluOptions, call?: CallOptions): { y: Tensor };
  swigluBackward(inputs: { dy: Tensor; gate: Tensor; up: Tensor }, options?: SwigluBackwardOptions, call?: CallOptions): { dgate: Tensor; dup: Tensor };

  dispose(): void;
}
