import type { Command } from 'commander';
import { loadBackends, webgpuFlags } from './options.js';

/** `pmetal ops`: implemented op × backend × tier × dtypes here. */
export function registerOps(program: Command): void {
  webgpuFlags(program.command('ops').description('implemented op × backend × tier × dtypes available here').option('--json', 'print JSON')).action(async (o) => {
    const backends = await loadBackends(o);
    const rows: { op: string; backend: string; tier: string; dtypes: string[] }[] = [];
    for (const b of backends) for (const [op, tiers] of Object.entries(b.capabilities().ops)) for (const t of tiers) rows.push({ op, backend: b.name, tier: t.tier, dtypes: [...t.dtypes] });
    if (o.json) console.log(JSON.stringify(rows, null, 2));
    else for (const r of rows) console.log(`${r.op.padEnd(24)} ${r.backend.padEnd(7)} ${r.tier.padEnd(16)} ${r.dtypes.join(',')}`);
    for (const b of backends) b.dispose();
  });
}
