import type { PipelineSpec } from '../pipelines.js';
import { faSgmatLateFirst, faSgmatPad, faSgmatSwizzle } from './flash_attention_sgmat.js';

/** Tiles of fa_bwd_dq_sgmat.wgsl / fa_bwd_dkv_sgmat.wgsl: subgroups (16 rows or keys each) and the tile they walk (keys for dq, query rows for dk/dv). */
export interface BwdSgmatPlan {
  nsg: number;
  bt: number;
  /** The stages' row padding (SPAD: faSgmatPad, 0 when absent). */
  pad?: number;
}

/** Stage rows of a plan: the tile plus its padding. */
const stageRow = (p: BwdSgmatPlan) => p.bt + (p.pad ?? 0);
/** Workgroup bytes of fa_bwd_dq_sgmat.wgsl: K and V tiles (padded rows), two f32 stages and the f16 stage per subgroup, two 16-byte flag arrays. */
export const bwdSgDqBytes = (d: number, dv: number, p: BwdSgmatPlan) => 2 * p.bt * (d + 8 + dv + 8) + p.nsg * 16 * stageRow(p) * (4 + 4 + 2) + 32;
/** Workgroup bytes of fa_bwd_dkv_sgmat.wgsl's dk pass (the larger): Q and dO tiles, two f32 stages, the f16 stage, five per-row arrays, the flags. */
export const bwdSgDkvBytes = (d: number, dv: number, p: BwdSgmatPlan) => 2 * p.bt * (d + 8 + dv + 8) + p.nsg * 16 * stageRow(p) * (4 + 4 + 2) + 5 * 4 * p.bt + 32;

/** Two workgroups per multiprocessor of a 132-SM H100 (WebGPU does not tell the count). */
const MIN_GROUPS = 264;
const env = (name: string): number => Number(typeof process !== 'undefined' ? process.env[name] : undefined);

/**
 * A plan within the adapter's workgroup memory and invocations: 8 subgroups first (more rows
 * or keys share each staged tile), 16-row/key tiles first — on the H100 (run S6, D = 128,
 * 4 subgroups) 32-wide tiles took 77 ms where 16-wide took 46 (twice the S/dP fragments and
 * scores per lane in registers).
 * Unless that leaves the GPU half empty: `units` (16-row or 16-key units over every batch and
 * kv head) over 8 subgroups under MIN_GROUPS workgroups takes 4 — a Llama-3.2-1B training
 * step's dk/dv kernel (S = 2048, 8 kv heads) had 128 workgroups for an H100's 132 SMs.
 * And at head dims ≤ 64 (`headDim`, the larger of D and Dv) 4 come first: on the H100 (run S17,
 * bench/device-s17-b.sh and call C; causal, f16) 4 took 3.25 ms where 8 took 3.34 at the 1B training step's shape
 * (S 2048, 32 heads, D 64) and 23.4 where 8 took 27.0 at B 2, S 8192, 16 heads, D 64; at D 128
 * 8 won (39.3 against 42.0 ms at B 4, S 4096).
 * `PMETAL_FA_BWD_NSG` (4, 8) and `PMETAL_FA_BWD_BT` (16, 32) pin them for benchmarks;
 * `pad` (PMETAL_FA_SGMAT_PAD, the forward's switch) pads the stage rows where that still fits.
 */
export function bwdSgmatPlan(bytes: (p: BwdSgmatPlan) => number, storage: number, maxInvocations: number, units = Infinity, headDim = 128, pad = faSgmatPad()): BwdSgmatPlan | undefined {
  const pinN = env('PMETAL_FA_BWD_NSG');
  const pinT = env('PMETAL_FA_BWD_BT');
  const order = headDim <= 64 || units / 8 < MIN_GROUPS ? [4, 8] : [8, 4];
  for (const nsg of [4, 8].includes(pinN) ? [pinN] : order) {
    if (nsg * 32 > maxInvocations) continue;
    for (const bt of [16, 32].includes(pinT) ? [pinT] : [16, 32]) {
      const p = pad ? { nsg, bt, pad } : { nsg, bt };
      if (bytes(p) <= storage) return p;
    }
  }
  // Padded stages that fit nowhere: the unpadded ones (the same results).
  return pad ? bwdSgmatPlan(bytes, storage, maxInvocations, units, headDim, 0) : undefined;
}

const defines = (d: number, dv: number, p: BwdSgmatPlan) => ({ D: d, DV: dv, NQ: d / 16, NV: dv / 16, NSG: p.nsg, BT: p.bt, NT: p.bt / 16, SPAD: p.pad ?? 0, SWZ: faSgmatSwizzle(), LATE_FIRST: faSgmatLateFirst() });
export const bwdSgDqPipeline = (d: number, dv: number, p: BwdSgmatPlan): PipelineSpec => ({ shader: 'attention/fa_bwd_dq_sgmat.wgsl', defines: defines(d, dv, p) });
export const bwdSgDkvPipeline = (d: number, dv: number, p: BwdSgmatPlan, dvPass: boolean): PipelineSpec => ({ shader: 'attention/fa_bwd_dkv_sgmat.wgsl', defines: { ...defines(d, dv, p), DV_PASS: dvPass } });
