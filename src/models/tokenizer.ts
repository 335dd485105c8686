import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { ModelLoadError } from '../errors.js';

/**
 * A checkpoint's tokenizer: Hugging Face's `tokenizer.json` through tokenizers.js (the
 * maintained pure-JS port of the Rust crate), `tokenizer_config.json`'s special tokens and
 * chat template through @huggingface/jinja, and the end-of-sequence ids generation stops at
 * (the config's eos token plus `generation_config.json`'s `eos_token_id`, which Llama 3
 * instruct models set to several ids).
 */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object with `content`. */
const specialToken = z.union([z.string(), z.object({ content: z.string() }).passthrough()]).nullish();

const tokenizerConfigSchema = z
  .object({
    bos_token: specialToken,
    eos_token: specialToken,
    pad_token: specialToken,
    unk_token: specialToken,
    chat_template: z.union([z.string(), z.array(z.object({ name: z.string(), template: z.string() }))]).nullish(),
    add_bos_token: z.boolean().nullish(),
  })
  .passthrough();

const generationConfigSchema = z.object({ eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish() }).passthrough();

const tokenContent = (t: z.infer<typeof specialToken>): string | undefined => (t == null ? undefined : typeof t === 'string' ? t : t.content);

async function readJson(file: string, what: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelLoadError(`[tokenizer] ${file}: cannot read the ${what} (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`[tokenizer] ${file}: the ${what} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, file: string, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ModelLoadError(`[tokenizer] ${file}: the ${what} has ${i.path.length ? `'${i.path.join('.')}'` : 'its root'} ${i.message}`);
  }
  return r.data;
}

export class TextTokenizer {
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | undefined;
  /** tokenizer_config.json's eos_token alone: the id a training sequence ends with (as TRL appends `eos_token`). */
  readonly eosTokenId: number | undefined;
  private readonly tokenizer: Tokenizer;
  private readonly config: z.infer<typeof tokenizerConfigSchema>;
  private readonly template: Template | undefined;

  private constructor(tokenizer: Tokenizer, config: z.infer<typeof tokenizerConfigSchema>, eos: number[], file: string) {
    this.tokenizer = tokenizer;
    this.config = config;
    const t = config.chat_template;
    const source = typeof t === 'string' ? t : t?.find((x) => x.name === 'default')?.template;
    try {
      this.template = source === undefined ? undefined : new Template(source);
    } catch (e) {
      throw new ModelLoadError(`[tokenizer] ${file}: chat_template does not parse (${(e as Error).message})`, { cause: e });
    }
    const bos = tokenContent(config.bos_token);
    this.bosTokenId = bos === undefined ? undefined : this.idOf(bos);
    const eosToken = tokenContent(config.eos_token);
    this.eosTokenId = eosToken === undefined ? undefined : this.idOf(eosToken);
    const ids = new Set(eos);
    if (eosToken !== undefined && this.idOf(eosToken) !== undefined) ids.add(this.idOf(eosToken)!);
    this.eosTokenIds = [...ids];
  }

  /** Loads `tokenizer.json` (required), `tokenizer_config.json` and `generation_config.json` (optional) from a checkpoint folder. */
  static async load(dir: string): Promise<TextTokenizer> {
    const tokFile = join(dir, 'tokenizer.json');
    const cfgFile = join(dir, 'tokenizer_config.json');
    const genFile = join(dir, 'generation_config.json');
    const json = await readJson(tokFile, 'tokenizer', false);
    const config = parse(tokenizerConfigSchema, (await readJson(cfgFile, 'tokenizer config', true)) ?? {}, cfgFile, 'tokenizer config');
    const gen = parse(generationConfigSchema, (await readJson(genFile, 'generation config', true)) ?? {}, genFile, 'generation config');
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json as object, config);
    } catch (e) {
      throw new ModelLoadError(`[tokenizer] ${tokFile}: not a tokenizer tokenizers.js can build (${(e as Error).message})`, { cause: e });
    }
    const eos = gen.eos_token_id == null ? [] : Array.isArray(gen.eos_token_id) ? gen.eos_token_id : [gen.eos_token_id];
    return new TextTokenizer(tokenizer, config, eos, cfgFile);
  }

  /** The id of a token string (special or not), or undefined when the vocabulary lacks it. */
  idOf(token: string): number | undefined {
    const ids = this.tokenizer.encode(token, { add_special_tokens: false }).ids;
    return ids.length === 1 ? ids[0] : undefined;
  }

  /** Token ids of `text`; `addSpecialTokens` (default true) applies the post-processor (e.g. Llama's BOS). */
  encode(text: string, addSpecialTokens = true): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  /** The prompt text of a conversation through the checkpoint's chat template (`tokenizer_config.json`). */
  applyChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
    if (!this.template) throw new ModelLoadError('[tokenizer] chat: this checkpoint has no chat_template in tokenizer_config.json; pass a plain prompt instead');
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: tokenContent(this.config.bos_token) ?? '',
      eos_token: tokenContent(this.config.eos_token) ?? '',
      pad_token: tokenContent(this.config.pad_token) ?? '',
      unk_token: tokenContent(this.config.unk_token) ?? '',
    });
  }

  /** A decoder that turns a growing id sequence into text deltas (see StreamDecoder). */
  stream(): StreamDecoder {
    return new StreamDecoder((ids) => this.decode(ids));
  }
}

/**
 * Text deltas of a token stream. Decoding token by token would split multi-byte characters
 * (byte-level BPE emits UTF-8 bytes) and drop the spaces some decoders add between tokens, so
 * the whole sequence since the last emitted character is decoded again and only its new,
 * complete suffix is emitted: a suffix ending in U+FFFD (an incomplete byte sequence) waits.
 */
export class StreamDecoder {
  private ids: number[] = [];
  private emitted = '';

  constructor(private readonly decode: (ids: number[]) => string) {}

  push(id: number): string {
    this.ids.push(id);
    const text = this.decode(this.ids);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.emitted)) return '';
    const delta = text.slice(this.emitted.length);
    this.emitted = text;
    // A line is final: start the window again (as transformers' TextStreamer) so decoding
    // stays linear in the stream's length.
    if (text.endsWith('\n')) {
      this.ids = [];
      this.emitted = '';
    }
    return delta;
  }

  /** What is left (a final incomplete character comes out as U+FFFD, as Hugging Face decodes it). */
  flush(): string {
    const text = this.decode(this.ids);
    const delta = text.startsWith(this.emitted) ? text.slice(this.emitted.length) : '';
    this.emitted = text;
    return delta;
  }
}
