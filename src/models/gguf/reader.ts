import { open, type FileHandle } from 'node:fs/promises';
import { ModelLoadError } from '../../errors.js';
import { Cursor } from './cursor.js';
import { GGML_TYPES, ValueType, type GgmlType } from './types.js';

/**
 * A GGUF file (llama.cpp's format): "GGUF", version 2 or 3, tensor and metadata counts, the
 * metadata key/values, the tensor infos, then the tensor data at `general.alignment`
 * (default 32). Opening parses and checks everything but the data: every tensor's byte range
 * from its ggml type and shape, inside the file, 'alignment'-aligned and overlapping no other.
 * Tensor bytes are read when asked.
 */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlType;
  /** Row-major shape (GGUF stores ne[0], the fastest dimension, first; this is reversed). */
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** Sizes that no real file reaches: a larger count is a corrupt header, refused before allocating. */
const LIMITS = { tensors: 1 << 20, kvs: 1 << 20, arrayItems: 1 << 28, dims: 4 };

export class GgufFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly version: number,
    readonly metadata: ReadonlyMap<string, GgufValue>,
    readonly tensors: ReadonlyMap<string, GgufTensorInfo>,
    readonly dataStart: number,
  ) {}

  static async open(path: string): Promise<GgufFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new ModelLoadError(`[gguf] ${path}: cannot open (${(e as Error).message})`, { file: path, cause: e });
    }
    try {
      const { size } = await fh.stat();
      const c = new Cursor(fh, size, path);
      const fail = (what: string, tensor?: string) => new ModelLoadError(`[gguf] ${path}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${what}`, { file: path, tensor });
      const magic = [await c.u8('magic'), await c.u8('magic'), await c.u8('magic'), await c.u8('magic')];
      if (String.fromCharCode(...magic) !== 'GGUF') throw fail(`not a GGUF file (magic ${JSON.stringify(String.fromCharCode(...magic))})`);
      const version = await c.u32('version');
      if (version !== 2 && version !== 3) throw fail(`version ${version}: expected 2 or 3`);
      const nTensors = await c.u64('tensor count');
      const nKv = await c.u64('metadata count');
      if (nTensors > LIMITS.tensors || nKv > LIMITS.kvs) throw fail(`${nTensors} tensors / ${nKv} metadata entries: more than any model has; corrupt`);
      const metadata = new Map<string, GgufValue>();
      for (let i = 0; i < nKv; i++) {
        const key = await c.string(`metadata key ${i}`);
        const type = await c.u32(`metadata "${key}" type`);
        metadata.set(key, await readValue(c, type, `metadata "${key}"`));
      }
      const infos: { name: string; type: GgmlType; shape: number[]; offset: number }[] = [];
      for (let i = 0; i < nTensors; i++) {
        const name = await c.string(`tensor info ${i} name`);
        const nd = await c.u32(`tensor "${name}" dims`);
        if (nd < 1 || nd > LIMITS.dims) throw fail(`${nd} dimensions: expected 1 to ${LIMITS.dims}`, name);
        const ne: number[] = [];
        for (let d = 0; d < nd; d++) ne.push(await c.u64(`tensor "${name}" dim ${d}`));
        const t = await c.u32(`tensor "${name}" type`);
        const type = GGML_TYPES[t];
        if (!type) throw fail(`ggml type ${t} is unknown`, name);
        infos.push({ name, type, shape: ne.reverse(), offset: await c.u64(`tensor "${name}" offset`) });
      }
      const align = metadata.get('general.alignment') ?? 32;
      if (typeof align !== 'number' || !Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) throw fail(`general.alignment ${String(align)}: expected a power of two`);
      const dataStart = Math.ceil(c.pos / align) * align;
      const tensors = new Map<string, GgufTensorInfo>();
      for (const t of infos) {
        if (tensors.has(t.name)) throw fail('appears twice', t.name);
        const inner = t.shape[t.shape.length - 1];
        if (inner % t.type.blockK !== 0) throw fail(`${t.type.name} rows of ${inner} elements are not whole blocks of ${t.type.blockK}`, t.name);
        const bytes = (t.shape.reduce((a, d) => a * d, 1) / t.type.blockK) * t.type.blockBytes;
        if (!Number.isSafeInteger(bytes)) throw fail(`${t.type.name}[${t.shape.join(', ')}]: size beyond 2^53`, t.name);
        if (t.offset % align !== 0) throw fail(`offset ${t.offset} is not a multiple of general.alignment ${align}`, t.name);
        const begin = dataStart + t.offset;
        if (begin + bytes > size) throw fail(`${t.type.name}[${t.shape.join(', ')}] needs bytes [${begin}, ${begin + bytes}), past the end of the file (${size} bytes): truncated`, t.name);
        tensors.set(t.name, { name: t.name, type: t.type, shape: t.shape, begin, end: begin + bytes });
      }
      const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i].begin < sorted[i - 1].end) throw fail(`bytes [${sorted[i].begin}, ${sorted[i].end}) overlap tensor "${sorted[i - 1].name}"`, sorted[i].name);
      }
      return new GgufFile(path, fh, version, metadata, tensors, dataStart);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** The raw bytes of a tensor, as stored (quantized blocks as quantized_gemm takes them). */
  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.tensors.get(name);
    if (!t) throw new ModelLoadError(`[gguf] ${this.path}: tensor "${name}" not found`, { file: this.path, tensor: name });
    const out = new Uint8Array(t.end - t.begin);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.fh.read(out, done, Math.min(out.length - done, 1 << 30), t.begin + done);
      if (bytesRead === 0) throw new ModelLoadError(`[gguf] ${this.path}: tensor "${name}": the file ended early: truncated`, { file: this.path, tensor: name });
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function readValue(c: Cursor, type: number, what: string, depth = 0): Promise<GgufValue> {
  switch (type) {
    case ValueType.U8:
      return c.u8(what);
    case ValueType.I8:
      return c.i8(what);
    case ValueType.U16:
      return c.u16(what);
    case ValueType.I16:
      return c.i16(what);
    case ValueType.U32:
      return c.u32(what);
    case ValueType.I32:
      return c.i32(what);
    case ValueType.F32:
      return c.f32(what);
    case ValueType.F64:
      return c.f64(what);
    case ValueType.U64:
      return c.u64(what);
    case ValueType.I64:
      return c.i64(what);
    case ValueType.BOOL: {
      const v = await c.u8(what);
      if (v > 1) throw new ModelLoadError(`[gguf] ${c.file}: ${what}: bool ${v}, expected 0 or 1`, { file: c.file });
      return v === 1;
    }
    case ValueType.STRING:
      return c.string(what);
    case ValueType.ARRAY: {
      if (depth > 0) throw new ModelLoadError(`[gguf] ${c.file}: ${what}: nested arrays are not part of GGUF`, { file: c.file });
      const t = await c.u32(`${what} item type`);
      const n = await c.u64(`${what} length`);
      // Each item takes at least one byte: a count beyond what is left of the file is corrupt.
      if (n > LIMITS.arrayItems || n > c.size - c.pos) throw new ModelLoadError(`[gguf] ${c.file}: ${what}: ${n} items cannot fit in the ${c.size - c.pos} bytes left: corrupt`, { file: c.file });
      const out: GgufValue[] = [];
      for (let i = 0; i < n; i++) out.push(await readValue(c, t, `${what}[${i}]`, depth + 1));
      return out;
    }
    default:
      throw new ModelLoadError(`[gguf] ${c.file}: ${what}: value type ${type} is unknown`, { file: c.file });
  }
}
