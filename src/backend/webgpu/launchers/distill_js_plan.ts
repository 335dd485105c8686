import { OptionsError } from '../../../errors.js';

/**
 * How loss/distill.wgsl runs js (issue 12): its log((p + q)/2) needs both lse before the
 * terms, so every row is read twice. With one workgroup a row (groups 0, the default) ~1000
 * rows of 0.5 MB (f16) are in flight on an H100, and a row is gone from its 50 MB L2 before
 * the second read. The persistent plan launches only `groups` workgroups that walk rows
 * r = wid, wid + groups, …, each reading its row's two passes back to back, so about
 * groups × row-pair bytes are live between a row's first and second read — within L2 for a
 * small enough count, which the bench picks (`bench --variants --op fused_distill_loss`).
 * `inflight`: word pairs of each side an invocation loads before it absorbs any (the same
 * words in the same order, so the same sums for every value); few workgroups an SM need more
 * loads in flight each to cover memory latency.
 * Run S14 on an H100 (4096 × 128256, f16; bench/results/2026-12-07-S14/call-b): one workgroup
 * a row 1.748 ms, with 4 pairs in flight **1.527** (now the default), persistent G = 264 /
 * 132 / 64 / 32: 3.38 / 6.34 / 11.9 / 22.5 ms — with fewer rows in flight js's exp/log work
 * (about six a logit pair) runs on too few lanes, so L2 reuse cannot pay for it; the
 * persistent plan stays a variant.
 */
export interface DistillJsPlan {
  /** 0: one workgroup a row; N: N workgroups walking the rows (grid-stride). */
  groups: number;
  inflight: 1 | 2 | 4 | 8;
}

/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension: a persistent grid stays one dimension. */
export const MAX_JS_GROUPS = 65535;
const INFLIGHT = [1, 2, 4, 8] as const;

const env = (name: string): string | undefined => (typeof process !== 'undefined' ? process.env[name] : undefined);

/**
 * PMETAL_DISTILL_JS_GROUPS=0|N (default 0) and PMETAL_DISTILL_JS_INFLIGHT=1|2|4|8 (default 4:
 * the same sums as 1, 13% faster with one workgroup a row on the H100). Read at each launch;
 * a malformed value is an OptionsError naming the switch (the arguments override the environment:
 * tests).
 */
export function distillJsPlan(groupsEnv = env('PMETAL_DISTILL_JS_GROUPS'), inflightEnv = env('PMETAL_DISTILL_JS_INFLIGHT')): DistillJsPlan {
  let groups = 0;
  if (groupsEnv !== undefined && groupsEnv !== '') {
    if (!/^[0-9]+$/.test(groupsEnv) || Number(groupsEnv) > MAX_JS_GROUPS) {
      throw new OptionsError(`[fused_distill_loss] PMETAL_DISTILL_JS_GROUPS: expected 0 (one workgroup a row) or a workgroup count 1–${MAX_JS_GROUPS}, got '${groupsEnv}'`);
    }
    groups = Number(groupsEnv);
  }
  let inflight: DistillJsPlan['inflight'] = 4;
  if (inflightEnv !== undefined && inflightEnv !== '') {
    const n = INFLIGHT.find((x) => String(x) === inflightEnv);
    if (n === undefined) throw new OptionsError(`[fused_distill_loss] PMETAL_DISTILL_JS_INFLIGHT: expected one of ${INFLIGHT.join(', ')}, got '${inflightEnv}'`);
    inflight = n;
  }
  return { groups, inflight };
}
