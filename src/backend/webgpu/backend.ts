import { BYTES, allocHost, type DType, type HostArray } from '../../dtype.js';
import type { OpName } from '../../ops/registry.js';
import type { TensorInfo } from '../../ops/types.js';
import { LimitError } from '../../errors.js';
import { shapeSize, type Tensor } from '../../tensor.js';
import { BaseBackend } from '../base.js';
import type { Capabilities, GraphCapture, KernelBackend, StepGraph } from '../interface.js';
import { openDevice, type WebGpuOptions } from './device.js';
import { TIERS, type AdapterTraits, type GpuStorage, type LaunchContext, type WebGpuTier } from './launch.js';
import { LAUNCHERS } from './launchers/index.js';
import { TapeRecorder, type Tape } from './launch_tape.js';
import { reshapeOwned } from '../view.js';
import { Runtime } from './runtime.js';
import { captureStepGraph } from './step_graph.js';
import { tuning } from './tuning.js';

/** Recordings of one plan that may be spoiled before the launcher is left to run every call (launch_tape.ts). */
const TAPE_TRIES = 3;

/**
 * The webgpu backend: WGSL kernels through Dawn. Ops record into one open batch that is
 * submitted by read()/sync(); tiers are portable, subgroups and (gemm) subgroup-matrix.
 */
/** Dispatches after which the next op starts a new submission (execute()). */
export const FLUSH_DISPATCHES = 64;

export class WebGpuBackend extends BaseBackend implements KernelBackend {
  readonly name = 'webgpu' as const;
  readonly rt: Runtime;
  #ctx: LaunchContext;
  /** The adapter's traits the launchers' tier choice reads (subgroup-matrix configurations). */
  readonly adapter: AdapterTraits;
  /** Outputs allocated by the launch in progress (freed if it throws). */
  #made: Tensor[] = [];
  /**
   * Launch tapes per plan, keyed on the plan's output infos (one object per plan, base.ts),
   * or the number of spoiled recordings so far (launch_tape.ts).
   */
  #tapes = new WeakMap<object, { tape?: Tape; tier: string; options: unknown; spoiled: number }>();
  /**
   * Whether plans' launches are recorded and replayed (launch_tape.ts). PMETAL_LAUNCH_TAPE=0
   * turns it off for the backend's life (read once here: the launcher then runs every call,
   * as before tapes); `bench --host` flips it to time both.
   */
  launchTapes = typeof process === 'undefined' || process.env.PMETAL_LAUNCH_TAPE !== '0';
  /** Launches recorded, replayed, and recordings spoiled (with the last reason): tests and `bench --host` read them. */
  readonly tapeStats = { recorded: 0, replayed: 0, spoiled: 0, lastSpoil: '' };
  /** Dispatches after which the next op starts a new submission (execute(); Infinity: only reads and sync submit). */
  flushDispatches = FLUSH_DISPATCHES;

  static async create(options?: WebGpuOptions): Promise<WebGpuBackend> {
    return new WebGpuBackend(new Runtime(await openDevice(options)));
  }

  private constructor(rt: Runtime) {
    super();
    this.rt = rt;
    const info = rt.opened.adapter.info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean; architecture?: string };
    this.adapter = { subgroupMatrixConfigs: rt.opened.subgroupMatrixConfigs, subgroupMaxSize: info.subgroupMaxSize, subgroupMinSize: info.subgroupMinSize, limits: rt.opened.limits, software: info.isFallbackAdapter === true || info.architecture === 'software' };
    this.#ctx = {
      adapter: this.adapter,
      rt,
      features: rt.opened.features,
      limits: rt.opened.limits,
      buffer: (t) => t.storage<GpuStorage>('webgpu').buffer,
      // Kernels write every element of their outputs: no clear (a full memset per call otherwise).
      output: (info: TensorInfo) => {
        // An output is a slot of its own on a tape, not a scratch buffer.
        const tape = rt.tape;
        rt.tape = undefined;
        let t: Tensor;
        try {
          t = this.newTensor(info, this.outputStorage(info, rt.op ?? 'webgpu'));
        } finally {
          rt.tape = tape;
        }
        this.#made.push(t);
        tape?.output(info, t, t.storage<GpuStorage>('webgpu').buffer);
        return t;
      },
    };
  }

  /** Step graphs (interface.ts captureGraph, graph.ts, step_graph.ts). */
  captureGraph<T>(fn: (capture: GraphCapture) => T): { result: T; graph: StepGraph } {
    this.alive('captureGraph');
    return captureStepGraph(this.rt, this, fn);
  }

  get adapterName(): string {
    return this.rt.opened.name;
  }

  protected tiersFor(op: OpName, dtype: DType): readonly string[] {
    const l = LAUNCHERS[op];
    return l ? l.tiers(dtype, this.rt.opened.features, this.adapter) : [];
  }

  protected createStorage(dtype: DType, shape: readonly number[], data?: HostArray): GpuStorage {
    const op = data ? 'tensor' : 'zeros';
    const s = this.outputStorage({ dtype, shape }, op);
    this.rt.op = op;
    try {
      if (data) this.rt.upload(s.buffer, data);
      else this.rt.clear(s.buffer);
    } finally {
      this.rt.op = undefined;
    }
    return s;
  }

  /** A tensor's buffer; over the device's maxBufferSize it is a LimitError at the call, before anything is recorded. */
  private outputStorage(info: TensorInfo, op: string): GpuStorage {
    const bytes = shapeSize(info.shape) * BYTES[info.dtype];
    const max = this.rt.opened.limits.maxBufferSize;
    if (bytes > max) {
      throw new LimitError(
        `[${op}] ${info.dtype}[${info.shape.join(',')}] is ${bytes} bytes, over maxBufferSize (${max}) of this device (pmetal already requests the adapter's maximum); split it into tensors of at most ${max} bytes`,
      );
    }
    return { buffer: this.rt.createBuffer(bytes), bytes };
  }

  /** A buffer copy in the batch (no kernel); scaling would need one, so only scale 1 (copiesScaled). */
  protected copyStorage(op: string, src: Tensor, scale: number, info: TensorInfo): GpuStorage {
    if (scale !== 1) throw new Error(`[${op}] webgpu copies an input unscaled only, got scale ${scale}`);
    const from = src.storage<GpuStorage>(op);
    const s = this.outputStorage(info, op);
    // Both sizes are whole 4-byte words of buffers at least that large (size classes).
    const bytes = Math.ceil(s.bytes / 4) * 4;
    this.rt.op = op;
    try {
      if (bytes > 0) this.rt.copy(from.buffer, 0, s.buffer, 0, bytes);
    } finally {
      this.rt.op = undefined;
    }
    return s;
  }

  protected override copiesScaled(scale: number): boolean {
    return scale === 1;
  }

  protected async readStorage(t: Tensor): Promise<HostArray> {
    const s = t.storage<GpuStorage>('read');
    const bytes = await this.rt.read(s.buffer, s.bytes);
    const out = allocHost(t.dtype, t.size);
    new Uint8Array(out.buffer).set(new Uint8Array(bytes));
    return out;
  }

  protected freeStorage(storage: unknown): void {
    this.rt.releaseBuffer((storage as GpuStorage).buffer);
  }

  async sync(): Promise<void> {
    await this.rt.sync();
  }

  /**
   * Launches with the op named on the runtime (its checks and GPU errors name it). A launch
   * that throws (a limit the launcher cannot split around) frees the outputs it allocated;
   * dispatches it recorded before throwing are complete commands and harm nothing.
   */
  protected execute(op: OpName, tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>): Record<string, Tensor> {
    // A long run of ops (a model's forward and backward: thousands of dispatches) is submitted
    // in batches as it is recorded, between ops, so the GPU starts on the first while the host
    // records the rest and Dawn translates each batch as it goes. One batch at the end left an
    // H100 idle for most of a LoRA step (456 ms wall against 193 ms of GPU work, run S7).
    if (this.rt.pendingDispatches >= this.flushDispatches) this.rt.flush();
    this.rt.op = op;
    this.#made = [];
    try {
      if (!this.launchTapes) return LAUNCHERS[op]!.launch(this.#ctx, tier as WebGpuTier, inputs, options, outputs);
      const memo = this.#tapes.get(outputs);
      const t = memo?.tape && memo.tier === tier && memo.options === options && !this.rt.trace ? this.#replayable(memo.tape, inputs) : undefined;
      if (t) {
        this.tapeStats.replayed++;
        return this.#replay(t.tape, t.buffers, inputs);
      }
      if (this.rt.trace || (memo && !memo.tape && memo.spoiled >= TAPE_TRIES)) return LAUNCHERS[op]!.launch(this.#ctx, tier as WebGpuTier, inputs, options, outputs);
      return this.#record(op, tier, inputs, options, outputs, memo);
    } catch (e) {
      for (const t of this.#made) t.dispose();
      throw e;
    } finally {
      this.rt.op = undefined;
      this.rt.tape = undefined;
      this.#made = [];
    }
  }

  /**
   * Runs the launcher with a tape recording it; the tape becomes the plan's unless spoiled.
   * A spoiled recording leaves a plan's earlier tape in place (a call with aliased inputs
   * does not cost the plan its tape) and otherwise counts towards TAPE_TRIES.
   */
  #record(op: OpName, tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>, memo: { tape?: Tape; spoiled: number } | undefined): Record<string, Tensor> {
    const ins = Object.keys(inputs).map((name) => {
      const s = inputs[name].storage<GpuStorage>('webgpu');
      return { name, tensor: inputs[name], buffer: s.buffer, bytes: this.rt.sizeOf(s.buffer) };
    });
    const rec = new TapeRecorder(ins, (b) => this.rt.leaseOf(b));
    const generation = this.rt.cache.generation;
    this.rt.tape = rec;
    const out = LAUNCHERS[op]!.launch(this.#ctx, tier as WebGpuTier, inputs, options, outputs);
    this.rt.tape = undefined;
    const tape = rec.finish(out, (t) => ((t as Tensor).disposed ? undefined : (t as Tensor).storage<GpuStorage>('webgpu').buffer), tuning().key, generation);
    if (tape) this.tapeStats.recorded++;
    else {
      this.tapeStats.spoiled++;
      this.tapeStats.lastSpoil = `[${op}] ${rec.spoiled}`;
    }
    if (tape) this.#tapes.set(outputs, { tape, tier, options, spoiled: 0 });
    else if (!memo?.tape) this.#tapes.set(outputs, { tape: undefined, tier, options, spoiled: (memo?.spoiled ?? 0) + 1 });
    return out;
  }

  /** This call's buffers for `tape` (inputs, then its fixed buffers), or undefined where a replay would not be the same launch (launch_tape.ts). */
  #replayable(tape: Tape, inputs: Record<string, Tensor>): { tape: Tape; buffers: GPUBuffer[] } | undefined {
    if (tape.tuningKey !== tuning().key || tape.pipelineGeneration !== this.rt.cache.generation) return undefined;
    const buffers = new Array<GPUBuffer>(tape.refs);
    const ti = tape.inputs;
    for (let i = 0; i < ti.length; i++) {
      const t = inputs[ti[i].name];
      if (!t) return undefined;
      const b = t.storage<GpuStorage>('webgpu').buffer;
      if (this.rt.sizeOf(b) !== ti[i].bytes) return undefined;
      for (let j = 0; j < i; j++) if (buffers[j] === b) return undefined; // aliased inputs: the launcher decides
      buffers[i] = b;
    }
    for (const f of tape.fixed) {
      if (this.rt.leaseOf(f.buffer) !== f.lease) return undefined;
      buffers[f.ref] = f.buffer;
    }
    return { tape, buffers };
  }

  /** Replays a tape: allocations, frees, clears, copies and dispatches in the recorded order, on this call's buffers. */
  #replay(tape: Tape, buffers: GPUBuffer[], inputs: Record<string, Tensor>): Record<string, Tensor> {
    const rt = this.rt;
    const tensors: (Tensor | undefined)[] = [];
    for (const s of tape.steps) {
      switch (s.k) {
        case 'dispatch':
          rt.replayDispatch(s.d, buffers);
          break;
        case 'out': {
          const t = this.#ctx.output(s.info);
          tensors[s.ref] = t;
          buffers[s.ref] = t.storage<GpuStorage>('webgpu').buffer;
          break;
        }
        case 'buf':
          buffers[s.ref] = rt.createBuffer(s.bytes);
          break;
        case 'free': {
          const t = tensors[s.ref];
          if (t) t.dispose();
          else rt.releaseBuffer(buffers[s.ref]);
          break;
        }
        case 'clear':
          rt.clear(buffers[s.ref], s.offset, s.size);
          break;
        case 'copy':
          rt.copy(buffers[s.src], s.srcOffset, buffers[s.dst], s.dstOffset, s.bytes);
          break;
        case 'upload':
          rt.upload(buffers[s.ref], s.data, s.offset);
          break;
      }
    }
    // A result is an 'out' slot or, for an op updating in place, an input (refs 0…n-1 are the inputs).
    const out: Record<string, Tensor> = {};
    for (const r of tape.results) {
      const t = tensors[r.ref] ?? inputs[tape.inputs[r.ref].name];
      out[r.key] = r.shape ? reshapeOwned(t, r.shape) : t;
    }
    return out;
  }

  capabilities(): Capabilities {
    const f = this.rt.opened.features;
    // The tiers some op runs here (subgroup-matrix only where a kernel fits a reported configuration).
    const ops = this.opSupport();
    const seen = new Set(Object.values(ops).flatMap((ts) => ts.map((t) => t.tier)));
    const tiers = TIERS.filter((t) => t === 'portable' || seen.has(t));
    return { backend: 'webgpu', device: this.rt.opened.name, features: [...f].sort(), tiers, ops, timestamps: this.rt.timestamps };
  }

  /** Measures the GPU time of the work `fn` records (timestamp queries), in nanoseconds. */
  async gpuTime(fn: () => void): Promise<number | undefined> {
    return (await this.gpuTimes(fn, 1))?.[0];
  }

  /**
   * GPU nanoseconds of each of `reps` calls of `fn`, recorded back to back (one submission
   * unless the query set fills), so the GPU never idles between them — idle gaps let the
   * clocks fall (see bench/clock.ts). Undefined without timestamp queries.
   */
  async gpuTimes(fn: () => void, reps: number): Promise<number[] | undefined> {
    if (!this.rt.timestamps) return undefined;
    await this.rt.sync();
    const marks: number[] = [];
    this.rt.profiling = true;
    try {
      for (let i = 0; i < reps; i++) {
        marks.push(this.rt.timedPasses);
        fn();
      }
      marks.push(this.rt.timedPasses);
    } finally {
      this.rt.profiling = false;
    }
    const passes = await this.rt.takePassTimes();
    await this.rt.sync();
    // Passes timed before this call (never taken) come first: skip them.
    const first = marks[0] - (passes.length - (marks[reps] - marks[0]));
    const out: number[] = [];
    for (let i = 0; i < reps; i++) {
      let ns = 0;
      for (let j = marks[i]; j < marks[i + 1]; j++) ns += passes[j - first];
      out.push(ns);
    }
    return out;
  }

  /**
   * GPU nanoseconds of every pass the work of `fn` records, each labelled with its op and
   * kernel (each dispatch gets a pass of its own while profiling, so the sum is above the
   * batched time by the passes' boundaries). Undefined without timestamp queries.
   */
  async profile(fn: () => void | Promise<void>): Promise<{ op: string; kernel: string; ns: number }[] | undefined> {
    if (!this.rt.timestamps) return undefined;
    await this.rt.sync();
    await this.rt.takePassTimes(); // passes timed before this call
    this.rt.profiling = true;
    const labels: { op: string; kernel: string }[] = (this.rt.passLabels = []);
    try {
      await fn();
    } finally {
      this.rt.profiling = false;
      this.rt.passLabels = undefined;
    }
    const passes = await this.rt.takePassTimes();
    await this.rt.sync();
    return labels.map((l, i) => ({ ...l, ns: passes[i] ?? NaN }));
  }

  dispose(): void {
    this.markDisposed();
    this.rt.destroy();
  }

}
