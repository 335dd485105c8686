import { writeFileSync } from 'node:fs';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { GpuStorage } from '../../src/backend/webgpu/launch.js';
import { toFloat64, type FloatDType, type HostArray } from '../../src/dtype.js';
import { getSpec } from '../../src/ops/registry.js';
import type { HostTensor, RefTensor, TensorInfo } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { sustain } from '../clock.js';
import { copyBandwidth } from '../copy.js';
import { FULL_CASES, PEER_DTYPES, QUICK_CASES, type PeerCase } from './cases.js';
import { peerGpu, type PeerGpu } from './gpu.js';
import { PeerUnsupported, type BoundCall, type GpuInput, type Peer, type PreparedCase } from './peer.js';
import { peersHtml, peersTable } from './report.js';

// scripts/peers-table.mjs renders a saved run's JSON with the same code (dist/peers.js).
export { peersTable } from './report.js';

export const PEER_NAMES = ['onnxruntime-web', 'tfjs'] as const;

/**
 * A peer's result may differ from the float64 reference by this many times the op's derived
 * bound (pmetal: 1×). The bound assumes f32 arithmetic with WGSL's accuracy; the peers'
 * composite forms round intermediates more often (f32: up to ~4 extra roundings per element
 * of a composite, hence 8×), and at f16 they may compute and accumulate in f16 (unit
 * roundoff 2^-11 instead of 2^-24), which no f32-arithmetic bound covers: 2^13 × the bound
 * is the same derivation with f16's unit. The measured ratio is always reported.
 */
export const PEER_TOLERANCE: Record<FloatDType, number> = { f32: 8, f16: 8192, bf16: 8192 };

export interface Column {
  status: 'ok' | 'n/a' | 'error';
  /** Why n/a, or the error. */
  note?: string;
  /** What a user of this column writes for the op. */
  form?: string;
  /** Median wall ms per call (k calls per sample, then one wait for the queue). */
  ms?: number;
  minMs?: number;
  maxMs?: number;
  runs?: number;
  tflops?: number;
  gbps?: number;
  /** gbps over the copy kernel's bandwidth. */
  ofCopy?: number;
  /** One-time costs: session creation / closure setup, and the first call (shader compilation, pipelines). */
  setupMs?: number;
  /** The first run, at the check shape (compiles the shaders of most peers). */
  checkMs?: number;
  firstMs?: number;
  /** Max over outputs and elements of |got − float64 reference| / the op's derived bound, at the check shape. */
  errRatio?: number;
  /** The ratio allowed (1 for pmetal; PEER_TOLERANCE for peers). */
  tol?: number;
  checkPass?: boolean;
}

export interface PeerRow {
  op: string;
  shape: string;
  dtype: FloatDType;
  /** The check shape's inputs, e.g. a: [8,4096]. */
  checkShape: string;
  flops: number;
  bytes: number;
  /** Calls per timed sample (the same for every column of the row). */
  k: number;
  pmetal: Column;
  peers: Record<string, Column>;
}

export interface PeersResult {
  meta: {
    date: string;
    adapter: string;
    quick: boolean;
    reps: number;
    warmup: number;
    timing: string;
    peers: { name: string; version?: string; initMs?: number; error?: string }[];
    copy?: { gbps: number; ms: number; bytes: number };
    tolerance: Record<string, number>;
  };
  rows: PeerRow[];
}

export interface PeersOptions {
  backend: WebGpuBackend;
  quick?: boolean;
  ops?: string[];
  dtypes?: string[];
  shape?: string;
  peers?: string[];
  reps?: number;
  warmup?: number;
  /** Target wall time of one timed sample (the row's k is chosen from pmetal's time). */
  sampleMs?: number;
  onRow?: (r: PeerRow) => void;
  onProgress?: (msg: string) => void;
}

const errMsg = (e: unknown): string => (e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e)).split('\n')[0].slice(0, 300);

/** Max over elements of |got − ref| / bound (NaN where the reference is NaN is a match). */
export function errRatio(got: Float64Array, ref: Float64Array, bound: Float64Array): number {
  if (got.length !== ref.length) return Infinity;
  let worst = 0;
  for (let j = 0; j < ref.length; j++) {
    const r = ref[j];
    const g = got[j];
    if (Number.isNaN(r) || Number.isNaN(g)) {
      if (!(Number.isNaN(r) && Number.isNaN(g))) return Infinity;
      continue;
    }
    const e = r === g ? 0 : Math.abs(g - r);
    if (e === 0) continue;
    const q = bound[j] > 0 ? e / bound[j] : Infinity;
    if (!(q <= worst)) worst = q;
  }
  return worst;
}

/** Wall ms per call: k calls, one flush, then the wait for the queue to drain. */
async function sample(device: GPUDevice, b: Pick<BoundCall, 'call' | 'flush'>, k: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < k; i++) await b.call();
  b.flush();
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / k;
}

async function timeColumn(device: GPUDevice, b: Pick<BoundCall, 'call' | 'flush'>, k: number, warmup: number, reps: number, sustainMs: number): Promise<Pick<Column, 'ms' | 'minMs' | 'maxMs' | 'runs' | 'firstMs'>> {
  const firstMs = await sample(device, b, 1);
  for (let i = 0; i < warmup; i++) await sample(device, b, 1);
  // Every column gets the same clock warm-up (bench/clock.ts) right before its samples.
  await sustain({ call: b.call, flush: b.flush, done: () => device.queue.onSubmittedWorkDone() }, sustainMs);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) ts.push(await sample(device, b, k));
  ts.sort((x, y) => x - y);
  return { ms: ts[Math.floor(ts.length / 2)], minMs: ts[0], maxMs: ts[ts.length - 1], runs: ts.length, firstMs };
}

/** Runs `fn` inside validation and out-of-memory error scopes: a peer's GPU errors stay its own. */
async function scoped<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let out: T | undefined;
  let thrown: unknown;
  try {
    out = await fn();
  } catch (e) {
    thrown = e;
  }
  const v = await device.popErrorScope();
  const m = await device.popErrorScope();
  if (thrown) throw thrown;
  const gpuErr = v ?? m;
  if (gpuErr) throw new Error(`${m ? 'GPU out of memory' : 'GPU validation error'}: ${gpuErr.message}`);
  return out as T;
}

const hostToRef = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });

async function loadPeers(gpu: PeerGpu, wanted: readonly string[], log: (m: string) => void): Promise<{ peers: Peer[]; meta: PeersResult['meta']['peers'] }> {
  const peers: Peer[] = [];
  const meta: PeersResult['meta']['peers'] = [];
  for (const name of wanted) {
    try {
      log(`peers: loading ${name}`);
      const p = name === 'onnxruntime-web' ? await (await import('./ort.js')).createOrtPeer(gpu) : await (await import('./tfjs.js')).createTfjsPeer(gpu);
      peers.push(p);
      meta.push({ name, version: p.version, initMs: p.initMs });
    } catch (e) {
      meta.push({ name, error: errMsg(e) });
    }
  }
  return { peers, meta };
}

/** pmetal against the peers on every case × dtype: check at the cut shape, then time at the full shape. */
export async function runPeers(o: PeersOptions): Promise<PeersResult> {
  const log = o.onProgress ?? (() => {});
  const backend = o.backend;
  const gpu = peerGpu(backend);
  const device = gpu.device;
  const quick = !!o.quick;
  const reps = o.reps ?? (quick ? 3 : 10);
  const warmup = o.warmup ?? (quick ? 1 : 3);
  const sampleMs = o.sampleMs ?? (quick ? 0 : 20);
  const sustainMs = quick ? 0 : 300;
  const wanted = (o.peers?.length ? o.peers : PEER_NAMES).filter((p) => (PEER_NAMES as readonly string[]).includes(p));
  const copy = await copyBandwidth(backend, quick ? 16 * 2 ** 20 : 512 * 2 ** 20).catch(() => undefined);
  const { peers, meta: peerMeta } = await loadPeers(gpu, wanted, log);
  const rows: PeerRow[] = [];
  const cases = (quick ? QUICK_CASES : FULL_CASES).filter((c) => (!o.ops?.length || o.ops.includes(c.op)) && (!o.shape || c.label.includes(o.shape)));
  const dtypes = PEER_DTYPES.filter((d) => !o.dtypes?.length || o.dtypes.includes(d));
  for (const c of cases)
    for (const dtype of dtypes) {
      log(`peers: ${c.op} ${dtype} ${c.label}`);
      const row = await runRow(c, dtype);
      rows.push(row);
      o.onRow?.(row);
    }
  for (const p of peers) p.dispose();
  await backend.sync().catch(() => {});
  return {
    meta: {
      date: new Date().toISOString(),
      adapter: backend.adapterName,
      quick,
      reps,
      warmup,
      timing:
        'wall time per call on the shared GPUDevice: k calls, one submit, then await queue.onSubmittedWorkDone(); median (min–max) of the samples after a first call, warm-ups and 300 ms of back-to-back calls (so the GPU clocks are up); the same for every column. One-time costs (session creation, first call) are separate.',
      peers: peerMeta,
      copy,
      tolerance: { pmetal: 1, ...Object.fromEntries(Object.entries(PEER_TOLERANCE).filter(([d]) => d !== 'bf16').map(([d, v]) => [`peers ${d}`, v])) },
    },
    rows,
  };

  async function runRow(c: PeerCase, dtype: FloatDType): Promise<PeerRow> {
    const spec = getSpec(c.op);
    const opts = spec.options.parse(c.options);
    const loadErr = Object.fromEntries(peerMeta.filter((m) => m.error).map((m) => [m.name, { status: 'error', note: `could not load: ${m.error}` } as Column]));
    const row: PeerRow = { op: c.op, shape: c.label, dtype, checkShape: '', flops: NaN, bytes: NaN, k: 1, pmetal: { status: 'ok', form: `pmetal ${c.op} ${JSON.stringify(c.options)}` }, peers: { ...loadErr } };
    const prepared = new Map<Peer, PreparedCase>();

    // 1. The check, at the cut shape, against the float64 reference and the op's bound.
    const cut = c.make(dtype, true);
    row.checkShape = Object.entries(cut).map(([k, h]) => `${k}[${h.shape.join(',')}]`).join(' ');
    const refIn = Object.fromEntries(Object.entries(cut).map(([k, h]) => [k, hostToRef(h)]));
    const ref = spec.reference(refIn, opts) as Record<string, RefTensor>;
    const bounds = spec.bounds(refIn, opts, ref) as Record<string, Float64Array>;
    const ratioOf = (outs: Record<string, Float64Array>) => Math.max(0, ...Object.entries(outs).map(([k, v]) => (ref[k] ? errRatio(v, ref[k].data, bounds[k]) : 0)));
    let compared: string[] = [];
    for (const p of peers) {
      const col: Column = { status: 'ok', tol: PEER_TOLERANCE[dtype] };
      row.peers[p.name] = col;
      try {
        // Inside the try: a peer whose graph cannot even be described for this case gets a note too.
        col.form = p.form(c, dtype);
        const t0 = performance.now();
        const prep = await scoped(device, () => p.prepare(c, dtype));
        col.setupMs = performance.now() - t0;
        prepared.set(p, prep);
        if (prep.form) col.form = prep.form;
        const t1 = performance.now();
        const outs = await scoped(device, () => prep.check(cut));
        col.checkMs = performance.now() - t1;
        compared = [...new Set([...compared, ...Object.keys(outs)])];
        col.errRatio = ratioOf(outs);
        col.checkPass = col.errRatio <= col.tol!;
      } catch (e) {
        col.status = e instanceof PeerUnsupported ? 'n/a' : 'error';
        col.note = errMsg(e);
        col.form = undefined;
        prepared.get(p)?.dispose();
        prepared.delete(p);
      }
    }
    const pm = row.pmetal;
    const tensors: Tensor[] = [];
    try {
      const ins: Record<string, Tensor> = {};
      const t1 = performance.now();
      for (const [k, h] of Object.entries(cut)) tensors.push((ins[k] = backend.tensor(h.data, h.shape, h.dtype)));
      const out = backend.run(c.op as never, ins, c.options);
      const got: Record<string, Float64Array> = {};
      for (const k of compared.length ? compared : Object.keys(ref).slice(0, 1)) if (out[k]) got[k] = toFloat64(out[k].dtype, (await backend.read(out[k])) as HostArray);
      pm.checkMs = performance.now() - t1;
      for (const t of Object.values(out)) t.dispose();
      pm.errRatio = ratioOf(got);
      pm.tol = 1;
      pm.checkPass = pm.errRatio <= 1;
    } catch (e) {
      pm.status = 'error';
      pm.note = errMsg(e);
    } finally {
      for (const t of tensors.splice(0)) t.dispose();
      await backend.sync().catch(() => {});
    }

    // 2. Timing, at the full shape, on the same GPU buffers for every column.
    let full: Record<string, HostTensor> | undefined;
    try {
      full = c.make(dtype, false);
      const infos = Object.fromEntries(Object.entries(full).map(([k, h]) => [k, { dtype: h.dtype, shape: h.shape } as TensorInfo]));
      const cost = spec.cost(infos, opts);
      row.flops = cost.flops;
      row.bytes = cost.bytes;
      const ins: Record<string, Tensor> = {};
      for (const [k, h] of Object.entries(full)) tensors.push((ins[k] = backend.tensor(h.data, h.shape, h.dtype)));
      await backend.sync();
      const gpuIns: Record<string, GpuInput> = Object.fromEntries(Object.entries(ins).map(([k, t]) => [k, { buffer: t.storage<GpuStorage>('webgpu').buffer, host: full![k] }]));
      const mine: Pick<BoundCall, 'call' | 'flush'> = {
        call: () => {
          for (const t of Object.values(backend.run(c.op as never, ins, c.options))) t.dispose();
        },
        flush: () => backend.rt.flush(),
      };
      if (pm.status === 'ok') {
        try {
          const first = await sample(device, mine, 1);
          await backend.sync();
          const once = await sample(device, mine, 1);
          row.k = sampleMs > 0 ? Math.max(1, Math.min(32, Math.ceil(sampleMs / Math.max(once, 1e-3)))) : 1;
          Object.assign(pm, await timeColumn(device, mine, row.k, warmup, reps, sustainMs), { firstMs: first });
          await backend.sync();
        } catch (e) {
          pm.status = 'error';
          pm.note = errMsg(e);
          await backend.sync().catch(() => {});
        }
      }
      for (const p of peers) {
        const col = row.peers[p.name];
        const prep = prepared.get(p);
        if (!prep || col.status !== 'ok') continue;
        let bound: BoundCall | undefined;
        try {
          await scoped(device, async () => {
            bound = await prep.bind(gpuIns);
            Object.assign(col, await timeColumn(device, bound!, row.k, warmup, reps, sustainMs));
          });
        } catch (e) {
          col.status = 'error';
          col.note = `at the full shape: ${errMsg(e)}`;
        } finally {
          bound?.dispose();
        }
      }
    } catch (e) {
      const note = `inputs at the full shape: ${errMsg(e)}`;
      if (pm.status === 'ok') Object.assign(pm, { status: 'error', note });
      for (const col of Object.values(row.peers)) if (col.status === 'ok') Object.assign(col, { status: 'error', note });
    } finally {
      for (const prep of prepared.values()) prep.dispose();
      for (const t of tensors) t.dispose();
      full = undefined;
      await backend.sync().catch(() => {});
      // One row's buffers never shape the next row's allocations (as in `pmetal bench`).
      backend.rt.trimPool();
    }
    for (const col of [pm, ...Object.values(row.peers)]) {
      if (col.ms === undefined) continue;
      col.tflops = row.flops / col.ms / 1e9;
      col.gbps = row.bytes / col.ms / 1e6;
      if (copy) col.ofCopy = col.gbps / copy.gbps;
    }
    return row;
  }
}

/** `pmetal bench --peers`: the table on stdout, progress on stderr, JSON and HTML files; the exit code. */
export async function benchPeers(backend: WebGpuBackend, o: { quick?: boolean; op?: string[]; dtype?: string[]; shape?: string; reps?: string; warmup?: string; json?: string; html?: string; peer?: string[] }): Promise<number> {
  const partial: PeerRow[] = [];
  const res = await runPeers({
    backend,
    quick: o.quick,
    ops: o.op,
    dtypes: o.dtype,
    shape: o.shape,
    peers: o.peer,
    reps: o.reps !== undefined && o.quick ? Math.min(Number(o.reps), 3) : o.reps !== undefined ? Number(o.reps) : undefined,
    warmup: o.warmup !== undefined && !o.quick ? Number(o.warmup) : undefined,
    onProgress: (m) => process.stderr.write(`${m}\n`),
    onRow: (r) => {
      partial.push(r);
      const cell = (c: Column) => (c.status === 'ok' ? `${c.ms?.toFixed(4)} ms (err/bound ${c.errRatio?.toFixed(2)})` : `${c.status}: ${c.note}`);
      process.stderr.write(`  pmetal ${cell(r.pmetal)}${Object.entries(r.peers).map(([n, c]) => `; ${n} ${cell(c)}`).join('')}\n`);
      // Rows so far, so a run cut short by a time limit still leaves its numbers.
      if (o.json) writeFileSync(o.json, JSON.stringify({ partial: true, rows: partial }, null, 2));
    },
  });
  console.log(peersTable(res));
  // Infinity (an overflowed peer result) and NaN would turn into null: keep them as strings.
  if (o.json) writeFileSync(o.json, JSON.stringify(res, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
  if (o.html) writeFileSync(o.html, peersHtml(res));
  // Only pmetal's own failures fail the command: a peer that cannot run an op is a result.
  return res.rows.some((r) => r.pmetal.status !== 'ok' || r.pmetal.checkPass === false) ? 1 : 0;
}
