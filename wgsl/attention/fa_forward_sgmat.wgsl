// Flash attention forward on subgroup matrices (f16 q/k/v, f32 accumulation): the
// 'subgroup-matrix' tier of flash_attention_forward for head dims D, Dv that are multiples of
// 16 and tensors whose offsets and strides are multiples of 8 halves (16-byte rows), on
// adapters with f16→f32 16×16×16 matrices and subgroups of exactly 32
// (src/backend/webgpu/launchers/flash_attention_sgmat.ts picks the pipeline).
//
// A workgroup of 4 subgroups owns 64 consecutive query positions of one query head (rows
// 16·sg .. 16·sg+15 per subgroup) and walks the block's key range in tiles of BK keys, FA-2
// style with a lazy online softmax:
//   S = Q·Kᵀ for the tile (Q held as D/16 left fragments, K staged in workgroup memory), into
//   the subgroup's f32 stage; each lane owns half of one row (BK/2 scores): scale, softcap,
//   mask, the tile's row max; the running max m moves only when the tile's max exceeds it by
//   more than TAU (bounds.ts RESCALE_SLACK), so p = exp(s − m) ≤ e^TAU always fits f16;
//   P rounded to f16 (the hardware conversion) into the subgroup's P stage, l += Σ p in f32;
//   when some row's m moved after it had weights (workgroup-uniform through an atomic count
//   and workgroupUniformLoad), every O fragment goes through the stage once to be scaled
//   row by row (WGSL subgroup matrices have no per-row access) — rare after the first tiles;
//   O += P·V (V staged like K).
// Every loop over fragments is unrolled by the preprocessor (common/frags.wgsl): fragments
// are named variables and every matrix offset and stride is a constant expression of sg, so
// Dawn's robustness transform proves the loads in range. D, DV, BK are pipeline constants.
// Workgroup arrays are multiples of 16 bytes (test/wgsl checks), so each starts 16-byte
// aligned whatever order the driver places them in (16×16 f16 loads may use ldmatrix).
// Keys outside the block's range never reach S or P·V (zeros in the tiles; masked scores
// give p = 0 exactly); head dims, varlen, sinks and softcap as fa_forward.wgsl.
// PREFETCH (not with KV_SHARED; the launcher's default): the next tile's K and V words are
// loaded into registers (KPER, VPER words an invocation) right after this tile is staged, and
// stored to workgroup memory at the next tile's start, so global latency overlaps S, the
// softmax and P·V (H100, run S11: 12–13% faster at D = 64).
// Defines: D, DV, NQ = D/16, NV = DV/16, BK (16, 32 or 64), NKF = BK/16, NSG (subgroups: 4 or
// 8), KV_SHARED (V reuses the K tile's buffer, for adapters with little workgroup memory), KT
// (that buffer's halves), SPAD (0 or 8: the stages' row padding), PREFETCH, KPER, VPER, SWZ (fa_sg_rot.wgsl), LATE_FIRST (fa_sg_block.wgsl), STAGE (0; 1..3 leave parts out for bench
// --fa-ceiling only: results are wrong then).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

// Defaults (D = Dv = 64, 4 subgroups, 32-key tiles) so the file compiles on its own.
#ifndef D
#define D 64
#define DV 64
#define NQ 4
#define NV 4
#define BK 32
#define NKF 2
#define NSG 4
#define KT 2304
#define SWZ 1
#define LATE_FIRST 0
#endif
// The prefetch needs K and V apart (the launcher never sets both).
#if PREFETCH && !KV_SHARED
#define PF 1
#else
#define PF 0
#endif
#ifndef KPER
// PREFETCH's words per invocation at those defaults (32 keys × 8 words over 128 invocations).
#define KPER 2
#define VPER 2
#endif

const WG: u32 = NSG * 32u;
const BQ: u32 = NSG * 16u;
// Padded tile rows (8 halves): 16-byte aligned, and consecutive rows start in different banks.
const LDK: u32 = D + 8u;
const LDV: u32 = DV + 8u;
// Per subgroup: the f32 stage (16 rows × BK scores, or one 16×16 O fragment) and the f16 P
// stage (16 × BK, or one 16×16 Q slice), rows SLD / PLD apart. SPAD (8, PMETAL_FA_SGMAT_PAD)
// pads each row by 8 elements: unpadded, a row is a multiple of 128 bytes, so the matrix store
// of S (rows 0–3 of a half-warp's accumulator pairs) meets 4 rows in one bank group and a
// 16×16 f16 load of P reads 8 rows from one (4- to 8-way conflicts at BK 32 and 64); padded,
// both are conflict-free, the lanes' rotated reads of S stay so, their f16 writes of P meet
// 2 words a bank (test/wgsl/fa_stage_banks.test.ts counts each access's bank conflicts).
#ifndef SPAD
#define SPAD 0
#endif
const SLD: u32 = BK + SPAD;
const PLD: u32 = BK + SPAD;
const SSZ: u32 = 16u * SLD;
const PSZ: u32 = 16u * PLD;
const HB: u32 = BK / 2u;
const TAU: f32 = 8.0;
const LOWEST: f32 = -0x1.fffffep+127f;

#include "common/convert.wgsl"
#include "loss/softcap.wgsl"

@group(0) @binding(0) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> o: array<u32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read> sinks: array<f32>;
@group(0) @binding(6) var<storage, read> cuq: array<i32>;
@group(0) @binding(7) var<storage, read> cuk: array<i32>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_rows.wgsl"

var<workgroup> ktile: array<f16, KT>;
#if KV_SHARED
#define VT ktile
#else
var<workgroup> vtile: array<f16, BK * LDV>;
#define VT vtile
#endif
#if PF
var<private> kreg: array<vec4<u32>, KPER>;
var<private> vreg: array<vec4<u32>, VPER>;
#endif
var<workgroup> stage: array<f32, NSG * SSZ>;
var<workgroup> pstage: array<f16, NSG * PSZ>;
// fa_validate.wgsl's flags and the rescale counts (one per tile parity), each padded to 16 bytes.
var<workgroup> cu_bad_count16: array<atomic<u32>, 4>;
var<workgroup> cu_bad_flag16: array<u32, 4>;
var<workgroup> rescale_count: array<atomic<u32>, 4>;

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
#include "attention/fa_sg_block.wgsl"
#include "attention/fa_sg_rot.wgsl"
  // For the mask-free tiles: every row of the block a live query, the largest lo, the smallest hi.
  let block_full = cu_ok && r_first + BQ <= p.rows;
  let lo_last = row_geom(r_last * p.group + hg, bz, kvh, cu_ok).lo;
  let hi_first = row_geom(r_first * p.group + hg, bz, kvh, cu_ok).hi;

#include "common/frags.wgsl" (FRAG=attention/fa_sg_qdecl.wgsl, N=NQ, DST=qf)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qload.wgsl, N=NQ, SRC=q, DST=qf, OFF=g.q)
#include "common/frags.wgsl" (FRAG=attention/fa_sg_odecl.wgsl, N=NV, ACC=o)

  // The sink counts as a logit: it starts the running max, and l with weight 1 (one lane).
  var m = LOWEST;
  var l = 0.0;
  if (p.has_sinks != 0u && live && !g.pad) {
    m = sinks[p.sink_base + h];
    l = select(0.0, 1.0, half == 0u);
  }
  var parity = 0u;
#if PF && STAGE < 2
#include "attention/fa_sg_fetch.wgsl" (NAME=k, REG=kreg, PER=KPER, DW=(D / 8u), KN=kstart)
#include "attention/fa_sg_fetch.wgsl" (NAME=v, REG=vreg, PER=VPER, DW=(DV / 8u), KN=kstart)
#endif
  for (var k0 = kstart; k0 <= kend; k0 = k0 + i32(BK)) {
    workgroupBarrier();
#if STAGE >= 2
    // The ceiling stages without tile loads still bind k and v (a read that never happens).
    if (p.groups == 0xffffffffu) {
      ktile[0] = bitcast<vec2<f16>>(k[0].x).x + bitcast<vec2<f16>>(v[0].x).x;
    }
#elif PF
#include "attention/fa_sg_stash.wgsl" (REG=kreg, PER=KPER, ARR=ktile, LD=LDK, DW=(D / 8u))
#include "attention/fa_sg_stash.wgsl" (REG=vreg, PER=VPER, ARR=vtile, LD=LDV, DW=(DV / 8u))
#else
#include "attention/fa_sg_tile.wgsl" (NAME=k, ARR=ktile, LD=LDK, DW=(D / 8u))
#if !KV_SHARED
#include "attention/fa_sg_tile.wgsl" (NAME=v, ARR=vtile, LD=LDV, DW=(DV / 8u))
#endif
#endif
    workgroupBarrier();
#if PF && STAGE < 2
    if (k0 + i32(BK) <= kend) {
      let kn = k0 + i32(BK);
#include "attention/fa_sg_fetch.wgsl" (NAME=k, REG=kreg, PER=KPER, DW=(D / 8u), KN=kn)
#include "attention/fa_sg_fetch.wgsl" (NAME=v, REG=vreg, PER=VPER, DW=(DV / 8u), KN=kn)
    }
#endif
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_s.wgsl, NJ=NKF, LEFT=qf, TILE=ktile, LD=LDK, NL=NQ, DST=stage, STRIDE=SLD)
    workgroupBarrier();

    // The lane's half row: scores, the tile's row max, the lazy max update, weights. A tile
    // whose every key is visible to every row of the block (workgroup-uniform: lo grows and
    // hi grows with the row) skips the mask.
    let full = block_full && k0 >= lo_last && k0 + i32(BK) - 1 <= hi_first;
    var sc: array<f32, HB>;
    var mt = LOWEST;
#if STAGE == 1 || STAGE == 3
    mt = 0.0;
#else
    if (full) {
      for (var c = 0u; c < HB; c = c + 1u) {
        var x = p.scale * stage[sg * SSZ + row * SLD + half * HB + ((c + rot) % HB)];
        if (p.has_cap != 0u) {
          x = softcap(x, p.cap, p.inv_cap).x;
        }
        sc[c] = x;
        mt = max(mt, x);
      }
    } else {
      for (var c = 0u; c < HB; c = c + 1u) {
        let col = half * HB + ((c + rot) % HB);
        sc[c] = score(stage[sg * SSZ + row * SLD + col], k0 + i32(col), live, g);
        mt = max(mt, sc[c]);
      }
    }
#endif
    mt = max(mt, subgroupShuffleXor(mt, 1u));
    var alpha = 1.0;
    if (mt > m + TAU) {
      // exp(LOWEST − mt) = 0: a row that had nothing (l = 0, O = 0) stays so.
      alpha = exp(m - mt);
      if (m != LOWEST) {
        atomicAdd(&rescale_count[parity], 1u);
      }
      m = mt;
      l = l * alpha;
    }
#if STAGE == 1 || STAGE == 3
    for (var c = 0u; c < HB; c = c + 1u) {
      pstage[sg * PSZ + row * PLD + half * HB + ((c + rot) % HB)] = f16(0.015625);
    }
    l = l + 1.0;
#else
    for (var c = 0u; c < HB; c = c + 1u) {
      let x = sc[c];
      // Masked scores (LOWEST) give exactly 0; in a full tile none is.
      let pe = select(0.0, exp(x - m), x != LOWEST);
      l = l + pe;
      // The hardware conversion: WGSL lets it round either way (one of the two neighbours),
      // which the f16 bound counts (bounds.ts: faithful rounding of P), at a tenth of the ALU
      // work of an exact round-to-nearest-even in integer ops.
      pstage[sg * PSZ + row * PLD + half * HB + ((c + rot) % HB)] = f16(pe);
    }
#endif
#if KV_SHARED && STAGE < 2
    // Every subgroup is past its S (the barrier above): V replaces K.
#include "attention/fa_sg_tile.wgsl" (NAME=v, ARR=ktile, LD=LDV, DW=(DV / 8u))
#endif
    // A barrier (P, V visible) that also makes the rescale decision workgroup-uniform.
    let rescale = workgroupUniformLoad(&rescale_count[parity]) != 0u;
    if (lid == 0u) {
      // The other parity's count was last read before this tile's first barrier.
      atomicStore(&rescale_count[parity ^ 1u], 0u);
    }
    if (rescale) {
#include "common/frags.wgsl" (FRAG=attention/fa_sg_rescale.wgsl, N=NV)
    }
#include "common/frags_j.wgsl" (FRAGJ=attention/fa_sg_pv.wgsl, NJ=NKF, PSTRIDE=PLD, RT=VT, RLD=LDV, NR=NV, ACC=o)
    parity = parity ^ 1u;
  }
  l = l + subgroupShuffleXor(l, 1u);

  // o = O / l, lse = m + log l.
  let nan = quiet_nan(lid);
  let empty = l == 0.0;
  workgroupBarrier();
#include "common/frags.wgsl" (FRAG=attention/fa_sg_out.wgsl, N=NV)
  if (in_rows && half == 0u) {
    let ninf = bitcast<f32>(0xff800000u | (lid & 0u));
    lse[g.lse] = select(select(m + log(l), ninf, empty), nan, !cu_ok);
  }
}
