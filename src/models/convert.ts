import { f16ToNumber, f32ArrayTo16, type FloatDType, type HostArray } from '../dtype.js';

/**
 * Host-side dtype conversion of loaded weights to the model's compute dtype (every op of one
 * forward pass takes one float dtype). Widening is exact; narrowing rounds to nearest-even
 * once (f16 ↔ bf16 goes through f32, which holds either exactly).
 */

let f16Table: Float32Array | undefined;
/** All 65536 f16 values, built once: a table lookup instead of a decode per element. */
function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = f16ToNumber(b);
  }
  return f16Table;
}

function toF32(from: FloatDType, data: HostArray): Float32Array {
  if (from === 'f32') return data as Float32Array;
  const src = data as Uint16Array;
  const out = new Float32Array(src.length);
  if (from === 'bf16') {
    // bf16 is the top half of an f32: shift the bits back into place.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  } else {
    const t = f16Values();
    for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  }
  return out;
}

export function convertFloat(from: FloatDType, to: FloatDType, data: HostArray): HostArray {
  if (from === to) return data;
  const f32 = toF32(from, data);
  return to === 'f32' ? f32 : f32ArrayTo16(to, f32);
}
