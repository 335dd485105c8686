/**
 * A minimal GGUF writer for tests: llama.cpp's layout (magic, v3, counts, metadata, tensor
 * infos, data at 32-byte alignment). Values are typed explicitly as the format stores them.
 */
export type Meta = { type: 'u32' | 'f32' | 'str'; value: number | string };
export interface GgufTensor {
  name: string;
  /** Row-major shape (written reversed, ne[0] first). */
  shape: number[];
  /** ggml type id (0 F32, 1 F16, 8 Q8_0, …) and the stored bytes. */
  type: number;
  bytes: Uint8Array;
}

export function encodeGguf(meta: Record<string, Meta>, tensors: GgufTensor[]): Uint8Array {
  const out: number[] = [];
  const u8 = (v: number) => out.push(v & 255);
  const u32 = (v: number) => [0, 1, 2, 3].forEach((i) => u8(v >>> (8 * i)));
  const u64 = (v: number) => {
    let x = BigInt(v);
    for (let i = 0; i < 8; i++, x >>= 8n) u8(Number(x & 255n));
  };
  const bytes = (b: ArrayLike<number>) => {
    for (let i = 0; i < b.length; i++) u8(b[i]);
  };
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    u64(b.length);
    bytes(b);
  };
  bytes(new TextEncoder().encode('GGUF'));
  u32(3);
  u64(tensors.length);
  u64(Object.keys(meta).length);
  for (const [k, m] of Object.entries(meta)) {
    str(k);
    if (m.type === 'u32') (u32(4), u32(m.value as number));
    else if (m.type === 'f32') (u32(6), bytes(new Uint8Array(new Float32Array([m.value as number]).buffer)));
    else (u32(8), str(m.value as string));
  }
  let offset = 0;
  for (const t of tensors) {
    str(t.name);
    u32(t.shape.length);
    [...t.shape].reverse().forEach((d) => u64(d));
    u32(t.type);
    u64(offset);
    offset += Math.ceil(t.bytes.length / 32) * 32;
  }
  // Data at 32-byte alignment, each tensor padded to the next multiple of 32 (the offsets above).
  for (const t of tensors) {
    while (out.length % 32) u8(0);
    bytes(t.bytes);
  }
  return new Uint8Array(out);
}

/** convert_hf_to_gguf's LlamaModel.permute: each head's rows i and i + D/2 become adjacent. */
export function permuteRows(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const d = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < d / 2; i++)
      for (const [from, to] of [
        [i, 2 * i],
        [i + d / 2, 2 * i + 1],
      ]) {
        out.set(w.subarray((h * d + from) * cols, (h * d + from + 1) * cols), (h * d + to) * cols);
      }
  return out;
}
