import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { runFuzz } from '../conformance/fuzz.js';
import { PmetalError } from '../src/errors.js';
import { OPS } from '../src/ops/registry.js';
import { textTable } from '../src/text_table.js';
import { list, loadBackends, webgpuFlags } from './options.js';

const count = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new PmetalError('OPTIONS', `[fuzz] --${name}: expected an integer ≥ ${min}, got '${v}'`);
  return n;
};

/** `pmetal fuzz`: random cases of every op against the reference; each failure as a one-line reproduction. */
export function registerFuzz(program: Command): void {
  webgpuFlags(
    program
      .command('fuzz')
      .description('differential fuzzing: random shapes and options of every op, on every backend × tier, against the float64 reference')
      .addOption(new Option('--backend <list>', 'backends (default: every available GPU backend)').argParser(list))
      .addOption(new Option('--tier <list>', 'tiers').argParser(list))
      .addOption(new Option('--op <list>', `ops (${Object.keys(OPS).join(', ')})`).argParser(list))
      .addOption(new Option('--dtype <list>', 'dtypes (f32, f16, bf16)').argParser(list))
      .option('--cases <n>', 'cases to draw', '200')
      .option('--seed <n>', 'seed of the draw', '1')
      .option('--case <index>', 'rerun one case index (what a failure line prints)')
      .option('--json <file>', 'write counts and failures as JSON'),
  ).action(async (o) => {
    const cases = count('cases', o.cases, 1);
    const seed = count('seed', o.seed, 0);
    const only = o.case === undefined ? undefined : count('case', o.case, 0);
    for (const op of (o.op as string[] | undefined) ?? []) if (!(op in OPS)) throw new PmetalError('OPTIONS', `[fuzz] --op: unknown op '${op}' (known: ${Object.keys(OPS).join(', ')})`);
    const wanted = (o.backend as string[] | undefined) ?? ['webgpu', 'metal'];
    const backends = await loadBackends(o, wanted, !o.backend);
    if (!backends.length) throw new PmetalError('BACKEND_UNAVAILABLE', '[fuzz] no backend to fuzz');
    const t0 = Date.now();
    const res = await runFuzz({
      backends,
      ops: o.op,
      tiers: o.tier,
      dtypes: o.dtype,
      cases: only === undefined ? cases : only + 1,
      only,
      seed,
      onFailure: (f) => console.log(`FAIL ${f.op} ${f.backend}/${f.tier} ${f.dtype} #${f.index} ${f.label}: ${f.detail}\n  rerun: ${f.repro}`),
      onProgress: (done, total) => {
        if (done % 50 === 0 || done === total) process.stderr.write(`fuzz: ${done}/${total} cases\n`);
      },
    });
    console.log(textTable(['backend/tier', 'runs'], Object.entries(res.perTarget).map(([k, v]) => [k, String(v)])).join('\n'));
    console.log(textTable(['op', 'runs', 'ms'], Object.entries(res.perOp).map(([k, v]) => [k, String(v), (res.msPerOp[k] ?? 0).toFixed(0)])).join('\n'));
    const secs = (Date.now() - t0) / 1000;
    console.log(`${res.cases} cases, ${res.runs} runs, ${res.failures.length} failures (seed ${seed}, ${secs.toFixed(1)} s)`);
    if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), seed, devices: Object.fromEntries(backends.map((b) => [b.name, b.capabilities().device])), seconds: secs, ...res }, null, 2));
    for (const b of backends) b.dispose();
    process.exitCode = res.failures.length ? 1 : 0;
  });
}
