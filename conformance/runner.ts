import type { KernelBackend } from '../src/backend/interface.js';
import { toFloat64, type FloatDType } from '../src/dtype.js';
import { OPS, getSpec, type OpName } from '../src/ops/registry.js';
import type { HostTensor, OpCase, OpSpec, RefTensor } from '../src/ops/types.js';
import type { Tensor } from '../src/tensor.js';
import { TierUnavailableError } from '../src/errors.js';
import { compare } from './compare.js';
import { gradCheck, type GradRecord } from './gradcheck.js';

export interface ConformanceRecord {
  op: string;
  backend: string;
  tier: string;
  dtype: string;
  /** Stable id: `op:dtype:label:seed=N`. */
  case: string;
  /** The output the numbers below are for (the worst one when the op has several). */
  output: string;
  pass: boolean;
  maxAbsErr: number;
  maxRelErr: number;
  tol: number;
  worstRatio: number;
  /** Largest difference from the same case on the other backends/tiers, over their combined bounds. */
  crossRatio?: number;
  error?: string;
  detail?: string;
  /** Why this tier did not apply to this case (a forced tier refusing a shape the router never sends it). */
  skipped?: string;
}

export interface ConformanceOptions {
  backends: KernelBackend[];
  ops?: string[];
  tiers?: string[];
  dtypes?: string[];
  quick?: boolean;
  /** Seeds per case (subcases). */
  seeds?: number[];
  /** Only cases whose id contains this string. */
  filter?: string;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface ConformanceResult {
  records: ConformanceRecord[];
  grads: GradRecord[];
  passed: number;
  failed: number;
  /** Records of a tier that does not apply to the case (see ConformanceRecord.skipped). */
  skipped: number;
}

interface Job {
  op: OpName;
  spec: OpSpec;
  c: OpCase;
  dtype: FloatDType;
  seed: number;
  runs: { backend: KernelBackend; tier: string }[];
}

export function planJobs(o: ConformanceOptions): Job[] {
  const jobs: Job[] = [];
  const ops = (o.ops?.length ? o.ops : Object.keys(OPS)) as OpName[];
  for (const op of ops) {
    const spec = getSpec(op);
    for (const dtype of spec.dtypes) {
      if (o.dtypes?.length && !o.dtypes.includes(dtype)) continue;
      const runs: Job['runs'] = [];
      for (const backend of o.backends) {
        const caps = backend.capabilities().ops[op] ?? [];
        for (const t of caps) {
          if (!t.dtypes.includes(dtype)) continue;
          if (o.tiers?.length && !o.tiers.includes(t.tier)) continue;
          runs.push({ backend, tier: t.tier });
        }
      }
      if (!runs.length) continue;
      for (const c of spec.cases) {
        if (o.quick && !c.quick) continue;
        for (const seed of o.seeds ?? [1]) {
          if (o.filter && !caseId(op, dtype, c, seed).includes(o.filter)) continue;
          jobs.push({ op, spec, c, dtype, seed, runs });
        }
      }
    }
  }
  return jobs;
}

export const caseId = (op: string, dtype: string, c: OpCase, seed: number) => `${op}:${dtype}:${c.label}:seed=${seed}`;

const toRef = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });

/** Runs every op × backend × tier × dtype × case, comparing each with the float64 reference and with each other. */
export async function runConformance(o: ConformanceOptions): Promise<ConformanceResult> {
  const jobs = planJobs(o);
  const total = jobs.reduce((n, j) => n + j.runs.length, 0);
  const records: ConformanceRecord[] = [];
  let done = 0;
  for (const job of jobs) {
    const id = caseId(job.op, job.dtype, job.c, job.seed);
    const prepared = prepareCase(job.op, job.dtype, id, job.c, job.seed);
    const outs: CaseOutcome[] = [];
    for (const { backend, tier } of job.runs) {
      o.onProgress?.(done, total, `${id} ${backend.name}/${tier}`);
      const out = await runCaseOn(backend, tier, prepared);
      outs.push(out);
      records.push(out.rec);
      done++;
    }
    crossCheck(outs, prepared.bounds);
  }
  o.onProgress?.(done, total, 'done');
  const grads: GradRecord[] = [];
  for (const op of (o.ops?.length ? o.ops : Object.keys(OPS)) as OpName[]) {
    const gc = getSpec(op).gradCheck;
    if (!gc || !o.backends.some((b) => b.name === 'cpu')) continue;
    const fwd = getSpec(gc.forward);
    for (const c of fwd.cases) {
      if (o.quick && !c.quick) continue;
      if (gc.applies && !gc.applies(c)) continue;
      // --case filters gradient checks by their own id (`op:grad:label:seed=7`) too.
      if (o.filter && !`${op}:grad:${c.label}:seed=7`.includes(o.filter)) continue;
      grads.push(...gradCheck(op, c, 7));
    }
  }
  const skipped = records.filter((r) => r.skipped).length;
  const passed = records.filter((r) => r.pass && !r.skipped).length + grads.filter((g) => g.pass).length;
  return { records, grads, passed, skipped, failed: records.length + grads.length - passed - skipped };
}

/** One case, ready to run: host inputs, the reference's outputs and their bounds. */
export interface PreparedCase {
  op: OpName;
  spec: OpSpec;
  dtype: FloatDType;
  id: string;
  options: Record<string, unknown>;
  host: Record<string, HostTensor>;
  ref: Record<string, RefTensor>;
  bounds: Record<string, Float64Array>;
}

export interface CaseOutcome {
  rec: ConformanceRecord;
  got: Record<string, Float64Array>;
}

/** Host inputs → reference outputs and bounds (the oracle's half of a case). */
export function prepareCase(op: OpName, dtype: FloatDType, id: string, c: OpCase, seed: number): PreparedCase {
  const spec = getSpec(op);
  const host = c.make(dtype, seed);
  const refIn: Record<string, RefTensor> = {};
  for (const [k, h] of Object.entries(host)) refIn[k] = toRef(h);
  const opts = spec.options.parse(c.options);
  const ref = spec.reference(refIn, opts) as Record<string, RefTensor>;
  const bounds = spec.bounds(refIn, opts, ref) as Record<string, Float64Array>;
  return { op, spec, dtype, id, options: c.options, host, ref, bounds };
}

/** Runs a prepared case on one backend and tier and compares every output with the reference. */
export async function runCaseOn(backend: KernelBackend, tier: string, c: PreparedCase): Promise<CaseOutcome> {
  const rec: ConformanceRecord = { op: c.op, backend: backend.name, tier, dtype: c.dtype, case: c.id, output: '', pass: false, maxAbsErr: NaN, maxRelErr: NaN, tol: NaN, worstRatio: NaN };
  const got: Record<string, Float64Array> = {};
  const owned: Tensor[] = [];
  const inputs: Record<string, Tensor> = {};
  try {
    for (const [k, h] of Object.entries(c.host)) owned.push((inputs[k] = backend.tensor(h.data, h.shape, h.dtype)));
    const res = backend.run(c.op, inputs, c.options, { tier });
    owned.push(...Object.values(res));
    let worst = -1;
    rec.pass = true;
    for (const [name, t] of Object.entries(res)) {
      const want = c.ref[name];
      if (!want) throw new Error(`output '${name}' has no reference`);
      got[name] = toFloat64(t.dtype, await backend.read(t));
      const cmp = compare(got[name], want.data, c.bounds[name], t.dtype);
      rec.pass &&= cmp.pass;
      if (cmp.worstRatio > worst || (!cmp.pass && rec.output === '')) {
        worst = cmp.worstRatio;
        Object.assign(rec, { output: name, maxAbsErr: cmp.maxAbsErr, maxRelErr: cmp.maxRelErr, tol: cmp.tol, worstRatio: cmp.worstRatio });
      }
      if (!cmp.pass && !rec.detail && cmp.firstBad) {
        const b = cmp.firstBad;
        rec.detail = `${name}[${b.index}]: got ${b.got}, want ${b.want} ± ${b.bound.toExponential(2)}`;
      }
    }
    for (const name of Object.keys(c.ref)) if (!(name in res) && c.spec.outputs.some((o) => o.name === name)) {
      rec.pass = false;
      rec.detail = `missing output '${name}'`;
    }
  } catch (e) {
    rec.pass = false;
    rec.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    // A forced tier may refuse a shape it cannot run (metal4 gemm needs K % 32 == 0). That
    // is a skip, not a failure — unless the router itself would send this call there.
    if (e instanceof TierUnavailableError) {
      let routed: string | undefined;
      try {
        routed = backend.route(c.op, inputs, undefined, c.options);
      } catch {
        routed = undefined;
      }
      if (routed !== tier) {
        rec.pass = true;
        rec.skipped = e.message;
        rec.error = undefined;
      }
    }
  } finally {
    for (const t of owned) t.dispose();
  }
  return { rec, got };
}

/** Backends against each other: |a−b| ≤ bound_a + bound_b (both within bound of the truth). */
export function crossCheck(outs: CaseOutcome[], bounds: Record<string, Float64Array>): void {
  for (const a of outs) {
    let worst = 0;
    for (const b of outs) {
      if (a === b) continue;
      for (const name of Object.keys(a.got)) {
        const x = a.got[name];
        const y = b.got[name];
        if (!y) continue;
        const bd = bounds[name];
        for (let i = 0; i < x.length; i++) {
          if (x[i] === y[i] || (Number.isNaN(x[i]) && Number.isNaN(y[i]))) continue;
          const r = Math.abs(x[i] - y[i]) / (2 * bd[i]);
          if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
        }
      }
    }
    a.rec.crossRatio = worst;
    if (!(worst <= 1) && a.rec.pass) {
      a.rec.pass = false;
      a.rec.detail = `differs from another backend by ${worst.toFixed(2)}× the combined bound`;
    }
  }
}
