import type { KernelBackend } from '../src/backend/interface.js';
import type { FloatDType } from '../src/dtype.js';
import { caseStream } from '../src/ops/fuzz.js';
import { rng } from '../src/ops/random.js';
import { OPS, getSpec, type OpName } from '../src/ops/registry.js';
import type { OpCase } from '../src/ops/types.js';
import { crossCheck, prepareCase, runCaseOn, type CaseOutcome } from './runner.js';

/**
 * Differential fuzzing through the registry: random cases of every op (its spec's `fuzz`
 * generator, or its curated cases when it has none) on every backend × tier × dtype, each
 * compared with the float64 reference through the op's own bounds and with the other
 * backends. A failure prints as one command line that reruns exactly that case.
 */
export interface FuzzOptions {
  backends: KernelBackend[];
  ops?: string[];
  tiers?: string[];
  dtypes?: string[];
  /** Cases to draw (each runs on every selected backend × tier). */
  cases: number;
  seed: number;
  /** Run only this case index (a reproduction). */
  only?: number;
  onFailure?: (f: FuzzFailure) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface FuzzFailure {
  op: string;
  backend: string;
  tier: string;
  dtype: string;
  index: number;
  label: string;
  detail: string;
  /** The `pmetal fuzz …` command that reruns this case alone. */
  repro: string;
}

export interface FuzzResult {
  cases: number;
  /** Case × backend × tier runs. */
  runs: number;
  failures: FuzzFailure[];
  /** Runs per op. */
  perOp: Record<string, number>;
  /** Wall milliseconds per op (case preparation, every run and the cross-check): where a run's time goes. */
  msPerOp: Record<string, number>;
  /** Runs per backend/tier. */
  perTarget: Record<string, number>;
}

/** Case `index` of op/dtype under `seed`: drawn from its own stream, so filters never change it. */
export function fuzzCaseOf(op: OpName, dtype: FloatDType, seed: number, index: number): { c: OpCase; inputSeed: number } {
  const spec = getSpec(op);
  const r = caseStream(seed, index, op, dtype);
  const c = spec.fuzz ? spec.fuzz(r) : spec.cases[Math.floor(r() * spec.cases.length)];
  return { c, inputSeed: 1 + Math.floor(r() * 2 ** 30) };
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const ops = (o.ops?.length ? o.ops : Object.keys(OPS)).map((n) => getSpec(n).name as OpName);
  // Which op and dtype each index tests comes from a stream of its own (the case itself does not).
  const chooser = rng(o.seed ^ 0x5eed);
  const res: FuzzResult = { cases: 0, runs: 0, failures: [], perOp: {}, msPerOp: {}, perTarget: {} };
  const first = o.only ?? 0;
  const last = o.only ?? o.cases - 1;
  for (let index = 0; index <= last; index++) {
    const op = ops[Math.floor(chooser() * ops.length)];
    const spec = getSpec(op);
    const dtypes = spec.dtypes.filter((d) => !o.dtypes?.length || o.dtypes.includes(d));
    const dtype = dtypes[Math.floor(chooser() * Math.max(1, dtypes.length))];
    if (index < first || !dtype) continue;
    const targets: { backend: KernelBackend; tier: string }[] = [];
    for (const backend of o.backends) {
      for (const t of backend.capabilities().ops[op] ?? []) {
        if (t.dtypes.includes(dtype) && (!o.tiers?.length || o.tiers.includes(t.tier))) targets.push({ backend, tier: t.tier });
      }
    }
    if (!targets.length) continue;
    const started = performance.now();
    const { c, inputSeed } = fuzzCaseOf(op, dtype, o.seed, index);
    const id = `${op}:${dtype}:fuzz#${index}:${c.label}`;
    const prepared = prepareCase(op, dtype, id, c, inputSeed);
    const outs: CaseOutcome[] = [];
    for (const { backend, tier } of targets) {
      const out = await runCaseOn(backend, tier, prepared);
      outs.push(out);
      res.runs++;
      res.perOp[op] = (res.perOp[op] ?? 0) + 1;
      const key = `${backend.name}/${tier}`;
      res.perTarget[key] = (res.perTarget[key] ?? 0) + 1;
    }
    crossCheck(outs, prepared.bounds);
    res.msPerOp[op] = (res.msPerOp[op] ?? 0) + performance.now() - started;
    for (const { rec } of outs) {
      if (rec.pass) continue;
      const f: FuzzFailure = {
        op,
        backend: rec.backend,
        tier: rec.tier,
        dtype,
        index,
        label: c.label,
        detail: rec.error ?? rec.detail ?? `${rec.output}: max err ${rec.maxAbsErr} > bound (ratio ${rec.worstRatio})`,
        repro: `pmetal fuzz --backend ${rec.backend} --tier ${rec.tier} --op ${op} --dtype ${dtype} --seed ${o.seed} --case ${index}`,
      };
      res.failures.push(f);
      o.onFailure?.(f);
    }
    res.cases++;
    o.onProgress?.(index + 1 - first, last + 1 - first);
  }
  return res;
}
