// Self time by function of a V8 .cpuprofile (node --cpu-prof), optionally only of samples under
// a given ancestor function, with the top callers of the heaviest entries:
//   node scripts/probes/cpuprofile_top.mjs FILE [--under NAME] [--top N] [--callers NAME]
import { readFileSync } from 'node:fs';
const args = process.argv.slice(2);
const file = args[0];
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const under = opt('--under');
const top = Number(opt('--top', 30));
const callersOf = opt('--callers');
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
const has = (id, fn) => {
  for (let q = id; q !== undefined; q = parent.get(q)) if (byId.get(q).callFrame.functionName === fn) return true;
  return false;
};
const t = new Map();
for (let i = 0; i < p.samples.length; i++) t.set(p.samples[i], (t.get(p.samples[i]) ?? 0) + p.timeDeltas[i]);
const self = new Map();
let total = 0;
for (const [id, us] of t) {
  if (under && !has(id, under)) continue;
  const k = name(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + us);
  total += us;
}
console.log(`total ${(total / 1e3).toFixed(1)} ms${under ? ` under ${under}` : ''}`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1e3).toFixed(1).padStart(9)}  ${k}`);
if (callersOf) {
  const agg = new Map();
  for (const [id, us] of t) {
    const n = byId.get(id);
    if (n.callFrame.functionName !== callersOf || (under && !has(id, under))) continue;
    const chain = [];
    for (let q = parent.get(id), d = 0; q !== undefined && d < 8; q = parent.get(q), d++) chain.push(byId.get(q).callFrame.functionName);
    const k = chain.join(' < ');
    agg.set(k, (agg.get(k) ?? 0) + us);
  }
  console.log(`== callers of ${callersOf}`);
  for (const [k, us] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${(us / 1e3).toFixed(1).padStart(9)}  ${k}`);
}
