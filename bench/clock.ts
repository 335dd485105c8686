import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';

/**
 * GPU clocks fall when the GPU idles. Measured on the H100 (device tool, 2026-11-25):
 * after a few seconds of host work (building a 2 GB input) the SM clock sat at 345–840 MHz
 * instead of 1980 MHz (throttle reason: GPU idle), and timing calls one at a time, with a
 * wait after each, never brought it back — copy bandwidth read 1180 GB/s instead of 2390.
 * So every timed case first keeps the GPU busy with its own call, back to back, and the
 * timed calls themselves are recorded back to back.
 */

export interface Sustainable {
  /** Records one call (a peer's call may return a promise: it is awaited, as in the timed samples). */
  call: () => unknown;
  /** Submits what was recorded. */
  flush: () => void;
  /** Resolves when everything submitted so far has finished on the GPU. */
  done: () => Promise<void>;
}

/**
 * Runs `s.call` back to back for at least `ms` of wall time, two submissions in flight; each
 * submission grows (doubling, up to 256 calls) until it lasts ~5 ms, so waiting on one never
 * leaves the GPU idle for long.
 */
export async function sustain(s: Sustainable, ms = 300): Promise<void> {
  const t0 = performance.now();
  let perSubmit = 1;
  let inFlight: Promise<void> | undefined;
  let last = t0;
  do {
    for (let i = 0; i < perSubmit; i++) {
      const r = s.call();
      if (r instanceof Promise) await r;
    }
    s.flush();
    const cur = s.done();
    if (inFlight) await inFlight;
    inFlight = cur;
    const now = performance.now();
    if (now - last < 5 && perSubmit < 256) perSubmit *= 2;
    last = now;
  } while (performance.now() - t0 < ms);
  await inFlight;
}

/**
 * GPU nanoseconds of `reps` back-to-back calls after a clock warm-up. Warm-up and timing
 * run ROUNDS times and the round with the lowest median is kept: the clocks do not always
 * come back within one warm-up. Undefined without timestamp queries.
 */
const ROUNDS = 3;
export async function warmTimes(gpu: WebGpuBackend, call: () => void, reps: number, sustainMs = 300): Promise<number[] | undefined> {
  let best: number[] | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    await sustain({ call, flush: () => gpu.rt.flush(), done: () => gpu.rt.device.queue.onSubmittedWorkDone() }, sustainMs);
    const ns = await gpu.gpuTimes(call, reps);
    if (!ns) return undefined;
    if (!best || median(ns) < median(best)) best = ns;
  }
  return best;
}

/** The median (upper middle for an even count) of xs, left unsorted. */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}
