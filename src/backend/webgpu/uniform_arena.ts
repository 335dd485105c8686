/**
 * Every dispatch's Params uniform, packed into a few large uniform buffers that are
 * reused from batch to batch. A slot is reserved while a dispatch is recorded; the bytes
 * reach the GPU in one `queue.writeBuffer` per buffer just before the batch is submitted.
 * Queue order makes the reuse safe: the write for batch N+1 runs after batch N's commands.
 *
 * Why: a fresh mapped-at-creation buffer per dispatch was the largest host cost of a call
 * (createBuffer, a mapping, a JS wrapper and a finalizer each time), measured with
 * `node --cpu-prof` on a loop of small rms_norm calls.
 */
const UNIFORM_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST
const BLOCK_BYTES = 64 * 1024; // maxUniformBufferBindingSize's floor is 64 KiB

export interface UniformSlot {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export class UniformArena {
  #blocks: { buffer: GPUBuffer; host: Uint8Array; used: number }[] = [];
  #block = 0;

  constructor(
    private readonly device: GPUDevice,
    /** minUniformBufferOffsetAlignment of the device (256 on most adapters). */
    private readonly align: number,
  ) {}

  /** Copies `data` into the next slot of the open batch. */
  reserve(data: ArrayBuffer): UniformSlot {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    if (size > BLOCK_BYTES) throw new RangeError(`uniform of ${size} bytes exceeds ${BLOCK_BYTES}`);
    let b = this.#blocks[this.#block];
    if (b && b.used + size > BLOCK_BYTES) b = this.#blocks[++this.#block];
    if (!b) {
      b = { buffer: this.device.createBuffer({ size: BLOCK_BYTES, usage: UNIFORM_USAGE }), host: new Uint8Array(BLOCK_BYTES), used: 0 };
      this.#blocks.push(b);
    }
    const offset = b.used;
    b.host.set(new Uint8Array(data), offset);
    b.used = Math.min(BLOCK_BYTES, Math.ceil((offset + size) / this.align) * this.align);
    return { buffer: b.buffer, offset, size };
  }

  /** Writes the batch's slots to the GPU (call right before the submit) and starts over. */
  commit(queue: GPUQueue): void {
    for (const b of this.#blocks) {
      if (b.used > 0) queue.writeBuffer(b.buffer, 0, b.host, 0, b.used);
      b.used = 0;
    }
    this.#block = 0;
  }

  destroy(): void {
    for (const b of this.#blocks) b.buffer.destroy();
    this.#blocks = [];
  }
}
