import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { TextTokenizer } from '../../src/models/tokenizer.js';
import { SPECIAL, bytesToUnicode, tinyTokenizerConfig, tinyTokenizerJson } from './tiny_tokenizer.js';

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmetal-tok-'));
  for (const [name, v] of Object.entries(files)) writeFileSync(join(dir, name), typeof v === 'string' ? v : JSON.stringify(v));
  return dir;
}

const BYTES = bytesToUnicode();
const N_MERGED = 256 + 4;
const BEGIN = N_MERGED;
const END = N_MERGED + 1;

describe('TextTokenizer', () => {
  it('encodes byte-level BPE with merges and the BOS post-processor, and decodes back', async () => {
    const t = await TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': tinyTokenizerConfig() }));
    const ids = t.encode('hello world');
    // <|begin|>, "hell" (he + ll), "o", "Ġw", "o", "r", "l", "d"
    const byte = (c: string) => BYTES.indexOf(c);
    expect(ids).toEqual([BEGIN, 258, byte('o'), 259, byte('o'), byte('r'), byte('l'), byte('d')]);
    expect(t.decode(ids)).toBe('hello world');
    expect(t.decode(ids, false)).toBe('<|begin|>hello world');
    expect(t.encode('hello', false)).toEqual([258, byte('o')]);
  });

  it('round-trips multi-byte UTF-8 through the byte map', async () => {
    const t = await TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': tinyTokenizerConfig() }));
    const s = 'héllo 日本 🙂';
    const ids = t.encode(s, false);
    // One id a UTF-8 byte, less one for the "ll" merge ("he" cannot form: é follows h).
    expect(ids.length).toBe(new TextEncoder().encode(s).length - 1);
    expect(t.decode(ids)).toBe(s);
  });

  it('finds special tokens, BOS and EOS ids (generation_config.json adds stop ids)', async () => {
    const t = await TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': tinyTokenizerConfig(), 'generation_config.json': { eos_token_id: [END + 2, END] } }));
    expect(t.bosTokenId).toBe(BEGIN);
    expect([...t.eosTokenIds].sort()).toEqual([END, END + 2]);
    expect(SPECIAL.map((s) => t.idOf(s))).toEqual([BEGIN, END, END + 1, END + 2]);
    expect(t.encode('a<|end|>b', false)).toEqual([BYTES.indexOf('a'), END, BYTES.indexOf('b')]);
  });

  it('renders the chat template with the special tokens and the generation prompt', async () => {
    const t = await TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': tinyTokenizerConfig() }));
    const text = t.applyChatTemplate([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'yo' },
      { role: 'user', content: 'again' },
    ]);
    expect(text).toBe('<|begin|><|user|>hi<|end|><|assistant|>yo<|end|><|user|>again<|end|><|assistant|>');
    expect(t.applyChatTemplate([{ role: 'user', content: 'x' }], false)).toBe('<|begin|><|user|>x<|end|>');
  });

  it('streams text deltas without splitting a multi-byte character', async () => {
    const t = await TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': tinyTokenizerConfig() }));
    const s = 'a日\nb🙂 c';
    const ids = t.encode(s, false);
    const st = t.stream();
    const deltas = ids.map((id) => st.push(id));
    expect(deltas.join('') + st.flush()).toBe(s);
    // 日 is three bytes: the first two push nothing, the third pushes the whole character.
    expect(deltas.slice(1, 4)).toEqual(['', '', '日']);
    expect(deltas.every((d) => !d.includes('\uFFFD'))).toBe(true);
  });

  it('raises ModelLoadError naming the file for a missing, malformed or contradictory tokenizer', async () => {
    await expect(TextTokenizer.load(folder({}))).rejects.toThrow(/^\[tokenizer\] .*tokenizer\.json: cannot read the tokenizer/);
    await expect(TextTokenizer.load(folder({ 'tokenizer.json': '{"model": ' }))).rejects.toThrow(ModelLoadError);
    await expect(TextTokenizer.load(folder({ 'tokenizer.json': '{"model": ' }))).rejects.toThrow(/tokenizer\.json: the tokenizer is not valid JSON/);
    await expect(TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': { eos_token: 5 } }))).rejects.toThrow(/tokenizer_config\.json: the tokenizer config has 'eos_token'/);
    await expect(TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson(), 'tokenizer_config.json': tinyTokenizerConfig({ chat_template: '{% for %}' }) }))).rejects.toThrow(/chat_template does not parse/);
    const plain = await TextTokenizer.load(folder({ 'tokenizer.json': tinyTokenizerJson() }));
    expect(plain.hasChatTemplate).toBe(false);
    expect(() => plain.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(/no chat_template/);
  });
});
