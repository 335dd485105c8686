// kv_cache_copy ('portable' tier, every pair of dtypes): a workgroup owns up to `tile` new
// tokens of one sequence and copies their k and v rows (Hkv·D and Hkv·Dv elements a token)
// into the cache, 8 elements (one octet) an invocation and iteration, converted from S_DT to
// C_DT on bit patterns only (no float arithmetic that could flush a subnormal: the copy is
// exact up to the one rounding to the cache's dtype). First the workgroup checks the whole
// sequence — 0 ≤ position ≤ capacity − Snew and, paged, every block-table entry its positions
// use names a block of the cache — and an invalid sequence writes nothing, so every index
// below is in range. Head dims are multiples of 8 and every base a multiple of 8 elements
// (the launcher's windows), so an octet is one vec4<u32> of a 16-bit tensor or two of an f32
// one, and no word is shared between invocations. Defines: S_DT (k, v), C_DT (the caches).
const WG: u32 = 64u;

#include "common/convert.wgsl"

struct Params {
  groups: u32,
  groups_x: u32,
  // Workgroups per sequence, and tokens per workgroup.
  tiles: u32,
  tile: u32,
  snew: u32,
  hkv: u32,
  d: u32,
  dv: u32,
  paged: u32,
  smax: u32,
  block_size: u32,
  num_blocks: u32,
  max_blocks: u32,
  capacity: u32,
  // Element offsets of each binding's window.
  k_base: u32,
  v_base: u32,
  kc_base: u32,
  vc_base: u32,
  pos_base: u32,
  table_base: u32,
}

@group(0) @binding(0) var<storage, read> k: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> v: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> kc: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> vc: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> positions: array<i32>;
@group(0) @binding(5) var<storage, read> table: array<i32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> seq_bad_count: atomic<u32>;
var<workgroup> seq_bad_flag: u32;
#include "attention/decode_table_ok.wgsl"

// An octet as the bit patterns of its 8 elements (16-bit ones in the low half of a u32).
struct Oct {
  lo: vec4<u32>,
  hi: vec4<u32>,
}

fn split16(w: vec2<u32>) -> vec4<u32> {
  return vec4<u32>(w.x & 0xffffu, w.x >> 16u, w.y & 0xffffu, w.y >> 16u);
}

fn join16(b: vec4<u32>) -> vec2<u32> {
  return vec2<u32>(b.x | (b.y << 16u), b.z | (b.w << 16u));
}

// One element's bits from S_DT to C_DT: exact conversions, then one round-to-nearest-even.
fn cvt1(x: u32) -> u32 {
#if S_DT == C_DT
  return x;
#elif C_DT == 0
#if S_DT == 1
  return bitcast<u32>(f16_to_f32(x));
#else
  return x << 16u;
#endif
#elif C_DT == 1
#if S_DT == 0
  return f32_to_f16(bitcast<f32>(x));
#else
  return f32_to_f16(bitcast<f32>(x << 16u));
#endif
#else
#if S_DT == 0
  return f32_to_bf16(bitcast<f32>(x));
#else
  return f32_to_bf16(f16_to_f32(x));
#endif
#endif
}

fn cvt4(x: vec4<u32>) -> vec4<u32> {
  return vec4<u32>(cvt1(x.x), cvt1(x.y), cvt1(x.z), cvt1(x.w));
}

fn cvt(o: Oct) -> Oct {
  return Oct(cvt4(o.lo), cvt4(o.hi));
}

// Element e (a multiple of 8) of k or v.
fn load_src(is_v: bool, e: u32) -> Oct {
#if S_DT == 0
  if (is_v) {
    return Oct(v[e / 4u], v[e / 4u + 1u]);
  }
  return Oct(k[e / 4u], k[e / 4u + 1u]);
#else
  var w: vec4<u32>;
  if (is_v) {
    w = v[e / 8u];
  } else {
    w = k[e / 8u];
  }
  return Oct(split16(w.xy), split16(w.zw));
#endif
}

fn store_cache(is_v: bool, e: u32, o: Oct) {
#if C_DT == 0
  if (is_v) {
    vc[e / 4u] = o.lo;
    vc[e / 4u + 1u] = o.hi;
  } else {
    kc[e / 4u] = o.lo;
    kc[e / 4u + 1u] = o.hi;
  }
#else
  let w = vec4<u32>(join16(o.lo), join16(o.hi));
  if (is_v) {
    vc[e / 8u] = w;
  } else {
    kc[e / 8u] = w;
  }
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  let b = gid / p.tiles;
  let tile = gid % p.tiles;

  // The sequence check (the launcher guarantees capacity ≥ Snew ≥ 1).
  let raw = positions[p.pos_base + b];
  let pos_ok = raw >= 0 && u32(raw) <= p.capacity - p.snew;
  let pos = select(0u, u32(raw), pos_ok);
  // The blocks the new tokens land in.
  let tab_ok = table_ok(b, pos, pos + p.snew, lid);
  if (!pos_ok || !tab_ok) {
    return;
  }

  let t0 = tile * p.tile;
  let t1 = min(t0 + p.tile, p.snew);
  let kw = p.d / 8u;
  let per_tok = p.hkv * (kw + p.dv / 8u);
  for (var x = lid; x < (t1 - t0) * per_tok; x = x + WG) {
    let t = t0 + x / per_tok;
    let r = x % per_tok;
    let is_v = r >= p.hkv * kw;
    let hd = select(p.d, p.dv, is_v);
    let rr = select(r, r - p.hkv * kw, is_v);
    let h = rr / (hd / 8u);
    let c = (rr % (hd / 8u)) * 8u;
    let j = pos + t;
    var row: u32;
    if (p.paged != 0u) {
      let blk = u32(table[p.table_base + b * p.max_blocks + j / p.block_size]);
      row = ((blk * p.block_size + j % p.block_size) * p.hkv + h) * hd;
    } else {
      row = ((b * p.hkv + h) * p.smax + j) * hd;
    }
    let src = ((b * p.snew + t) * p.hkv + h) * hd + c + select(p.k_base, p.v_base, is_v);
    store_cache(is_v, row + c + select(p.kc_base, p.vc_base, is_v), cvt(load_src(is_v, src)));
  }
}
