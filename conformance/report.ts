import { textTable } from '../src/text_table.js';
import type { ConformanceResult } from './runner.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

interface Row {
  op: string;
  backend: string;
  tier: string;
  dtype: string;
  pass: number;
  fail: number;
  skipped: number;
  worst: number;
}

/** op × backend × tier × dtype rows, with the worst err/bound ratio seen. */
export function summarize(res: ConformanceResult): Row[] {
  const rows = new Map<string, Row>();
  for (const r of res.records) {
    const k = `${r.op}|${r.backend}|${r.tier}|${r.dtype}`;
    const row = rows.get(k) ?? { op: r.op, backend: r.backend, tier: r.tier, dtype: r.dtype, pass: 0, fail: 0, skipped: 0, worst: 0 };
    if (r.skipped) row.skipped++;
    else if (r.pass) row.pass++;
    else row.fail++;
    if (!r.skipped && !(r.worstRatio <= row.worst)) row.worst = r.worstRatio;
    rows.set(k, row);
  }
  return [...rows.values()];
}

export function summaryTable(res: ConformanceResult): string {
  const rows = summarize(res);
  const head = ['op', 'backend', 'tier', 'dtype', 'pass', 'fail', 'n/a', 'worst err/bound'];
  const body = rows.map((r) => [r.op, r.backend, r.tier, r.dtype, String(r.pass), String(r.fail), String(r.skipped), Number.isFinite(r.worst) ? r.worst.toFixed(3) : String(r.worst)]);
  const gp = res.grads.filter((g) => g.pass).length;
  if (res.grads.length) body.push(['(gradient checks)', 'cpu', 'float64', '-', String(gp), String(res.grads.length - gp), '0', '-']);
  const out = textTable(head, body);
  const fails = [...res.records.filter((r) => !r.pass).map((r) => `FAIL ${r.case} ${r.backend}/${r.tier}: ${r.error ?? r.detail ?? ''}`), ...res.grads.filter((g) => !g.pass).map((g) => `FAIL ${g.case} d/d${g.input}: |fd−analytic| ${num(g.maxAbsErr)} > ${num(g.tol)}`)];
  return [...out, ...fails].join('\n');
}

export function htmlReport(res: ConformanceResult, meta: Record<string, unknown>): string {
  const rows = summarize(res);
  const cell = (ok: boolean) => (ok ? 'ok' : 'bad');
  const summary = rows
    .map((r) => `<tr class="${cell(r.fail === 0)}"><td>${esc(r.op)}</td><td>${esc(r.backend)}</td><td>${esc(r.tier)}</td><td>${esc(r.dtype)}</td><td>${r.pass}</td><td>${r.fail}</td><td>${r.skipped}</td><td>${bar(r.worst)}</td></tr>`)
    .join('\n');
  const detail = res.records
    .map(
      (r) =>
        `<tr class="${cell(r.pass)}"><td>${esc(r.case)}${r.skipped ? ' (n/a)' : ''}</td><td>${esc(r.backend)}/${esc(r.tier)}</td><td>${esc(r.output)}</td><td>${num(r.maxAbsErr)}</td><td>${num(r.maxRelErr)}</td><td>${num(r.tol)}</td><td>${bar(r.worstRatio)}</td><td>${esc(r.error ?? r.detail ?? r.skipped ?? '')}</td></tr>`,
    )
    .join('\n');
  const grads = res.grads
    .map((g) => `<tr class="${cell(g.pass)}"><td>${esc(g.case)}</td><td>${esc(g.input)}</td><td>${g.checked}</td><td>${num(g.maxAbsErr)}</td><td>${num(g.tol)}</td></tr>`)
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>pmetal conformance</title><style>
body{font:13px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}
tr.bad{background:#fde2e2}tr.ok td:first-child{border-left:3px solid #3a3}tr.bad td:first-child{border-left:3px solid #c33}.bar{display:inline-block;height:9px;background:#58a;vertical-align:middle;margin-right:6px}
.bar.over{background:#c33}code{background:#f4f4f4;padding:1px 4px}</style></head><body>
<h1>pmetal conformance</h1><p>${res.passed} passed, ${res.failed} failed · <code>${esc(JSON.stringify(meta))}</code></p>
<p>Each result is compared element by element with the float64 reference; the bound of each element is derived from the dtype, the reduction length and the accuracy WGSL/MSL guarantee (src/ops/*/spec.ts). <em>err/bound</em> ≤ 1 passes.</p>
<h2>Summary</h2><table><tr><th>op</th><th>backend</th><th>tier</th><th>dtype</th><th>pass</th><th>fail</th><th>n/a</th><th>worst err/bound</th></tr>${summary}</table>
<h2>Gradient checks (central differences, float64)</h2><table><tr><th>case</th><th>input</th><th>elements</th><th>max |Δ|</th><th>tol</th></tr>${grads}</table>
<h2>Cases</h2><table><tr><th>case</th><th>backend/tier</th><th>output</th><th>max abs</th><th>max rel</th><th>bound</th><th>err/bound</th><th></th></tr>${detail}</table>
</body></html>`;
}

function bar(ratio: number): string {
  const r = Number.isFinite(ratio) ? ratio : 2;
  const w = Math.min(100, Math.round(r * 80));
  return `<span class="bar${r > 1 ? ' over' : ''}" style="width:${w}px"></span>${Number.isFinite(ratio) ? ratio.toFixed(3) : String(ratio)}`;
}
