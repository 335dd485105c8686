// peers-table.mjs — the README's peers table of one run, rendered from its JSON by the bench's
// own report code (peersTable in bench/peers/report.ts, through dist/peers.js: `npm run build`
// first), so no number in it is typed by hand.
// Usage: node scripts/peers-table.mjs <peers.json> [--write README.md]
// With --write, the text between `<!-- peers:<name> -->` and `<!-- /peers:<name> -->` is
// replaced, <name> being the JSON's path under bench/results/ without .json (e.g.
// h100-2026-12-06-S7/call-c/bench-6). A run cut short by its time limit leaves
// {partial: true, rows} (no meta): the table is rendered from the rows, the header says so.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file, flag, target] = process.argv.slice(2);
if (!file) throw new Error('usage: node scripts/peers-table.mjs <peers.json> [--write README.md]');
const { peersTable } = await import('../dist/peers.js');
// The bench writes Infinity and NaN as strings (JSON has neither): turn them back into numbers.
const res = JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v));
if (!res.meta) {
  const names = [...new Set(res.rows.flatMap((r) => Object.keys(r.peers)))];
  // The allowances each column was checked with are in its cells (tol).
  const tolerance = { pmetal: 1 };
  for (const r of res.rows) for (const c of Object.values(r.peers)) if (c.tol !== undefined) tolerance[`peers ${r.dtype}`] = c.tol;
  res.meta = { date: '-', adapter: 'partial run (cut short before its summary: adapter, copy kernel and peer versions not recorded)', quick: false, timing: '-', peers: names.map((name) => ({ name, version: 'version not recorded' })), tolerance };
}
const text = peersTable(res);
if (flag === '--write') {
  const name = relative('bench/results', file).replace(/\.json$/, '');
  const out = target ?? 'README.md';
  const s = readFileSync(out, 'utf8');
  const open = `<!-- peers:${name} -->`;
  const close = `<!-- /peers:${name} -->`;
  const a = s.indexOf(open);
  const b = s.indexOf(close);
  if (a < 0 || b < a) throw new Error(`${out}: no ${open} … ${close} markers`);
  writeFileSync(out, `${s.slice(0, a + open.length)}\n\`\`\`\n${text}\n\`\`\`\n${s.slice(b)}`);
} else console.log(text);
