import { z } from 'zod';
import { BYTES, allocHost, fromFloat64, toFloat64, type DType, type HostArray } from '../../dtype.js';
import { BackendUnavailableError, DisposedError, KernelError, OptionsError, ShaderCompileError, TierUnavailableError } from '../../errors.js';
import type { OpName } from '../../ops/registry.js';
import type { TensorInfo } from '../../ops/types.js';
import { shapeSize, type Tensor } from '../../tensor.js';
import { BaseBackend } from '../base.js';
import type { CallOptions, Capabilities, KernelBackend } from '../interface.js';
import { loadAddon, addonFix, type NativeAddon, type NativeDevice, type NativeDispatch, type NativeError, type NativeLibrary, type NativePipeline } from './addon.js';
import { chipFromDevice } from './chip.js';
import type { ChipInfo, MetalConstant, MetalContext, MetalDispatch, MetalTier } from './launch.js';
import { METAL_LAUNCHERS } from './launchers/index.js';
import { mslIncludeDir, mslSource } from './msl.js';
import { BufferPool, bindTensor, storageOf, type BufferBinding, type MetalStorage } from './storage.js';
import { gemmDims } from '../../ops/gemm/dims.js';
import { routeGemm, routeQuantizedGemm } from './router.js';
import { rowsCols } from '../../ops/check.js';
import { fa4Unsupported } from './launchers/flash_attention.js';
import { fa4BwdUnsupported } from './launchers/flash_attention_backward.js';

export const metalOptions = z
  .object({
    /** Linux only: the chip the host runtime emulates ('M5', 'M3 Pro', 'M4 Max', …); default $PMETAL_METAL_CHIP or M5. */
    chip: z.string().min(1).optional(),
    /** Compile every library under AddressSanitizer (host runtime): an out-of-bounds access is a KernelError. */
    asan: z.boolean().optional(),
    /** The addon to load (a path to pmetal_native.node); wins over $PMETAL_NATIVE and the package's own build. */
    nativeBinding: z.string().min(1).optional(),
  })
  .strict();
export type MetalOptions = z.input<typeof metalOptions>;

/** A dispatch as recorded: tensors resolved to buffers now (a temporary may be disposed right after). */
interface Recorded {
  library: string;
  fn: string;
  constants: MetalConstant[];
  buffers: BufferBinding[];
  bytes: { index: number; data: Uint8Array }[];
  threadgroupMemory: { index: number; byteLength: number }[];
  grid: [number, number, number];
  threadgroup: [number, number, number];
}
/** Host work in the batch, run after the dispatches before it finish and before those after it start. */
interface HostStep {
  host: () => void;
}

const TIER_ORDER: MetalTier[] = ['metal4', 'metal3'];
/** Free buffers kept for reuse, in bytes over all sizes. */
const POOL_LIMIT = 256 * 2 ** 20;

/**
 * The metal backend: hand-written MSL through the native addon — Metal.framework on macOS,
 * the MSL host runtime (every GPU thread a fiber on the CPU) on Linux. Ops record dispatches
 * into one open batch; read()/sync() compile the libraries it needs (cached), make the
 * pipelines (cached by function and constants) and run the batch in order.
 */
export class MetalBackend extends BaseBackend implements KernelBackend {
  readonly name = 'metal' as const;
  readonly chip: ChipInfo;
  readonly native: NativeAddon;
  readonly device: NativeDevice;
  readonly asan: boolean;
  /** When set, every recorded dispatch is appended here (tests check Params against the MSL structs). */
  trace?: MetalDispatch[];
  /** GPU start/end of the last batch (host runtime: CPU wall clock — never GPU performance). */
  lastRun?: { gpuStartNs: number; gpuEndNs: number };
  #ctx: MetalContext;
  #batch: (Recorded | HostStep)[] = [];
  #releaseAfter: MetalStorage[] = [];
  #inflight = 0;
  /** Batches run one after another: each waits for the previous one (errors do not propagate). */
  #chain: Promise<void> = Promise.resolve();
  /** The most recent batch, errors included. */
  #last: Promise<void> = Promise.resolve();
  #libs = new Map<string, Promise<NativeLibrary>>();
  #pipes = new Map<string, NativePipeline>();
  #pool: BufferPool;
  #disposed = false;

  static async create(options?: MetalOptions | Record<string, unknown>): Promise<MetalBackend> {
    const parsed = metalOptions.safeParse(options ?? {});
    if (!parsed.success) {
      throw new OptionsError(`[metal] options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    const o = parsed.data;
    const native = loadAddon(process.env, o.nativeBinding);
    if (o.chip && native.platform === 'metal') {
      throw new OptionsError(`[metal] chip: '${o.chip}' — chip emulation is a host-runtime (Linux) option; on macOS the backend uses the real GPU`);
    }
    let device: NativeDevice;
    try {
      device = native.openDevice(o.chip ? { chip: o.chip } : {});
    } catch (e) {
      const err = e as NativeError;
      if (err.code === 'BAD_ARGUMENT') throw new OptionsError(`[metal] chip: ${err.message}`, { cause: e });
      throw new BackendUnavailableError(`[metal] no Metal device: ${err.message}. Fix: ${addonFix()}.`, { cause: e });
    }
    return new MetalBackend(native, device, !!o.asan);
  }

  private constructor(native: NativeAddon, device: NativeDevice, asan: boolean) {
    super();
    this.native = native;
    this.device = device;
    this.asan = asan;
    this.chip = chipFromDevice(device.info);
    this.#pool = new BufferPool(device, POOL_LIMIT);
    this.#ctx = {
      chip: this.chip,
      dispatch: (d) => this.#record(d),
      output: (info) => this.newTensor(info, this.createStorage(info.dtype, info.shape)),
    };
  }

  /**
   * Records a raw dispatch of a kernel under msl/ into the open batch (what launchers do):
   * for custom kernels and tests. Runs at the next read()/sync().
   */
  dispatch(d: MetalDispatch): void {
    this.#alive('dispatch');
    this.#record(d);
  }

  // ---- after dispose() every use is a DisposedError (disposing its tensors stays allowed) ----

  #alive(what: string): void {
    if (this.#disposed) throw new DisposedError(`[${what}] the metal backend (${this.chip.name}) was disposed`);
  }

  override tensor(data: HostArray, shape: readonly number[], dtype?: DType): Tensor {
    this.#alive('tensor');
    return super.tensor(data, shape, dtype);
  }

  override zeros(shape: readonly number[], dtype: DType): Tensor {
    this.#alive('zeros');
    return super.zeros(shape, dtype);
  }

  override run(op: OpName, inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>, call?: CallOptions): Record<string, Tensor> {
    this.#alive(op);
    return super.run(op, inputs, options, call);
  }

  override async read(t: Tensor): Promise<HostArray> {
    this.#alive('read');
    return super.read(t);
  }

  /** The libraries compiled so far (paths under msl/), e.g. to check an ASan pass covered them. */
  librariesUsed(): string[] {
    return [...new Set([...this.#libs.keys()].map((k) => k.split('|')[0]))].sort();
  }

  /** True on Linux: kernels run on the CPU through the MSL host runtime. */
  get host(): boolean {
    return this.chip.host;
  }

  // ---- tiers and routing -------------------------------------------------------------

  protected tiersFor(op: OpName, dtype: DType): readonly string[] {
    const l = METAL_LAUNCHERS[op];
    if (!l) return [];
    const ok = (t: MetalTier) => t === 'metal3' || (t === 'metal4' && this.chip.hasNax && this.chip.metal4);
    return l.tiers(dtype, this.chip).filter(ok);
  }

  /** gemm and quantized_gemm follow PMetal's KernelDispatch rule (router.ts); every other op takes the best tier it has. */
  protected override pick(op: OpName, tiers: readonly string[], inputs: Record<string, Tensor | undefined>, options?: Record<string, unknown>): string {
    if (op === 'gemm' && inputs.a && inputs.b) {
      const { m, n, k } = gemmDims(inputs.a.shape, inputs.b.shape, !!options?.transA, !!options?.transB);
      const t = routeGemm(this.chip, inputs.a.dtype, m, n, k);
      if (tiers.includes(t)) return t;
      return tiers.includes('metal3') ? 'metal3' : tiers[0];
    }
    if (op === 'flash_attention_forward' && inputs.q && inputs.k && inputs.v) {
      // metal4 whenever its kernel takes the head dims (every product then reduces over whole
      // 32-deep slices, PMetal's condition for the accelerator matmul).
      const d = inputs.q.shape[inputs.q.shape.length - 1];
      const dv = inputs.v.shape[inputs.v.shape.length - 1];
      if (tiers.includes('metal4') && !fa4Unsupported(inputs.q.dtype, d, dv)) return 'metal4';
      return tiers.includes('metal3') ? 'metal3' : tiers[0];
    }
    if (op === 'decode_attention' && inputs.q && inputs.vCache) {
      // The forward's rule: the Metal 4 split kernel has the forward's tiles and operand types.
      const d = inputs.q.shape[inputs.q.shape.length - 1];
      const dv = inputs.vCache.shape[inputs.vCache.shape.length - 1];
      if (tiers.includes('metal4') && !fa4Unsupported(inputs.q.dtype, d, dv)) return 'metal4';
      return tiers.includes('metal3') ? 'metal3' : tiers[0];
    }
    if (op === 'flash_attention_backward' && inputs.q && inputs.v) {
      // The same rule over the backward kernels' head dims (whole 32 × D and 32 × Dv blocks).
      const d = inputs.q.shape[inputs.q.shape.length - 1];
      const dv = inputs.v.shape[inputs.v.shape.length - 1];
      if (tiers.includes('metal4') && !fa4BwdUnsupported(inputs.q.dtype, d, dv)) return 'metal4';
      return tiers.includes('metal3') ? 'metal3' : tiers[0];
    }
    if (op === 'quantized_gemm' && inputs.x && inputs.w) {
      const [m, k] = rowsCols(inputs.x.shape);
      const t = routeQuantizedGemm(this.chip, inputs.x.dtype, m, inputs.w.shape[0], k);
      if (tiers.includes(t)) return t;
      return tiers.includes('metal3') ? 'metal3' : tiers[0];
    }
    return tiers[0];
  }

  protected override tierUnavailable(op: OpName, tier: string, dtype: DType, available: readonly string[]): TierUnavailableError {
    if (tier === 'metal4' && !(this.chip.hasNax && this.chip.metal4)) {
      return new TierUnavailableError(
        `[${op}] tier 'metal4' needs a chip with neural accelerators (NAX: Apple10, M5 class); ${this.chip.name} is ${this.chip.family} without NAX, so only metal3 runs here`,
      );
    }
    if (tier === 'metal4' && !METAL_LAUNCHERS[op]?.tiers(dtype, this.chip).includes('metal4')) {
      // The tier names the kernel that runs: an op without a Metal 4 kernel runs its metal3
      // kernel on every chip, M5 included, and is not relabelled metal4 (README, Metal backend).
      const with4 = (Object.keys(METAL_LAUNCHERS) as OpName[]).filter((o) => METAL_LAUNCHERS[o]!.tiers(dtype, this.chip).includes('metal4'));
      return new TierUnavailableError(
        `[${op}] has no Metal 4 kernel: its metal3 kernel is what runs on ${this.chip.name} (available: ${available.join(', ')}). Metal 4's tensor ops are matrix products; the ops with a metal4 tier are ${with4.sort().join(', ')}`,
      );
    }
    return super.tierUnavailable(op, tier, dtype, available);
  }

  protected execute(op: OpName, tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>): Record<string, Tensor> {
    return METAL_LAUNCHERS[op]!.launch(this.#ctx, tier as MetalTier, inputs, options, outputs);
  }

  // ---- storage -----------------------------------------------------------------------

  protected createStorage(dtype: DType, shape: readonly number[], data?: HostArray): MetalStorage {
    const bytes = shapeSize(shape) * BYTES[dtype];
    const buffer = this.#pool.take(bytes, `${dtype}[${shape.join(',')}]`, !data);
    if (data) buffer.write(new Uint8Array(data.buffer, data.byteOffset, bytes));
    return { buffer, bytes };
  }

  protected async readStorage(t: Tensor): Promise<HostArray> {
    const s = storageOf(t, '[read] tensor');
    await this.sync();
    const out = allocHost(t.dtype, t.size);
    new Uint8Array(out.buffer).set(s.buffer.read(0, s.bytes));
    return out;
  }

  /**
   * A host step in the batch (the buffers are host-visible: shared memory on a Mac, the
   * process's own on Linux): no library is compiled and no kernel launched for it.
   */
  protected copyStorage(op: string, src: Tensor, scale: number, info: TensorInfo): MetalStorage {
    const from = storageOf(src, `[${op}] ${src.describe()}`);
    const to = this.createStorage(info.dtype, info.shape);
    const dtype = src.dtype;
    this.#batch.push({
      host: () => {
        const bytes = from.buffer.read(0, from.bytes);
        if (scale === 1) to.buffer.write(bytes);
        else {
          const h = allocHost(dtype, src.size);
          new Uint8Array(h.buffer).set(bytes);
          const v = fromFloat64(dtype, toFloat64(dtype, h).map((x) => x * scale));
          to.buffer.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        }
      },
    });
    return to;
  }

  protected freeStorage(storage: unknown): void {
    const s = storage as MetalStorage;
    // Recorded or running work may still use it: back to the pool once that work is done.
    if (this.#batch.length || this.#inflight) this.#releaseAfter.push(s);
    else this.#toPool(s);
  }

  #toPool(s: MetalStorage): void {
    if (!this.#disposed) this.#pool.give(s);
  }

  // ---- recording and running -----------------------------------------------------------

  #record(d: MetalDispatch): void {
    if (mslSource(d.library) === undefined) throw new KernelError(`[metal] ${d.fn}: no MSL library '${d.library}' (expected a path under msl/)`);
    const dims = [...d.grid, ...d.threadgroup];
    if (dims.some((v) => !Number.isInteger(v) || v < 0)) throw new KernelError(`[metal] ${d.fn}: bad grid [${d.grid}] / threadgroup [${d.threadgroup}]`);
    if (d.grid.some((v) => v === 0)) return; // nothing to do
    this.trace?.push(d);
    const threads = d.threadgroup[0] * d.threadgroup[1] * d.threadgroup[2];
    if (threads < 1 || threads > this.chip.maxThreadsPerThreadgroup) {
      throw new KernelError(`[metal] ${d.fn}: ${threads} threads per threadgroup (1..${this.chip.maxThreadsPerThreadgroup} on ${this.chip.name})`);
    }
    this.#batch.push({
      library: d.library,
      fn: d.fn,
      constants: d.constants ?? [],
      buffers: d.buffers.map((b) => bindTensor(d.fn, b)),
      bytes: (d.bytes ?? []).map((b) => ({ index: b.index, data: new Uint8Array(b.data.slice(0)) })),
      threadgroupMemory: d.threadgroupMemory ?? [],
      grid: d.grid,
      threadgroup: d.threadgroup,
    });
  }

  async sync(): Promise<void> {
    this.#alive('sync');
    if (!this.#batch.length && !this.#releaseAfter.length) {
      // Nothing new: wait for the batch in flight, if any (its error reaches every waiter).
      if (this.#inflight) await this.#last;
      return;
    }
    const batch = this.#batch;
    const release = this.#releaseAfter;
    this.#batch = [];
    this.#releaseAfter = [];
    this.#inflight++;
    const prev = this.#chain;
    const work = (async () => {
      await prev;
      try {
        if (batch.length) this.lastRun = await this.#runBatch(batch);
      } finally {
        this.#inflight--;
        for (const s of release) this.#toPool(s);
      }
    })();
    this.#last = work;
    this.#chain = work.catch(() => undefined);
    return work;
  }

  /**
   * Compiles a library now (cached): `path` under msl/, or `source` under that name. For
   * warm-up and diagnostics; errors are the typed ones a batch would raise.
   */
  async compileLibrary(path: string, source?: string): Promise<NativeLibrary> {
    this.#alive('compileLibrary');
    if (source === undefined) return this.#library(path);
    return this.device
      .compileLibrary(source, { filename: path, includeDirs: [mslIncludeDir()], asan: this.asan })
      .catch((e: NativeError) => {
        throw compileError(path, `${path}|source`, e);
      });
  }

  #library(path: string): Promise<NativeLibrary> {
    const key = `${path}${this.asan ? '|asan' : ''}`;
    let p = this.#libs.get(key);
    if (!p) {
      p = this.device
        .compileLibrary(mslSource(path)!, { filename: `msl/${path}`, includeDirs: [mslIncludeDir()], asan: this.asan })
        .catch((e: NativeError) => {
          this.#libs.delete(key);
          throw compileError(path, key, e);
        });
      this.#libs.set(key, p);
    }
    return p;
  }

  async #pipeline(r: Recorded): Promise<NativePipeline> {
    const key = `${r.library}|${this.asan ? 'asan|' : ''}${r.fn}|${JSON.stringify(r.constants)}`;
    let p = this.#pipes.get(key);
    if (!p) {
      const lib = await this.#library(r.library);
      try {
        p = lib.pipeline(r.fn, r.constants);
      } catch (e) {
        const err = e as NativeError;
        throw new KernelError(`[metal] ${r.library}: pipeline '${r.fn}': ${err.code ?? 'ERROR'}: ${err.message}`, { cause: e });
      }
      this.#pipes.set(key, p);
    }
    return p;
  }

  async #runBatch(batch: (Recorded | HostStep)[]): Promise<{ gpuStartNs: number; gpuEndNs: number }> {
    const recorded = batch.filter((r): r is Recorded => !('host' in r));
    await Promise.all([...new Set(recorded.map((r) => r.library))].map((l) => this.#library(l)));
    let dispatches: NativeDispatch[] = [];
    let time: { gpuStartNs: number; gpuEndNs: number } | undefined;
    const flush = async () => {
      if (!dispatches.length) return;
      const t = await this.#runDispatches(dispatches);
      time = { gpuStartNs: time?.gpuStartNs ?? t.gpuStartNs, gpuEndNs: t.gpuEndNs };
      dispatches = [];
    };
    for (const r of batch) {
      if ('host' in r) {
        await flush();
        r.host();
        continue;
      }
      dispatches.push({
        pipeline: await this.#pipeline(r),
        buffers: r.buffers,
        bytes: r.bytes,
        threadgroupMemory: r.threadgroupMemory,
        grid: r.grid,
        threadgroup: r.threadgroup,
      });
    }
    await flush();
    return time ?? { gpuStartNs: 0, gpuEndNs: 0 };
  }

  async #runDispatches(dispatches: NativeDispatch[]): Promise<{ gpuStartNs: number; gpuEndNs: number }> {
    try {
      return await this.device.run(dispatches);
    } catch (e) {
      const err = e as NativeError;
      const msg = err.message.startsWith(`${err.code}:`) ? err.message : `${err.code ?? 'ERROR'}: ${err.message}`;
      throw new KernelError(`[metal] ${msg}`, { cause: e });
    }
  }

  /**
   * GPU time of the work `fn` records, in ns, from the command buffer's GPU start/end — on a
   * Mac. On the host runtime there is no GPU time: undefined (its clock is the CPU's).
   */
  async gpuTime(fn: () => void): Promise<number | undefined> {
    await this.sync();
    fn();
    await this.sync();
    if (this.host || !this.lastRun) return undefined;
    return this.lastRun.gpuEndNs - this.lastRun.gpuStartNs;
  }

  capabilities(): Capabilities {
    const ops = this.opSupport();
    const seen = new Set<string>();
    for (const ts of Object.values(ops)) for (const t of ts) seen.add(t.tier);
    const chipTiers: MetalTier[] = this.chip.hasNax && this.chip.metal4 ? ['metal4', 'metal3'] : ['metal3'];
    const tiers = seen.size ? TIER_ORDER.filter((t) => seen.has(t)) : chipTiers;
    const features = [this.chip.family, `tier-${this.chip.tier}`];
    if (this.chip.hasNax) features.push('nax');
    if (this.chip.metal4) features.push('metal4');
    if (this.chip.host) features.push('host-runtime');
    if (this.asan) features.push('asan');
    return { backend: 'metal', device: this.chip.name, features, tiers, ops, timestamps: !this.chip.host };
  }

  /** Frees what the backend holds; afterwards every use is a DisposedError. Idempotent. */
  dispose(): void {
    this.markDisposed();
    this.#disposed = true;
    this.#batch = [];
    this.#releaseAfter = [];
    this.#pool.clear();
    this.#pipes.clear();
    this.#libs.clear();
  }

  /** `await using`: waits for the batch in flight, then disposes. */
  override async [Symbol.asyncDispose](): Promise<void> {
    await this.#chain;
    this.dispose();
  }

  /** `using`: disposes now; a batch already running finishes on its own (the addon holds its buffers). */
  override [Symbol.dispose](): void {
    this.dispose();
  }
}

/** An addon compile failure as a typed error: ShaderCompileError with file:line:col for MSL errors. */
function compileError(path: string, key: string, e: NativeError): Error {
  const msg = e?.message ?? String(e);
  if (e?.code === 'MSL_COMPILE') {
    const m = /([^\s:]+\.(?:metal|h)):(\d+):(\d+)/.exec(msg);
    const where = m ? `${m[1]}:${m[2]}:${m[3]}` : `msl/${path}`;
    return new ShaderCompileError(`[metal] ${path}: compile error at ${where}\n${msg}`, key, m ? Number(m[2]) : undefined, m ? Number(m[3]) : undefined);
  }
  if (e?.code === 'UNSUPPORTED') return new BackendUnavailableError(`[metal] ${path}: ${msg}. Fix: ${addonFix()}.`, { cause: e });
  return new KernelError(`[metal] ${path}: ${e?.code ?? 'ERROR'}: ${msg}`, { cause: e });
}

/** createBackend('metal', { metal: options }) lands here. */
export async function createMetalBackend(options?: MetalOptions | Record<string, unknown>): Promise<KernelBackend> {
  return MetalBackend.create(options);
}
