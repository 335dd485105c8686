import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextTokenizer } from '../../../src/models/tokenizer.js';
import { tinyTokenizerConfig, tinyTokenizerJson } from '../tiny_tokenizer.js';

/** A JSONL file in a fresh temp folder: strings are joined with '\n', a Buffer is written as is. */
export function jsonlFile(content: readonly (string | object)[] | Buffer, name = 'train.jsonl'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmetal-data-'));
  const file = join(dir, name);
  writeFileSync(file, Buffer.isBuffer(content) ? content : content.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

/** A real fixture tokenizer: byte-level BPE, ChatML-style template, no BOS post-processor, eos <|eos|>. */
export const fixtureTokenizer = (arch = 'qwen2') => TextTokenizer.load(join('test/fixtures/models', arch));

/** The in-code tokenizer of tiny_tokenizer.ts (BOS post-processor), with an optional other chat template. */
export function tinyTokenizer(chatTemplate?: string): Promise<TextTokenizer> {
  const dir = mkdtempSync(join(tmpdir(), 'pmetal-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tinyTokenizerConfig(chatTemplate === undefined ? {} : { chat_template: chatTemplate })));
  return TextTokenizer.load(dir);
}

/** The in-code tokenizer without tokenizer_config.json: no chat template, no special-token roles. */
export function plainTokenizer(): Promise<TextTokenizer> {
  const dir = mkdtempSync(join(tmpdir(), 'pmetal-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  return TextTokenizer.load(dir);
}
