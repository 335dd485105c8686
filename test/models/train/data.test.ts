import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../../src/errors.js';
import { packMicroBatches, parseJsonl, tokenizeRecord, type ChatMessage, type TrainTokenizer } from '../../../src/models/train/data.js';

/**
 * A character tokenizer with a chat template (the data logic does not depend on BPE; the
 * tokenizer golden tests are in golden.test.ts): BOS = 1, each character its code, a turn
 * rendered `<r>content</>`, the generation prompt `<a>`. `merge` joins "a>h" into one token
 * (id 999), as a BPE may merge across a template boundary.
 */
function charTokenizer(merge = false): TrainTokenizer {
  return {
    encode(text: string, addSpecialTokens = true) {
      const ids: number[] = addSpecialTokens ? [1] : [];
      for (let i = 0; i < text.length; i++) {
        if (merge && text.startsWith('a>h', i)) {
          ids.push(999);
          i += 2;
        } else ids.push(text.charCodeAt(i));
      }
      return ids;
    },
    applyChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt = true) {
      return messages.map((m) => `<${m.role[0]}>${m.content}</>`).join('') + (addGenerationPrompt ? '<a>' : '');
    },
  };
}
const codes = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('training data: JSONL records, chat masking, micro-batches', () => {
  it('text records learn every token; chat records only the assistant turns (content and the turn end)', () => {
    const tok = charTokenizer();
    const [text, chat] = parseJsonl('{"text":"abc"}\n\n{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"ok"},{"role":"user","content":"x"},{"role":"assistant","content":"yo"}]}\n', 'train.jsonl');
    expect(tokenizeRecord(text, tok, 100)).toEqual({ ids: [1, ...codes('abc')] });
    const e = tokenizeRecord(chat, tok, 100);
    const whole = '<u>hi</><a>ok</><u>x</><a>yo</>';
    expect(e.ids).toEqual(codes(whole));
    const learned = Array.from(e.labels!, (l, i) => (l === -100 ? ' ' : whole[i])).join('');
    expect(learned).toBe(' '.repeat('<u>hi</><a>'.length) + 'ok</>' + ' '.repeat('<u>x</><a>'.length) + 'yo</>');
    Array.from(e.labels!).forEach((l, i) => expect(l === -100 || l === e.ids[i]).toBe(true));
    const cut = tokenizeRecord(chat, tok, 13);
    expect(cut.ids.length).toBe(13);
    expect(cut.labels!.length).toBe(13);
  });

  it("the llama fixture's real tokenizer and chat template: assistant turns learned, everything before masked", async () => {
    const { TextTokenizer } = await import('../../../src/models/tokenizer.js');
    const tok = await TextTokenizer.load(join(process.cwd(), 'test', 'fixtures', 'models', 'llama'));
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hello world!' },
      { role: 'assistant' as const, content: 'Hello again, world.' },
    ];
    const e = tokenizeRecord({ messages }, tok, 1000);
    expect(e.ids).toEqual(tok.encode(tok.applyChatTemplate(messages, false), false));
    const prompt = tok.encode(tok.applyChatTemplate(messages.slice(0, 2), true), false).length;
    Array.from(e.labels!).forEach((l, i) => expect(l, `label ${i}`).toBe(i < prompt ? -100 : e.ids[i]));
    expect(tok.decode(Array.from(e.ids).slice(prompt), false)).toContain('Hello again, world.');
  });

  it('refuses a chat whose template rendering does not tokenize to a prefix (a merge across the turn boundary)', () => {
    const [chat] = parseJsonl('{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"hey"}]}', 'd.jsonl');
    expect(() => tokenizeRecord(chat, charTokenizer(true), 100, 'd.jsonl:1')).toThrow(/d\.jsonl:1: message 1 \(assistant\).*prefix/);
  });

  it.each([
    ['{"text": 3}', /train\.jsonl:1: expected .*text/],
    ['{"text":"a"}\n{oops', /train\.jsonl:2: not JSON/],
    ['{"messages":[{"role":"user","content":"q"}]}', /train\.jsonl:1: .*at least one assistant message/],
    ['{"messages":[{"role":"bot","content":"q"}]}', /train\.jsonl:1: /],
    ['{"text":"a","extra":1}', /train\.jsonl:1: /],
    ['\n\n', /train\.jsonl: no records/],
  ])('refuses %s naming the line', (text, message) => {
    expect(() => parseJsonl(text, 'train.jsonl')).toThrow(OptionsError);
    expect(() => parseJsonl(text, 'train.jsonl')).toThrow(message);
  });

  it('packs consecutive examples into micro-batches of at most maxTokens, never splitting one', () => {
    const ex = [3, 4, 2, 5, 1].map((n) => ({ ids: new Array(n).fill(7) }));
    expect(packMicroBatches(ex, 7).map((mb) => mb.map((e) => e.ids.length))).toEqual([[3, 4], [2, 5], [1]]);
    expect(packMicroBatches(ex, 100).length).toBe(1);
    expect(() => packMicroBatches(ex, 4)).toThrow(/examples\[3\]: 5 tokens exceed maxTokens 4/);
    expect(() => tokenizeRecord({ text: 'a' }, charTokenizer(), 1)).toThrow(/maxSeqLen/);
  });
});
