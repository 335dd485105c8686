// Bank conflicts of fa_forward_sgmat.wgsl's S and P stages, counted on a model of the accesses
// (32 banks of 4 bytes; a wavefront serves one word per bank): why SPAD pads each stage row by
// 8 elements. The accesses, as the kernel makes them:
// - lane l (row l/2, half l%2) reads S at row·SLD + half·HB + (c + rot) % HB, rot = l·HB/32
//   (fa_sg_rot.wgsl), and writes P (f16) at the same column of row·PLD;
// - the matrix store of S: a half-warp's f32 pairs of an accumulator fragment, rows 0–3 ×
//   columns 0–7 (the m16n8 layout's first register pair);
// - the matrix load of P: 8 rows of 16 bytes (an 8×8 f16 tile, as ldmatrix reads it).
import { describe, expect, it } from 'vitest';

/** The most distinct words any one bank is asked for. */
function ways(words: number[]): number {
  const banks = new Map<number, Set<number>>();
  for (const w of words) {
    const b = ((w % 32) + 32) % 32;
    if (!banks.has(b)) banks.set(b, new Set());
    banks.get(b)!.add(w);
  }
  return Math.max(...[...banks.values()].map((s) => s.size));
}

function conflicts(bk: number, pad: number) {
  const hb = bk / 2;
  const sld = bk + pad;
  const pld = bk + pad;
  let laneRead = 0;
  let pWrite = 0;
  for (let c = 0; c < hb; c++) {
    const reads: number[] = [];
    const writes: number[] = [];
    for (let l = 0; l < 32; l++) {
      const row = l >> 1;
      const half = l & 1;
      const rot = Math.floor((l * hb) / 32);
      const col = half * hb + ((c + rot) % hb);
      reads.push(row * sld + col);
      writes.push(Math.floor((row * pld + col) / 2));
    }
    laneRead = Math.max(laneRead, ways(reads));
    pWrite = Math.max(pWrite, ways(writes));
  }
  const sStore = ways([0, 1, 2, 3].flatMap((r) => [0, 1, 2, 3, 4, 5, 6, 7].map((x) => r * sld + x)));
  const pLoad = ways([0, 1, 2, 3, 4, 5, 6, 7].flatMap((r) => [0, 1, 2, 3].map((x) => r * (pld / 2) + x)));
  return { laneRead, pWrite, sStore, pLoad };
}

describe('fa_forward_sgmat stages: bank conflicts per access', () => {
  it.each([32, 64])('BK %i unpadded: the matrix store of S and the load of P conflict (4- to 8-way)', (bk) => {
    const c = conflicts(bk, 0);
    expect(c.laneRead).toBe(1);
    expect(c.sStore).toBe(4);
    expect(c.pLoad).toBe(bk === 64 ? 8 : 4);
  });
  it.each([16, 32, 64])('BK %i padded by 8 (SPAD): both matrix accesses conflict-free, the lanes at most 2-way', (bk) => {
    const c = conflicts(bk, 8);
    expect(c.sStore).toBe(1);
    expect(c.pLoad).toBe(1);
    expect(c.laneRead).toBeLessThanOrEqual(bk === 16 ? 2 : 1);
    expect(c.pWrite).toBeLessThanOrEqual(2);
  });
});
