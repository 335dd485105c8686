import type { TensorInfo } from '../../ops/types.js';
import type { Lease } from './failures.js';
import type { UniformSlot } from './params_pool.js';
import type { PipelineEntry } from './pipelines.js';

/**
 * A launch recorded once per plan and replayed for the plan's later calls.
 *
 * Why: after run() plans a signature once (base.ts), what is left of recording a small op
 * is the launcher re-deriving the same geometry every call — windows, grids, Params
 * packing, pipeline keys, dispatch checks — about half of the host cost. A launcher's
 * commands depend only on what the plan names (input shapes and dtypes, parsed options,
 * tier), the tuning switches, and which buffers it is handed; so the first call's commands
 * are recorded with each buffer named by its *role* (an input, a fixed buffer such as
 * rope's frequency table, or the n-th buffer the launch allocated), and a later call of the
 * same plan replays them on its own buffers.
 *
 * What makes a replay the same launch (checked every call, else the launcher runs again):
 * the same tuning switches and pipeline-cache generation, every input's buffer of the
 * recorded size and no two inputs sharing a buffer (aliasing changes what a kernel may
 * write), every fixed buffer still in the tenure it had when recorded (a released table
 * fails this). Buffers the launch allocates come from createBuffer by byte count, so they
 * have the recorded sizes; the windows, workgroup counts and the aliasing of written
 * bindings were checked on the recording (dispatch_check.ts) and are the same on replay.
 * Host data a launcher uploads must follow from the plan (Params blocks, constant tables):
 * the tape replays a copy of it. Anything the tape cannot express (an upload into a buffer
 * it did not allocate, a submission mid-launch, a binding of a buffer of no known role, a
 * buffer the launch allocated that outlives it unreturned — rope's table going into its
 * cache) spoils the recording and the launcher keeps running (a plan is re-recorded a few
 * times: the table made once, the next call records fine).
 */
export type TapeStep =
  /** Allocates an output-shaped tensor through the launch context (a slot). */
  | { k: 'out'; ref: number; info: TensorInfo }
  /** Allocates a scratch buffer of `bytes` (a slot). */
  | { k: 'buf'; ref: number; bytes: number }
  /** Frees a slot: disposes its tensor or releases its buffer. */
  | { k: 'free'; ref: number }
  | { k: 'clear'; ref: number; offset: number; size?: number }
  /** Host data into a slot: a copy of what the launcher uploaded (Params blocks, constant tables — all derived from the plan). */
  | { k: 'upload'; ref: number; data: Uint8Array; offset: number }
  | { k: 'copy'; src: number; srcOffset: number; dst: number; dstOffset: number; bytes: number }
  | { k: 'dispatch'; d: TapeDispatch };

export interface TapeDispatch {
  entry: PipelineEntry;
  /** The op named in errors and Dawn labels (resolved at recording). */
  op: string;
  writable: ReadonlySet<number>;
  bindings: { binding: number; ref: number; offset: number; size?: number }[];
  params?: { binding: number; data: ArrayBuffer; key: string };
  workgroups: [number, number, number];
  /**
   * The last few replays' buffers (per binding), Params slot and group, most recent first: a
   * call on the same buffers reuses its group without building a cache key. A few, not one:
   * scratch and outputs of one size class trade pooled buffers from call to call.
   */
  recent: { buffers: GPUBuffer[]; slot?: UniformSlot; group: GPUBindGroup; generation: number }[];
}

export interface Tape {
  /** Input names in the order their buffers take refs 0…n-1, with each buffer's byte size when recorded. */
  inputs: { name: string; bytes: number }[];
  /** Buffers bound that are neither inputs nor allocated by the launch, with the tenure each had. */
  fixed: { ref: number; buffer: GPUBuffer; lease: Lease }[];
  refs: number;
  steps: TapeStep[];
  /** Each result: an input (`input` ref) or an 'out' slot, under `shape` where the launcher returned the slot's storage reshaped (view.ts reshapeOwned). */
  results: { key: string; ref: number; shape?: readonly number[] }[];
  tuningKey: string;
  pipelineGeneration: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class TapeRecorder {
  readonly steps: TapeStep[] = [];
  #refs = new Map<GPUBuffer, number>();
  #next = 0;
  #slots = new Map<number, 'in' | 'out' | 'buf' | 'fixed'>();
  #outTensors = new Map<object, number>();
  #outInfos = new Map<number, TensorInfo>();
  /** Slots allocated and not yet freed. */
  #live = new Set<number>();
  readonly inputs: { name: string; bytes: number }[] = [];
  readonly fixed: { ref: number; buffer: GPUBuffer; lease: Lease }[] = [];
  #inputTensors = new Map<object, number>();
  spoiled?: string;

  constructor(
    inputs: readonly { name: string; tensor: object; buffer: GPUBuffer; bytes: number }[],
    private readonly leaseOf: (b: GPUBuffer) => Lease | undefined,
  ) {
    for (const i of inputs) {
      if (this.#refs.has(i.buffer)) this.spoil(`inputs share a buffer (${i.name})`);
      const ref = this.#ref(i.buffer, 'in');
      this.#inputTensors.set(i.tensor, ref);
      this.inputs.push({ name: i.name, bytes: i.bytes });
    }
  }

  #ref(b: GPUBuffer, kind: 'in' | 'out' | 'buf' | 'fixed'): number {
    const ref = this.#next++;
    this.#refs.set(b, ref);
    this.#slots.set(ref, kind);
    return ref;
  }

  spoil(why: string): void {
    this.spoiled ??= why;
  }

  /** The ref of a buffer bound or copied: a fixed buffer the first time one of no role is seen. */
  refOf(b: GPUBuffer): number {
    const r = this.#refs.get(b);
    if (r !== undefined) return r;
    const lease = this.leaseOf(b);
    if (!lease) {
      this.spoil('a buffer of no known tenure is bound');
      return -1;
    }
    const ref = this.#ref(b, 'fixed');
    this.fixed.push({ ref, buffer: b, lease });
    return ref;
  }

  output(info: TensorInfo, tensor: object, buffer: GPUBuffer): void {
    const ref = this.#ref(buffer, 'out');
    this.#outTensors.set(tensor, ref);
    this.#outInfos.set(ref, info);
    this.#live.add(ref);
    this.steps.push({ k: 'out', ref, info });
  }

  buffer(buffer: GPUBuffer, bytes: number): void {
    const ref = this.#ref(buffer, 'buf');
    this.#live.add(ref);
    this.steps.push({ k: 'buf', ref, bytes });
  }

  upload(buffer: GPUBuffer, data: ArrayBufferView, offset: number): void {
    const ref = this.#refs.get(buffer);
    const kind = ref === undefined ? undefined : this.#slots.get(ref);
    if (ref === undefined || (kind !== 'out' && kind !== 'buf')) return this.spoil('an upload into a buffer the launch did not allocate');
    this.steps.push({ k: 'upload', ref, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(), offset });
  }

  released(buffer: GPUBuffer): void {
    const ref = this.#refs.get(buffer);
    const kind = ref === undefined ? undefined : this.#slots.get(ref);
    if (ref === undefined || (kind !== 'out' && kind !== 'buf')) return this.spoil('a buffer the launch did not allocate was released');
    this.#refs.delete(buffer); // a later allocation may get it back under a new ref
    this.#live.delete(ref);
    this.steps.push({ k: 'free', ref });
  }

  /** The tape, or undefined when spoiled; `results` is what the launcher returned. */
  finish(results: Record<string, { dtype: string; shape: readonly number[] }>, bufferOf: (t: object) => GPUBuffer | undefined, tuningKey: string, pipelineGeneration: number): Tape | undefined {
    const out: { key: string; ref: number; shape?: readonly number[] }[] = [];
    for (const [key, t] of Object.entries(results)) {
      let ref = this.#outTensors.get(t) ?? this.#inputTensors.get(t);
      let shape: readonly number[] | undefined;
      if (ref === undefined) {
        // An output slot's storage under another shape (reshapeOwned): the same dtype and size.
        const b = bufferOf(t);
        const r = b === undefined ? undefined : this.#refs.get(b);
        const info = r === undefined ? undefined : this.#outInfos.get(r);
        if (r !== undefined && info && info.dtype === t.dtype && size(info.shape) === size(t.shape)) [ref, shape] = [r, t.shape];
      }
      if (ref === undefined) this.spoil(`result '${key}' is neither an input nor an output the launch allocated`);
      else {
        out.push({ key, ref, shape });
        this.#live.delete(ref);
      }
    }
    if (this.#live.size) this.spoil('a buffer the launch allocated outlives it unreturned');
    if (this.spoiled) return undefined;
    return { inputs: this.inputs, fixed: this.fixed, refs: this.#next, steps: this.steps, results: out, tuningKey, pipelineGeneration };
  }
}
