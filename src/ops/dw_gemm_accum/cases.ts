import type { FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { HostTensor } from '../types.js';

/** One dw_gemm_accum shape: T tokens (per micro-batch), M × N output, options. */
export interface DwCaseDef {
  t: number;
  m: number;
  n: number;
  mb?: number;
  alpha?: number;
  beta?: number;
  quick?: boolean;
}

export function dwInputs(d: DwCaseDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const lead = d.mb ? [d.mb, d.t] : [d.t];
  return {
    a: uniform(dtype, [...lead, d.m], seed),
    b: uniform(dtype, [...lead, d.n], seed + 1),
    ...(d.beta ? { c: uniform('f32', [d.m, d.n], seed + 2) } : {}),
  };
}

export function dwLabel(d: DwCaseDef): string {
  return [`t=${d.t},m=${d.m},n=${d.n}`, d.mb ? `mb=${d.mb}` : '', d.alpha !== undefined ? `alpha=${d.alpha}` : '', d.beta ? `beta=${d.beta}` : ''].filter(Boolean).join(',');
}

