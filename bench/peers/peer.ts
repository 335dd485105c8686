import type { FloatDType } from '../../src/dtype.js';
import type { HostTensor } from '../../src/ops/types.js';
import type { PeerCase } from './cases.js';

/** A peer that cannot express an op (or dtype) at all: shown as "n/a: reason" in the table. */
export class PeerUnsupported extends Error {
  override name = 'PeerUnsupported';
}

/** A full-shape input already on the GPU (pmetal's buffer, shared with the peers), with its host data. */
export interface GpuInput {
  buffer: GPUBuffer;
  host: HostTensor;
}

/** The timed call of one peer on one case: `call` records (and may submit) one op; `flush` submits what is pending. */
export interface BoundCall {
  call: () => unknown;
  flush: () => void;
  dispose(): void;
}

/** One case × dtype prepared on a peer (an ORT session, a tfjs closure). */
export interface PreparedCase {
  /** The form actually prepared, where it differs from Peer.form (a fallback). */
  form?: string;
  /** Runs the peer on host inputs (the check shape); outputs as float64, keyed by pmetal's output names. */
  check(inputs: Record<string, HostTensor>): Promise<Record<string, Float64Array>>;
  /** Binds the full-shape GPU inputs for timing. */
  bind(inputs: Record<string, GpuInput>): Promise<BoundCall>;
  dispose(): void;
}

export interface Peer {
  /** Column name. */
  readonly name: string;
  /** Package and version, e.g. onnxruntime-web 1.30.0. */
  readonly version: string;
  /** One-time cost of loading the runtime (module import, wasm instantiation), ms. */
  readonly initMs: number;
  /** What the peer's user would write for this op, in words (the report's legend). */
  form(c: PeerCase, dtype: FloatDType): string;
  /** Builds the op (session creation / closure); throws PeerUnsupported when the peer cannot express it. */
  prepare(c: PeerCase, dtype: FloatDType): Promise<PreparedCase>;
  dispose(): void;
}

/** NeoX cos/sin tables [maxPos, D/2] in float64 (base^(-2i/D)), the same frequencies pmetal computes. */
export function ropeTables(maxPos: number, d: number, base: number): { cos: Float64Array; sin: Float64Array } {
  const half = d / 2;
  const cos = new Float64Array(maxPos * half);
  const sin = new Float64Array(maxPos * half);
  for (let p = 0; p < maxPos; p++)
    for (let i = 0; i < half; i++) {
      const a = p * base ** ((-2 * i) / d);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  return { cos, sin };
}

/** Causal mask [Sq, Sk] (0 where key ≤ query + Sk − Sq, −∞ elsewhere): bottom-right, as pmetal's default. */
export function causalMask(sq: number, sk: number): Float64Array {
  const m = new Float64Array(sq * sk);
  for (let q = 0; q < sq; q++) for (let k = 0; k < sk; k++) m[q * sk + k] = k <= q + sk - sq ? 0 : -Infinity;
  return m;
}
