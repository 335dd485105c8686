import { readFileSync, readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import type { BackendName, KernelBackend } from '../src/backend/interface.js';
import { createBackend, type BackendOptions } from '../src/backend/load.js';
import { parseOptions } from '../src/ops/check.js';
import { fixed, textTable } from '../src/text_table.js';

/**
 * The soak test: many small dispatches with reads on one backend, then many create/dispose
 * cycles of the backend, sampling the heap (after a full gc), RSS, open file descriptors and
 * threads along the way. A leak is a trend: the slope per 1000 operations of each measure
 * over the samples taken after a warm-up (caches, pools and the allocator's arenas fill
 * first, so the early rise is not counted).
 */
export type SoakPhase = 'dispatches' | 'cycles';
export type SoakMetric = 'heap' | 'rss' | 'fds' | 'threads';

const soakOptions = z
  .object({
    backend: z.enum(['cpu', 'webgpu', 'metal']).default('webgpu'),
    /** Small dispatches, each followed by a read. */
    dispatches: z.number().int().min(0).default(100_000),
    /** Backend create → one dispatch and read → dispose cycles. */
    cycles: z.number().int().min(0).default(200),
    /** Samples per phase after the warm-up (the slope is fitted over them). */
    samples: z.number().int().min(2).default(20),
  })
  .strict();

export type SoakOptions = z.input<typeof soakOptions>;

export interface SoakSample {
  phase: SoakPhase;
  /** Operations since the warm-up. */
  ops: number;
  heap: number;
  rss: number;
  /** Undefined where /proc is missing (not Linux). */
  fds?: number;
  threads?: number;
}

export interface SoakTrend {
  phase: SoakPhase;
  metric: SoakMetric;
  /** Least-squares slope, per 1000 operations (bytes, or a count). */
  perThousand: number;
  limit: number;
  ok: boolean;
}

export interface SoakResult {
  backend: string;
  device: string;
  samples: SoakSample[];
  trends: SoakTrend[];
  ok: boolean;
}

/**
 * Largest slope per 1000 operations that is not a leak. The leaks these guard against:
 * ~700 heap bytes per read (≈ 700 KB per 1000), and per create/dispose a file descriptor,
 * 5 threads and ~1.7 MB. The limits sit far below those and far above the noise of a flat
 * run (a gc'd heap moves by a few KB between samples; RSS by the allocator's whims).
 */
export const SOAK_LIMITS: Record<SoakPhase, Record<SoakMetric, number>> = {
  dispatches: { heap: 64 * 1024, rss: 2 ** 20, fds: 0.5, threads: 0.5 },
  cycles: { heap: 2 ** 20, rss: 128 * 2 ** 20, fds: 50, threads: 250 },
};

/** Node's gc(), made callable without --expose-gc on the command line. */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const tick = () => new Promise((r) => setTimeout(r, 10));

function countFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

function countThreads(): number | undefined {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Collects until nothing more goes: native teardown (Dawn instances) runs in finalizers after a gc, on a later turn. */
async function measure(gc: () => void, phase: SoakPhase, ops: number): Promise<SoakSample> {
  for (let i = 0; i < 4; i++) {
    gc();
    await tick();
  }
  const m = process.memoryUsage();
  return { phase, ops, heap: m.heapUsed, rss: m.rss, fds: countFds(), threads: countThreads() };
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** One small op and a read of its output: the unit of work of both phases. */
async function oneDispatch(b: KernelBackend, x: ReturnType<KernelBackend['tensor']>, w: ReturnType<KernelBackend['tensor']>): Promise<void> {
  const { y, rstd } = b.rmsNorm({ x, weight: w }, { eps: 1e-5 });
  const got = (await b.read(y)) as Float32Array;
  y.dispose();
  rstd.dispose();
  // Rows of ones normalise to 1/sqrt(1 + eps): a wrong value means the loop itself broke.
  if (!(Math.abs(got[0] - 1 / Math.sqrt(1 + 1e-5)) < 1e-5)) throw new Error(`[soak] rms_norm read back ${got[0]}, expected ${1 / Math.sqrt(1 + 1e-5)}`);
}

async function phase(name: SoakPhase, total: number, samples: number, gc: () => void, step: (i: number) => Promise<void>, out: SoakSample[], onSample?: (s: SoakSample) => void): Promise<void> {
  if (total <= 0) return;
  // A fifth of the run warms up: V8 keeps compiling hot code, the allocator's arenas and
  // Dawn's caches grow, for a while (measured: ~100 create/dispose cycles to flatten).
  const warm = Math.max(1, Math.floor(total / 5));
  for (let i = 0; i < warm; i++) await step(i);
  const counted = total - warm;
  const every = Math.max(1, Math.floor(counted / Math.max(1, samples)));
  const push = async (ops: number) => {
    const s = await measure(gc, name, ops);
    out.push(s);
    onSample?.(s);
  };
  await push(0);
  for (let i = 0; i < counted; i++) {
    await step(warm + i);
    if ((i + 1) % every === 0 || i + 1 === counted) await push(i + 1);
  }
}

export async function runSoak(options: SoakOptions = {}, backendOptions: BackendOptions = {}, onSample?: (s: SoakSample) => void): Promise<SoakResult> {
  const o = parseOptions('soak', soakOptions, options);
  const name: BackendName = o.backend;
  const samples = o.samples;
  const gc = gcFunction();
  const out: SoakSample[] = [];
  const b = await createBackend(name, backendOptions);
  const device = b.capabilities().device;
  try {
    const x = b.tensor(new Float32Array(4 * 64).fill(1), [4, 64]);
    const w = b.tensor(new Float32Array(64).fill(1), [64]);
    await phase('dispatches', o.dispatches, samples, gc, async (i) => {
      await oneDispatch(b, x, w);
      if (i % 100 === 99) await b.sync();
    }, out, onSample);
    x.dispose();
    w.dispose();
  } finally {
    b.dispose();
  }
  await phase('cycles', o.cycles, samples, gc, async () => {
    const c = await createBackend(name, backendOptions);
    try {
      const x = c.tensor(new Float32Array(4 * 64).fill(1), [4, 64]);
      const w = c.tensor(new Float32Array(64).fill(1), [64]);
      await oneDispatch(c, x, w);
      x.dispose();
      w.dispose();
    } finally {
      c.dispose();
    }
  }, out, onSample);
  const trends: SoakTrend[] = [];
  for (const p of ['dispatches', 'cycles'] as const) {
    const ss = out.filter((s) => s.phase === p);
    if (ss.length < 2) continue;
    for (const metric of ['heap', 'rss', 'fds', 'threads'] as const) {
      if (ss.some((s) => s[metric] === undefined)) continue;
      const perThousand = slope(ss.map((s) => s.ops), ss.map((s) => s[metric]!)) * 1000;
      const limit = SOAK_LIMITS[p][metric];
      trends.push({ phase: p, metric, perThousand, limit, ok: perThousand <= limit });
    }
  }
  return { backend: name, device, samples: out, trends, ok: trends.every((t) => t.ok) };
}

const MB = 2 ** 20;

/** The samples, then the slopes against their limits. */
export function soakTable(r: SoakResult): string {
  const rows = r.samples.map((s) => [s.phase, String(s.ops), fixed(s.heap / MB, 2), fixed(s.rss / MB, 1), s.fds === undefined ? '-' : String(s.fds), s.threads === undefined ? '-' : String(s.threads)]);
  const lines = textTable(['phase', 'ops', 'heap MiB', 'rss MiB', 'fds', 'threads'], rows);
  const show = (t: SoakTrend, v: number) => (t.metric === 'heap' || t.metric === 'rss' ? `${fixed(v / 1024, 1)} KiB` : fixed(v, 2));
  lines.push('', ...textTable(['phase', 'metric', 'slope / 1000 ops', 'limit', 'ok'], r.trends.map((t) => [t.phase, t.metric, show(t, t.perThousand), show(t, t.limit), t.ok ? 'ok' : 'LEAK'])));
  return lines.join('\n');
}
