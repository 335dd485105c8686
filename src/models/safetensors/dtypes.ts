import type { DType } from '../../dtype.js';

/**
 * Element sizes of the safetensors dtype names, so every tensor's byte range can be checked
 * against dtype × shape even for dtypes pmetal never loads (an I64 buffer left in an old
 * checkpoint must not make the whole file unreadable). Sub-byte formats are absent on
 * purpose: their byte size is not numel × a whole number.
 */
export const SAFETENSORS_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The dtypes pmetal loads onto a backend, and as which host dtype (U32: MLX's packed 4/8-bit weights). */
export const LOADABLE: Readonly<Record<string, DType>> = { F32: 'f32', F16: 'f16', BF16: 'bf16', I32: 'i32', U32: 'u32', U8: 'u8' };

/** The safetensors name a writer uses for a pmetal dtype. */
export const SAFETENSORS_NAME: Readonly<Record<DType, string>> = { f32: 'F32', f16: 'F16', bf16: 'BF16', i32: 'I32', u32: 'U32', u8: 'U8' };
