import { GpuValidationError, PmetalError } from '../../errors.js';

/**
 * Which tensors a failed submission spoiled. A validation error anywhere in a command
 * encoder invalidates the whole encoder, so when the GPU rejects one command of a batch,
 * every upload, clear and kernel output recorded in that batch is lost — they read back as
 * zeros. Each write is therefore logged against the *lease* of its buffer (one tensor's
 * tenure of a pooled buffer; a buffer handed out again gets a fresh lease, so a later tensor
 * never inherits an earlier one's failure). When a submission's error scopes report an
 * error, every lease it wrote is marked with the typed error; a command of a later batch
 * that read a marked lease marks what it wrote too. Reading a marked lease throws its error,
 * every time.
 */
export interface Lease {
  failed?: PmetalError;
}

/** One recorded command: what it read and what it wrote. */
export interface Recorded {
  op: string;
  reads: Lease[];
  writes: Lease[];
}

export class FailureLog {
  #leases = new WeakMap<GPUBuffer, Lease>();
  #open: Recorded[] = [];
  /** Submissions are judged in order (propagation needs the earlier ones first). */
  #settled: Promise<void> = Promise.resolve();
  /** Submission errors not yet thrown by a sync()/read(): each is reported once there. */
  #unreported: PmetalError[] = [];

  /** Starts a new tenure of `buf` (a tensor got it). */
  renew(buf: GPUBuffer): void {
    this.#leases.set(buf, {});
  }

  /** Ends the tenure of `buf` (released to the pool): a later lookup sees none, or a new one. */
  end(buf: GPUBuffer): void {
    this.#leases.delete(buf);
  }

  /** The current lease of `buf`, if it has one (a launch tape checks a fixed buffer's tenure with it). */
  current(buf: GPUBuffer): Lease | undefined {
    return this.#leases.get(buf);
  }

  /** The current lease of `buf` (buffers made outside createBuffer get one on first use). */
  lease(buf: GPUBuffer): Lease {
    let l = this.#leases.get(buf);
    if (!l) this.#leases.set(buf, (l = {}));
    return l;
  }

  record(op: string, reads: Lease[], writes: Lease[]): void {
    this.#open.push({ op, reads, writes });
  }

  /** Ops of the open batch, for messages. */
  get openOps(): readonly Recorded[] {
    return this.#open;
  }

  /**
   * Closes the open batch: once `verdict` says whether its submission failed (and with which
   * typed error, given the batch's commands), marks what it spoiled.
   */
  submit(verdict: (batch: readonly Recorded[]) => Promise<PmetalError | undefined>): void {
    const batch = this.#open;
    this.#open = [];
    this.#settled = this.#settled.then(async () => {
      let failure: PmetalError | undefined;
      try {
        failure = await verdict(batch);
      } catch (e) {
        // A verdict that cannot be had (the scopes of a lost device) spoils the batch too.
        failure = e instanceof PmetalError ? e : new GpuValidationError(`[webgpu] a submission's errors could not be read: ${(e as Error)?.message ?? e}`, { cause: e });
      }
      if (failure) this.#unreported.push(failure);
      for (const r of batch) {
        const f = failure ?? r.reads.find((l) => l.failed)?.failed;
        if (f) for (const w of r.writes) w.failed ??= f;
      }
    });
  }

  /** Resolves when every submitted batch has been judged. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** `e` was thrown (by a read of a tensor it spoiled): sync() need not throw it again. */
  reported(e: PmetalError): void {
    this.#unreported = this.#unreported.filter((u) => u !== e);
  }

  /** Takes the errors no sync()/read() has thrown yet. */
  takeUnreported(): PmetalError[] {
    const out = this.#unreported;
    this.#unreported = [];
    return out;
  }
}
