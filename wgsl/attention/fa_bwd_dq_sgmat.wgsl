// Flash attention backward, dq, on subgroup matrices (f16; the 'subgroup-matrix' tier of
// flash_attention_backward, src/backend/webgpu/launchers/flash_attention_backward_sgmat.ts).
// A workgroup of NSG subgroups owns 16·NSG consecutive query positions of one query head, as
// fa_forward_sgmat.wgsl, with Q and dO held as left fragments; it walks the block's key range
// in tiles of BT keys (K, V staged in padded rows): S = Q·Kᵀ and dP = dO·Vᵀ on the matrix units
// into f32 stages; per lane half a row: P = exp(z − lse) (0 where the key is not visible),
// dS = P·(dP − D)·∂z/∂x, rounded to f16 (as FA-2's CUDA kernels do: |dS| must stay below
// 65504; the bound counts the rounding) into the P stage; dQ += dS·K (K's tile rows as the
// right operand). dq = scale·dQ. Deterministic: fixed order. Rows past the last query write
// nothing; malformed cu_seqlens give NaN. Defines: D, DV, NQ = D/16, NV = DV/16, NSG, BT
// (keys per tile, 16 or 32), NT = BT/16, SPAD (fa_bwd_sg_head.wgsl), SWZ (fa_sg_rot.wgsl), LATE_FIRST (fa_sg_block.wgsl).
#include "attention/fa_bwd_sg_head.wgsl"

const BQ: u32 = NSG * 16u;

var<workgroup> ktile: array<f16, BT * LDK>;
var<workgroup> vtile: array<f16, BT * LDV>;
var<workgroup> stage: array<f32, NSG * SSZ>;
var<workgroup> stage2: array<f32, NSG * SSZ>;
var<workgroup> pstage: array<f16, NSG * PSZ>;
var<workgroup> cu_bad_count16: array<atomic<u32>, 4>;
var<workgroup> cu_bad_flag16: array<u32, 4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) sg_lane: u32) {
#include "attention/fa_sg_block.wgsl"
#include "attention/fa_sg_rot.wgsl"
  var lsed = vec2<f32>(0.0);
  if (live && g.lo <= g.hi) {
    lsed = ld[g.lse];
  }

#include "common/frags.wgsl" (FRAG=attention/fa_sg_qdecl.wgsl, N=NQ, DST=qf)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qload.wgsl, N=NQ, SRC=q, DST=qf, OFF=g.q)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qdecl.wgsl, N=NV, DST=df)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qload.wgsl, N=NV, SRC=dO, DST=df, OFF=g.o)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_odecl.wgsl, N=NQ, ACC=a)

  for (var k0 = kstart; k0 <= kend; k0 = k0 + i32(BT)) {
    workgroupBarrier();
#include "attention/fa_sg_tile.wgsl" (NAME=k, ARR=ktile, LD=LDK, DW=(D / 8u), BK=BT)
#include "attention/fa_sg_tile.wgsl" (NAME=v, ARR=vtile, LD=LDV, DW=(DV / 8u), BK=BT)
    workgroupBarrier();
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_s.wgsl, NJ=NT, LEFT=qf, TILE=ktile, LD=LDK, NL=NQ, DST=stage, STRIDE=SLD)
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_s.wgsl, NJ=NT, LEFT=df, TILE=vtile, LD=LDV, NL=NV, DST=stage2, STRIDE=SLD)
    workgroupBarrier();
    for (var c = 0u; c < HB; c = c + 1u) {
      let col = half * HB + ((c + rot) % HB);
      let j = k0 + i32(col);
      var ds = 0.0;
      if (live && j >= g.lo && j <= g.hi) {
        let e = sg * SSZ + row * SLD + col;
        let zs = logit(stage[e]);
        ds = exp(zs.x - lsed.x) * (stage2[e] - lsed.y) * zs.y;
      }
      pstage[sg * PSZ + row * PLD + col] = to_f16(ds);
    }
    workgroupBarrier();
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_pv.wgsl, NJ=NT, PSTRIDE=PLD, RT=ktile, RLD=LDK, NR=NQ, ACC=a)
  }

  let nan = quiet_nan(lid);
  workgroupBarrier();
#include "common/frags.wgsl" (FRAG=attention/fa_sg_store.wgsl, N=NQ, ACC=a, MUL=p.scale, OUTOFF=(p.out_base + (g.q - p.q_base)), WRITE=in_rows, BAD=!cu_ok)
}
