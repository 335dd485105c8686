import { describe, expect, it } from 'vitest';
import { DataError } from '../../../src/errors.js';
import type { ChatMessage, TextTokenizer } from '../../../src/models/tokenizer.js';
import { IGNORE_INDEX, tokenizeRecord, type TokenizedSequence } from '../../../src/models/train/data/tokenize.js';
import { fixtureTokenizer, plainTokenizer, tinyTokenizer } from './files.js';

const OPTS = { maxSeqLen: 4096, addEos: true };
const chat = (tok: TextTokenizer, messages: ChatMessage[], maxSeqLen = 4096) => tokenizeRecord(tok, { kind: 'chat', messages }, { ...OPTS, maxSeqLen }, 'c.jsonl', 3);
const text = (tok: TextTokenizer, s: string, o: Partial<typeof OPTS> = {}) => tokenizeRecord(tok, { kind: 'text', text: s }, { ...OPTS, ...o }, 't.jsonl', 1);

/** Token t is trained when the label of row t−1 is not ignored; every label is either ignored or the next id. */
function trainedMask(s: TokenizedSequence): boolean[] {
  const n = s.ids.length;
  for (let t = 0; t < n; t++) if (s.labels[t] !== IGNORE_INDEX) expect(s.labels[t]).toBe(s.ids[t + 1]);
  expect(s.labels[n - 1]).toBe(IGNORE_INDEX);
  return Array.from({ length: n }, (_, t) => t > 0 && s.labels[t - 1] !== IGNORE_INDEX);
}

/**
 * The expected mask from characters, independently of the implementation's prefix rendering:
 * each token's character span in the rendered text (its decoded text, concatenated), trained
 * exactly when it lies inside one of the reply spans the test states.
 */
function maskFromSpans(tok: TextTokenizer, ids: Int32Array, whole: string, replies: string[], header: string): boolean[] {
  const spans: [number, number][] = [];
  let from = 0;
  for (const r of replies) {
    const at = whole.indexOf(header + r, from);
    expect(at).toBeGreaterThanOrEqual(0);
    spans.push([at + header.length, at + header.length + r.length]);
    from = at + header.length + r.length;
  }
  const pieces = [...ids].map((id) => tok.decode([id], false));
  expect(pieces.join('')).toBe(whole);
  let c = 0;
  return pieces.map((p) => {
    const [a, b] = [c, (c += p.length)];
    const inside = spans.some(([s, e]) => a >= s && b <= e);
    const straddles = spans.some(([s, e]) => a < e && b > s && !(a >= s && b <= e));
    expect(straddles).toBe(false);
    return inside;
  });
}

describe('chat records: only assistant replies are trained', () => {
  const conversation: ChatMessage[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: '2+2?' },
    { role: 'assistant', content: '4' },
  ];

  for (const arch of ['qwen2', 'llama']) {
    it(`masks token by token on the ${arch} fixture's ChatML template (reply + <|im_end|>\\n trained)`, async () => {
      const tok = await fixtureTokenizer(arch);
      const s = chat(tok, conversation);
      const whole = tok.applyChatTemplate(conversation, false);
      expect([...s.ids]).toEqual(tok.encode(whole, false));
      expect(s.ids[0]).toBe(tok.bosTokenId); // the template's own BOS, not doubled
      const got = trainedMask(s);
      const want = maskFromSpans(tok, s.ids, whole, ['Hello!<|im_end|>\n', '4<|im_end|>\n'], '<|im_start|>assistant\n');
      expect(got).toEqual(want);
      expect(s.trainedTokens).toBe(want.filter(Boolean).length);
      // The trained runs decode to the replies and their closing tokens, nothing else.
      const runs: string[] = [];
      got.forEach((on, t) => {
        if (on && !got[t - 1]) runs.push('');
        if (on) runs[runs.length - 1] += tok.decode([s.ids[t]], false);
      });
      expect(runs).toEqual(['Hello!<|im_end|>\n', '4<|im_end|>\n']);
    });
  }

  it('masks on a template without newlines whose tokenizer adds BOS in its post-processor', async () => {
    const tok = await tinyTokenizer();
    const ms: ChatMessage[] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello world' },
      { role: 'user', content: 'again' },
    ];
    const s = chat(tok, ms);
    const whole = tok.applyChatTemplate(ms, false);
    expect(whole).toBe('<|begin|><|user|>hi<|end|><|assistant|>hello world<|end|><|user|>again<|end|>');
    expect([...s.ids].filter((id) => id === tok.bosTokenId)).toHaveLength(1);
    expect(trainedMask(s)).toEqual(maskFromSpans(tok, s.ids, whole, ['hello world<|end|>'], '<|assistant|>'));
    // A trailing user turn is context only.
    expect(s.labels[s.ids.length - 2]).toBe(IGNORE_INDEX);
  });

  it('right-truncates to maxSeqLen; the labels stop at the cut', async () => {
    const tok = await fixtureTokenizer();
    const full = chat(tok, conversation);
    const n = full.ids.length - 5;
    const s = chat(tok, conversation, n);
    expect(s.truncated).toBe(true);
    expect([...s.ids]).toEqual([...full.ids.subarray(0, n)]);
    expect([...s.labels.subarray(0, n - 1)]).toEqual([...full.labels.subarray(0, n - 1)]);
    expect(s.labels[n - 1]).toBe(IGNORE_INDEX);
    expect(full.truncated).toBe(false);
  });

  it('refuses a template that renders a turn differently once later turns follow, naming file:line', async () => {
    // The last message gets a marker: the prompt rendering then is not a prefix of the whole.
    const tok = await tinyTokenizer("{% for m in messages %}{% if loop.last %}<|end|>{% endif %}{{ '<|' + m['role'] + '|>' + m['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}");
    const f = () => chat(tok, conversation);
    expect(f).toThrow(DataError);
    expect(f).toThrow(/^\[data\] c\.jsonl:3: the chat template's text of messages 0\.\.1 with the generation prompt is not a prefix/);
  });

  it('refuses a reply whose first token merges with the prompt (a BPE merge across the boundary)', async () => {
    // The generation prompt ends in "h" and the reply starts "ello": "hello" merges to "hell"+"o".
    const tok = await tinyTokenizer("{% for m in messages %}{% if m['role'] == 'assistant' %}{{ 'h' + m['content'] }}{% else %}{{ '<|user|>' + m['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}h{% endif %}");
    expect(() => chat(tok, [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'ello' }])).toThrow(/c\.jsonl:3: the tokens of the prompt before message 1 .* BPE merge/);
  });

  it('a template that raises, or no template at all, is a DataError for the line', async () => {
    const raising = await tinyTokenizer("{{ raise_exception('Conversation roles must alternate') }}");
    expect(() => chat(raising, conversation)).toThrow(/c\.jsonl:3: the chat template refused messages 0\.\.4 \(.*Conversation roles must alternate/);
    const plain = await plainTokenizer();
    expect(() => chat(plain, conversation)).toThrow(/c\.jsonl:3: a \{"messages"\} record needs a tokenizer with a chat_template/);
  });
});

describe('text records', () => {
  it("keep the tokenizer's BOS convention and end with EOS; every next token is a target", async () => {
    const tiny = await tinyTokenizer();
    const s = text(tiny, 'hello world');
    const body = tiny.encode('hello world', false);
    expect([...s.ids]).toEqual([tiny.bosTokenId, ...body, tiny.eosTokenId]);
    expect([...s.labels]).toEqual([...body, tiny.eosTokenId, IGNORE_INDEX]);
    expect(s.trainedTokens).toBe(body.length + 1);

    const fixture = await fixtureTokenizer();
    expect(fixture.eosTokenId).toBe(fixture.idOf('<|eos|>'));
    const f = text(fixture, 'ab');
    // No BOS: this tokenizer's post-processor adds none (as Qwen's).
    expect([...f.ids]).toEqual([...fixture.encode('ab', false), fixture.eosTokenId]);
    expect(f.ids[0]).not.toBe(fixture.bosTokenId);
  });

  it('do not double an EOS already there, and addEos false leaves it out', async () => {
    const tok = await fixtureTokenizer();
    expect([...text(tok, 'ab<|eos|>').ids]).toEqual([...tok.encode('ab', false), tok.eosTokenId]);
    expect([...text(tok, 'ab', { addEos: false }).ids]).toEqual(tok.encode('ab', false));
  });

  it('truncate at maxSeqLen, the cut EOS included', async () => {
    const tok = await fixtureTokenizer();
    const s = text(tok, 'abcdef', { maxSeqLen: 4 });
    expect([...s.ids]).toEqual(tok.encode('abcdef', false).slice(0, 4));
    expect([...s.labels]).toEqual([...s.ids.subarray(1), IGNORE_INDEX]);
    expect(s.truncated).toBe(true);
  });
});
