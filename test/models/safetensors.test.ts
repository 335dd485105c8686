import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { Checkpoint, encodeSafetensors, SafetensorsFile, writeSafetensors } from '../../src/models/safetensors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pmetal-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const path = (name = `f${n++}.safetensors`) => join(dir, name);

/** A file from a header object and a data section, the way a foreign writer might lay it out. */
function raw(header: unknown, data: Uint8Array | number[], headerText?: string): string {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  const p = path();
  writeFileSync(p, out);
  return p;
}

/** The error an async call throws; fails the test if it throws none or a foreign one. */
async function loadError(f: () => Promise<unknown>): Promise<ModelLoadError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelLoadError);
    return e as ModelLoadError;
  }
  throw new Error('expected a ModelLoadError, none was thrown');
}

const f32le = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('safetensors: reading valid files', () => {
  it('a hand-laid file (not our writer): values, shape, dtype', async () => {
    const p = raw({ __metadata__: { format: 'pt' }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] }, a: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] } }, [...f32le(1, 2), ...f32le(-3, 0.5)]);
    const f = await SafetensorsFile.open(p);
    expect(f.header.metadata).toEqual({ format: 'pt' });
    expect(f.names().sort()).toEqual(['a', 'b']);
    const b = await f.read('b');
    expect(b.dtype).toBe('f32');
    expect(b.shape).toEqual([2]);
    expect(Array.from(b.data)).toEqual([-3, 0.5]);
    expect(Array.from((await f.read('a')).data)).toEqual([1, 2]);
    await f.close();
  });

  it('every loadable dtype round-trips through the writer, with scalars and empty tensors', async () => {
    const t = {
      w32: { dtype: 'f32' as const, shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-30, -7]) },
      h: { dtype: 'f16' as const, shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7bff]) },
      b: { dtype: 'bf16' as const, shape: [2], data: new Uint16Array([0x3f80, 0xbf00]) },
      i: { dtype: 'i32' as const, shape: [2], data: new Int32Array([-5, 2 ** 31 - 1]) },
      q: { dtype: 'u32' as const, shape: [1, 2], data: new Uint32Array([0xdeadbeef, 7]) },
      u: { dtype: 'u8' as const, shape: [3], data: new Uint8Array([0, 128, 255]) },
      s: { dtype: 'f32' as const, shape: [], data: new Float32Array([42]) },
      e: { dtype: 'f32' as const, shape: [0, 4], data: new Float32Array(0) },
    };
    const p = path();
    await writeSafetensors(p, t, { note: 'x' });
    // The data section starts 8-byte aligned, as the reference writer pads its header.
    const len = Number(readFileSync(p).readBigUInt64LE(0));
    expect(len % 8).toBe(0);
    const ck = await Checkpoint.openFile(p);
    for (const [name, want] of Object.entries(t)) {
      const got = await ck.read(name);
      expect(got.dtype).toBe(want.dtype);
      expect(got.shape).toEqual(want.shape);
      expect(got.data.constructor).toBe(want.data.constructor);
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
    }
    await ck.close();
  });

  it('is lazy: tensor bytes are read when asked, not at open', async () => {
    const p = raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32le(1, 2));
    const f = await SafetensorsFile.open(p);
    const bytes = readFileSync(p);
    bytes.set(f32le(5, 6), bytes.length - 8);
    writeFileSync(p, bytes);
    expect(Array.from((await f.read('a')).data)).toEqual([5, 6]);
    await f.close();
  });
});

describe('safetensors: malformed files are typed errors naming the file (and tensor)', () => {
  it('shorter than the 8-byte length', async () => {
    const p = path();
    writeFileSync(p, new Uint8Array(5));
    const e = await loadError(() => SafetensorsFile.open(p));
    expect(e.message).toContain(p);
    expect(e.file).toBe(p);
  });

  it('header length past the end of the file, and absurd header lengths', async () => {
    const good = readFileSync(raw({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [9]));
    const p = path();
    writeFileSync(p, good.subarray(0, 20));
    expect((await loadError(() => SafetensorsFile.open(p))).message).toMatch(/runs past the end of the file.*truncated/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
    const q = path();
    writeFileSync(q, huge);
    expect((await loadError(() => SafetensorsFile.open(q))).message).toMatch(/exceeds/);
  });

  it('a truncated data section names the tensor that runs past it', async () => {
    const p = raw({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32le(1, 2, 3));
    const bytes = readFileSync(p);
    writeFileSync(p, bytes.subarray(0, bytes.length - 1));
    const e = await loadError(() => SafetensorsFile.open(p));
    expect(e.tensor).toBe('w');
    expect(e.message).toMatch(/"w".*past the data section/);
  });

  it('bad JSON, invalid UTF-8, a non-object header', async () => {
    const bad = await loadError(() => SafetensorsFile.open(raw(null, [], '{"a": {')));
    expect(bad.message).toMatch(/not valid UTF-8 JSON/);
    const utf = new Uint8Array([0x7b, 0xff, 0x7d]);
    const p = path();
    const out = new Uint8Array(8 + 3);
    new DataView(out.buffer).setBigUint64(0, 3n, true);
    out.set(utf, 8);
    writeFileSync(p, out);
    expect((await loadError(() => SafetensorsFile.open(p))).message).toMatch(/UTF-8/);
    expect((await loadError(() => SafetensorsFile.open(raw([1, 2], [])))).message).toMatch(/expected a JSON object/);
  });

  it('entries: missing fields, extra fields, negative or fractional dims, non-string metadata', async () => {
    const cases: unknown[] = [
      { a: { dtype: 'F32', shape: [1] } },
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } },
      { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } },
      { a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } },
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } },
    ];
    for (const h of cases) {
      const e = await loadError(() => SafetensorsFile.open(raw(h, f32le(0))));
      expect(e.tensor).toBe('a');
    }
    const m = await loadError(() => SafetensorsFile.open(raw({ __metadata__: { k: 1 } }, [])));
    expect(m.message).toMatch(/__metadata__/);
  });

  it('data_offsets: begin after end, size contradicting dtype × shape, overlaps', async () => {
    const rev = await loadError(() => SafetensorsFile.open(raw({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, f32le(0))));
    expect(rev.message).toMatch(/begin after end/);
    const size = await loadError(() => SafetensorsFile.open(raw({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32le(0, 0))));
    expect(size.message).toMatch(/F32\[3\] needs 12 bytes.*hold 8/);
    expect(size.tensor).toBe('a');
    const bf = await loadError(() => SafetensorsFile.open(raw({ a: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 4] } }, f32le(0))));
    expect(bf.message).toMatch(/needs 8 bytes/);
    const ov = await loadError(() => SafetensorsFile.open(raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32le(0, 0))));
    expect(ov.message).toMatch(/overlap/);
    expect(ov.tensor).toBe('b');
    expect(ov.message).toMatch(/"b".*overlap tensor "a"/);
  });

  it('unknown and unloadable dtypes: the file opens, reading that tensor is the error', async () => {
    const p = raw({ pos: { dtype: 'I64', shape: [1], data_offsets: [0, 8] }, fp4: { dtype: 'F4', shape: [4], data_offsets: [8, 10] }, w: { dtype: 'F32', shape: [1], data_offsets: [10, 14] } }, [...new Uint8Array(10), ...f32le(3)]);
    const f = await SafetensorsFile.open(p);
    expect(Array.from((await f.read('w')).data)).toEqual([3]);
    expect((await loadError(() => f.read('pos'))).message).toMatch(/"pos": dtype I64 cannot be loaded/);
    expect((await loadError(() => f.read('fp4'))).tensor).toBe('fp4');
    await f.close();
    // A known dtype still gets its size checked.
    expect((await loadError(() => SafetensorsFile.open(raw({ pos: { dtype: 'I64', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8))))).message).toMatch(/I64\[2\] needs 16/);
  });

  it('a missing tensor, a read after close', async () => {
    const p = raw({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [1]);
    const ck = await Checkpoint.openFile(p);
    const e = await loadError(() => ck.read('model.norm.weight'));
    expect([e.file, e.tensor]).toEqual([p, 'model.norm.weight']);
    await ck.close();
    expect((await loadError(() => ck.read('a'))).message).toMatch(/closed/);
  });

  it('a shape or dtype contradicting the expectation is refused before reading', async () => {
    const p = raw({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] } }, new Uint8Array(24));
    const ck = await Checkpoint.openFile(p);
    const e = await loadError(() => ck.read('w', { shape: [3, 2], why: 'hidden_size 3 in config.json' }));
    expect(e.message).toMatch(/shape \[2, 3\] contradicts the expected \[3, 2\] \(hidden_size 3 in config.json\)/);
    expect((await loadError(() => ck.read('w', { dtypes: ['BF16'] }))).message).toMatch(/dtype F32, expected one of BF16/);
    expect((await ck.read('w', { shape: [2, 3], dtypes: ['F32'] })).shape).toEqual([2, 3]);
    await ck.close();
  });
});

describe('safetensors: checkpoints (single file and sharded index)', () => {
  const shardDir = () => mkdtempSync(join(dir, 'ck-'));
  const enc = (t: Record<string, number[]>) => encodeSafetensors(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { dtype: 'f32' as const, shape: [v.length], data: new Float32Array(v) }])));

  it('a folder with model.safetensors', async () => {
    const d = shardDir();
    writeFileSync(join(d, 'model.safetensors'), enc({ x: [1, 2] }));
    const ck = await Checkpoint.openDir(d);
    expect(Array.from((await ck.read('x')).data)).toEqual([1, 2]);
    await ck.close();
  });

  it('a sharded folder: each tensor from the shard the index names', async () => {
    const d = shardDir();
    writeFileSync(join(d, 'model-00001-of-00002.safetensors'), enc({ a: [1], b: [2, 3] }));
    writeFileSync(join(d, 'model-00002-of-00002.safetensors'), enc({ c: [4, 5, 6], stray: [0] }));
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 24 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } }));
    const ck = await Checkpoint.openDir(d);
    expect(ck.names().sort()).toEqual(['a', 'b', 'c']);
    expect(Array.from((await ck.read('c')).data)).toEqual([4, 5, 6]);
    expect(Array.from((await ck.read('b')).data)).toEqual([2, 3]);
    expect(ck.fileOf('c').name).toBe('model-00002-of-00002.safetensors');
    // The index is authoritative: a tensor it does not list is not part of the checkpoint.
    expect((await loadError(() => ck.read('stray'))).tensor).toBe('stray');
    await ck.close();
  });

  it('index errors: bad JSON, a path as shard, a missing shard, a tensor absent from its shard', async () => {
    const d = shardDir();
    const idx = join(d, 'model.safetensors.index.json');
    writeFileSync(idx, '{"weight_map": ');
    expect((await loadError(() => Checkpoint.openDir(d))).file).toBe(idx);
    writeFileSync(idx, JSON.stringify({ weight_map: { a: '../outside.safetensors' } }));
    expect((await loadError(() => Checkpoint.openDir(d))).message).toMatch(/not a path/);
    writeFileSync(idx, JSON.stringify({ weight_map: { a: 'gone.safetensors' } }));
    expect((await loadError(() => Checkpoint.openDir(d))).message).toMatch(/gone\.safetensors: cannot open/);
    writeFileSync(join(d, 's.safetensors'), enc({ a: [1] }));
    writeFileSync(idx, JSON.stringify({ weight_map: { a: 's.safetensors', b: 's.safetensors' } }));
    const e = await loadError(() => Checkpoint.openDir(d));
    expect([e.tensor, e.file]).toEqual(['b', join(d, 's.safetensors')]);
  });

  it('a folder with no weights', async () => {
    const d = shardDir();
    expect((await loadError(() => Checkpoint.openDir(d))).message).toMatch(/neither model\.safetensors\.index\.json nor model\.safetensors/);
  });
});
