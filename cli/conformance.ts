import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { htmlReport, summaryTable } from '../conformance/report.js';
import { runConformance } from '../conformance/runner.js';
import { OPS } from '../src/ops/registry.js';
import { PmetalError } from '../src/errors.js';
import { list, loadBackends, webgpuFlags } from './options.js';

/** `pmetal conformance`: every op × backend × tier × dtype × case against the reference. */
export function registerConformance(program: Command): void {
  webgpuFlags(
    program
      .command('conformance')
      .description('run every op × backend × tier × dtype × case against the float64 reference and each other')
      .addOption(new Option('--backend <list>', 'backends (default: every available one)').argParser(list))
      .addOption(new Option('--tier <list>', 'tiers').argParser(list))
      .addOption(new Option('--op <list>', `ops (${Object.keys(OPS).join(', ')})`).argParser(list))
      .addOption(new Option('--dtype <list>', 'dtypes (f32, f16, bf16)').argParser(list))
      .option('--case <substring>', 'only case ids containing this (e.g. "rms_norm:f16:rows=7")')
      .option('--quick', 'the quick subset')
      .option('--seeds <n>', 'seeds (subcases) per case', '1')
      .option('--json <file>', 'write the records as JSON')
      .option('--html <file>', 'write a self-contained HTML report'),
  ).action(async (o) => {
    const seeds = Number(o.seeds);
    if (!Number.isInteger(seeds) || seeds < 1) throw new PmetalError('OPTIONS', `[conformance] --seeds: expected an integer ≥ 1, got '${o.seeds}'`);
    for (const op of (o.op as string[] | undefined) ?? []) if (!(op in OPS)) throw new PmetalError('OPTIONS', `[conformance] --op: unknown op '${op}' (known: ${Object.keys(OPS).join(', ')})`);
    const wanted = o.backend as string[] | undefined;
    const backends = await loadBackends(o, wanted);
    // The cpu reference is always part of a run: gradient checks and cross-backend comparisons use it.
    if (!backends.some((b) => b.name === 'cpu')) backends.unshift(...(await loadBackends(o, ['cpu'])));
    const tty = process.stderr.isTTY;
    let last = 0;
    const t0 = Date.now();
    const res = await runConformance({
      backends,
      ops: o.op,
      tiers: o.tier,
      dtypes: o.dtype,
      quick: !!o.quick,
      filter: o.case,
      seeds: Array.from({ length: seeds }, (_, i) => i + 1),
      onProgress: (done, total, label) => {
        const now = Date.now();
        if (!tty && now - last < 5000 && done !== total) return;
        last = now;
        const w = 30;
        const f = total ? Math.round((done / total) * w) : w;
        const line = `[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${done}/${total} ${label}`.slice(0, 150);
        process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    console.log(summaryTable(res));
    const meta = { date: new Date().toISOString(), devices: Object.fromEntries(backends.map((b) => [b.name, b.capabilities().device])), quick: !!o.quick, seconds: (Date.now() - t0) / 1000 };
    if (o.json) writeFileSync(o.json, JSON.stringify({ meta, records: res.records, grads: res.grads }, null, 2));
    if (o.html) writeFileSync(o.html, htmlReport(res, meta));
    console.log(`${res.passed} passed, ${res.failed} failed${res.skipped ? `, ${res.skipped} skipped` : ''}`);
    for (const b of backends) b.dispose();
    // A filter that selects nothing is a mistake (a typo in --case), not a pass.
    const ran = res.records.length + res.grads.length;
    if (!ran) process.stderr.write(`pmetal: conformance ran nothing: no case matches the filters${o.case ? ` (--case '${o.case}')` : ''}\n`);
    process.exitCode = res.failed || !ran ? 1 : 0;
  });
}
