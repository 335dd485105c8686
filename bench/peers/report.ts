import { textTable } from '../../src/text_table.js';
import type { Column, PeerRow, PeersResult } from './index.js';

const f = (x: number | undefined | null, d = 3) => (x === undefined || x === null ? '-' : Number.isFinite(x) ? x.toFixed(d) : String(x));
const ms = (c: Column) => (c.status === 'ok' && c.ms !== undefined ? f(c.ms, c.ms < 1 ? 4 : 3) : c.status);
const oneTime = (c: Column) => `${c.setupMs !== undefined ? `setup ${f(c.setupMs, 0)} ms, ` : ''}first run ${f(c.checkMs, 1)} ms (check shape), first call at full shape ${f(c.firstMs, 1)} ms`;
const checkMark = (c: Column) => (c.errRatio === undefined ? '' : c.checkPass ? '✓' : '✗');

/** Peer time over pmetal's: above 1, pmetal is faster by that factor. */
export function ratio(row: PeerRow, peer: string): number | undefined {
  const c = row.peers[peer];
  if (!c || c.status !== 'ok' || c.ms === undefined || row.pmetal.ms === undefined) return undefined;
  return c.ms / row.pmetal.ms;
}

const peerNames = (res: PeersResult) => res.meta.peers.map((p) => p.name);

/** The terminal table: op, shape, dtype, pmetal, each peer, the ratios; then the notes (n/a, errors, forms). */
export function peersTable(res: PeersResult): string {
  const names = peerNames(res);
  const head = ['op', 'shape', 'dtype', 'pmetal ms', ...names.map((n) => `${n} ms`), ...names.map((n) => `${n}/pmetal`), 'check (err/bound)'];
  const body = res.rows.map((r) => {
    const cols = names.map((n) => r.peers[n] ?? ({ status: 'error', note: 'not run' } as Column));
    const check = [`pmetal ${f(r.pmetal.errRatio, 2)}${checkMark(r.pmetal)}`, ...names.map((n, i) => (cols[i].status === 'ok' ? `${n === 'onnxruntime-web' ? 'ort' : n} ${f(cols[i].errRatio, 2)}${checkMark(cols[i])}` : ''))].filter(Boolean).join(' ');
    return [r.op, r.shape, r.dtype, ms(r.pmetal), ...cols.map(ms), ...names.map((n) => (ratio(r, n) === undefined ? '-' : `${f(ratio(r, n), 2)}×`)), check];
  });
  const out = textTable(head, body, { trimEnd: true });
  out.push('');
  out.push(`adapter: ${res.meta.adapter}${res.meta.quick ? ' (quick shapes)' : ''}; ${res.meta.date}`);
  out.push(`timing: ${res.meta.timing}`);
  if (res.meta.copy) out.push(`copy kernel: ${res.meta.copy.gbps.toFixed(0)} GB/s over ${(res.meta.copy.bytes / 2 ** 20).toFixed(0)} MiB (GPU timestamps where the adapter has them)`);
  out.push(`check: max |got − float64 reference| / the op's derived bound at the check shape (few rows, same reduction lengths); allowed: ${Object.entries(res.meta.tolerance).map(([k, v]) => `${k} ${v}×`).join(', ')}`);
  for (const p of res.meta.peers) out.push(`peer ${p.name}: ${p.error ? `could not load — ${p.error}` : `${p.version}, runtime load ${f(p.initMs, 0)} ms`}`);
  const notes = new Set<string>();
  for (const r of res.rows) {
    const all: [string, Column][] = [['pmetal', r.pmetal], ...names.map((n) => [n, r.peers[n]] as [string, Column])];
    for (const [n, c] of all) if (c && c.status !== 'ok') notes.add(`${n} ${c.status} on ${r.op} ${r.dtype} ${r.shape}: ${c.note}`);
    for (const [n, c] of all) if (c && c.status === 'ok' && c.checkMs !== undefined) notes.add(`${n} one-time on ${r.op} ${r.dtype} ${r.shape}: ${oneTime(c)}`);
  }
  for (const n of notes) out.push(n);
  return out.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5'];

/** Horizontal bars, one per column; missing values drawn as a note. */
function bars(title: string, items: { label: string; value?: number; text: string }[], unit: string): string {
  const W = 520;
  const lw = 130;
  const bh = 18;
  const max = Math.max(1e-12, ...items.map((i) => i.value ?? 0));
  const h = items.length * (bh + 6) + 26;
  const rows = items
    .map((it, k) => {
      const y = 22 + k * (bh + 6);
      const len = it.value !== undefined ? Math.max(1, ((W - lw - 110) * it.value) / max) : 0;
      const bar = it.value !== undefined ? `<rect x="${lw}" y="${y}" width="${len.toFixed(1)}" height="${bh}" fill="${COLORS[k % COLORS.length]}"/>` : '';
      return `<text x="${lw - 6}" y="${y + 13}" text-anchor="end">${esc(it.label)}</text>${bar}<text x="${lw + len + 6}" y="${y + 13}">${esc(it.text)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" font-family="sans-serif" font-size="12"><text x="0" y="13" font-weight="bold">${esc(title)} (${esc(unit)})</text>${rows}</svg>`;
}

/** A self-contained page: the table, then per row a chart of ms per call and one of the roofline fraction. */
export function peersHtml(res: PeersResult): string {
  const names = peerNames(res);
  const cols = (r: PeerRow): [string, Column | undefined][] => [['pmetal', r.pmetal], ...names.map((n) => [n, r.peers[n]] as [string, Column | undefined])];
  const table = `<table><tr><th>op</th><th>shape</th><th>dtype</th><th>pmetal ms</th>${names.map((n) => `<th>${esc(n)} ms</th>`).join('')}${names.map((n) => `<th>${esc(n)}/pmetal</th>`).join('')}<th>check (err/bound)</th></tr>${res.rows
    .map(
      (r) =>
        `<tr><td>${esc(r.op)}</td><td>${esc(r.shape)}</td><td>${r.dtype}</td><td>${esc(ms(r.pmetal))}</td>${names.map((n) => `<td title="${esc(r.peers[n]?.note ?? r.peers[n]?.form ?? '')}">${esc(r.peers[n] ? ms(r.peers[n]) : '-')}</td>`).join('')}${names.map((n) => `<td>${ratio(r, n) === undefined ? '-' : `${f(ratio(r, n), 2)}×`}</td>`).join('')}<td>${cols(r)
          .filter(([, c]) => c?.errRatio !== undefined)
          .map(([n, c]) => `${esc(n)} ${f(c!.errRatio, 2)}${checkMark(c!)}`)
          .join(', ')}</td></tr>`,
    )
    .join('')}</table>`;
  const charts = res.rows
    .map((r) => {
      // Compute-bound rows are charted in TFLOP/s, the rest against the copy kernel's bandwidth.
      const gemm = r.op === 'gemm' || r.op === 'flash_attention_forward' || (r.op === 'quantized_gemm' && r.flops > 100 * r.bytes);
      const t = bars(
        'time per call, shorter is better',
        cols(r).map(([n, c]) => ({ label: n, value: c?.status === 'ok' ? c.ms : undefined, text: c?.status === 'ok' && c.ms !== undefined ? `${f(c.ms, 4)} ms` : `${c?.status ?? '-'}: ${(c?.note ?? '').slice(0, 60)}` })),
        'ms',
      );
      const roof = bars(
        gemm ? 'throughput' : 'fraction of the copy kernel’s bandwidth (the memory roofline)',
        cols(r).map(([n, c]) => {
          const v = c?.status === 'ok' ? (gemm ? c.tflops : c.ofCopy) : undefined;
          return { label: n, value: v, text: v === undefined ? '-' : gemm ? `${f(v, 2)} TFLOP/s` : `${(v * 100).toFixed(1)}% (${f(c!.gbps, 0)} GB/s)` };
        }),
        gemm ? 'TFLOP/s' : 'of copy',
      );
      const forms = cols(r)
        .filter(([, c]) => c?.form)
        .map(([n, c]) => `<li>${esc(n)}: <code>${esc(c!.form!)}</code>${c!.checkMs !== undefined ? ` — one-time: ${esc(oneTime(c!))}` : ''}</li>`)
        .join('');
      const na = cols(r)
        .filter(([, c]) => c && c.status !== 'ok')
        .map(([n, c]) => `<li>${esc(n)} ${c!.status}: ${esc(c!.note ?? '')}</li>`)
        .join('');
      return `<section><h3>${esc(r.op)} ${r.dtype} ${esc(r.shape)}</h3><p>checked at ${esc(r.checkShape)}; ${r.k} call(s) per timed sample</p><div class="charts">${t}${roof}</div><ul>${forms}${na}</ul></section>`;
    })
    .join('');
  const peersLine = res.meta.peers.map((p) => `<li>${esc(p.name)}: ${esc(p.error ? `could not load — ${p.error}` : `${p.version}, runtime load ${f(p.initMs, 0)} ms`)}</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>pmetal vs peers</title><style>
body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1em}section{border-top:1px solid #ddd;margin-top:1em}code{font-size:12px}</style></head><body>
<h1>pmetal vs peers on one GPUDevice</h1>
<p>${esc(res.meta.adapter)} — ${esc(res.meta.date)}${res.meta.quick ? ' — quick shapes' : ''}</p>
<p>${esc(res.meta.timing)}</p>
${res.meta.copy ? `<p>copy kernel: ${res.meta.copy.gbps.toFixed(0)} GB/s (the roofline of the memory-bound ops)</p>` : ''}
<p>check: max |got − float64 reference| / the op's derived bound, at a cut of each shape; allowed ${esc(Object.entries(res.meta.tolerance).map(([k, v]) => `${k} ${v}×`).join(', '))}</p>
<ul>${peersLine}</ul>
${table}
${charts}
</body></html>
`;
}
