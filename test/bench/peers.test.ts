import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PEER_DTYPES, QUICK_CASES } from '../../bench/peers/cases.js';
import type { PeersResult } from '../../bench/peers/index.js';
import { encodeModel, ONNX_FLOAT } from '../../bench/peers/onnx.js';

// `pmetal bench --peers --quick` as users run it: the built CLI and its peers bundle
// (scripts/test.sh builds before the tests). Small shapes on lavapipe; no timed assertions.
const run = promisify(execFile);
const built = existsSync('dist/cli.js') && existsSync('dist/peers.js');

describe.skipIf(!built)('pmetal bench --peers --quick', () => {
  it('puts pmetal, onnxruntime-web and tfjs side by side, every peer result checked or its absence explained', { timeout: 1_200_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmetal-peers-'));
    const json = join(dir, 'peers.json');
    const html = join(dir, 'peers.html');
    const r = await run(process.execPath, ['dist/cli.js', 'bench', '--peers', '--quick', '--json', json, '--html', html], { maxBuffer: 64 << 20, timeout: 1_190_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const { stdout, stderr } = r as { stdout: string; stderr: string };
    expect((r as { code?: number }).code ?? 0, stderr.slice(-2000)).toBe(0);
    const res = JSON.parse(readFileSync(json, 'utf8')) as PeersResult;

    // The terminal table: a column per peer and a ratio column per peer.
    const head = stdout.split('\n')[0];
    for (const h of ['op', 'shape', 'dtype', 'pmetal ms', 'onnxruntime-web ms', 'tfjs ms', 'onnxruntime-web/pmetal', 'tfjs/pmetal']) expect(head).toContain(h);

    // Every quick case × dtype has a row, and pmetal ran it within its own derived bound.
    expect(res.rows.length).toBe(QUICK_CASES.length * PEER_DTYPES.length);
    for (const c of QUICK_CASES) for (const d of PEER_DTYPES) expect(res.rows.some((row) => row.op === c.op && row.shape === c.label && row.dtype === d)).toBe(true);
    for (const row of res.rows) {
      expect(row.pmetal.status, `${row.op} ${row.dtype} ${row.shape}: ${row.pmetal.note}`).toBe('ok');
      expect(row.pmetal.checkPass).toBe(true);
      expect(row.pmetal.ms).toBeGreaterThan(0);
    }

    const names = res.meta.peers.map((p) => p.name);
    expect(names).toEqual(['onnxruntime-web', 'tfjs']);
    for (const p of res.meta.peers) {
      for (const row of res.rows) {
        const col = row.peers[p.name];
        expect(col, `${p.name} on ${row.op} ${row.dtype} ${row.shape}`).toBeDefined();
        const line = stdout.split('\n').find((l) => l.startsWith(row.op) && l.includes(row.shape) && l.includes(` ${row.dtype} `))!;
        expect(line).toBeDefined();
        if (p.error) {
          // A peer that cannot load in Node on lavapipe: the table says so on every row.
          expect(col.status).toBe('error');
          expect(col.note).toMatch(/could not load/);
          expect(stdout).toContain(`peer ${p.name}: could not load`);
        } else if (col.status === 'ok') {
          // It ran: timed, and checked against the float64 reference with the op's bound.
          expect(col.ms).toBeGreaterThan(0);
          expect(typeof col.checkPass).toBe('boolean');
          expect(col.form).toBeTruthy();
        } else {
          // It could not run this op: said in the table and the notes, never silently dropped.
          expect(col.note).toBeTruthy();
          expect(line).toContain(col.status);
          expect(stdout).toContain(`${p.name} ${col.status} on ${row.op} ${row.dtype} ${row.shape}`);
        }
      }
    }
    // tfjs has no float16: its f16 cells say n/a.
    if (!res.meta.peers.find((p) => p.name === 'tfjs')?.error) for (const row of res.rows.filter((x) => x.dtype === 'f16')) expect(row.peers.tfjs.status).toBe('n/a');

    // The HTML report: self-contained, a chart per row.
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/<table>/);
    expect((page.match(/<svg /g) ?? []).length).toBe(2 * res.rows.length);
    expect(page).not.toMatch(/<script|<link /);
  });
});

describe('the ONNX writer', () => {
  it('encodes varints, symbolic dims, attributes and opsets as protobuf', () => {
    const bytes = encodeModel({
      name: 'g',
      nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: { i: -1 } } }],
      inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: ['rows', 300] }],
      outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: ['rows', 300] }],
      opset: 13,
    });
    // ir_version = 8 first; a negative int64 is a 10-byte varint; 300 is 0xac 0x02.
    expect([...bytes.slice(0, 2)]).toEqual([0x08, 0x08]);
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex).toContain('18ffffffffffffffffff01');
    expect(hex).toContain('08ac02');
    expect(Buffer.from(bytes).toString('latin1')).toContain('com.microsoft');
  });
});
