import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// pmetal's half of scripts/fixtures/peft_load_check.py (the device machine runs the peft half):
// the fixture's peft-written adapter merged on load changes the logits, which stay finite.
const MODEL = join('test', 'fixtures', 'models', 'llama');

describe.skipIf(!existsSync('dist/index.js') || !existsSync(join(MODEL, 'lora')))('scripts/fixtures/adapter_logits.mjs', () => {
  it('writes the ids, base and adapter-merged logits of the fixture model', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pmetal-adapter-logits-')), 'ours.json');
    await promisify(execFile)(process.execPath, ['scripts/fixtures/adapter_logits.mjs', MODEL, join(MODEL, 'lora'), out]);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { ids: number[]; vocab: number; base: number[]; adapted: number[] };
    expect(r.ids).toEqual(Array.from({ length: 16 }, (_, i) => (7 * i + 3) % 320));
    expect(r.vocab).toBe(320);
    expect(r.base.length).toBe(16 * 320);
    expect(r.adapted.length).toBe(16 * 320);
    expect(r.adapted.every(Number.isFinite)).toBe(true);
    expect(Math.max(...r.base.map((b, i) => Math.abs(b - r.adapted[i])))).toBeGreaterThan(0.1);
  });

  it('refuses a missing argument with its usage', async () => {
    const e = (await promisify(execFile)(process.execPath, ['scripts/fixtures/adapter_logits.mjs', MODEL]).catch((x: unknown) => x)) as { code: number; stderr: string };
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('usage: node scripts/fixtures/adapter_logits.mjs MODEL_DIR ADAPTER_DIR OUT.json');
  });
});
