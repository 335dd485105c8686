import { z } from 'zod';
import { ModelLoadError } from '../../errors.js';
import { SAFETENSORS_BYTES } from './dtypes.js';

/**
 * The safetensors header: 8 bytes of little-endian u64 length N, then N bytes of UTF-8 JSON
 * mapping tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the
 * byte after the header), plus an optional "__metadata__" map of strings. Everything a later
 * read relies on is checked here, against the file's length, before any tensor is read.
 */

/** The reference implementation's limit: a larger header is a corrupt length, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;

const dim = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const entrySchema = z
  .object({
    dtype: z.string().min(1),
    shape: z.array(dim),
    data_offsets: z.tuple([offset, offset]),
  })
  .strict();
const metadataSchema = z.record(z.string(), z.string());

export interface TensorEntry {
  readonly name: string;
  /** The safetensors dtype name (F32, BF16, U32, …). */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte offsets in the file: [begin, end). */
  readonly begin: number;
  readonly end: number;
}

export interface Header {
  /** Byte offset of the data section (8 + N). */
  readonly dataStart: number;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

const fail = (file: string, what: string, tensor?: string) => new ModelLoadError(`[safetensors] ${file}${tensor === undefined ? '' : `: tensor "${tensor}"`}: ${what}`, { file, tensor });

/** Reads N from the first 8 bytes; `fileBytes` is the whole file's length. */
export function headerLength(prefix: Uint8Array, fileBytes: number, file: string): number {
  if (prefix.length < 8 || fileBytes < 8) throw fail(file, `expected at least 8 bytes (the header length), the file has ${fileBytes}`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw fail(file, `header length ${n} exceeds ${MAX_HEADER_BYTES} bytes: not a safetensors file, or a corrupt one`);
  if (Number(n) + 8 > fileBytes) throw fail(file, `header length ${n} runs past the end of the file (${fileBytes} bytes): truncated`);
  if (n < 2n) throw fail(file, `header length ${n}: expected a JSON object`);
  return Number(n);
}

/** Parses and validates the JSON header; `fileBytes` bounds every tensor's byte range. */
export function parseHeader(json: Uint8Array, fileBytes: number, file: string): Header {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new ModelLoadError(`[safetensors] ${file}: header is not valid UTF-8 JSON (${(e as Error).message})`, { file, cause: e });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail(file, 'header: expected a JSON object of tensors');
  const dataStart = 8 + json.length;
  const dataBytes = fileBytes - dataStart;
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorEntry>();
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const m = metadataSchema.safeParse(value);
      if (!m.success) throw fail(file, `__metadata__: expected a map of strings to strings (${m.error.issues[0].message})`);
      metadata = m.data;
      continue;
    }
    const p = entrySchema.safeParse(value);
    if (!p.success) {
      const issue = p.error.issues[0];
      throw fail(file, `expected {dtype, shape, data_offsets: [begin, end]}; ${issue.path.join('.') || 'entry'}: ${issue.message}`, name);
    }
    const { dtype, shape, data_offsets: [b, e] } = p.data;
    if (b > e) throw fail(file, `data_offsets [${b}, ${e}]: begin after end`, name);
    if (e > dataBytes) throw fail(file, `data_offsets [${b}, ${e}] run past the data section (${dataBytes} bytes after the ${json.length}-byte header): truncated or corrupt`, name);
    const size = SAFETENSORS_BYTES[dtype];
    if (size !== undefined) {
      const numel = shape.reduce((a, d) => a * d, 1);
      if (!Number.isSafeInteger(numel * size) || numel * size !== e - b) {
        throw fail(file, `${dtype}[${shape.join(',')}] needs ${numel * size} bytes, data_offsets [${b}, ${e}] hold ${e - b}`, name);
      }
    }
    tensors.set(name, { name, dtype, shape, begin: dataStart + b, end: dataStart + e });
  }
  checkOverlaps(tensors, file);
  return { dataStart, tensors, metadata };
}

/** Two tensors sharing bytes would alias silently when written through one of them. */
function checkOverlaps(tensors: Map<string, TensorEntry>, file: string): void {
  const byBegin = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byBegin.length; i++) {
    const prev = byBegin[i - 1];
    const cur = byBegin[i];
    if (cur.begin < prev.end) throw fail(file, `bytes [${cur.begin}, ${cur.end}) overlap tensor "${prev.name}" [${prev.begin}, ${prev.end})`, cur.name);
  }
}
