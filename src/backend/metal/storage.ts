import { BYTES } from '../../dtype.js';
import { GpuOutOfMemoryError, KernelError, ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import type { NativeBuffer, NativeDevice, NativeError } from './addon.js';
import type { MetalDispatch } from './launch.js';

/** A tensor's memory: one addon buffer of exactly the tensor's bytes (so ASan sees its end). */
export interface MetalStorage {
  buffer: NativeBuffer;
  bytes: number;
}

/** A buffer binding as the addon takes it: the window the kernel may touch. */
export interface BufferBinding {
  index: number;
  buffer: NativeBuffer;
  offset: number;
  byteLength: number;
}

/**
 * A tensor's storage, checked to be a metal buffer holding exactly shape × dtype bytes: a
 * Tensor built around another storage (the constructor is public) is a ShapeError here,
 * before a kernel reads past its buffer. `what` starts the message.
 */
export function storageOf(t: Tensor, what: string): MetalStorage {
  const s = t.storage<MetalStorage>(what);
  const need = t.size * BYTES[t.dtype];
  const buffer = (s as Partial<MetalStorage> | undefined)?.buffer as NativeBuffer | undefined;
  const held = typeof buffer?.byteLength === 'number' ? buffer.byteLength : undefined;
  if (held === undefined) throw new ShapeError(`${what}: tensor ${t.describe()} has no metal buffer as its storage`);
  if (held !== need || s.bytes !== need) throw new ShapeError(`${what}: tensor ${t.describe()} needs ${need} bytes, its storage holds ${held}`);
  return s;
}

/**
 * A tensor bound at [[buffer(index)]] from a byte offset: the kernel may touch the rest of the
 * tensor's bytes, and the addon checks that window lies inside the buffer.
 */
export function bindTensor(fn: string, b: MetalDispatch['buffers'][number]): BufferBinding {
  const what = `[metal] ${fn} buffer(${b.index})`;
  const s = storageOf(b.tensor, what);
  const offset = b.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset > s.bytes) {
    throw new KernelError(`${what}: offset ${offset} outside the ${s.bytes} bytes of tensor ${b.tensor.describe()}`);
  }
  return { index: b.index, buffer: s.buffer, offset, byteLength: s.bytes - offset };
}

/**
 * Free buffers kept for reuse by size, up to `limit` bytes over all sizes: tensors come and
 * go at the same few sizes, and a fresh buffer costs an allocation and a zero fill.
 */
export class BufferPool {
  #free = new Map<number, NativeBuffer[]>();
  #bytes = 0;

  constructor(
    readonly device: NativeDevice,
    readonly limit: number,
  ) {}

  /** A zero-filled buffer of `bytes` (`what` names the tensor in an allocation failure). */
  take(bytes: number, what: string, zero = true): NativeBuffer {
    const buffer = this.#free.get(bytes)?.pop();
    if (buffer) {
      this.#bytes -= bytes;
      if (zero) buffer.write(new Uint8Array(bytes));
      return buffer;
    }
    try {
      return this.device.buffer(bytes);
    } catch (e) {
      const err = e as NativeError;
      throw new GpuOutOfMemoryError(`[metal] buffer of ${bytes} bytes (${what}): ${err.code ?? 'ERROR'}: ${err.message}`, { cause: e });
    }
  }

  give(s: MetalStorage): void {
    if (this.#bytes + s.bytes > this.limit) return;
    const list = this.#free.get(s.bytes) ?? [];
    list.push(s.buffer);
    this.#free.set(s.bytes, list);
    this.#bytes += s.bytes;
  }

  clear(): void {
    this.#free.clear();
    this.#bytes = 0;
  }
}
