import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../src/models/tokenizer.js';

// The built CLI on the committed qwen3 fixture (HF's greedy tokens in golden.json).
const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['dist/cli.js', ...args], { maxBuffer: 8 << 20 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
const DIR = join('test', 'fixtures', 'models', 'qwen3');

describe.skipIf(!existsSync('dist/cli.js'))('pmetal generate', () => {
  it("streams HF's greedy text at temperature 0 and reports prefill and decode tokens/s", async () => {
    const g = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8'));
    const tok = await TextTokenizer.load(DIR);
    const r = (await cli(['generate', '--model', DIR, '--prompt', g.prompt_text, '--temperature', '0', '--max-tokens', '20', '--backend', 'cpu'])) as { stdout: string; stderr: string; code?: number };
    expect(r.code ?? 0).toBe(0);
    // The fixture's config has an EOS id (1) that greedy never picks here; 20 tokens come out.
    expect(r.stdout).toBe(`${tok.decode(g.generation.greedy_f32)}\n`);
    expect(r.stderr).toMatch(new RegExp(`prefill: ${g.generation.prompt_ids.length} tokens in [\\d.]+ ms \\([\\d.]+ tokens/s\\)`));
    expect(r.stderr).toMatch(/decode: 19 tokens in [\d.]+ ms \([\d.]+ tokens\/s\)/);
  });

  it('bad options are errors with a non-zero exit', async () => {
    const bad = (await cli(['generate', '--model', DIR, '--prompt', 'x', '--max-tokens', '0', '--backend', 'cpu'])) as { stderr: string; code?: number };
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--max-tokens: expected an integer ≥ 1, got '0'/);
    const gguf = (await cli(['generate', '--model', 'x.gguf', '--prompt', 'x', '--backend', 'cpu'])) as { stderr: string; code?: number };
    expect(gguf.code).not.toBe(0);
    expect(gguf.stderr).toMatch(/--tokenizer/);
    const missing = (await cli(['generate', '--model', 'no/such/dir', '--prompt', 'x', '--backend', 'cpu'])) as { stderr: string; code?: number };
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no\/such\/dir/);
  });
});
