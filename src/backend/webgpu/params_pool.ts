/**
 * Every dispatch's Params uniform, content-addressed: a Params block with the same bytes as
 * one already on the GPU reuses its slot, so a repeated call (same shapes and options) binds
 * the very same (buffer, offset) — which is what lets bind groups be cached (bind_groups.ts).
 * Slots live in a few 64 KiB uniform buffers kept for the runtime's life; a new slot's bytes
 * reach the GPU in one `queue.writeBuffer` per block just before the batch is submitted.
 *
 * Reuse is safe by queue order: a slot is only ever re-assigned (least recently used first)
 * when no dispatch of the open batch uses it, and the write for batch N+1 runs after batch
 * N's commands. More distinct Params in one batch than the blocks hold adds a block.
 *
 * Why: recording a small op was dominated by Dawn's createBindGroup (~35 µs on a 2-core
 * machine) and getBindGroupLayout (~8 µs), measured with `pmetal bench --host`; a fresh
 * uniform offset per dispatch made every bind group new.
 */
const UNIFORM_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST
const BLOCK_BYTES = 64 * 1024; // maxUniformBufferBindingSize's floor is 64 KiB

export interface UniformSlot {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

interface Slot extends UniformSlot {
  key: string;
  block: number;
  /** The batch that last bound it (a slot of the open batch is never re-assigned). */
  batch: number;
}

export class ParamsPool {
  #blocks: { buffer: GPUBuffer; host: Uint8Array; dirtyLo: number; dirtyHi: number }[] = [];
  /** Slots by content, least recently used first (Map order). */
  #slots = new Map<string, Slot>();
  /** Never-used slot positions [block, offset]. */
  #free: [number, number][] = [];
  #batch = 1;

  constructor(
    private readonly device: GPUDevice,
    /** minUniformBufferOffsetAlignment (256 on most adapters): the slot size. */
    private readonly align: number,
    /** Blocks allocated before least-recently-used slots are re-assigned. */
    private readonly maxBlocks = 4,
  ) {}

  /** Slots a live step graph binds, with how many graphs do: never re-assigned. */
  #pinned = new Map<string, number>();

  /** Keeps the slot of `key` (reserved in the open batch or earlier) for a step graph. */
  pin(key: string): void {
    if (!this.#slots.has(key)) throw new Error(`internal: pinning a Params slot that is not held`);
    this.#pinned.set(key, (this.#pinned.get(key) ?? 0) + 1);
  }

  unpin(key: string): void {
    const n = (this.#pinned.get(key) ?? 0) - 1;
    if (n > 0) this.#pinned.set(key, n);
    else this.#pinned.delete(key);
  }

  /** Distinct Params blocks currently held (tests). */
  get size(): number {
    return this.#slots.size;
  }

  /** The slot holding `data`'s bytes, for a dispatch of the open batch. */
  reserve(data: ArrayBuffer): UniformSlot {
    return this.reserveKeyed(paramsKey(data), data);
  }

  /** reserve(), with `key` = paramsKey(data) computed once by the caller (a launch tape keeps it). */
  reserveKeyed(key: string, data: ArrayBuffer): UniformSlot {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    if (size > this.align) throw new RangeError(`a Params block of ${size} bytes exceeds the ${this.align}-byte slot`);
    let s = this.#slots.get(key);
    if (s) {
      this.#slots.delete(key); // re-insert: most recently used last
    } else {
      s = this.#assign(key, size);
      const b = this.#blocks[s.block];
      b.host.fill(0, s.offset, s.offset + size);
      b.host.set(new Uint8Array(data), s.offset);
      b.dirtyLo = Math.min(b.dirtyLo, s.offset);
      b.dirtyHi = Math.max(b.dirtyHi, s.offset + size);
    }
    s.batch = this.#batch;
    this.#slots.set(key, s);
    return s;
  }

  #assign(key: string, size: number): Slot {
    let pos = this.#free.pop();
    if (!pos && this.#blocks.length >= this.maxBlocks) {
      // The least recently used slot that the open batch does not use.
      for (const old of this.#slots.values()) {
        if (old.batch === this.#batch) break; // LRU order: the rest are this batch's too
        if (this.#pinned.has(old.key)) continue; // a step graph binds it (graph.ts)
        this.#slots.delete(old.key);
        pos = [old.block, old.offset];
        break;
      }
    }
    if (!pos) pos = this.#grow();
    return { key, block: pos[0], offset: pos[1], size, buffer: this.#blocks[pos[0]].buffer, batch: this.#batch };
  }

  #grow(): [number, number] {
    const block = this.#blocks.length;
    this.#blocks.push({ buffer: this.device.createBuffer({ size: BLOCK_BYTES, usage: UNIFORM_USAGE }), host: new Uint8Array(BLOCK_BYTES), dirtyLo: BLOCK_BYTES, dirtyHi: 0 });
    for (let off = BLOCK_BYTES - this.align; off > 0; off -= this.align) this.#free.push([block, off]);
    return [block, 0];
  }

  /** Writes the batch's new slots to the GPU (call right before the submit) and opens the next batch. */
  commit(queue: GPUQueue): void {
    for (const b of this.#blocks) {
      if (b.dirtyHi > b.dirtyLo) queue.writeBuffer(b.buffer, b.dirtyLo, b.host, b.dirtyLo, b.dirtyHi - b.dirtyLo);
      b.dirtyLo = BLOCK_BYTES;
      b.dirtyHi = 0;
    }
    this.#batch++;
  }

  destroy(): void {
    for (const b of this.#blocks) b.buffer.destroy();
    this.#blocks = [];
    this.#slots.clear();
    this.#free = [];
  }
}

/** The bytes as a string key (Params blocks are a few dozen bytes: 16-bit chars are cheap). */
export function paramsKey(data: ArrayBuffer): string {
  // One call, not a concatenation per character (a flat string, no rope to flatten at the lookup).
  return String.fromCharCode.apply(null, new Uint16Array(data, 0, data.byteLength >> 1) as unknown as number[]);
}
