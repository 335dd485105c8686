/**
 * ggml tensor types a GGUF file may hold: block length (elements) and block size (bytes), so
 * every tensor's byte range follows from its type and shape. Names as in ggml.h; `quant` names
 * the quantized_gemm / dequantize format of the four pmetal runs.
 */
export interface GgmlType {
  readonly name: string;
  readonly blockK: number;
  readonly blockBytes: number;
  readonly quant?: 'q4_0' | 'q8_0' | 'q4_k' | 'q6_k';
}

export const GGML_TYPES: Readonly<Record<number, GgmlType>> = {
  0: { name: 'F32', blockK: 1, blockBytes: 4 },
  1: { name: 'F16', blockK: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockK: 32, blockBytes: 18, quant: 'q4_0' },
  3: { name: 'Q4_1', blockK: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockK: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockK: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockK: 32, blockBytes: 34, quant: 'q8_0' },
  9: { name: 'Q8_1', blockK: 32, blockBytes: 36 },
  10: { name: 'Q2_K', blockK: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockK: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockK: 256, blockBytes: 144, quant: 'q4_k' },
  13: { name: 'Q5_K', blockK: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockK: 256, blockBytes: 210, quant: 'q6_k' },
  15: { name: 'Q8_K', blockK: 256, blockBytes: 292 },
  24: { name: 'I8', blockK: 1, blockBytes: 1 },
  25: { name: 'I16', blockK: 1, blockBytes: 2 },
  26: { name: 'I32', blockK: 1, blockBytes: 4 },
  27: { name: 'I64', blockK: 1, blockBytes: 8 },
  28: { name: 'F64', blockK: 1, blockBytes: 8 },
  30: { name: 'BF16', blockK: 1, blockBytes: 2 },
};

/** GGUF metadata value types (gguf.h gguf_type). */
export const ValueType = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
