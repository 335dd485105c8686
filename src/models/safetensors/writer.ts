import { writeFile } from 'node:fs/promises';
import { BYTES, hostArrayMatches, type DType, type HostArray } from '../../dtype.js';
import { ModelLoadError } from '../../errors.js';
import { SAFETENSORS_NAME } from './dtypes.js';

export interface TensorToWrite {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: HostArray;
}

/**
 * Serialises tensors as a safetensors file: tensors in name order, packed back to back, the
 * JSON header padded with spaces to a multiple of 8 bytes (as the reference writer does, so
 * the data section is 8-byte aligned for readers that map the file).
 */
export function encodeSafetensors(tensors: Readonly<Record<string, TensorToWrite>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (!hostArrayMatches(t.dtype, t.data) || t.data.length !== numel) {
      throw new ModelLoadError(`[safetensors] writing tensor "${name}": expected ${t.dtype}[${t.shape.join(',')}] data of ${numel} elements, got ${t.data.constructor.name} of ${t.data.length}`, { tensor: name });
    }
    const bytes = numel * BYTES[t.dtype];
    header[name] = { dtype: SAFETENSORS_NAME[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

export async function writeSafetensors(path: string, tensors: Readonly<Record<string, TensorToWrite>>, metadata?: Readonly<Record<string, string>>): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}
