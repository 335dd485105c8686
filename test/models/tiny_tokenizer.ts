/**
 * A byte-level BPE tokenizer.json built in code (GPT-2's byte → printable-character map, as
 * Llama 3 and Qwen use), with a few merges and special tokens, for tests that must not depend
 * on a downloaded tokenizer.
 */
export function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + n++));
  return out;
}

export const SPECIAL = ['<|begin|>', '<|end|>', '<|user|>', '<|assistant|>'];

export function tinyTokenizerJson(merges: [string, string][] = [['h', 'e'], ['l', 'l'], ['he', 'll'], ['Ġ', 'w']]): object {
  const vocab: Record<string, number> = {};
  for (const c of bytesToUnicode()) vocab[c] = Object.keys(vocab).length;
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const first = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content, i) => ({ id: first + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|begin|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin|>': { id: '<|begin|>', ids: [first], tokens: ['<|begin|>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
}

export const TINY_CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + eos_token }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

export const tinyTokenizerConfig = (extra: object = {}): object => ({ bos_token: '<|begin|>', eos_token: '<|end|>', chat_template: TINY_CHAT_TEMPLATE, ...extra });
