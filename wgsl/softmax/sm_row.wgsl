// What both softmax kernels share about a row (include before the entry point).
//
// causal_limit: how many leading keys query q sees, clamp(q + offset + 1, 0, n), for every
// u32 q < 2^32 − 1 and every i32 offset — never formed as q + offset + 1 in 32 bits, which
// wraps (a queryOffset near 2^31 turned a full row into an empty one). WGSL has no i64:
// offset ≥ 0 compares q + 1 against n − offset instead of adding; offset < 0 takes its
// magnitude as a u32 (exact even for −2^31) and subtracts only when that cannot go below 0.
fn causal_limit(q: u32, offset: i32, n: u32) -> u32 {
  let q1 = q + 1u;
  if (offset >= 0) {
    let o = u32(offset);
    return select(q1 + o, n, o >= n || q1 > n - o);
  }
  let a = u32(-(offset + 1)) + 1u;
  return select(min(n, q1 - a), 0u, q1 <= a);
}

// A quiet NaN from a runtime value (a constant NaN is a shader-creation error in WGSL): the
// value of a visible entry whose row is all −Inf (Σexp = 0), as torch.softmax's 0/0.
fn sm_nan(any: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (any & 0u));
}
