import { describe, expect, it } from 'vitest';
import { grid, type LaunchContext } from '../../src/backend/webgpu/launch.js';
import { defineParams, packParams } from '../../src/backend/params.js';
import { f32BitsToBf16, f32BitsToF16 } from '../../src/dtype.js';
import { useWebGpu } from '../webgpu_backends.js';

const PARAMS = defineParams([['count', 'u32']]);

const gpu = useWebGpu();

/** f32 patterns where rounding to f16/bf16 can go wrong: around every f16/bf16 midpoint and boundary. */
function hardPatterns(): Uint32Array {
  const out: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const push = (bits: number) => {
    for (const d of [-2, -1, 0, 1, 2]) for (const s of [0, 0x80000000]) out.push((((bits + d) >>> 0) | s) >>> 0);
  };
  // Every f16 value's f32 pattern and the midpoint to its successor (13 dropped bits: the
  // midpoint sets bit 12), for normal and subnormal f16 results alike.
  for (let h = 0; h < 0x7c00; h++) {
    const e = h >> 10;
    const m = h & 0x3ff;
    const val = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
    const next = e === 0 ? (m + 1) * 2 ** -24 : h + 1 === 0x7c00 ? 65536 : (1 + ((m + 1) & 0x3ff) / 1024) * 2 ** (e - 15 + ((m + 1) >> 10));
    f[0] = val;
    push(u[0]);
    f[0] = (val + next) / 2;
    push(u[0]);
  }
  // bf16 midpoints: bit 15 set under every 16-bit prefix.
  for (let t = 0; t < 0x8000; t++) push(((t << 16) | 0x8000) >>> 0);
  // Specials and the overflow threshold region.
  for (const b of [0, 0x7f800000, 0x7fc00000, 0x7f800001, 0x7fbfffff, 0x477fe000, 0x477ff000, 0x47800000, 0x38800000, 0x387fffff, 0x33000000, 0x33000001, 0x1, 0x7fffff]) push(b);
  // Random patterns.
  let s = 987654321;
  for (let i = 0; i < 100_000; i++) out.push((s = (Math.imul(s, 1664525) + 1013904223) >>> 0));
  return new Uint32Array(out);
}

describe('WGSL f32 → f16/bf16 encoders (common/convert.wgsl) on the GPU', () => {
  it('match the host encoders bit for bit on every rounding midpoint, boundary and 100k random patterns', async () => {
    const pats = hardPatterns();
    const rt = gpu().rt;
    const src = rt.createBuffer(pats.byteLength);
    const dst = rt.createBuffer(pats.byteLength * 2);
    rt.upload(src, pats);
    const g = grid({ limits: rt.opened.limits } as LaunchContext, Math.ceil(pats.length / 256));
    rt.dispatch({
      pipeline: { shader: 'common/convert_check.wgsl', defines: {}, overrides: { WG: 256 } },
      bindings: [
        { binding: 0, buffer: src },
        { binding: 1, buffer: dst },
      ],
      params: { binding: 2, data: packParams(PARAMS, { count: pats.length }) },
      workgroups: g.workgroups,
    });
    const got = new Uint32Array(await rt.read(dst, pats.byteLength * 2));
    rt.releaseBuffer(src);
    rt.releaseBuffer(dst);
    const bad: string[] = [];
    for (let i = 0; i < pats.length; i++) {
      const want16 = f32BitsToF16(pats[i]);
      const wantBf = f32BitsToBf16(pats[i]);
      // NaN payloads may differ; quiet NaN with the sign kept is what both encoders produce.
      if (got[2 * i] !== want16) bad.push(`f16 of ${pats[i].toString(16)}: got ${got[2 * i].toString(16)}, want ${want16.toString(16)}`);
      if (got[2 * i + 1] !== wantBf) bad.push(`bf16 of ${pats[i].toString(16)}: got ${got[2 * i + 1].toString(16)}, want ${wantBf.toString(16)}`);
    }
    expect(bad.slice(0, 10)).toEqual([]);
  });
});
