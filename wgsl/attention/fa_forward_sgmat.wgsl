// Flash attention forward on subgroup matrices (f16 q/k/v, f32 accumulation): the
// 'subgroup-matrix' tier of flash_attention_forward (D and Dv multiples of 16, f16→f32
// 16×16×16 matrices, subgroups of exactly 32; src/backend/webgpu/launchers/flash_attention.ts).
//
// Workgroup memory placement. The first H100 runs (2026-12-06) had lse right and o wrong:
// both matrices staged through pstage (the Q slices, P) were read exactly 4 halves = 8 bytes
// before where the lanes wrote them, while the K/V tile loads and the f32 stage were right.
// The indices are right (row·16 + col, offset sg·256, stride 16); what was 8 bytes off is
// where pstage sits. WGSL fixes no placement of workgroup variables, and this kernel then had
// two 4-byte variables (fa_validate.wgsl's cu_seqlens flags) beside its arrays: placed before
// pstage they start it 8 bytes past a 16-byte boundary. A 16×16 f16 load with a stride known
// to keep rows 16-byte aligned (pstage: the constant 16) can be done with ldmatrix, whose
// row addresses must be 16-byte aligned (low bits ignored: 8 bytes early, as seen); the K/V
// tiles use the runtime strides d, dv, which the compiler cannot prove aligned (plain loads,
// any alignment — right, as seen). That explanation fits every observation; the SASS was
// not inspected. The fix does not depend on it being exact: every workgroup variable here is
// a multiple of 16 bytes (the flags padded to 16), so in any order the driver places them
// each starts on a 16-byte boundary (test/wgsl/wgsl.test.ts checks the sizes for every
// subgroup-matrix kernel).
//
// A workgroup of 4 subgroups owns 64 consecutive query positions of one query head (rows
// 16·sg .. 16·sg+15 per subgroup) and walks the block's key range in tiles of 16 keys, twice:
//   pass 1: S = Q·Kᵀ (subgroupMatrixMultiplyAccumulate over D/16 slices), scaled and
//           softcapped, masked, reduced to the exact row max m (sink included);
//   pass 2: the same S again, p = exp(s − m) (0 where masked) — every weight evaluated once
//           at the final max, so there is no rescale at all (the R = 0 case of the bound in
//           src/ops/flash_attention_forward/bounds.ts) — l = Σ p in f32, P rounded to f16
//           (bounds.ts counts that rounding for f16) and O[j] += P · V[:, 16j..16j+15].
// WGSL subgroup matrices have no per-row access, which is why the softmax is not online:
// the extra Q·Kᵀ costs half the matrix work again, where rescaling O would need a round trip
// through workgroup memory per tile. Every matrix loads from workgroup memory: the
// subgroup's Q rows once (slice by slice through its 16×16 f16 stage, zeros past the last
// row, then held as MAXD/16 left fragments), each tile's K and then V rows (one buffer, zeros
// past the block's last key: keys outside the range never reach S or P·V, not even as 0·NaN).
// Loads straight from the tensors would not do: Dawn's robustness skips a whole matrix load
// that may cross the end of its binding (measured on an H100: ragged shapes read zeros).
// Masked keys inside the range have p = 0 exactly. A lane of a subgroup owns half of one row
// (lane / 2): 8 of its 16 scores per tile.
// Head dims, varlen, sinks and softcap are runtime values (Params, as fa_forward.wgsl);
// MAXD (64, 128, 256) bounds D and Dv for the fragment arrays and the K/V tile.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#ifndef MAXD
#define MAXD 128
#endif

const NSG: u32 = 4u;
const WG: u32 = 128u;
const BQ: u32 = 64u;
const BK: u32 = 16u;
const NF: u32 = MAXD / 16;
const LOWEST: f32 = -0x1.fffffep+127f;

#include "common/convert.wgsl"
#include "loss/softcap.wgsl"

@group(0) @binding(0) var<storage, read> q: array<f16>;
@group(0) @binding(1) var<storage, read> k: array<f16>;
@group(0) @binding(2) var<storage, read> v: array<f16>;
@group(0) @binding(3) var<storage, read_write> o: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read> sinks: array<f32>;
@group(0) @binding(6) var<storage, read> cuq: array<i32>;
@group(0) @binding(7) var<storage, read> cuk: array<i32>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_rows.wgsl"

// Per subgroup: S (and at the end each O fragment) as f32 16×16; P (first the Q slices) as
// f16 16×16.
var<workgroup> stage: array<f32, NSG * 256u>;
var<workgroup> pstage: array<f16, NSG * 256u>;
// The K tile [key][d] (row stride d), then the V tile [key][dv] (row stride dv).
var<workgroup> kvtile: array<f16, BK * MAXD>;
// fa_validate.wgsl's flags, each padded to 16 bytes (see the top: placement).
var<workgroup> cu_bad_count16: array<atomic<u32>, 4>;
var<workgroup> cu_bad_flag16: array<u32, 4>;

// The scaled (softcapped) score, or LOWEST where key j is not visible to the row.
fn score(x: f32, j: i32, live: bool, g: RowGeom) -> f32 {
  var s = p.scale * x;
  if (p.has_cap != 0u) {
    s = softcap(s, p.cap, p.inv_cap).x;
  }
  return select(LOWEST, s, live && j >= g.lo && j <= g.hi);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) sg_lane: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  // Workgroups: (row block, query head, batch); rows are positions of one head.
  let blk = gid % p.blocks;
  let h = (gid / p.blocks) % p.hq;
  let bz = gid / (p.blocks * p.hq);
  let kvh = h / p.group;
  let hg = h % p.group;
#include "attention/fa_validate.wgsl" (cu_bad_count=cu_bad_count16[0], cu_bad_flag=cu_bad_flag16[0])

  let r_first = blk * BQ;
  let r_last = min(r_first + BQ, p.rows) - 1u;
  let kstart = row_geom(r_first * p.group + hg, bz, kvh, cu_ok).lo;
  let kend = row_geom(r_last * p.group + hg, bz, kvh, cu_ok).hi;

  let sg = sg_id % NSG;
  let row = sg_lane / 2u;
  let half = sg_lane % 2u;
  let r = r_first + sg * 16u + row;
  let in_rows = r < p.rows;
  let live = in_rows && cu_ok;
  let g = row_geom(min(r, p.rows - 1u) * p.group + hg, bz, kvh, cu_ok);
  let kb = p.k_base + bz * p.k_sb + kvh * p.k_sh;
  let vb = p.v_base + bz * p.v_sb + kvh * p.v_sh;

  // The subgroup's Q rows as NF left fragments: 16 columns at a time through its P stage.
  var qf: array<subgroup_matrix_left<f16, 16, 16>, NF>;
  for (var i = 0u; i < NF; i = i + 1u) {
    if (i * 16u < p.d) {
      for (var c = 0u; c < 8u; c = c + 1u) {
        let col = half * 8u + c;
        var x = f16(0.0);
        if (live) {
          x = q[g.q + i * 16u + col];
        }
        pstage[sg * 256u + row * 16u + col] = x;
      }
      workgroupBarrier();
      qf[i] = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pstage, sg * 256u, 16u);
      workgroupBarrier();
    }
  }

  // Pass 1: the row max (the sink counts as a logit).
  var m = LOWEST;
  if (p.has_sinks != 0u && live && !g.pad) {
    m = sinks[p.sink_base + h];
  }
  for (var k0 = kstart; k0 <= kend; k0 = k0 + i32(BK)) {
#include "attention/fa_sgmat_s.wgsl"
    for (var c = 0u; c < 8u; c = c + 1u) {
      let col = half * 8u + c;
      m = max(m, score(stage[sg * 256u + row * 16u + col], k0 + i32(col), live, g));
    }
  }
  m = max(m, subgroupShuffleXor(m, 1u));

  // Pass 2: weights at the final max, their sum and P·V.
  var l = 0.0;
  if (p.has_sinks != 0u && live && !g.pad && half == 0u) {
    l = exp(sinks[p.sink_base + h] - m);
  }
  var acc: array<subgroup_matrix_result<f32, 16, 16>, NF>;
  for (var j = 0u; j < NF; j = j + 1u) {
    acc[j] = subgroup_matrix_result<f32, 16, 16>();
  }
  for (var k0 = kstart; k0 <= kend; k0 = k0 + i32(BK)) {
#include "attention/fa_sgmat_s.wgsl"
    for (var c = 0u; c < 8u; c = c + 1u) {
      let col = half * 8u + c;
      let x = score(stage[sg * 256u + row * 16u + col], k0 + i32(col), live, g);
      let pe = select(0.0, exp(x - m), x != LOWEST);
      l = l + pe;
      // Exact round-to-nearest-even (WGSL's f16() may round either way; the bound counts one
      // rounding to nearest).
      pstage[sg * 256u + row * 16u + col] = bitcast<vec2<f16>>(f32_to_f16(pe)).x;
    }
    // The V tile replaces the K tile (every subgroup is past its S: the barrier in fa_sgmat_s).
    // 8 consecutive halves per invocation, as the K tile (fa_sgmat_s.wgsl says why).
    for (var t = lid; t < BK * p.dv / 8u; t = t + WG) {
      let e = t * 8u;
      let j = k0 + i32(e / p.dv);
      for (var c = 0u; c < 8u; c = c + 1u) {
        var x = f16(0.0);
        if (j <= kend) {
          x = v[vb + u32(j) * p.v_ss + e % p.dv + c];
        }
        kvtile[e + c] = x;
      }
    }
    workgroupBarrier();
    let pm = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pstage, sg * 256u, 16u);
    for (var j = 0u; j < NF; j = j + 1u) {
      if (j * 16u < p.dv) {
        let vm = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&kvtile, j * 16u, p.dv);
        acc[j] = subgroupMatrixMultiplyAccumulate(pm, vm, acc[j]);
      }
    }
  }
  l = l + subgroupShuffleXor(l, 1u);

  // o = O / l through the stage, 8 columns per lane as 4 packed words (exact RNE).
  let nan = quiet_nan(lid);
  let empty = l == 0.0;
  workgroupBarrier();
  for (var j = 0u; j < NF; j = j + 1u) {
    if (j * 16u < p.dv) {
      subgroupMatrixStore<row_major>(&stage, sg * 256u, acc[j], 16u);
      workgroupBarrier();
      if (in_rows) {
        for (var c = 0u; c < 8u; c = c + 2u) {
          let col = half * 8u + c;
          var x = vec2<f32>(stage[sg * 256u + row * 16u + col], stage[sg * 256u + row * 16u + col + 1u]) / l;
          x = select(x, vec2<f32>(0.0), empty);
          x = select(x, vec2<f32>(nan), !cu_ok);
          o[(g.o + j * 16u + col) / 2u] = f32_to_f16(x.x) | (f32_to_f16(x.y) << 16u);
        }
      }
      workgroupBarrier();
    }
  }
  if (in_rows && half == 0u) {
    let ninf = bitcast<f32>(0xff800000u | (lid & 0u));
    lse[g.lse] = select(select(m + log(l), ninf, empty), nan, !cu_ok);
  }
}
