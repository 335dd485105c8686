import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `pmetal finetune` as users run it: the built bundle, on the llama fixture, on the cpu backend.
const run = promisify(execFile);
type Result = { stdout: string; stderr: string; code?: number };
const cli = (args: string[]) => run(process.execPath, ['dist/cli.js', ...args], { maxBuffer: 32 << 20 }).catch((e: Result) => e) as Promise<Result>;
const MODEL = join('test', 'fixtures', 'models', 'llama');

describe.skipIf(!existsSync('dist/cli.js') || !existsSync(join(MODEL, 'tokenizer.json')))('pmetal finetune', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmetal-finetune-'));
  const data = join(dir, 'train.jsonl');
  writeFileSync(
    data,
    [
      JSON.stringify({ text: 'The quick brown fox jumps over the lazy dog.' }),
      JSON.stringify({ messages: [{ role: 'user', content: 'Hello world!' }, { role: 'assistant', content: 'Hello again, world.' }] }),
      JSON.stringify({ text: 'How are you today?' }),
    ].join('\n') + '\n',
  );
  const common = ['finetune', '--backend', 'cpu', '--model', MODEL, '--data', data, '--lora-r', '4', '--lora-alpha', '8', '--lora-dropout', '0.1', '--lr', '1e-2', '--warmup', '1', '--epochs', '3', '--batch-size', '1', '--max-seq-len', '48', '--seed', '3'];

  it('trains with a falling loss, writes a PEFT adapter, and a run in two pieces (--stop-after, --resume) ends bit-identical', async () => {
    const whole = await cli([...common, '--out', join(dir, 'whole')]);
    expect(whole.code ?? 0, whole.stderr).toBe(0);
    const losses = [...whole.stderr.matchAll(/step (\d+)\/(\d+)\s+loss (\S+)/g)].map((m) => Number(m[3]));
    expect(losses.length).toBeGreaterThanOrEqual(3);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(whole.stderr).toMatch(/tok\/s {2}ETA \d+ s/);
    const cfg = JSON.parse(readFileSync(join(dir, 'whole', 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0.1 });

    const half = Math.floor(losses.length / 2);
    const a = await cli([...common, '--out', join(dir, 'piece'), '--stop-after', String(half)]);
    expect(a.code ?? 0, a.stderr).toBe(0);
    const b = await cli([...common, '--out', join(dir, 'piece'), '--resume', join(dir, 'piece')]);
    expect(b.code ?? 0, b.stderr).toBe(0);
    const resumedLosses = [...a.stderr.matchAll(/loss (\S+)/g), ...b.stderr.matchAll(/loss (\S+)/g)].map((m) => Number(m[1]));
    expect(resumedLosses).toEqual(losses);
    const bytes = (d: string) => readFileSync(join(dir, d, 'adapter_model.safetensors'));
    expect(bytes('piece').equals(bytes('whole'))).toBe(true);

    // --from-adapter starts from the trained adapter: step 1 (lr 0 in the warm-up, the same first
    // batch and dropout masks) measures it, below the fresh adapter's (B = 0: the base model's) loss.
    const from = await cli([...common, '--out', join(dir, 'from'), '--from-adapter', join(dir, 'whole'), '--stop-after', '1']);
    expect(from.code ?? 0, from.stderr).toBe(0);
    const fromLoss = Number(/step 1\/\d+\s+loss (\S+)/.exec(from.stderr)?.[1]);
    expect(fromLoss).toBeLessThan(losses[0] - 0.3); // 5.20 vs 6.41 when written
  });

  it('refuses bad data and options with an error naming them', async () => {
    writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{"prompt": "no"}\n');
    const bad = await cli(['finetune', '--backend', 'cpu', '--model', MODEL, '--data', join(dir, 'bad.jsonl'), '--out', join(dir, 'x')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: expected \{"text"/);
    const opt = await cli([...common, '--out', join(dir, 'y'), '--grad-accum', '0']);
    expect(opt.code).not.toBe(0);
    expect(opt.stderr).toMatch(/--grad-accum: expected an integer ≥ 1, got '0'/);
    const both = await cli([...common, '--out', join(dir, 'z'), '--warmup', '1', '--warmup-ratio', '0.1']);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--warmup, --warmup-ratio: give one of them, not both/);
  });

  it('--skip-invalid leaves a malformed line out, counts it and trains on the rest', async () => {
    writeFileSync(join(dir, 'mixed.jsonl'), '{"text": "The quick brown fox jumps over the lazy dog."}\n{"prompt": "no"}\n');
    const r = await cli(['finetune', '--backend', 'cpu', '--model', MODEL, '--data', join(dir, 'mixed.jsonl'), '--out', join(dir, 'mixed'), '--skip-invalid', '--warmup-ratio', '0.5', '--min-lr-rate', '0.1', '--epochs', '2']);
    expect(r.code ?? 0, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/data: 1 records, .*1 malformed lines skipped, first at line 2/);
    // 2 steps, warm-up ceil(0.5·2) = 1: step 1 at lr 0, step 2 at the peak (the cosine's start).
    expect(r.stderr).toMatch(/step 1\/2\s+loss \S+\s+lr 0\.00e\+0/);
    expect(r.stderr).toMatch(/step 2\/2\s+loss \S+\s+lr 2\.00e-4/);
  });

  it('refuses to resume a checkpoint on other batches (another --batch-size): the stored data cursor would point elsewhere', async () => {
    const a = await cli([...common, '--out', join(dir, 'other'), '--stop-after', '1']);
    expect(a.code ?? 0, a.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'other', 'trainer_state.json'), 'utf8')).data).toMatchObject({ epoch: 0, batch: 1 });
    const b = await cli([...common.map((x, i) => (common[i - 1] === '--batch-size' ? '2' : x)), '--out', join(dir, 'other'), '--resume', join(dir, 'other')]);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/trainer_state\.json: the data cursor was stored for other data or packing/);
  });
});
