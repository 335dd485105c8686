import { DeviceLostError, DisposedError, GpuOutOfMemoryError, GpuValidationError, LimitError, PmetalError } from '../../errors.js';
import type { OpenedDevice } from './device.js';
import { GraphRecorder, type GraphCmd, type RecordedGraph } from './graph.js';
import { BindGroupCache } from './bind_groups.js';
import { checkDispatch, writableBindings } from './dispatch_check.js';
import { FailureLog, type Lease, type Recorded } from './failures.js';
import type { TapeDispatch, TapeRecorder } from './launch_tape.js';
import { ParamsPool, paramsKey } from './params_pool.js';
import { PipelineCache, type PipelineSpec } from './pipelines.js';
import { benchStage, refreshTuning } from './tuning.js';

export interface Binding {
  binding: number;
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

export interface Dispatch {
  pipeline: PipelineSpec;
  bindings: Binding[];
  /** The kernel's Params uniform: binding index and packed bytes. */
  params?: { binding: number; data: ArrayBuffer };
  workgroups: readonly [number, number?, number?];
  /** Names the dispatch in errors (default: the runtime's `op`, else the pipeline key). */
  op?: string;
}

const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
/**
 * Freed buffers kept for reuse, in bytes: PMETAL_POOL_MIB when set (a hard limit), else
 * undefined — the adaptive default (WebGpuRuntime.#poolRoom): at least 4 GiB (a few
 * LLM-sized activations), and beyond that as much as keeps the backend's footprint within
 * the most it has had live at once. A workload that frees more than 4 GiB a step (a 1B LoRA
 * step frees ~3.6 GB of activations, an 8B one ~11 GiB) otherwise destroys and re-creates
 * buffers, and their bind groups, every step: run S8 timed the 8B step at 766 ms under a
 * fixed 4 GiB pool and 588 ms under 16 GiB.
 */
function poolLimitBytes(): number | undefined {
  const mib = Number(typeof process !== 'undefined' ? process.env.PMETAL_POOL_MIB : undefined);
  return Number.isFinite(mib) && mib >= 0 ? mib * 2 ** 20 : undefined;
}
/** The adaptive pool's floor: freed bytes kept whatever the live peak. */
const POOL_FLOOR = 4 * 2 ** 30;
const MAX_QUERIES = 4096;
/** Bind groups a launch tape's dispatch remembers (launch_tape.ts). */
const RECENT_GROUPS = 4;
/** Uploads are staged in pieces of this size… */
const UPLOAD_PIECE = 64 * 2 ** 20;
/** …and the batch is submitted (freeing the pieces) once this much is staged. */
const STAGED_FLUSH = 512 * 2 ** 20;
/** Uploads up to this size go through queue.writeBuffer when they can (upload()): Dawn stages them in its own ring. */
const WRITE_BUFFER_MAX = 1 << 20;
/** Read-back staging buffers up to this size are kept for reuse, a few per size (reads in flight at once). */
const READ_KEEP_MAX = 64 << 10;
/** Bytes of the upload ring: small uploads of one batch into buffers the batch already names. */
const UPLOAD_RING = 1 << 20;
const READ_KEEP_PER_SIZE = 8;

/** Buffer sizes are rounded to classes so freed buffers are reused by similar tensors. */
function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 1 << 16) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3); // eighths of the power of two below
  return Math.ceil(b / step) * step;
}

/**
 * Dawn device runtime: buffer pool, pipeline cache, and one open batch (command encoder)
 * that records every dispatch and upload until a read or sync submits it. Errors raised by
 * a batch are collected with error scopes and surface as typed errors from sync()/read();
 * device loss rejects every pending wait instead of hanging it.
 */
export class Runtime {
  readonly device: GPUDevice;
  readonly cache: PipelineCache;
  readonly timestamps: boolean;
  /**
   * Freed buffers per size class, highest creation serial first: a hand-out takes the
   * lowest-numbered free buffer (pop), not the last released one. Why: a training or decode
   * loop allocates and frees the same sequence every step; with last-released-first, the
   * free list's order changes each step (two tensors freed in the other order than taken
   * trade buffers), so the same op got other buffers step after step, and new bind groups
   * (~90% of a LoRA step's). Lowest-first makes the hand-outs a function of the *set* of free
   * buffers, which a step that frees all it took leaves as it found it: the next step gets
   * the very same buffers.
   */
  #pool = new Map<number, GPUBuffer[]>();
  /** Creation order of each storage buffer (the pool's hand-out order). */
  #serial = new WeakMap<GPUBuffer, number>();
  #nextSerial = 0;
  /** Byte size of each buffer this runtime made: GPUBuffer.size is a native getter (~0.15 µs), read per binding per call otherwise. */
  #sizes = new WeakMap<GPUBuffer, number>();
  #pooledBytes = 0;
  /** Storage buffers made by createBuffer and not yet destroyed (the pool's included): GPU memory the backend holds for tensors. */
  #storage = new WeakSet<GPUBuffer>();
  #memory = { live: 0, peakLive: 0, allocated: 0, peakAllocated: 0 };
  /** The most bytes ever live at once (resetPeakMemory leaves it): the adaptive pool's ceiling. */
  #liveCeiling = 0;
  #encoder?: GPUCommandEncoder;
  /** The compute pass consecutive dispatches share (each dispatch is its own usage scope, so Dawn still orders them). */
  #pass?: GPUComputePassEncoder;
  /**
   * Bench only (PMETAL_BENCH_ONE_WORKGROUP=1, read once when the runtime opens; wrong results):
   * every dispatch runs its first workgroup alone — a step's chain of dependent launches with
   * almost no work in them, the floor the launches themselves set (bench/device-s15-b.sh).
   */
  readonly #oneWorkgroup = benchStage('PMETAL_BENCH_ONE_WORKGROUP', [1]) === 1;
  /** What the open pass has bound: a dispatch that repeats it skips the native call (~0.6–0.9 µs each in dawn.node). */
  #passPipeline?: GPUComputePipeline;
  #passGroup?: GPUBindGroup;
  #uniforms: ParamsPool;
  /** Bind groups per (pipeline, buffer windows, Params slot): see bind_groups.ts. */
  readonly bindGroups: BindGroupCache;
  #log = new FailureLog();
  /** Per pipeline, the bindings its kernel writes (read_write). */
  #writable = new WeakMap<GPUComputePipeline, Set<number>>();
  #trash: GPUBuffer[] = [];
  #stagedBytes = 0;
  #uncaptured: GPUError[] = [];
  #lost?: DeviceLostError;
  /** Rejecters of the GPU waits in flight: device loss rejects them all (see #guard). */
  #waiters = new Set<(e: Error) => void>();
  #destroyed = false;
  #query?: { set: GPUQuerySet; used: number; resolve: GPUBuffer };
  #timings: Promise<number[]>[] = [];
  /** Timed passes recorded so far (a cursor for grouping pass times by call). */
  timedPasses = 0;
  /** When set while profiling: each timed pass's op and kernel (the pipeline key up to its first '|'), in recording order. */
  passLabels?: { op: string; kernel: string }[];
  profiling = false;
  /** When set, every dispatch is recorded here (tests check bindings against the shaders). */
  trace?: Dispatch[];
  /** The op being recorded (the backend sets it around a launch): names errors and failed submissions. */
  op?: string;
  /** While a launch is being recorded for replay (launch_tape.ts), what it does is noted here. */
  tape?: TapeRecorder;
  /** Dispatches recorded since creation (for tests of batching). */
  dispatchCount = 0;
  /** Storage buffers created on the device (pool misses), since creation. */
  buffersCreated = 0;
  /** Dispatches recorded since the last submission (the backend submits between ops past FLUSH_DISPATCHES). */
  pendingDispatches = 0;
  submitCount = 0;
  /**
   * Host ms spent inside Dawn's command-buffer finish + queue.submit (where it translates the
   * recorded passes to Vulkan), since creation: the bench splits a step's host time with it.
   */
  submitMs = 0;
  /** Uploads written through queue.writeBuffer (no staging buffer of their own), since creation. */
  writesQueued = 0;
  /** Buffers a command of the open batch names: an upload to one of them must stay in the batch's order. */
  #touched = new Set<GPUBuffer>();
  /** The upload ring (#smallUpload) and the bytes of it this batch has used. */
  #ring?: GPUBuffer;
  #ringUsed = 0;
  /** The step graph being captured (graph.ts), buffers live graphs bind (with how many do), and those released meanwhile. */
  #capture?: GraphRecorder;
  #pinned = new Map<GPUBuffer, number>();
  #held = new Set<GPUBuffer>();
  /** Unmapped read-back staging buffers by size (#readStaging). */
  #readKept = new Map<number, GPUBuffer[]>();

  constructor(
    readonly opened: OpenedDevice,
    /** Bytes of freed buffers kept for reuse, a hard limit (tests lower it); undefined: adaptive (poolLimitBytes). */
    readonly poolLimit: number | undefined = poolLimitBytes(),
    /** The adaptive pool's floor (tests lower it). */
    readonly poolFloor = POOL_FLOOR,
  ) {
    this.device = opened.device;
    this.cache = new PipelineCache(this.device);
    this.timestamps = opened.features.has('timestamp-query');
    this.#uniforms = new ParamsPool(this.device, opened.limits.minUniformBufferOffsetAlignment);
    this.bindGroups = new BindGroupCache(this.device);
    void this.device.lost.then((info) => {
      this.#lost = new DeviceLostError(`[webgpu] device lost (${info.reason}): ${info.message}`);
      for (const reject of this.#waiters) reject(this.#lost);
      this.#waiters.clear();
    });
    // The handler must not reach the runtime: dawn.node holds it strongly, and through the
    // runtime it would keep the device and its Dawn instance (a file descriptor, 5 threads,
    // ~1.7 MB on lavapipe) alive forever. It is also dropped by destroy().
    const uncaptured = this.#uncaptured;
    this.device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      uncaptured.push(ev.error);
    };
  }

  get lost(): boolean {
    return this.#lost !== undefined;
  }

  #alive(): void {
    // Disposal first: destroying the device also settles its loss ('destroyed').
    if (this.#destroyed) throw new DisposedError('[webgpu] backend was disposed');
    if (this.#lost) throw this.#lost;
  }

  /**
   * A GPU wait that device loss rejects, so a lost device never hangs a caller. The waiter
   * leaves the set when `p` settles: a Promise.race against a loss promise that never
   * settles would keep every call's reaction (~700 bytes) for the life of the device.
   */
  #guard<T>(p: Promise<T>): Promise<T> {
    if (this.#lost) return Promise.reject(this.#lost);
    return new Promise<T>((resolve, reject) => {
      this.#waiters.add(reject);
      p.then(
        (v) => {
          this.#waiters.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.#waiters.delete(reject);
          reject(e);
        },
      );
    });
  }

  createBuffer(bytes: number): GPUBuffer {
    this.#alive();
    const max = this.opened.limits.maxBufferSize;
    if (bytes > max) throw new LimitError(`[${this.op ?? 'webgpu'}] a buffer of ${bytes} bytes is over maxBufferSize (${max}) of this device (the adapter's maximum, requested in full); split the tensor`);
    // Near the limit the size class could round past it: take the exact size there.
    let size = sizeClass(bytes);
    if (size > max) size = Math.ceil(bytes / 4) * 4;
    const free = this.#pool.get(size);
    const hit = free?.pop();
    if (hit) {
      // An emptied size class leaves the map: eviction takes the first entry's buffer.
      if (!free!.length) this.#pool.delete(size);
      this.#pooledBytes -= size;
      this.#log.renew(hit);
      this.#lend(size);
      this.tape?.buffer(hit, bytes);
      return hit;
    }
    // A new buffer: under the adaptive limit, pooled buffers of other sizes give way first so
    // live + pooled stays within max(live ceiling, live + 4 GiB) (#poolRoom).
    if (this.poolLimit === undefined) {
      const live = this.#memory.live + size;
      this.#evictTo(Math.max(this.poolFloor, Math.max(this.#liveCeiling, live) - live));
    }
    const buf = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    this.buffersCreated++;
    this.#serial.set(buf, this.#nextSerial++);
    this.#storage.add(buf);
    this.#sizes.set(buf, size);
    const m = this.#memory;
    m.allocated += size;
    m.peakAllocated = Math.max(m.peakAllocated, m.allocated);
    this.#log.renew(buf);
    this.#lend(size);
    this.tape?.buffer(buf, bytes);
    return buf;
  }

  /** `buf.size`, from the table for buffers made here (any other buffer: asked of Dawn). */
  sizeOf(buf: GPUBuffer): number {
    return this.#sizes.get(buf) ?? buf.size;
  }

  #lend(size: number): void {
    const m = this.#memory;
    m.live += size;
    m.peakLive = Math.max(m.peakLive, m.live);
    this.#liveCeiling = Math.max(this.#liveCeiling, m.live);
  }

  /**
   * Bytes the pool may hold now: the hard limit, or (adaptive) the floor or the room under
   * the live ceiling, whichever is more — pooled buffers then never take the footprint
   * (live + pooled) past max(live ceiling, live + 4 GiB), what the workload had already needed.
   */
  #poolRoom(): number {
    return this.poolLimit ?? Math.max(this.poolFloor, this.#liveCeiling - this.#memory.live);
  }

  /**
   * Bytes of storage buffers: `live` handed out (tensors, and buffers a caller took with
   * createBuffer), `allocated` held on the device (live + pooled + released but not yet
   * destroyed), each with its high-water mark since creation or resetPeakMemory(). Sizes are
   * the size classes actually allocated; staging, uniform and query buffers are not counted.
   * What PyTorch calls max_memory_allocated / max_memory_reserved.
   */
  get memory(): { readonly liveBytes: number; readonly peakLiveBytes: number; readonly allocatedBytes: number; readonly peakAllocatedBytes: number } {
    const m = this.#memory;
    return { liveBytes: m.live, peakLiveBytes: m.peakLive, allocatedBytes: m.allocated, peakAllocatedBytes: m.peakAllocated };
  }

  /** Starts both high-water marks again from the current amounts (a benchmark phase's own peak). */
  resetPeakMemory(): void {
    this.#memory.peakLive = this.#memory.live;
    this.#memory.peakAllocated = this.#memory.allocated;
  }

  releaseBuffer(buf: GPUBuffer): void {
    if (this.#destroyed) return;
    this.tape?.released(buf);
    this.#log.end(buf); // a launch tape that bound it as a fixed buffer sees it gone
    const size = this.sizeOf(buf);
    if (this.#storage.has(buf)) this.#memory.live -= size;
    if (this.#pinned.has(buf)) {
      // A live step graph binds it: kept for the graph, pooled when the graph goes.
      this.#held.add(buf);
      return;
    }
    this.#toPool(buf, size);
  }

  #toPool(buf: GPUBuffer, size: number): void {
    const room = this.#poolRoom();
    if (size > room) {
      // Still referenced by the open batch, perhaps: destroy after it is submitted.
      this.#trash.push(buf);
      return;
    }
    // Over the limit, the size classes released longest ago make room: the buffer just
    // released is the one the next call most likely needs. (Refusing it instead made a
    // workload whose pool had filled with other sizes allocate — and lazily clear — a
    // fresh output on every call: 1 GB softmax outputs ran at 59 ms a call on the H100.)
    this.#evictTo(room - size);
    // Map order is the release order of size classes: re-inserting moves this one last.
    const list = this.#pool.get(size) ?? [];
    this.#pool.delete(size);
    // Kept in descending serial order (binary search for the place): pop() is the lowest.
    const serial = this.#serial.get(buf) ?? -1;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#serial.get(list[mid]) ?? -1) > serial) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, buf);
    this.#pool.set(size, list);
    this.#pooledBytes += size;
  }

  /** Destroys pooled buffers, size classes released longest ago first, until at most `bytes` stay pooled. */
  #evictTo(bytes: number): void {
    while (this.#pooledBytes > bytes) {
      const [oldest, list] = this.#pool.entries().next().value as [number, GPUBuffer[]];
      const victim = list.shift()!;
      if (!list.length) this.#pool.delete(oldest);
      this.#pooledBytes -= oldest; // a size class holds buffers of exactly that size
      this.#trash.push(victim);
    }
  }

  #batch(): GPUCommandEncoder {
    this.#alive();
    if (!this.#encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.#encoder = this.device.createCommandEncoder();
    }
    return this.#encoder;
  }

  /** The batch's encoder outside any compute pass (copies and clears cannot be recorded inside one). */
  #encoderOnly(): GPUCommandEncoder {
    const enc = this.#batch();
    this.#pass?.end();
    this.#pass = undefined;
    return enc;
  }

  /** Records host data into the batch (through a mapped staging buffer, so it is ordered with the dispatches around it). */
  upload(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    this.tape?.upload(dst, data, dstOffset);
    const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#capture?.transfer({ k: 'upload', dst, data: src.slice(), offset: dstOffset });
    if (src.byteLength <= WRITE_BUFFER_MAX && this.#smallUpload(dst, src, dstOffset)) return;
    this.#touched.add(dst);
    // Staged in pieces, submitted as they fill: a multi-GB tensor never needs a staging
    // buffer of its own size (host-visible memory is the scarcer kind).
    for (let at = 0; at < src.byteLength; at += UPLOAD_PIECE) {
      const piece = src.subarray(at, Math.min(src.byteLength, at + UPLOAD_PIECE));
      const bytes = Math.ceil(piece.byteLength / 4) * 4;
      const staging = this.device.createBuffer({ size: bytes, usage: 0x04 /* COPY_SRC */, mappedAtCreation: true });
      new Uint8Array(staging.getMappedRange()).set(piece);
      staging.unmap();
      this.#encoderOnly().copyBufferToBuffer(staging, 0, dst, dstOffset + at, bytes);
      this.#log.record(this.op ?? 'upload', [], [this.#log.lease(dst)]);
      this.#trash.push(staging);
      this.#stagedBytes += bytes;
      if (this.#stagedBytes >= STAGED_FLUSH) this.flush();
    }
  }

  /**
   * A small upload without a staging buffer of its own (one made, mapped and destroyed per
   * upload cost ~0.2 ms of host time on the H100 machine: run S7's decode profile, a step's
   * position, length and sampler uploads). When no command of the open batch names dst, the
   * data is written on the queue timeline — before the batch's commands, after every earlier
   * submission's — which reads as the in-order copy would. Otherwise it is written into this
   * batch's region of the upload ring (never reused before the batch is submitted) and copied
   * from there in order. False when the ring is full: the caller stages it.
   */
  #smallUpload(dst: GPUBuffer, src: Uint8Array, dstOffset: number): boolean {
    this.#alive();
    const bytes = Math.ceil(src.byteLength / 4) * 4;
    const touched = this.#touched.has(dst);
    if (touched && this.#ringUsed + bytes > UPLOAD_RING) return false;
    this.#batch();
    const whole = bytes === src.byteLength ? src : padTo(src, bytes);
    if (!touched) {
      this.device.queue.writeBuffer(dst, dstOffset, whole.buffer, whole.byteOffset, bytes);
    } else {
      this.#ring ??= this.device.createBuffer({ size: UPLOAD_RING, usage: 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */ });
      const at = this.#ringUsed;
      this.#ringUsed += bytes;
      this.device.queue.writeBuffer(this.#ring, at, whole.buffer, whole.byteOffset, bytes);
      this.#encoderOnly().copyBufferToBuffer(this.#ring, at, dst, dstOffset, bytes);
    }
    this.#log.record(this.op ?? 'upload', [], [this.#log.lease(dst)]);
    this.writesQueued++;
    return true;
  }

  clear(dst: GPUBuffer, offset = 0, size?: number): void {
    if (this.tape) this.tape.steps.push({ k: 'clear', ref: this.tape.refOf(dst), offset, size });
    this.#touched.add(dst);
    this.#capture?.transfer({ k: 'clear', dst, offset, size });
    this.#encoderOnly().clearBuffer(dst, offset, size);
    this.#log.record(this.op ?? 'clear', [], [this.#log.lease(dst)]);
  }

  /** Records a buffer-to-buffer copy (offsets and size multiples of 4, as WebGPU requires; the caller checks). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (this.tape) this.tape.steps.push({ k: 'copy', src: this.tape.refOf(src), srcOffset, dst: this.tape.refOf(dst), dstOffset, bytes });
    this.#touched.add(src).add(dst);
    this.#capture?.transfer({ k: 'copy', src, srcOffset, dst, dstOffset, bytes });
    this.#encoderOnly().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.#log.record(this.op ?? 'copy', [this.#log.lease(src)], [this.#log.lease(dst)]);
  }

  /**
   * Records a dispatch, after checking everything Dawn would reject in it (a rejected
   * command spoils its whole batch): a typed error names the op, and nothing is recorded.
   */
  dispatch(d: Dispatch): void {
    this.#alive();
    const { key, pipeline, layout } = this.cache.entry(d.pipeline);
    const op = d.op ?? this.op ?? key;
    let writable = this.#writable.get(pipeline);
    if (!writable) this.#writable.set(pipeline, (writable = writableBindings(d.pipeline)));
    checkDispatch(d, op, this.opened.limits, writable, (b) => this.sizeOf(b));
    // The batch's error scopes open first: a bind group's error then belongs to its batch.
    this.#batch();
    this.trace?.push(d);
    const windows = d.bindings.map((b) => ({ binding: b.binding, buffer: b.buffer, offset: b.offset ?? 0, size: b.size }));
    // The Params bytes' key, once: the slot, a capture and a launch tape all name it.
    const pkey = d.params && paramsKey(d.params.data);
    if (d.params) {
      const u = this.#uniforms.reserveKeyed(pkey!, d.params.data);
      windows.push({ binding: d.params.binding, buffer: u.buffer, offset: u.offset, size: u.size });
    }
    // Labelled with the op: Dawn's messages quote the label, so a GPU error can name the op.
    const group = this.bindGroups.get(key, layout, windows, op);
    const reads: Lease[] = [];
    const writes: Lease[] = [];
    for (const b of d.bindings) {
      (writable.has(b.binding) ? writes : reads).push(this.#log.lease(b.buffer));
      this.#touched.add(b.buffer);
    }
    this.#log.record(op, reads, writes);
    if (this.#capture) {
      const x = { k: 'dispatch' as const, pipeline, group, x: d.workgroups[0], y: d.workgroups[1] ?? 1, z: d.workgroups[2] ?? 1, op, key };
      this.#captured(x, d.bindings.map((b) => b.buffer), d.bindings.filter((b) => writable.has(b.binding)).map((b) => b.buffer), pkey);
    }
    const tape = this.tape;
    if (tape) {
      const bindings = d.bindings.map((b) => ({ binding: b.binding, ref: tape.refOf(b.buffer), offset: b.offset ?? 0, size: b.size }));
      const params = d.params && { binding: d.params.binding, data: d.params.data, key: pkey! };
      const workgroups: [number, number, number] = [d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1];
      tape.steps.push({ k: 'dispatch', d: { entry: { key, pipeline, layout }, op, writable, bindings, params, workgroups, recent: [] } });
    }
    this.#encode(pipeline, group, d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1, op, key);
  }

  /**
   * A dispatch of a launch tape on this call's buffers (`buffers[ref]`): everything
   * dispatch() checks was checked when it was recorded and holds for these buffers
   * (launch_tape.ts says why); the failure log and the pass are kept as dispatch() keeps them.
   */
  replayDispatch(t: TapeDispatch, buffers: readonly GPUBuffer[]): void {
    this.#alive();
    this.#batch();
    const slot = t.params ? this.#uniforms.reserveKeyed(t.params.key, t.params.data) : undefined;
    const bs = t.bindings;
    const gen = this.bindGroups.generation;
    let group: GPUBindGroup | undefined;
    const recent = t.recent;
    for (let r = 0; r < recent.length && !group; r++) {
      const c = recent[r];
      if (c.slot !== slot || c.generation !== gen) continue;
      let same = true;
      for (let i = 0; i < bs.length && same; i++) same = buffers[bs[i].ref] === c.buffers[i];
      if (same) group = c.group;
    }
    if (group) this.bindGroups.hits++;
    else {
      const windows = bs.map((b) => ({ binding: b.binding, buffer: buffers[b.ref], offset: b.offset, size: b.size }));
      if (slot) windows.push({ binding: t.params!.binding, buffer: slot.buffer, offset: slot.offset, size: slot.size });
      group = this.bindGroups.get(t.entry.key, t.entry.layout, windows, t.op);
      // A group from before a cache drop is stale for good: keep only the current ones.
      const keep = recent.filter((c) => c.generation === this.bindGroups.generation).slice(0, RECENT_GROUPS - 1);
      t.recent = [{ buffers: bs.map((b) => buffers[b.ref]), slot, group, generation: this.bindGroups.generation }, ...keep];
    }
    const reads: Lease[] = [];
    const writes: Lease[] = [];
    for (const b of bs) {
      const buf = buffers[b.ref];
      (t.writable.has(b.binding) ? writes : reads).push(this.#log.lease(buf));
      this.#touched.add(buf);
    }
    this.#log.record(t.op, reads, writes);
    if (this.#capture) {
      const x = { k: 'dispatch' as const, pipeline: t.entry.pipeline, group, x: t.workgroups[0], y: t.workgroups[1], z: t.workgroups[2], op: t.op, key: t.entry.key };
      this.#captured(x, bs.map((b) => buffers[b.ref]), bs.filter((b) => t.writable.has(b.binding)).map((b) => buffers[b.ref]), t.params?.key);
    }
    this.#encode(t.entry.pipeline, group, t.workgroups[0], t.workgroups[1], t.workgroups[2], t.op, t.entry.key);
  }

  /** The buffer's current tenure, without starting one (a launch tape's fixed buffers). */
  leaseOf(buf: GPUBuffer): Lease | undefined {
    return this.#log.current(buf);
  }

  /** Records the dispatch into the batch's compute pass (a pass of its own while profiling). */
  #encode(pipeline: GPUComputePipeline, group: GPUBindGroup, x: number, y: number, z: number, op: string, key: string): void {
    // While profiling, each dispatch gets its own pass: timestamps are written per pass.
    const timed = this.profiling && this.timestamps;
    if (timed || !this.#pass) {
      const desc: GPUComputePassDescriptor = {};
      if (timed) {
        const q = this.#queries();
        desc.timestampWrites = { querySet: q.set, beginningOfPassWriteIndex: q.used, endOfPassWriteIndex: q.used + 1 };
        q.used += 2;
        this.timedPasses++;
        this.passLabels?.push({ op: this.op ?? op, kernel: key.slice(0, key.indexOf('|') >>> 0) });
      }
      const enc = this.#encoderOnly();
      this.#pass = enc.beginComputePass(desc);
      this.#passPipeline = undefined;
      this.#passGroup = undefined;
    }
    const pass = this.#pass!;
    // Pass state persists between dispatches of one pass (WebGPU), so setting what is set is a no-op.
    if (pipeline !== this.#passPipeline) pass.setPipeline((this.#passPipeline = pipeline));
    if (group !== this.#passGroup) pass.setBindGroup(0, (this.#passGroup = group));
    if (this.#oneWorkgroup) pass.dispatchWorkgroups(1, 1, 1);
    else pass.dispatchWorkgroups(x, y, z);
    if (timed) {
      pass.end();
      this.#pass = undefined;
    }
    this.dispatchCount++;
    this.pendingDispatches++;
    if (this.#query && this.#query.used >= MAX_QUERIES) this.flush();
  }

  #queries() {
    this.#query ??= {
      set: this.device.createQuerySet({ type: 'timestamp', count: MAX_QUERIES }),
      used: 0,
      resolve: this.device.createBuffer({ size: MAX_QUERIES * 8, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 }),
    };
    return this.#query;
  }

  /** Starts capturing a step graph (graph.ts): what is recorded until endCapture() is also kept for replay. */
  beginCapture(): void {
    this.#alive();
    if (this.#capture) throw new Error('[webgpu] a step graph is already being captured');
    this.#capture = new GraphRecorder();
  }

  /** A captured dispatch: its Params slot is pinned at once (a long capture spans batches, and a slot of an earlier batch could be re-assigned). */
  #captured(cmd: Extract<GraphCmd, { k: 'dispatch' }>, buffers: GPUBuffer[], writes: GPUBuffer[], slot: string | undefined): void {
    const c = this.#capture!;
    if (slot !== undefined && !c.slots.has(slot)) this.#uniforms.pin(slot);
    c.dispatch(cmd, buffers, writes, slot);
  }

  /** Drops the capture (the step's commands were recorded and run as usual). */
  abortCapture(): void {
    const c = this.#capture;
    this.#capture = undefined;
    if (c) for (const key of c.slots) this.#uniforms.unpin(key);
  }

  /**
   * Ends the capture: the graph's buffers leave the pool (and a tensor of it disposed later
   * keeps its buffer for the graph), its Params slots are pinned.
   */
  endCapture(): RecordedGraph {
    const c = this.#capture;
    if (!c) throw new Error('[webgpu] endCapture without beginCapture');
    this.#capture = undefined;
    const g = c.finish();
    const mine = new Set(g.buffers);
    for (const b of g.buffers) this.#pinned.set(b, (this.#pinned.get(b) ?? 0) + 1);
    for (const [size, list] of [...this.#pool]) {
      const keep = list.filter((b) => !mine.has(b));
      if (keep.length === list.length) continue;
      for (const b of list) if (mine.has(b)) this.#held.add(b);
      this.#pooledBytes -= size * (list.length - keep.length);
      if (keep.length) this.#pool.set(size, keep);
      else this.#pool.delete(size);
    }
    // A trashed buffer (over the pool's limit) is not destroyed while the graph binds it.
    this.#trash = this.#trash.filter((b) => (mine.has(b) ? (this.#held.add(b), false) : true));
    return g;
  }

  /** Records the graph's commands into the open batch, on its own buffers. */
  replayGraph(g: RecordedGraph): void {
    this.#alive();
    if (g.disposed) throw new DisposedError('[webgpu] step graph was disposed');
    if (this.#capture) throw new Error('[webgpu] replaying a step graph during a capture');
    this.#batch();
    for (const b of g.buffers) this.#touched.add(b);
    // One failure record for the whole step: a failed batch spoils what the graph writes.
    this.#log.record('step graph', [], g.written.map((b) => this.#log.lease(b)));
    for (const c of g.cmds) {
      if (c.k === 'dispatch') this.#encode(c.pipeline, c.group, c.x, c.y, c.z, c.op, c.key);
      else if (c.k === 'copy') this.#encoderOnly().copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
      else if (c.k === 'clear') this.#encoderOnly().clearBuffer(c.dst, c.offset, c.size);
      else this.upload(c.dst, c.data, c.offset);
    }
  }

  /** Releases the graph: its slots unpinned, the buffers only it kept pooled again. */
  disposeGraph(g: RecordedGraph): void {
    if (g.disposed) return;
    g.disposed = true;
    if (this.#destroyed) return;
    for (const key of g.slots) this.#uniforms.unpin(key);
    for (const b of g.buffers) {
      const n = (this.#pinned.get(b) ?? 0) - 1;
      if (n > 0) {
        this.#pinned.set(b, n);
        continue;
      }
      this.#pinned.delete(b);
      if (this.#held.delete(b)) this.#toPool(b, this.sizeOf(b));
    }
  }

  /** Submits the open batch (if any). */
  flush(): void {
    this.tape?.spoil('a submission in the middle of the launch');
    refreshTuning();
    if (!this.#encoder) return;
    const enc = this.#encoderOnly();
    this.#encoder = undefined;
    let read: { buf: GPUBuffer; n: number } | undefined;
    if (this.#query && this.#query.used > 0) {
      const q = this.#query;
      enc.resolveQuerySet(q.set, 0, q.used, q.resolve, 0);
      read = { buf: this.device.createBuffer({ size: q.used * 8, usage: 0x01 /* MAP_READ */ | 0x08 }), n: q.used };
      enc.copyBufferToBuffer(q.resolve, 0, read.buf, 0, q.used * 8);
      q.used = 0;
    }
    this.#uniforms.commit(this.device.queue);
    const t0 = performance.now();
    this.device.queue.submit([enc.finish()]);
    this.submitMs += performance.now() - t0;
    this.submitCount++;
    this.pendingDispatches = 0;
    this.#touched.clear();
    this.#ringUsed = 0;
    const scopes = [this.device.popErrorScope(), this.device.popErrorScope()];
    this.#log.submit((batch) => this.#verdict(scopes, batch));
    // Map only after the submit: a buffer pending a map cannot be used in a submission.
    if (read) this.#timings.push(this.#readTimes(read.buf, read.n));
    for (const b of this.#trash) this.#destroyBuffer(b);
    this.#trash = [];
    this.#stagedBytes = 0;
  }

  /** A buffer's cached bind groups go with it (a group naming a destroyed buffer is invalid). */
  #destroyBuffer(b: GPUBuffer): void {
    this.bindGroups.forget(b);
    if (this.#storage.delete(b)) this.#memory.allocated -= this.sizeOf(b);
    b.destroy();
  }

  async #readTimes(buf: GPUBuffer, n: number): Promise<number[]> {
    await this.#guard(buf.mapAsync(0x01));
    const t = new BigUint64Array(buf.getMappedRange().slice(0));
    buf.destroy();
    const ns: number[] = [];
    for (let i = 0; i < n; i += 2) ns.push(Number(t[i + 1] - t[i]));
    return ns;
  }

  /** The typed error a submission failed with (undefined when it did not), given its commands. */
  async #verdict(scopes: Promise<GPUError | null>[], batch: readonly Recorded[]): Promise<PmetalError | undefined> {
    const errs = (await Promise.all(scopes)).filter((e): e is GPUError => e !== null);
    if (!errs.length) return undefined;
    // An out-of-memory error explains the "invalid due to a previous error" validation errors that follow it.
    errs.sort((a, b) => Number(isOom(b)) - Number(isOom(a)));
    // A compile error explains the validation errors that follow from it: it is the cause.
    try {
      await this.cache.check();
    } catch (e) {
      if (e instanceof PmetalError) return e;
      throw e;
    }
    return toTyped(errs[0], batch);
  }

  /** Submits and waits; throws the first error of a batch since the last sync that no read threw. */
  async sync(): Promise<void> {
    this.#alive();
    this.flush();
    await this.#guard(this.device.queue.onSubmittedWorkDone());
    await this.#raise();
  }

  /**
   * Waits until every submission is judged, then throws: the error of a lease in `mine` (a
   * spoiled tensor, every time it is read), else a compile error, else the first submission
   * error no sync()/read() has thrown yet (once), else an uncaptured error.
   */
  async #raise(mine: Lease[] = []): Promise<void> {
    await this.#guard(this.#log.settled());
    const own = mine.find((l) => l.failed)?.failed;
    if (own) {
      this.#log.reported(own);
      throw own;
    }
    await this.cache.check();
    const all = [...this.#log.takeUnreported(), ...this.#uncaptured.splice(0).map((e) => toTyped(e))];
    if (all.length) throw all[0];
  }

  /** The submission the reads begun in this synchronous stretch share (read()). */
  #readFlush?: Promise<void>;

  /**
   * Submits the batch once the current synchronous stretch ends, for a read whose batch holds
   * no dispatch: reads begun together (`Promise.all(ts.map(read))`: a training step's losses
   * and AdamW flag, clipping's per-tensor squares) then cost two submissions — the first
   * read's, with the recorded work, at once; the rest together — not one each. A read behind
   * recorded dispatches still submits at once, so the GPU starts on them while the host goes
   * on (the pipelined decode loop records step n+1 right after reading step n's ids).
   */
  #flushForReads(): Promise<void> {
    return (this.#readFlush ??= Promise.resolve().then(() => {
      this.#readFlush = undefined;
      this.flush();
    }));
  }

  /** Reads a buffer range back (submitting the batch first; see #flushForReads); a spoiled tensor throws the error that spoiled it. */
  async read(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    this.#alive();
    const from = this.#log.lease(src);
    if (from.failed) {
      this.#log.reported(from.failed);
      throw from.failed;
    }
    // The copy to the staging buffer is a write of its own: if its batch fails, the
    // staging buffer holds zeros even though the source is intact.
    const copied: Lease = {};
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.#readStaging(Math.max(4, size));
    this.#touched.add(src);
    this.#encoderOnly().copyBufferToBuffer(src, offset, staging, 0, size);
    this.#log.record('read', [from], [copied]);
    if (this.pendingDispatches > 0) this.flush();
    else await this.#flushForReads();
    try {
      await this.#guard(staging.mapAsync(0x01));
    } catch (e) {
      staging.destroy();
      await this.#raise([from, copied]);
      throw e instanceof PmetalError ? e : new GpuValidationError(`[webgpu] read-back failed: ${(e as Error).message}`, { cause: e });
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.#returnStaging(staging, Math.max(4, size));
    await this.#raise([from, copied]);
    return out;
  }

  /**
   * A MAP_READ buffer for a read-back: small ones are kept (unmapped) for the next read — a
   * decode step reads its B token ids back every step, and a new buffer per read cost host
   * time in Dawn's allocation — large ones are made and destroyed per read.
   */
  #readStaging(size: number): GPUBuffer {
    if (size <= READ_KEEP_MAX) {
      const kept = this.#readKept.get(size)?.pop();
      if (kept) return kept;
    }
    return this.device.createBuffer({ size, usage: 0x01 /* MAP_READ */ | 0x08 });
  }

  #returnStaging(b: GPUBuffer, size: number): void {
    if (size > READ_KEEP_MAX || this.#destroyed) return b.destroy();
    let list = this.#readKept.get(size);
    if (!list) this.#readKept.set(size, (list = []));
    if (list.length < READ_KEEP_PER_SIZE) list.push(b);
    else b.destroy();
  }

  /** GPU nanoseconds of each pass recorded while profiling since the last call, in recording order. */
  async takePassTimes(): Promise<number[]> {
    this.flush();
    const ts = this.#timings.splice(0);
    return (await Promise.all(ts)).flat();
  }

  /** Bytes currently pooled. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** Frees every pooled buffer (benchmarks call it between cases so one case's memory never shapes the next). */
  trimPool(): void {
    for (const list of this.#pool.values()) for (const b of list) this.#trash.push(b);
    this.#pool.clear();
    this.#pooledBytes = 0;
    this.flush();
    for (const b of this.#trash) this.#destroyBuffer(b);
    this.#trash = [];
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#encoder = undefined;
    this.#pass = undefined;
    this.#uniforms.destroy();
    this.bindGroups.clear();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
    for (const b of this.#trash) b.destroy();
    for (const b of this.#held) b.destroy();
    this.#held.clear();
    this.#pinned.clear();
    for (const list of this.#readKept.values()) for (const b of list) b.destroy();
    this.#readKept.clear();
    this.#touched.clear();
    this.#ring?.destroy();
    this.#query?.set.destroy();
    this.#query?.resolve.destroy();
    this.#destroyed = true;
    this.device.onuncapturederror = null;
    this.device.destroy();
  }
}

const isOom = (e: GPUError): boolean => (e.constructor?.name ?? '').includes('OutOfMemory');

/**
 * A GPU error as a typed error. Given the failed submission's commands, the message starts
 * with the op whose label Dawn quotes in it; when none is quoted, it lists what the
 * submission held.
 */
function toTyped(e: GPUError, batch?: readonly Recorded[]): PmetalError {
  const name = e.constructor?.name ?? '';
  const op = batch?.find((r) => e.message.includes(`"${r.op}"`))?.op;
  const note = !op && batch?.length ? ` (the failed submission held: ${summary(batch)})` : '';
  const head = `[${op ?? 'webgpu'}]`;
  if (isOom(e)) return new GpuOutOfMemoryError(`${head} out of memory: ${e.message}${note}`, { cause: e });
  return new GpuValidationError(`${head} ${name.includes('Internal') ? 'internal error' : 'validation error'}: ${e.message}${note}`, { cause: e });
}

/** `upload ×3, rms_norm, read`: the ops of a batch in order of first appearance. */
function summary(batch: readonly Recorded[]): string {
  const n = new Map<string, number>();
  for (const r of batch) n.set(r.op, (n.get(r.op) ?? 0) + 1);
  const parts = [...n].map(([op, c]) => (c > 1 ? `${op} ×${c}` : op));
  return parts.length > 12 ? `${parts.slice(0, 12).join(', ')}, …` : parts.join(', ');
}

function padTo(src: Uint8Array, bytes: number): Uint8Array {
  const padded = new Uint8Array(bytes);
  padded.set(src);
  return padded;
}
