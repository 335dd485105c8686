// Embedding gather, one workgroup a token (a row of y): y[t] = w[ids[t]], copied as raw
// words (bit-exact, NaN payloads included). An id outside [0, vocab) gives a zero row
// (never a read outside w). Rows [v0, v1) of the vocabulary are bound (the launcher splits
// a weight larger than one binding); a token whose id lies in another window is left to that
// window's dispatch, and the zero rows are written by the dispatch with zero_invalid = 1.
// VEC: rows of a multiple of 16 bytes, copied in vec4<u32> words (h and bases in words).
// Otherwise E16 = 1 (f16/bf16): element by element into packed words, the words a row
// shares with its neighbours (odd rows) written half by half with atomics; E16 = 0: f32.
// COUNT (the launcher's choice when this dispatch's ids are all of them): the first workgroup
// also writes the op's `invalid` output, embedding_count.wgsl's count of ids outside
// [0, vocab), so that count is not a dispatch of its own (a decode step's first launch).
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> ids: array<i32>;
#if VEC
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<u32>>;
#elif E16
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<atomic<u32>>;
#else
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
#endif

struct Params {
  rows: u32,
  h: u32,
  groups_x: u32,
  ids_base: u32,
  w_base: u32,
  y_base: u32,
  v0: u32,
  v1: u32,
  vocab: u32,
  zero_invalid: u32,
}
@group(0) @binding(3) var<uniform> p: Params;
#if COUNT
@group(0) @binding(4) var<storage, read_write> invalid: array<i32>;
var<workgroup> bad: atomic<u32>;
#endif

#if E16 && !VEC
// The 16 bits of element e of w.
fn half_w(e: u32) -> u32 {
  return (w[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu;
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * p.groups_x;
#if COUNT
  // Integer counts: the order of the atomics does not matter.
  if (row == 0u) {
    if (lid == 0u) {
      atomicStore(&bad, 0u);
    }
    workgroupBarrier();
    for (var i = lid; i < p.rows; i = i + WG) {
      let x = ids[p.ids_base + i];
      if (x < 0 || u32(x) >= p.vocab) {
        atomicAdd(&bad, 1u);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      invalid[0] = i32(atomicLoad(&bad));
    }
  }
#endif
  if (row >= p.rows) {
    return;
  }
  let id = ids[p.ids_base + row];
  let valid = id >= 0 && u32(id) < p.vocab;
  let mine = valid && u32(id) >= p.v0 && u32(id) < p.v1;
  if (!mine && (valid || p.zero_invalid == 0u)) {
    return;
  }
  // Offset of the source row in the binding; 0 (unused) for a zero row.
  let src = p.w_base + select(0u, (u32(id) - p.v0) * p.h, mine);
  let dst = p.y_base + row * p.h;
#if VEC
  for (var k = lid; k < p.h; k = k + WG) {
    var v = vec4<u32>(0u);
    if (mine) {
      v = w[src + k];
    }
    y[dst + k] = v;
  }
#elif E16
  // Word pairs of the destination row: word k holds row elements 2k − par and 2k + 1 − par.
  let par = dst & 1u;
  let nwords = (p.h + par + 1u) / 2u;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let m0 = j0 >= 0;
    let m1 = u32(j0 + 1) < p.h;
    var lo = 0u;
    var hi = 0u;
    if (mine && m0) {
      lo = half_w(src + u32(j0));
    }
    if (mine && m1) {
      hi = half_w(src + u32(j0 + 1));
    }
    let wd = (dst >> 1u) + k;
    if (m0 && m1) {
      atomicStore(&y[wd], lo | (hi << 16u));
    } else if (m0) {
      atomicAnd(&y[wd], 0xffff0000u);
      atomicOr(&y[wd], lo);
    } else {
      atomicAnd(&y[wd], 0x0000ffffu);
      atomicOr(&y[wd], hi << 16u);
    }
  }
#else
  for (var k = lid; k < p.h; k = k + WG) {
    var v = 0u;
    if (mine) {
      v = w[src + k];
    }
    y[dst + k] = v;
  }
#endif
}
