import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The CLI as users run it: the built bundle (scripts/test.sh builds before the tests).
const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['dist/cli.js', ...args], { maxBuffer: 32 << 20 }).catch((e: { code: number; stdout: string; stderr: string }) => e);

describe.skipIf(!existsSync('dist/cli.js'))('pmetal CLI', () => {
  it('ops --json lists every implemented op × backend × tier with dtypes', async () => {
    const r = await cli(['ops', '--json']);
    const rows = JSON.parse((r as { stdout: string }).stdout) as { op: string; backend: string; tier: string; dtypes: string[] }[];
    expect(rows.some((x) => x.op === 'rms_norm' && x.backend === 'cpu' && x.tier === 'reference')).toBe(true);
    expect(rows.some((x) => x.op === 'softmax' && x.backend === 'webgpu' && x.tier === 'portable' && x.dtypes.includes('bf16'))).toBe(true);
  });

  it('fuzz runs random cases, writes JSON, and refuses a bad count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmetal-fuzz-'));
    const r = (await cli(['fuzz', '--backend', 'cpu,metal', '--cases', '40', '--seed', '5', '--json', join(dir, 'f.json')])) as { stdout: string; code?: number };
    expect(r.code ?? 0).toBe(0);
    expect(r.stdout).toMatch(/40 cases, \d+ runs, 0 failures \(seed 5/);
    const j = JSON.parse(readFileSync(join(dir, 'f.json'), 'utf8')) as { cases: number; failures: unknown[]; perTarget: Record<string, number> };
    expect(j.cases).toBe(40);
    expect(Object.keys(j.perTarget)).toEqual(expect.arrayContaining(['cpu/reference', 'metal/metal3']));
    const bad = (await cli(['fuzz', '--backend', 'cpu', '--cases', '0'])) as { stderr: string; code?: number };
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--cases: expected an integer ≥ 1, got '0'/);
  });

  it('conformance refuses --seeds 0 and exits non-zero when --case matches nothing', async () => {
    const seeds = (await cli(['conformance', '--backend', 'cpu', '--seeds', '0'])) as { stderr: string; code?: number };
    expect(seeds.code).not.toBe(0);
    expect(seeds.stderr).toMatch(/--seeds: expected an integer ≥ 1, got '0'/);
    const none = (await cli(['conformance', '--backend', 'cpu', '--case', 'no-such-case'])) as { stderr: string; stdout: string; code?: number };
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/ran nothing: no case matches the filters \(--case 'no-such-case'\)/);
  });

  it('bench --host prints µs per call split into validation, encoding and submit', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'pmetal-host-')), 'h.json');
    const r = (await cli(['bench', '--host', '--calls', '60', '--op', 'rms_norm,softmax', '--backend', 'webgpu,cpu', '--json', json])) as { stdout: string; code?: number };
    expect(r.code ?? 0).toBe(0);
    expect(r.stdout).toMatch(/validate µs\s+encode µs\s+record µs \(median\)/);
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { rows: { op: string; backend: string; calls: number; validateUs: number; encodeUs: number; submitUs: number; launcherRecordUs?: number }[] }).rows;
    expect(rows.map((x) => `${x.op}/${x.backend}`).sort()).toEqual(['rms_norm/cpu', 'rms_norm/webgpu', 'softmax/cpu', 'softmax/webgpu']);
    for (const x of rows) {
      expect(x.calls).toBe(60);
      expect(x.validateUs).toBeGreaterThan(0);
      expect(x.encodeUs).toBeGreaterThan(0);
      // webgpu is timed with launch tapes off too (the launcher every call); cpu has none.
      if (x.backend === 'webgpu') expect(x.launcherRecordUs).toBeGreaterThan(0);
      else expect(x.launcherRecordUs).toBeUndefined();
    }
  });

  it('devices reports the adapter and its tiers', async () => {
    const r = (await cli(['devices', '--json'])) as { stdout: string };
    const d = JSON.parse(r.stdout) as { backend: string; available: boolean; tiers?: string[] }[];
    expect(d.find((x) => x.backend === 'webgpu')?.tiers).toContain('portable');
    expect(d.find((x) => x.backend === 'metal')).toBeDefined();
  });

  it('conformance writes JSON records and a self-contained HTML report, exit 0 on success', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmetal-cli-'));
    const r = (await cli(['conformance', '--quick', '--backend', 'webgpu', '--op', 'swiglu', '--dtype', 'f16', '--json', join(dir, 'c.json'), '--html', join(dir, 'c.html')])) as { stdout: string; code?: number };
    expect(r.code ?? 0).toBe(0);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    const j = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')) as { records: { op: string; backend: string; tier: string; dtype: string; case: string; pass: boolean; maxAbsErr: number; maxRelErr: number; tol: number }[] };
    expect(j.records.length).toBeGreaterThan(0);
    for (const rec of j.records) expect(Object.keys(rec)).toEqual(expect.arrayContaining(['op', 'backend', 'tier', 'dtype', 'case', 'pass', 'maxAbsErr', 'maxRelErr', 'tol']));
    const html = readFileSync(join(dir, 'c.html'), 'utf8');
    expect(html).toMatch(/<table>/);
    expect(html).not.toMatch(/<script src|<link /);
  });

  it('a bad option exits non-zero with a message', async () => {
    const r = (await cli(['conformance', '--backend', 'nope'])) as { code?: number; stderr: string };
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown backend 'nope'/);
  });

  it('bench reports the fraction of copy bandwidth, over 512 MiB and at the same size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmetal-bench-'));
    const json = join(dir, 'b.json');
    const r = (await cli(['bench', '--op', 'rope', '--dtype', 'f32', '--shape', 'B=1', '--reps', '2', '--warmup', '1', '--json', json])) as { stdout: string; code?: number };
    expect(r.code ?? 0).toBe(0);
    expect(r.stdout).toMatch(/of same-size copy/);
    const out = JSON.parse(readFileSync(json, 'utf8')) as { records: { ms: number; copyFraction?: number; sameSizeFraction?: number }[] };
    expect(out.records.length).toBeGreaterThan(0);
    for (const rec of out.records) {
      expect(rec.ms).toBeGreaterThan(0);
      expect(rec.copyFraction).toBeGreaterThan(0);
      expect(rec.sameSizeFraction).toBeGreaterThan(0);
    }
  }, 120_000);

  it('bench --sgmat-ceiling says what it needs where the adapter lacks subgroup matrices', async () => {
    const r = (await cli(['bench', '--sgmat-ceiling'])) as { code?: number; stderr: string };
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--sgmat-ceiling needs subgroup matrices/);
  });

  it('bench --variants times each tuning variant of an op and writes JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmetal-variants-'));
    const json = join(dir, 'v.json');
    const r = (await cli(['bench', '--variants', '--op', 'rope', '--dtype', 'f32', '--shape', 'B=1,S=4096,H=32,D=128', '--reps', '2', '--json', json])) as { stdout: string; code?: number };
    expect(r.code ?? 0).toBe(0);
    const out = JSON.parse(readFileSync(json, 'utf8')) as { rows: { variant: string; ms: number }[] };
    expect(out.rows.map((x) => x.variant)).toEqual(['default (16-byte words)', 'word pairs (PMETAL_ROPE_VEC=0)', 'qk deep (PMETAL_ROPE_QK_VARIANT=deep)', 'qk split (PMETAL_ROPE_QK_VARIANT=split)']);
    for (const row of out.rows) expect(row.ms).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/of copy/);
  }, 120_000);
});
