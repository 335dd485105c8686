// Row geometry of the attention kernels (include after Params `p` and the cuq/cuk bindings).
// Problem row r of a (batch, kv head) is query position r / G of head kvh·G + r % G, so the
// G query heads that share a kv head share its key/value tiles. A row sees the keys
// [lo, hi] (key positions in the bound k/v: packed positions for varlen); lo/hi are clamped
// so they never decrease from one row to the next — a block's key range is then that of its
// first row's lo and its last row's hi. keys = false (malformed cu_seqlens, see
// fa_validate.wgsl) gives the row's positions only, with no keys: cu is never read then.

struct RowGeom {
  lo: i32,
  hi: i32,
  // Element offsets of the row in q and o, its lse index and its query head.
  q: u32,
  o: u32,
  lse: u32,
  h: u32,
  // A packed token past the last sequence (varlen): not a query — o = 0, lse = −∞, no sink.
  pad: bool,
}

// The sequence of packed query token t < cuq[B]: the largest b with cuq[b] ≤ t (empty
// sequences are skipped). At most log2(B) + 1 steps.
fn seq_of(t: u32) -> u32 {
  var lo = 0u;
  var hi = p.batches - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (u32(cuq[mid]) <= t) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return lo;
}

fn row_geom(r: u32, bz: u32, kvh: u32, keys: bool) -> RowGeom {
  let h = kvh * p.group + r % p.group;
  let s = r / p.group;
  var g: RowGeom;
  g.h = h;
  g.lo = 0;
  g.hi = -1;
  g.pad = false;
  if (p.varlen != 0u) {
    g.q = p.q_base + s * p.q_ss + h * p.q_sh;
    g.o = p.o_base + s * p.o_ss + h * p.o_sh;
    g.lse = p.lse_base + h * p.sq + s;
    if (!keys) {
      return g;
    }
    let nb = p.batches;
    if (s >= u32(cuq[nb])) {
      // A padding token past the last sequence: sees nothing.
      g.lo = cuk[nb];
      g.hi = cuk[nb] - 1;
      g.pad = true;
      return g;
    }
    let b = seq_of(s);
    let q0 = cuq[b];
    let k0 = cuk[b];
    let sqb = cuq[b + 1u] - q0;
    let skb = cuk[b + 1u] - k0;
    let pos = (i32(s) - q0) + select(skb - sqb, p.offset, p.has_offset == 1u);
    g.lo = k0 + clamp(pos - p.left, 0, skb);
    g.hi = k0 + clamp(pos + p.right, -1, skb - 1);
    return g;
  }
  g.q = p.q_base + bz * p.q_sb + s * p.q_ss + h * p.q_sh;
  g.o = p.o_base + bz * p.o_sb + s * p.o_ss + h * p.o_sh;
  g.lse = p.lse_base + (bz * p.hq + h) * p.sq + s;
  if (!keys) {
    return g;
  }
  let sk = i32(p.sk);
  let pos = i32(s) + select(sk - i32(p.sq), p.offset, p.has_offset == 1u);
  g.lo = clamp(pos - p.left, 0, sk);
  g.hi = clamp(pos + p.right, -1, sk - 1);
  return g;
}
