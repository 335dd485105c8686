import type { DType } from './dtype.js';
import { DisposedError } from './errors.js';

/** What a backend keeps for a tensor's memory; opaque to everything but that backend. */
export interface TensorOwner {
  readonly name: string;
  /** Frees the storage; called once, by Tensor.dispose(). */
  releaseStorage(storage: unknown): void;
}

/**
 * A row-major, contiguous tensor owned by one backend. Its storage is freed by `dispose()`
 * (or `using` under TypeScript's downlevelled disposal); any use afterwards is a typed
 * DisposedError, never a read of recycled memory.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  #storage: unknown;
  #disposed = false;
  #signature?: string;

  constructor(
    readonly owner: TensorOwner,
    readonly dtype: DType,
    shape: readonly number[],
    storage: unknown,
  ) {
    // A frozen shape is immutable already: shared, not copied (an op's planned output shapes are).
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.#storage = storage;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  get backendName(): string {
    return this.owner.name;
  }

  /** The backend's storage handle; throws when disposed. `what` names the caller for the message. */
  storage<T>(what = 'tensor'): T {
    if (this.#disposed) throw new DisposedError(`${what}: tensor ${this.describe()} was disposed`);
    return this.#storage as T;
  }

  /**
   * Hands the storage to a new tensor (a reshape): this tensor then reads as disposed, and
   * the storage is not freed — exactly one live tensor owns it, so it is released once.
   */
  takeStorage<T>(what = 'tensor'): T {
    const s = this.storage<T>(what);
    this.#disposed = true;
    this.#storage = undefined;
    return s;
  }

  /** `f32[4,8]`, built once: dtype and shape never change (run() keys its plans on it). */
  get signature(): string {
    return (this.#signature ??= `${this.dtype}[${this.shape.join(',')}]`);
  }

  describe(): string {
    return `${this.dtype}[${this.shape.join(',')}]`;
  }

  toString(): string {
    return `Tensor(${this.describe()} on ${this.owner.name}${this.#disposed ? ', disposed' : ''})`;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.owner.releaseStorage(this.#storage);
    this.#storage = undefined;
  }

  // Node 20 defines Symbol.dispose (as Symbol(nodejs.dispose)); TypeScript lowers `using` to it.
  [Symbol.dispose](): void {
    this.dispose();
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/**
 * Frees the outputs of an op call, except those that are its inputs (an op that updates
 * tensors in place, such as kv_cache_copy, returns them): what a loop that drops each call's
 * results must do so as not to free its own inputs.
 */
export function disposeOutputs(outputs: Record<string, Tensor>, inputs: Record<string, Tensor | undefined>): void {
  const keep = new Set(Object.values(inputs));
  for (const t of Object.values(outputs)) if (!keep.has(t)) t.dispose();
}
