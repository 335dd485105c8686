import type { DType, FloatDType, HostArray } from '../dtype.js';
import type { OpName } from '../ops/registry.js';
import type { CallOptions, OpInputs, OpMethods, OpOptions, OpOutputs, PlannedMethods } from '../ops/signature.js';
import type { Tensor } from '../tensor.js';

export type { CallOptions, PlannedMethod, PlannedMethods, OpMethods, OpInputs, OpOutputs, OpOptions } from '../ops/signature.js';

export type BackendName = 'cpu' | 'webgpu' | 'metal';

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

/**
 * The interface every backend implements; it mirrors PMetal's KernelBackend trait. Ops are
 * recorded synchronously (a GPU backend batches them into one submission) and results are
 * read back asynchronously. Inputs and outputs are named objects, the same names the op
 * registry and the conformance records use.
 */
export interface KernelBackend extends OpMethods, PlannedMethods {
  readonly name: BackendName;
  capabilities(): Capabilities;
  /** True when `op` is implemented here (for `dtype`, when given). */
  supports(op: string, dtype?: DType): boolean;

  tensor(data: HostArray, shape: readonly number[], dtype?: DType): Tensor;
  zeros(shape: readonly number[], dtype: DType): Tensor;
  read(t: Tensor): Promise<HostArray>;
  /**
   * The same elements under another row-major shape, without a copy: `t` is consumed (it
   * reads as disposed afterwards) and its storage moves to the result, so no two live
   * tensors alias one buffer.
   */
  reshape(t: Tensor, shape: readonly number[]): Tensor;
  /** Waits for all recorded work; GPU errors raised by it surface here as typed errors. */
  sync(): Promise<void>;

  /** Global override: force `tier` for `op` (or '*' for every op); undefined restores routing. */
  setTier(op: OpName | '*', tier: string | undefined): void;
  /** The tier a call would run on (options matter where routing depends on them: gemm's transposes). */
  route(op: OpName, inputs: Record<string, Tensor | undefined>, call?: CallOptions, options?: Record<string, unknown>): string;
  /** Generic entry: validate, route, run — what every typed op method (derived from the op's spec) calls. */
  run<N extends OpName>(op: N, inputs: OpInputs<N>, options?: OpOptions<N>, call?: CallOptions): OpOutputs<N>;
  run(op: OpName, inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions): Record<string, Tensor>;

  /**
   * Optional (webgpu): runs `fn` — its ops recorded and run as usual — and keeps what it
   * recorded as a step graph that replays the same commands on the same tensors with next to
   * no host cost (a decode step of fixed shapes: backend/webgpu/graph.ts). Backends without it
   * leave it undefined; callers then call their step function each time.
   */
  captureGraph?<T>(fn: (capture: GraphCapture) => T): { result: T; graph: StepGraph };

  dispose(): void;
}

/** What a captured step may record besides ops. */
export interface GraphCapture {
  /** Copies `src` into `dst` (same dtype and size), e.g. a step's sampled ids into the ids the next step reads. */
  copy(src: Tensor, dst: Tensor): void;
}

/**
 * A captured step (KernelBackend.captureGraph). Every tensor the step read or wrote keeps its
 * buffer for the graph; the step's outputs are rewritten by each replay. Host data that changes
 * between steps lives in tensors made before the capture and set with write() before a replay.
 */
export interface StepGraph {
  /** Records the step again (submitted with the next read or sync, like any op). */
  replay(): void;
  /** Sets a tensor's elements (all of them) in order with the recorded work: the next replay reads them. */
  write(t: Tensor, data: HostArray): void;
  /** Dispatches one replay records. */
  readonly dispatches: number;
  dispose(): void;
}
