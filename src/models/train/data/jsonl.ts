import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { DataError } from '../../../errors.js';

/** One non-blank line of a JSONL file: its parsed JSON value, or why it is not JSON. */
export type JsonlLine = { line: number; value: unknown; error?: undefined } | { line: number; error: DataError; value?: undefined };

// fatal: a byte sequence that is not UTF-8 is an error at its line, not a U+FFFD the model
// would silently learn.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSONL file one line at a time (the file is never held whole: a training set may be
 * larger than memory until tokenized). Lines are split on LF at the byte level and decoded one
 * by one; a trailing CR (CRLF files) and a UTF-8 BOM on line 1 are dropped; blank lines are
 * skipped, as JSONL readers do with a final newline. A line that is not UTF-8 or not JSON is
 * yielded as a DataError naming file:line, so the caller decides to stop or skip and count it.
 */
export async function* readJsonl(file: string): AsyncGenerator<JsonlLine> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw new DataError(`[data] ${file}: not a regular file`, { file });
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`[data] ${file}: cannot open the data file (${(e as Error).message})`, { file, cause: e });
  }
  try {
    let n = 0;
    for await (const bytes of splitLines(fh)) {
      n++;
      const parsed = parseLine(bytes, file, n);
      if (parsed !== undefined) yield parsed;
    }
  } finally {
    await fh.close();
  }
}

function parseLine(bytes: Uint8Array, file: string, line: number): JsonlLine | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (e) {
    return { line, error: new DataError(`[data] ${file}:${line}: expected UTF-8 text, got bytes that are not UTF-8`, { file, line, cause: e }) };
  }
  if (line === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.trim() === '') return undefined;
  try {
    return { line, value: JSON.parse(text) };
  } catch (e) {
    return { line, error: new DataError(`[data] ${file}:${line}: expected one JSON value per line (${(e as Error).message})`, { file, line, cause: e }) };
  }
}

/** The file's LF-separated lines as bytes; a line spanning read chunks is copied together. */
async function* splitLines(fh: FileHandle): AsyncGenerator<Uint8Array> {
  let carry: Buffer[] = [];
  for await (const chunk of fh.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let lf = chunk.indexOf(10, start); lf !== -1; start = lf + 1, lf = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, lf);
      yield carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
    }
    // Copied: the stream may reuse the chunk's memory for the next read.
    if (start < chunk.length) carry.push(Buffer.from(chunk.subarray(start)));
  }
  if (carry.length > 0) yield Buffer.concat(carry);
}
