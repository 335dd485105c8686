import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../../src/ops/quant/gguf.js';

// Cross-check with llama.cpp's own Python package (gguf-py 0.19.0): fixtures written by
// scripts/fixtures/gguf_crosscheck.py. Random blocks reach every bit of each layout (every
// nibble, high bit and packed sub-scale), so dequantize must equal gguf.quants.dequantize bit
// for bit on every backend; the quantizers gguf-py implements (Q4_0, Q8_0: ports of
// quantize_row_*_ref) must write the same bytes as ours.
const DIR = join(dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'gguf');
const meta = JSON.parse(readFileSync(join(DIR, 'meta.json'), 'utf8')) as { rows: number; k: number; gguf: string };
const bytes = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const f32 = (f: string) => {
  const b = readFileSync(join(DIR, f));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

const backends: KernelBackend[] = [];
beforeAll(async () => {
  backends.push(new CpuBackend(), await WebGpuBackend.create(), await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {}));
});
afterAll(() => backends.forEach((b) => b.dispose()));

describe(`GGUF blocks agree with gguf-py ${meta.gguf}`, () => {
  it.each(['q4_0', 'q8_0', 'q4_k', 'q6_k'] as const)('dequantize %s (random blocks) equals gguf.quants.dequantize bit for bit on cpu, webgpu and metal', async (format) => {
    const w = bytes(`rand_${format}.bin`);
    const want = new Uint32Array(f32(`rand_${format}.f32`).slice().buffer);
    for (const b of backends) {
      const t = b.tensor(w, [meta.rows, w.length / meta.rows], 'u8');
      const { y } = b.dequantize({ w: t }, { format, outDtype: 'f32' });
      const got = new Uint32Array(((await b.read(y)) as Float32Array).slice().buffer);
      [t, y].forEach((x) => x.dispose());
      let diff = 0;
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) diff++;
      expect(diff, `${b.name}: elements whose f32 bits differ`).toBe(0);
    }
  });

  it.each([
    ['q4_0', quantizeQ4_0, 18],
    ['q8_0', quantizeQ8_0, 34],
  ] as const)('quantize %s writes the bytes gguf.quants.quantize writes', (format, quantize, blockBytes) => {
    const x = f32('x.f32');
    const want = bytes(`quant_${format}.bin`);
    const got = new Uint8Array(want.length);
    const row = (meta.k / 32) * blockBytes;
    for (let r = 0; r < meta.rows; r++) quantize(x.subarray(r * meta.k, (r + 1) * meta.k), meta.k, got, r * row);
    const bad: number[] = [];
    for (let i = 0; i < want.length; i += blockBytes) if (got.subarray(i, i + blockBytes).some((v, j) => v !== want[i + j])) bad.push(i / blockBytes);
    expect(bad, 'blocks that differ').toEqual([]);
  });
});
