import { DataError } from '../../../errors.js';
import type { ChatMessage, TextTokenizer } from '../../tokenizer.js';
import type { TrainRecord } from './records.js';

/** The label of a position whose next token is not trained (cross_entropy's default ignoreIndex, as PyTorch's). */
export const IGNORE_INDEX = -100;

/**
 * One training sequence. `labels` are already shifted: labels[t] is the id the logits of row t
 * must predict (ids[t+1]), or IGNORE_INDEX where ids[t+1] is not trained (a prompt token) and
 * always at the last row, so packed sequences never predict across their boundary.
 */
export interface TokenizedSequence {
  readonly ids: Int32Array;
  readonly labels: Int32Array;
  /** Labels that are not IGNORE_INDEX: what the loss of this sequence is averaged over. */
  readonly trainedTokens: number;
  /** The 1-based line of the JSONL record. */
  readonly line: number;
  /** Whether tokens past maxSeqLen were cut. */
  readonly truncated: boolean;
}

/** Token ids and, per token, whether the model is trained to predict it. */
interface Marked {
  ids: number[];
  trained: Uint8Array;
}

/**
 * A record's tokens, truncated to its first `maxSeqLen` (right truncation, Hugging Face's
 * default truncation side: the start of a conversation is the context its replies need).
 */
export function tokenizeRecord(tok: TextTokenizer, record: TrainRecord, options: { maxSeqLen: number; addEos: boolean }, file: string, line: number): TokenizedSequence {
  const m = record.kind === 'text' ? markText(tok, record.text, options.addEos) : markChat(tok, record.messages, file, line);
  return shift(m, options.maxSeqLen, line);
}

/**
 * Plain text: encoded as `tokenizer(text)` is in Hugging Face, i.e. with the tokenizer's own
 * post-processor (Llama 3 prepends <|begin_of_text|>, Qwen adds nothing), then EOS
 * (tokenizer_config's eos_token) appended unless already last, as TRL does, so the model learns
 * where a document stops. Every token is a target (the first has no predecessor to predict it).
 */
function markText(tok: TextTokenizer, text: string, addEos: boolean): Marked {
  const ids = tok.encode(text, true);
  const eos = tok.eosTokenId;
  if (addEos && eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
  return { ids, trained: new Uint8Array(ids.length).fill(1) };
}

/**
 * A conversation through the chat template, only assistant replies trained. The whole
 * conversation is rendered and encoded once (without the post-processor: templates write their
 * own BOS, as `apply_chat_template(tokenize=True)` does); then for each assistant message i the
 * template renders messages[0..i) with the generation prompt (the prompt the model would see)
 * and messages[0..i] without it. Both encodings must be prefixes of the whole conversation's
 * ids; the tokens between their ends — the reply and what the template closes it with (e.g.
 * `<|im_end|>\n`) — are trained, everything else is not. This is TRL's prompt/completion
 * method (prompt ids a prefix of prompt+completion ids) applied turn by turn; a template that
 * renders a turn differently once later turns follow (Qwen3 dropping past reasoning) or a BPE
 * merge across the boundary breaks the prefix property and is a DataError, never a guess.
 */
function markChat(tok: TextTokenizer, messages: ChatMessage[], file: string, line: number): Marked {
  const fail = (what: string, cause?: unknown) => new DataError(`[data] ${file}:${line}: ${what}`, { file, line, cause });
  if (!tok.hasChatTemplate) throw fail('a {"messages"} record needs a tokenizer with a chat_template in tokenizer_config.json');
  const render = (upTo: number, generationPrompt: boolean): string => {
    try {
      return tok.applyChatTemplate(messages.slice(0, upTo), generationPrompt);
    } catch (e) {
      throw fail(`the chat template refused messages 0..${upTo - 1} (${(e as Error).message})`, e);
    }
  };
  const wholeText = render(messages.length, false);
  const ids = tok.encode(wholeText, false);
  const trained = new Uint8Array(ids.length);
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const promptText = render(i, true);
    const replyText = render(i + 1, false);
    for (const [what, text] of [
      [`messages 0..${i - 1} with the generation prompt`, promptText],
      [`messages 0..${i}`, replyText],
    ] as const) {
      if (!wholeText.startsWith(text)) throw fail(`the chat template's text of ${what} is not a prefix of the whole conversation's, so the reply of message ${i} cannot be located (the template renders a turn differently once later turns follow)`);
    }
    const start = prefixLength(tok.encode(promptText, false), ids);
    const end = prefixLength(tok.encode(replyText, false), ids);
    if (start === undefined || end === undefined) throw fail(`the tokens of the prompt before message ${i} or of its reply are not a prefix of the whole conversation's tokens (a BPE merge across the boundary), so the reply cannot be masked exactly`);
    trained.fill(1, start, Math.max(start, end));
  });
  return { ids, trained };
}

/** `prefix.length` when it is a prefix of `ids`, else undefined. */
function prefixLength(prefix: readonly number[], ids: readonly number[]): number | undefined {
  if (prefix.length > ids.length) return undefined;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== ids[i]) return undefined;
  return prefix.length;
}

/** Truncates, then shifts: the label of row t is token t+1 when that token is trained. */
function shift(m: Marked, maxSeqLen: number, line: number): TokenizedSequence {
  const n = Math.min(m.ids.length, maxSeqLen);
  const ids = Int32Array.from(m.ids.slice(0, n));
  const labels = new Int32Array(n).fill(IGNORE_INDEX);
  let trainedTokens = 0;
  for (let t = 0; t + 1 < n; t++) {
    if (m.trained[t + 1]) {
      labels[t] = ids[t + 1];
      trainedTokens++;
    }
  }
  return { ids, labels, trainedTokens, line, truncated: m.ids.length > n };
}
