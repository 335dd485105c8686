import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { GgufFile } from '../../src/models/gguf/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'pmetal-gguf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A little-endian byte builder for hand-laid GGUF files. */
class W {
  parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 255);
    return this;
  }
  u32(v: number) {
    for (let i = 0; i < 4; i++) this.u8(v >>> (8 * i));
    return this;
  }
  u64(v: number | bigint) {
    let x = BigInt(v);
    for (let i = 0; i < 8; i++, x >>= 8n) this.u8(Number(x & 255n));
    return this;
  }
  bytes(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.u8(b[i]);
    return this;
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).bytes(b);
  }
  pad(align: number) {
    while (this.parts.length % align) this.u8(0);
    return this;
  }
}

interface T {
  name: string;
  ne: number[];
  type: number;
  offset: number;
}
/** magic, version, counts, kvs (already encoded), tensor infos, padding to 32, then `data`. */
function gguf(kvs: (w: W) => number, tensors: T[], data: Uint8Array, o: { magic?: string; version?: number } = {}): string {
  const body = new W();
  const nKv = kvs(body);
  const w = new W().bytes(new TextEncoder().encode(o.magic ?? 'GGUF')).u32(o.version ?? 3).u64(tensors.length).u64(nKv);
  w.bytes(body.parts);
  for (const t of tensors) {
    w.str(t.name).u32(t.ne.length);
    t.ne.forEach((d) => w.u64(d));
    w.u32(t.type).u64(t.offset);
  }
  w.pad(32).bytes(data);
  const p = join(dir, `f${n++}.gguf`);
  writeFileSync(p, new Uint8Array(w.parts));
  return p;
}

async function loadError(p: string): Promise<ModelLoadError> {
  const e = await GgufFile.open(p).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ModelLoadError);
  expect((e as ModelLoadError).file).toBe(p);
  return e as ModelLoadError;
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const noKv = () => 0;

describe('GGUF reader', () => {
  it('metadata of every value type, tensor infos with row-major shapes, lazy raw bytes', async () => {
    const kvs = (w: W) => {
      w.str('general.architecture').u32(8).str('llama');
      w.str('llama.block_count').u32(4).u32(2);
      w.str('a.i8').u32(1).u8(0xff);
      w.str('a.u16').u32(2).u8(1).u8(1);
      w.str('a.i32').u32(5).u32(-7 >>> 0);
      w.str('a.f32').u32(6).bytes(f32(0.5));
      w.str('a.bool').u32(7).u8(1);
      w.str('a.u64').u32(10).u64(2 ** 40);
      w.str('a.i64').u32(11).u64(-3n & 0xffffffffffffffffn);
      w.str('a.f64').u32(12).bytes(new Uint8Array(new Float64Array([1.25]).buffer));
      w.str('tokenizer.ggml.tokens').u32(9).u32(8).u64(3).str('a').str('b').str('✓');
      return 11;
    };
    const q8 = new Uint8Array(2 * 34).map((_, i) => i);
    const data = new Uint8Array(32 + 96 + 32);
    data.set(f32(1, 2, 3, 4, 5, 6), 0);
    data.set(q8, 32);
    const p = gguf(kvs, [
      { name: 'w', ne: [3, 2], type: 0, offset: 0 },
      { name: 'q', ne: [32, 2], type: 8, offset: 32 },
      { name: 'h', ne: [4], type: 1, offset: 128 },
    ], data);
    const g = await GgufFile.open(p);
    expect(g.version).toBe(3);
    expect(Object.fromEntries(g.metadata)).toEqual({
      'general.architecture': 'llama',
      'llama.block_count': 2,
      'a.i8': -1,
      'a.u16': 257,
      'a.i32': -7,
      'a.f32': 0.5,
      'a.bool': true,
      'a.u64': 2 ** 40,
      'a.i64': -3n,
      'a.f64': 1.25,
      'tokenizer.ggml.tokens': ['a', 'b', '✓'],
    });
    expect(g.tensors.get('w')!.shape).toEqual([2, 3]);
    expect(g.tensors.get('q')!.type.quant).toBe('q8_0');
    expect(Array.from(new Float32Array((await g.readBytes('w')).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await g.readBytes('q'))).toEqual(Array.from(q8));
    await expect(g.readBytes('nope')).rejects.toThrow(/"nope" not found/);
    await g.close();
  });

  it('refuses bad magic, versions and absurd counts', async () => {
    expect((await loadError(gguf(noKv, [], new Uint8Array(0), { magic: 'GGML' }))).message).toMatch(/not a GGUF file/);
    expect((await loadError(gguf(noKv, [], new Uint8Array(0), { version: 1 }))).message).toMatch(/version 1/);
    const p = join(dir, 'counts.gguf');
    writeFileSync(p, new Uint8Array(new W().bytes(new TextEncoder().encode('GGUF')).u32(3).u64(2 ** 40).u64(0).parts));
    expect((await loadError(p)).message).toMatch(/corrupt/);
  });

  it('metadata past the end of the file, unknown types, bad bools, arrays longer than the file', async () => {
    expect((await loadError(gguf((w) => (w.str('k').u32(8).u64(1e6), 1), [], new Uint8Array(0)))).message).toMatch(/metadata "k".*past the end/);
    expect((await loadError(gguf((w) => (w.str('k').u32(13), 1), [], new Uint8Array(0)))).message).toMatch(/value type 13 is unknown/);
    expect((await loadError(gguf((w) => (w.str('k').u32(7).u8(2), 1), [], new Uint8Array(0)))).message).toMatch(/bool 2/);
    expect((await loadError(gguf((w) => (w.str('k').u32(9).u32(4).u64(1e9), 1), [], new Uint8Array(0)))).message).toMatch(/cannot fit/);
    expect((await loadError(gguf((w) => (w.str('general.alignment').u32(4).u32(24), 1), [], new Uint8Array(0)))).message).toMatch(/power of two/);
  });

  it('tensor infos: unknown ggml types, partial blocks, misaligned, overlapping, truncated data — each names the tensor', async () => {
    const cases: [T[], number, RegExp][] = [
      [[{ name: 't', ne: [4], type: 99, offset: 0 }], 16, /ggml type 99/],
      [[{ name: 't', ne: [31, 2], type: 8, offset: 0 }], 128, /not whole blocks of 32/],
      [[{ name: 't', ne: [4], type: 0, offset: 8 }], 64, /not a multiple of general.alignment 32/],
      [[{ name: 'a', ne: [16], type: 0, offset: 0 }, { name: 't', ne: [4], type: 0, offset: 32 }], 64, /overlap tensor "a"/],
      [[{ name: 't', ne: [256, 2], type: 14, offset: 0 }], 400, /past the end of the file.*truncated/],
      [[{ name: 't', ne: [1, 2, 3, 4, 5], type: 0, offset: 0 }], 512, /5 dimensions/],
    ];
    for (const [tensors, bytes, re] of cases) {
      const e = await loadError(gguf(noKv, tensors, new Uint8Array(bytes)));
      expect(e.tensor).toBe('t');
      expect(e.message).toMatch(re);
    }
  });
});
