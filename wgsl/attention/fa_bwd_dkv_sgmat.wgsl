// Flash attention backward, dk (DV_PASS = 0) or dv (DV_PASS = 1), on subgroup matrices (f16;
// src/backend/webgpu/launchers/flash_attention_backward_sgmat.ts). A workgroup of NSG
// subgroups owns 16·NSG keys of one (batch, kv head); each subgroup holds its 16 keys' K rows
// (and, for dk, V rows) as left fragments and walks the query rows that can see the block
// (rows of every query head of the kv head; varlen: of the sequences its keys belong to) in
// tiles of BT rows, skipping tiles whose key range misses the block, as fa_bwd_dkv.wgsl.
// Per tile: the rows' Q (and dO) staged in padded rows with their (lse, D) and key ranges;
// Sᵀ = K·Qᵀ (and dPᵀ = V·dOᵀ) into f32 stages; per lane half a key row: P = exp(z − lse) (dv)
// or dS = P·(dP − D)·∂z/∂x (dk), rounded to f16 into the P stage; dV += Pᵀ·dO or dK += dSᵀ·Q.
// dk = scale·dK. Keys past the last sequence (varlen) get 0; malformed cu_seqlens NaN.
// Deterministic: fixed order. Defines: D, DV, NQ, NV, NSG, BT (rows per tile), NT = BT/16, SPAD (fa_bwd_sg_head.wgsl), SWZ (fa_sg_rot.wgsl),
// DV_PASS.
#include "attention/fa_bwd_sg_head.wgsl"
#include "attention/fa_seqk.wgsl"

var<workgroup> qtile: array<f16, BT * LDK>;
var<workgroup> dotile: array<f16, BT * LDV>;
var<workgroup> stage: array<f32, NSG * SSZ>;
#if DV_PASS == 0
var<workgroup> stage2: array<f32, NSG * SSZ>;
#endif
var<workgroup> pstage: array<f16, NSG * PSZ>;
var<workgroup> rlo: array<i32, BT>;
var<workgroup> rhi: array<i32, BT>;
var<workgroup> rld: array<vec2<f32>, BT>;
var<workgroup> rq: array<u32, BT>;
var<workgroup> ro: array<u32, BT>;
var<workgroup> cu_bad_count16: array<atomic<u32>, 4>;
var<workgroup> cu_bad_flag16: array<u32, 4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) sg_lane: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  let kblk = gid % p.blocks;
  let kvh = (gid / p.blocks) % p.hkv;
  let bz = gid / (p.blocks * p.hkv);
#include "attention/fa_validate.wgsl" (cu_bad_count=cu_bad_count16[0], cu_bad_flag=cu_bad_flag16[0])

  let sg = sg_id % NSG;
  let row = sg_lane / 2u;
  let half = sg_lane % 2u;
#include "attention/fa_sg_rot.wgsl"
  let j0 = kblk * NSG * 16u;
  let j1 = min(j0 + NSG * 16u, p.sk) - 1u;
  let jk = j0 + sg * 16u + row;
  let kb = p.k_base + bz * p.k_sb + kvh * p.k_sh;
  let vb = p.v_base + bz * p.v_sb + kvh * p.v_sh;

#include "attention/fa_bwd_keyrows.wgsl" (KEY=jk)
  // fa_sg_qload.wgsl reads a row only where `live`.
  let live = key_ok;
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qdecl.wgsl, N=NQ, DST=kf)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qload.wgsl, N=NQ, SRC=k, DST=kf, OFF=(kb + jk * p.k_ss))
#if DV_PASS
#include "common/frags.wgsl" (FRAG=attention/fa_sg_odecl.wgsl, N=NV, ACC=a)
#else
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qdecl.wgsl, N=NV, DST=vf)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qload.wgsl, N=NV, SRC=v, DST=vf, OFF=(vb + jk * p.v_ss))
#include "common/frags.wgsl" (FRAG=attention/fa_sg_odecl.wgsl, N=NQ, ACC=a)
#endif

  for (var rb0 = ra; rb0 < rb; rb0 = rb0 + BT) {
    let rb1 = min(rb0 + BT, rb) - 1u;
    // Skip tiles whose rows see none of these keys (key ranges are monotone in the row).
    if (row_geom(rb1, bz, kvh, true).hi < i32(j0) || row_geom(rb0, bz, kvh, true).lo > i32(j1)) {
      continue;
    }
    workgroupBarrier();
#include "attention/fa_bwd_rowdata.wgsl" (NROWS=BT)
    workgroupBarrier();
    // Q and dO rows of the tile (zeros past rb).
    for (var t = lid; t < BT * (D / 8u); t = t + WG) {
      let tt = t / (D / 8u);
      let e8 = t % (D / 8u);
      var w = vec4<u32>(0u);
      if (rb0 + tt < rb) {
        w = q[rq[tt] / 8u + e8];
      }
#include "attention/fa_sg_put8.wgsl" (ARR=qtile, AT=(tt * LDK + e8 * 8u))
    }
    for (var t = lid; t < BT * (DV / 8u); t = t + WG) {
      let tt = t / (DV / 8u);
      let e8 = t % (DV / 8u);
      var w = vec4<u32>(0u);
      if (rb0 + tt < rb) {
        w = dO[ro[tt] / 8u + e8];
      }
#include "attention/fa_sg_put8.wgsl" (ARR=dotile, AT=(tt * LDV + e8 * 8u))
    }
    workgroupBarrier();
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_s.wgsl, NJ=NT, LEFT=kf, TILE=qtile, LD=LDK, NL=NQ, DST=stage, STRIDE=SLD)
#if DV_PASS == 0
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_s.wgsl, NJ=NT, LEFT=vf, TILE=dotile, LD=LDV, NL=NV, DST=stage2, STRIDE=SLD)
#endif
    workgroupBarrier();
    for (var c = 0u; c < HB; c = c + 1u) {
      let t = half * HB + ((c + rot) % HB);
      var val = 0.0;
      if (key_ok && i32(jk) >= rlo[t] && i32(jk) <= rhi[t]) {
        let e = sg * SSZ + row * SLD + t;
        let zs = logit(stage[e]);
        let pp = exp(zs.x - rld[t].x);
#if DV_PASS
        val = pp;
#else
        val = pp * (stage2[e] - rld[t].y) * zs.y;
#endif
      }
      pstage[sg * PSZ + row * PLD + t] = to_f16(val);
    }
    workgroupBarrier();
#if DV_PASS
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_pv.wgsl, NJ=NT, PSTRIDE=PLD, RT=dotile, RLD=LDV, NR=NV, ACC=a)
#else
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_pv.wgsl, NJ=NT, PSTRIDE=PLD, RT=qtile, RLD=LDK, NR=NQ, ACC=a)
#endif
  }

  let nan = quiet_nan(lid);
  workgroupBarrier();
#if DV_PASS
#include "common/frags.wgsl" (FRAG=attention/fa_sg_store.wgsl, N=NV, ACC=a, MUL=1.0, OUTOFF=(p.out_base + bz * p.v_sb + jk * p.v_ss + kvh * p.v_sh), WRITE=(jk < p.sk), BAD=!cu_ok)
#else
#include "common/frags.wgsl" (FRAG=attention/fa_sg_store.wgsl, N=NQ, ACC=a, MUL=p.scale, OUTOFF=(p.out_base + bz * p.k_sb + jk * p.k_ss + kvh * p.k_sh), WRITE=(jk < p.sk), BAD=!cu_ok)
#endif
}
