import type { FileHandle } from 'node:fs/promises';
import { ModelLoadError } from '../../errors.js';

/**
 * Sequential little-endian reads of a file's header through a growing window: the header of
 * a GGUF file (metadata with a whole vocabulary, tensor infos) is read in pieces, never past
 * the file's end — a read that would is a ModelLoadError naming the file and what was read.
 */
export class Cursor {
  #buf = new Uint8Array(0);
  #view = new DataView(this.#buf.buffer);
  /** File offset of #buf[0]. */
  #base = 0;
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly file: string,
  ) {}

  /** Makes bytes [pos, pos + n) available; `what` names the field for a truncation error. */
  async need(n: number, what: string): Promise<void> {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.size) {
      throw new ModelLoadError(`[gguf] ${this.file}: ${what}: ${n} bytes at offset ${this.pos} run past the end of the file (${this.size} bytes): truncated or corrupt`, { file: this.file });
    }
    const end = this.pos + n;
    if (end <= this.#base + this.#buf.length) return;
    const start = this.pos;
    const len = Math.min(this.size - start, Math.max(n, 1 << 20));
    const buf = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fh.read(buf, done, len - done, start + done);
      if (bytesRead === 0) throw new ModelLoadError(`[gguf] ${this.file}: ${what}: the file ended at ${start + done} bytes while reading: truncated`, { file: this.file });
      done += bytesRead;
    }
    this.#buf = buf;
    this.#view = new DataView(buf.buffer);
    this.#base = start;
  }

  #at(n: number): number {
    const o = this.pos - this.#base;
    this.pos += n;
    return o;
  }

  async u8(what: string) {
    await this.need(1, what);
    return this.#view.getUint8(this.#at(1));
  }
  async i8(what: string) {
    await this.need(1, what);
    return this.#view.getInt8(this.#at(1));
  }
  async u16(what: string) {
    await this.need(2, what);
    return this.#view.getUint16(this.#at(2), true);
  }
  async i16(what: string) {
    await this.need(2, what);
    return this.#view.getInt16(this.#at(2), true);
  }
  async u32(what: string) {
    await this.need(4, what);
    return this.#view.getUint32(this.#at(4), true);
  }
  async i32(what: string) {
    await this.need(4, what);
    return this.#view.getInt32(this.#at(4), true);
  }
  async f32(what: string) {
    await this.need(4, what);
    return this.#view.getFloat32(this.#at(4), true);
  }
  async f64(what: string) {
    await this.need(8, what);
    return this.#view.getFloat64(this.#at(8), true);
  }
  /** A u64 that must fit a safe integer (counts, sizes, offsets). */
  async u64(what: string): Promise<number> {
    await this.need(8, what);
    const v = this.#view.getBigUint64(this.#at(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelLoadError(`[gguf] ${this.file}: ${what}: ${v} exceeds 2^53 − 1: corrupt`, { file: this.file });
    return Number(v);
  }
  async i64(what: string): Promise<bigint> {
    await this.need(8, what);
    return this.#view.getBigInt64(this.#at(8), true);
  }
  async string(what: string): Promise<string> {
    const n = await this.u64(`${what} (length)`);
    await this.need(n, what);
    const o = this.#at(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.#buf.subarray(o, o + n));
    } catch {
      throw new ModelLoadError(`[gguf] ${this.file}: ${what}: not valid UTF-8`, { file: this.file });
    }
  }
}
