import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { backendOptions, webgpuFlags } from './options.js';

/** `pmetal soak`: the leak check (bench/soak.ts) — heap, RSS, fds and threads over many dispatches and create/dispose cycles. */
export function registerSoak(program: Command): void {
  webgpuFlags(
    program
      .command('soak')
      .description('leak check: many small dispatches with reads, then backend create/dispose cycles; heap, RSS, fds and threads sampled, slope per 1000 ops; exit 1 over a limit')
      .option('--backend <name>', 'backend', 'webgpu')
      .option('--dispatches <n>', 'dispatches, each with a read', '100000')
      .option('--cycles <n>', 'create/dispose cycles', '200')
      .option('--json <file>', 'write the samples and slopes as JSON'),
  ).action(async (o) => {
    const { runSoak, soakTable } = await import('../bench/soak.js');
    const r = await runSoak({ backend: o.backend, dispatches: Number(o.dispatches), cycles: Number(o.cycles) }, backendOptions(o), (s) =>
      process.stderr.write(`${s.phase} ${s.ops}: heap ${(s.heap / 2 ** 20).toFixed(2)} MiB, rss ${(s.rss / 2 ** 20).toFixed(1)} MiB, fds ${s.fds ?? '-'}, threads ${s.threads ?? '-'}\n`),
    );
    console.log(soakTable(r));
    if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2));
    process.exitCode = r.ok ? 0 : 1;
  });
}
