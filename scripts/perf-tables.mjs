// perf-tables.mjs — the README's H100 tables of one named run, regenerated from its JSON
// (bench/results/<run>/): gemm next to PyTorch, the subgroup-matrix ceiling, the host cost.
// Usage: node scripts/perf-tables.mjs bench/results/h100-2026-12-06-G1 [--write README.md]
// With --write, the text between `<!-- tables:<run> -->` and `<!-- /tables:<run> -->` in the
// file is replaced, so the README cannot drift from the run's numbers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, flag, target] = process.argv.slice(2);
if (!dir) throw new Error('usage: node scripts/perf-tables.mjs <run dir> [--write README.md]');
const run = basename(dir);
const load = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : undefined);
const f1 = (x) => (x === undefined || Number.isNaN(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3));
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const out = [];

const gemm = load('gemm.json');
const torch = load('torch.json');
if (gemm) {
  const copy = gemm.copy?.gbps;
  const byKey = new Map();
  for (const r of gemm.records) if (!r.error) {
    const k = `${r.dtype}|${r.shape}`;
    const best = byKey.get(k);
    if (!best || r.ms < best.ms) byKey.set(k, r);
  }
  const tRec = new Map((torch?.records ?? []).filter((r) => r.op === 'gemm').map((r) => [`${r.dtype}|${r.shape}`, r]));
  const rows = [];
  for (const [k, r] of byKey) {
    const t = tRec.get(k);
    const decode = /^m=(1|8),/.test(r.shape);
    rows.push([r.shape, r.dtype, r.tier, f1(r.ms), decode ? `${f1(r.gbps)} GB/s (${Math.round((r.gbps / copy) * 100)}% of copy)` : `${f1(r.tflops)} TFLOP/s`, t ? f1(t.ms) : '-', t ? (decode ? `${f1(t.gbps)} GB/s` : `${f1(t.tflops)} TFLOP/s`) : '-', t ? `${(r.ms / t.ms).toFixed(2)}×` : '-']);
  }
  const errs = gemm.records.filter((r) => r.error).map((r) => `${r.dtype} ${r.shape} (${r.tier}): ${r.error.split(':')[0]}`);
  out.push(`gemm, best pmetal tier per row (GPU timestamps, median of 10 after the clock warm-up; copy kernel ${f1(copy)} GB/s) and PyTorch ${torch?.torch ?? ''} (cuBLAS, CUDA events) on the same machine:\n`);
  out.push(table(['shape', 'dtype', 'tier', 'pmetal ms', 'pmetal', 'PyTorch ms', 'PyTorch', 'pmetal / PyTorch time'], rows));
  if (errs.length) out.push(`\nErrors in this run: ${errs.join('; ')}.`);
}
const ceiling = load('ceiling.json');
if (ceiling) {
  out.push(`\n\`pmetal bench --sgmat-ceiling\` (f16 4096³ through the subgroup-matrix K loop, stage by stage):\n`);
  out.push(table(['stage', 'the K loop does', 'ms', 'TFLOP/s'], ceiling.rows.map((r) => [String(r.stage), r.what, f1(r.ms), f1(r.tflops)])));
}
const host = load('host.json');
if (host) {
  out.push(`\n\`pmetal bench --host\` (10,000 calls per op, µs per call, medians; the H100 machine's CPU):\n`);
  out.push(table(['op', 'shape', 'validate', 'encode', 'record (median)', 'record p90', 'submit per op'], host.rows.map((r) => [r.op, r.shape, f1(r.validateUs), f1(r.encodeUs), f1(r.recordUs), f1(r.recordP90Us), f1(r.submitUs)])));
}
const text = out.join('\n');
if (flag === '--write') {
  const file = target ?? 'README.md';
  const s = readFileSync(file, 'utf8');
  const open = `<!-- tables:${run} -->`;
  const close = `<!-- /tables:${run} -->`;
  const a = s.indexOf(open);
  const b = s.indexOf(close);
  if (a < 0 || b < a) throw new Error(`${file}: no ${open} … ${close} markers`);
  writeFileSync(file, `${s.slice(0, a + open.length)}\n${text}\n${s.slice(b)}`);
} else console.log(text);
