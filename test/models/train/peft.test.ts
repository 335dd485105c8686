import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../../src/backend/interface.js';
import { createBackend } from '../../../src/backend/load.js';
import { loadConfig, type ModelConfig } from '../../../src/models/config.js';
import { Checkpoint, encodeSafetensors, type TensorToWrite } from '../../../src/models/safetensors/index.js';
import { disposeAdapters } from '../../../src/models/train/adapters.js';
import { readPeftAdapter } from '../../../src/models/train/peft.js';
import { writePeftAdapter } from '../../../src/models/train/peft_write.js';
import { ModelLoadError } from '../../../src/errors.js';

/** The PEFT adapter reader and writer on the llama fixture's peft-written adapter. */
const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'models', 'llama');
const PEFT_DIR = join(FIXTURE, 'lora');

let b: KernelBackend;
let c: ModelConfig;
let tmp: string;
let fixtureTensors: Record<string, TensorToWrite>;
beforeAll(async () => {
  b = await createBackend('cpu');
  c = await loadConfig(join(FIXTURE, 'config.json'));
  tmp = mkdtempSync(join(tmpdir(), 'pmetal-peft-'));
  const ck = await Checkpoint.openFile(join(PEFT_DIR, 'adapter_model.safetensors'));
  fixtureTensors = {};
  for (const n of ck.names()) {
    const t = await ck.read(n);
    fixtureTensors[n] = { dtype: t.dtype, shape: ck.entry(n).shape, data: t.data };
  }
  await ck.close();
});
afterAll(() => {
  b.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** A copy of the fixture's adapter folder with its config and/or tensors edited. */
function variant(name: string, edit: { config?: (j: Record<string, unknown>) => void; tensors?: (t: Record<string, TensorToWrite>) => void }): string {
  const dir = join(tmp, name);
  cpSync(PEFT_DIR, dir, { recursive: true });
  if (edit.config) {
    const j = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    edit.config(j);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(j));
  }
  if (edit.tensors) {
    const t = { ...fixtureTensors };
    edit.tensors(t);
    writeFileSync(join(dir, 'adapter_model.safetensors'), encodeSafetensors(t));
  }
  return dir;
}

const KEY = 'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight';

describe('PEFT adapters: read, write, refuse', () => {
  it('writes back what it read: the same keys, bits and config fields as peft wrote', async () => {
    const a = await readPeftAdapter(PEFT_DIR, c, b, 'f32');
    try {
      expect(a.settings).toMatchObject({ r: 4, alpha: 8, scale: 2, dropout: 0, rslora: false });
      expect(a.settings.targets).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
      const out = join(tmp, 'written');
      await writePeftAdapter(out, a, b);
      const ck = await Checkpoint.openFile(join(out, 'adapter_model.safetensors'));
      try {
        expect(ck.names().sort()).toEqual(Object.keys(fixtureTensors).sort());
        for (const [n, want] of Object.entries(fixtureTensors)) {
          const got = await ck.read(n);
          expect(got.dtype, n).toBe(want.dtype);
          expect(ck.entry(n).shape, n).toEqual(want.shape);
          expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength)), n).toBe(true);
        }
      } finally {
        await ck.close();
      }
      const mine = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
      const theirs = JSON.parse(readFileSync(join(PEFT_DIR, 'adapter_config.json'), 'utf8'));
      for (const f of ['peft_type', 'r', 'lora_alpha', 'lora_dropout', 'bias', 'fan_in_fan_out', 'use_dora', 'use_rslora', 'task_type', 'rank_pattern', 'alpha_pattern', 'modules_to_save', 'layers_to_transform', 'init_lora_weights', 'inference_mode']) {
        expect(mine[f], f).toEqual(theirs[f]);
      }
      expect([...mine.target_modules].sort()).toEqual([...theirs.target_modules].sort());
      // And it reads back.
      disposeAdapters(await readPeftAdapter(out, c, b, 'f32'));
    } finally {
      disposeAdapters(a);
    }
  });

  it.each([
    ['a missing tensor', { tensors: (t: Record<string, TensorToWrite>) => delete t[KEY] }, /up_proj\.lora_B\.weight" is missing/],
    ['an extra tensor', { tensors: (t: Record<string, TensorToWrite>) => (t['base_model.model.lm_head.lora_A.weight'] = fixtureTensors[KEY]) }, /lm_head\.lora_A\.weight" is not an adapter/],
    ['a shape the config contradicts (r = 8)', { config: (j: Record<string, unknown>) => (j.r = 8) }, /lora_A\.weight": shape \[4, 64\] contradicts the expected \[8, 64\]/],
    ['an unknown target module', { config: (j: Record<string, unknown>) => (j.target_modules = ['q_proj', 'lm_head']) }, /"lm_head" is not a LoRA target/],
    ['DoRA', { config: (j: Record<string, unknown>) => (j.use_dora = true) }, /use_dora/],
    ['a per-module rank', { config: (j: Record<string, unknown>) => (j.rank_pattern = { q_proj: 8 }) }, /rank_pattern: per-module overrides are not supported/],
    ['a regex target_modules', { config: (j: Record<string, unknown>) => (j.target_modules = '.*proj') }, /target_modules/],
    ['a non-LoRA peft_type', { config: (j: Record<string, unknown>) => (j.peft_type = 'IA3') }, /peft_type/],
    ['r = 0', { config: (j: Record<string, unknown>) => (j.r = 0) }, /\br\b/],
  ])('refuses %s with a ModelLoadError naming it', async (name, edit, message) => {
    const dir = variant(name.replace(/\W+/g, '_'), edit);
    const err = await readPeftAdapter(dir, c, b, 'f32').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses a config that is not JSON', async () => {
    const dir = variant('not_json', {});
    writeFileSync(join(dir, 'adapter_config.json'), '{"r": 4,');
    await expect(readPeftAdapter(dir, c, b, 'f32')).rejects.toThrow(/adapter_config\.json: not readable as JSON/);
  });
});
