import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { endianness } from 'node:os';
import { allocHost, type DType, type HostArray } from '../../dtype.js';
import { ModelLoadError } from '../../errors.js';
import { LOADABLE } from './dtypes.js';
import { headerLength, parseHeader, type Header, type TensorEntry } from './header.js';

/** A tensor read from a checkpoint: host data in the dtype's host array (f16/bf16 as bit patterns). */
export interface LoadedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: HostArray;
}

/** fs reads are limited to 2 GiB - 1 bytes per call: big tensors are read in pieces. */
const CHUNK = 1 << 30;

/**
 * One .safetensors file, open on a file handle. Opening reads and validates the header only;
 * each tensor is read from the handle when asked, so a checkpoint larger than host memory can
 * be streamed tensor by tensor onto a device.
 */
export class SafetensorsFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: Header,
    readonly bytes: number,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    if (endianness() !== 'LE') throw new ModelLoadError(`[safetensors] ${path}: this host is big-endian; safetensors data is little-endian and is read in place`, { file: path });
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new ModelLoadError(`[safetensors] ${path}: cannot open (${(e as Error).message})`, { file: path, cause: e });
    }
    try {
      const { size } = await fh.stat();
      const prefix = new Uint8Array(8);
      await readExactly(fh, prefix, 0, path, undefined);
      const n = headerLength(prefix, size, path);
      const json = new Uint8Array(n);
      await readExactly(fh, json, 8, path, undefined);
      return new SafetensorsFile(path, fh, parseHeader(json, size, path), size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get name(): string {
    return basename(this.path);
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  /** The header entry of `name`; a missing tensor is a ModelLoadError naming file and tensor. */
  entry(name: string): TensorEntry {
    const e = this.header.tensors.get(name);
    if (!e) throw new ModelLoadError(`[safetensors] ${this.path}: tensor "${name}" not found (the file holds ${this.header.tensors.size} tensors)`, { file: this.path, tensor: name });
    return e;
  }

  /** Reads one tensor's bytes into a fresh host array of its dtype. */
  async read(name: string): Promise<LoadedTensor> {
    if (this.closed) throw new ModelLoadError(`[safetensors] ${this.path}: tensor "${name}": the file was closed`, { file: this.path, tensor: name });
    const e = this.entry(name);
    const dtype = LOADABLE[e.dtype];
    if (!dtype) throw new ModelLoadError(`[safetensors] ${this.path}: tensor "${name}": dtype ${e.dtype} cannot be loaded (expected one of ${Object.keys(LOADABLE).join(', ')})`, { file: this.path, tensor: name });
    const numel = e.shape.reduce((a, d) => a * d, 1);
    const data = allocHost(dtype, numel);
    await readExactly(this.fh, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), e.begin, this.path, name);
    return { name, dtype, shape: [...e.shape], data };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** Fills `dst` from `position`; a short read (the file shrank since open) is a typed error. */
async function readExactly(fh: FileHandle, dst: Uint8Array, position: number, path: string, tensor: string | undefined): Promise<void> {
  let done = 0;
  while (done < dst.length) {
    const len = Math.min(CHUNK, dst.length - done);
    const { bytesRead } = await fh.read(dst, done, len, position + done);
    if (bytesRead === 0) {
      const what = tensor === undefined ? 'header' : `tensor "${tensor}"`;
      throw new ModelLoadError(`[safetensors] ${path}: ${what}: file ended after ${position + done} bytes, expected ${position + dst.length}: truncated`, { file: path, tensor });
    }
    done += bytesRead;
  }
}
