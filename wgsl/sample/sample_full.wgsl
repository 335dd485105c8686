// sample: the draw of a row over its whole vocabulary (sample_select.wgsl's `full` rows: no
// top-k, or k > KC), on the keys sample_chunk stored. The kept prefix of the order (key
// descending, id ascending) is described by a boundary (K, r): every key > K plus the r
// lowest ids of key K (r = ALL: all of them; (0, 0) keeps everything):
//   top-k  radix select on counts, 8 bits a pass (4 passes);
//   top-p  radix select on 64-bit integer weights within the top-k set (4 passes): the first
//          token whose inclusive prefix reaches ceil(W_k·P/2^24), P = floor(p·2^24);
//   min-p  a binary search of the 32-bit key space for the smallest key with weight ≥
//          floor(min_p·2^24)·128 (weights are monotone in the key; no pass over the row);
// and the shortest of the three wins. When k ≤ CAP the ids of every key ≥ the top-k boundary
// are gathered (in id order) into workgroup memory first, and top-p and the draw pass over
// them instead of the vocabulary. The token: target = floor(u·W_kept/2^32) (`goal` below);
// invocation t sums the kept weights of its contiguous span of items, invocation 0 scans
// the WG sums (ties of key K count in id order, exactly), and the invocation whose span
// holds the target walks it. Needs sample_common.wgsl, `keys`, `tokens` and `logprobs`.

const ALL: u32 = 0xffffffffu;
// The largest top-k set gathered into workgroup memory (the launcher sizes it to the limit).
override CAP: u32 = 1024;
var<workgroup> set_ids: array<u32, CAP>;

var<workgroup> hist_lo: array<atomic<u32>, 256>;
var<workgroup> hist_hi: array<atomic<u32>, 256>;
var<workgroup> cs_lo: array<u32, WG>;
var<workgroup> cs_hi: array<u32, WG>;
var<workgroup> ct: array<u32, WG>;

// Broadcast from invocation 0 (read back with workgroupUniformLoad: uniform everywhere).
struct Bc {
  a: u32,
  b: u32,
  c: u32,
}
var<workgroup> bc: Bc;

struct Row {
  kmax: u32,
  zmax: f32,
  base: u32,
}

// The boundary of the k first keys of the order (1 ≤ k ≤ V): (K, r).
fn select_count(k: u32, rw: Row, lid: u32) -> vec2<u32> {
  var prefix = 0u;
  var mask = 0u;
  var need = k;
  for (var d = 0u; d < 4u; d = d + 1u) {
    let shift = 24u - 8u * d;
    if (lid < 256u) {
      atomicStore(&hist_lo[lid], 0u);
    }
    workgroupBarrier();
    for (var j = lid; j < p.v; j = j + WG) {
      let key = keys[rw.base + j];
      if ((key & mask) == prefix) {
        atomicAdd(&hist_lo[(key >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var b = 255u;
      var rem = need;
      loop {
        let c = atomicLoad(&hist_lo[b]);
        if (c >= rem || b == 0u) {
          break;
        }
        rem = rem - c;
        b = b - 1u;
      }
      bc.a = b;
      bc.b = rem;
    }
    let s = workgroupUniformLoad(&bc);
    prefix = prefix | (s.a << shift);
    mask = mask | (255u << shift);
    need = s.b;
  }
  return vec2<u32>(prefix, need);
}

// 64-bit add into a histogram bin (the carry from the returned old low word).
fn hist_add(bin: u32, w: vec2<u32>) {
  let old = atomicAdd(&hist_lo[bin], w.x);
  let carry = select(0u, 1u, old + w.x < old);
  if (w.y + carry != 0u) {
    atomicAdd(&hist_hi[bin], w.y + carry);
  }
}

// The top-p boundary within the top-k set (K, r) = bk: the first token (in order) whose
// inclusive prefix of weights reaches ceil(W_k·P/2^24) (at least 1).
fn select_topp(P: u32, bk: vec2<u32>, rw: Row, items: vec2<u32>, lid: u32) -> vec2<u32> {
  var prefix = 0u;
  var mask = 0u;
  var need = vec2<u32>(0u, 0u);
  let wk = weight_key(bk.x, rw.kmax, rw.zmax);
  for (var d = 0u; d < 4u; d = d + 1u) {
    let shift = 24u - 8u * d;
    if (lid < 256u) {
      atomicStore(&hist_lo[lid], 0u);
      atomicStore(&hist_hi[lid], 0u);
    }
    workgroupBarrier();
    for (var j = lid; j < items.x; j = j + WG) {
      let key = keys[rw.base + item(j, items)];
      if ((key & mask) == prefix && key > bk.x) {
        hist_add((key >> shift) & 255u, vec2<u32>(weight_key(key, rw.kmax, rw.zmax), 0u));
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      // The r tied tokens of the top-k boundary (all of weight wk) join their bin.
      if ((bk.x & mask) == prefix && bk.y > 0u) {
        hist_add((bk.x >> shift) & 255u, mul32(bk.y, wk));
      }
      var rem = need;
      if (d == 0u) {
        // W_k, then T_p = max(1, ceil(W_k·P / 2^24)) (W_k < 2^49, so W_k·P < 2^73: 96 bits).
        var wsum = vec2<u32>(0u, 0u);
        for (var b = 0u; b < 256u; b = b + 1u) {
          wsum = add64(wsum, vec2<u32>(atomicLoad(&hist_lo[b]), atomicLoad(&hist_hi[b])));
        }
        let lo = mul32(wsum.x, P);
        let hi = mul32(wsum.y, P);
        let w1 = lo.y + hi.x;
        let w2 = hi.y + select(0u, 1u, w1 < lo.y);
        var tp = vec2<u32>((lo.x >> 24u) | (w1 << 8u), (w1 >> 24u) | (w2 << 8u));
        if ((lo.x & 0xffffffu) != 0u) {
          tp = add64(tp, vec2<u32>(1u, 0u));
        }
        if (tp.x == 0u && tp.y == 0u) {
          tp = vec2<u32>(1u, 0u);
        }
        rem = tp;
      }
      var b = 255u;
      loop {
        let c = vec2<u32>(atomicLoad(&hist_lo[b]), atomicLoad(&hist_hi[b]));
        if (ge64(c, rem) || b == 0u) {
          break;
        }
        rem = sub64(rem, c);
        b = b - 1u;
      }
      bc.a = b;
      bc.b = rem.x;
      bc.c = rem.y;
    }
    let s = workgroupUniformLoad(&bc);
    prefix = prefix | (s.a << shift);
    mask = mask | (255u << shift);
    need = vec2<u32>(s.b, s.c);
  }
  // Ties of key K all weigh w: the fewest r with r·w ≥ need (binary search; need ≥ 1, w ≥ 1).
  let w = weight_key(prefix, rw.kmax, rw.zmax);
  var lo = 1u;
  var hi = 0x2000000u;
  for (var it = 0u; it < 26u; it = it + 1u) {
    if (lo < hi) {
      let mid = lo + (hi - lo) / 2u;
      if (ge64(mul32(mid, w), need)) {
        hi = mid;
      } else {
        lo = mid + 1u;
      }
    }
  }
  return vec2<u32>(prefix, lo);
}

// The min-p boundary: the smallest key with weight ≥ thr (weights are monotone in the key, and
// the largest key weighs 2^31 ≥ thr) — a binary search of the key space, no pass over the row.
fn minp_key(thr: u32, rw: Row) -> u32 {
  var lo = KEY_NEG_INF;
  var hi = rw.kmax;
  for (var it = 0u; it < 33u; it = it + 1u) {
    if (lo < hi) {
      let mid = lo + (hi - lo) / 2u;
      if (weight_key(mid, rw.kmax, rw.zmax) >= thr) {
        hi = mid;
      } else {
        lo = mid + 1u;
      }
    }
  }
  return lo;
}

// A is a shorter prefix than B.
fn shorter(a: vec2<u32>, b: vec2<u32>) -> bool {
  return a.x > b.x || (a.x == b.x && a.y < b.y);
}

// The chunk of items [0, n) invocation t owns.
fn span(t: u32, n: u32) -> vec2<u32> {
  let ch = (n + WG - 1u) / WG;
  return vec2<u32>(min(n, t * ch), min(n, (t + 1u) * ch));
}

// The passes after top-k run over items: every id (items = (V, 0)) or, when the top-k set was
// gathered, the ids in set_ids (items = (count, 1)), in id order either way.
fn item(j: u32, items: vec2<u32>) -> u32 {
  if (items.y != 0u) {
    return set_ids[min(j, CAP - 1u)];
  }
  return j;
}

// Gathers the ids of every key ≥ kb into set_ids in id order (chunk counts, a scan, then each
// chunk writes its own) when there are at most CAP of them: (count, 1); else (V, 0).
fn gather(kb: u32, rw: Row, lid: u32) -> vec2<u32> {
  let c = span(lid, p.v);
  var cnt = 0u;
  for (var j = c.x; j < c.y; j = j + 1u) {
    cnt = cnt + select(0u, 1u, keys[rw.base + j] >= kb);
  }
  ct[lid] = cnt;
  workgroupBarrier();
  if (lid == 0u) {
    var tb = 0u;
    for (var t = 0u; t < WG; t = t + 1u) {
      let x = ct[t];
      ct[t] = tb;
      tb = tb + x;
    }
    bc.a = tb;
  }
  let s = workgroupUniformLoad(&bc);
  if (s.a > CAP) {
    return vec2<u32>(p.v, 0u);
  }
  var at = ct[lid];
  for (var j = c.x; j < c.y; j = j + 1u) {
    if (keys[rw.base + j] >= kb) {
      set_ids[at] = j;
      at = at + 1u;
    }
  }
  workgroupBarrier();
  return vec2<u32>(s.a, 1u);
}

// The token of a sampled row (top-k k, top-p tp, min-p mp as given) over its keys.
fn draw_full(rw: Row, row: u32, k: i32, tp: f32, mp: f32, lse: f32, lid: u32) {
  // The kept prefix: the shortest of top-k, top-p (within top-k) and min-p.
  var bk = vec2<u32>(0u, 0u);
  var items = vec2<u32>(p.v, 0u);
  if (k >= 1 && u32(k) < p.v) {
    bk = select_count(u32(k), rw, lid);
    // A small top-k set (every kept token is in it) is gathered once: top-p and the draw
    // then pass over it instead of the vocabulary.
    if (u32(k) <= CAP) {
      items = gather(bk.x, rw, lid);
    }
  }
  var bf = bk;
  if (tp < 1.0) {
    let bp = select_topp(u32(max(tp, 0.0) * 16777216.0), bk, rw, items, lid);
    if (shorter(bp, bf)) {
      bf = bp;
    }
  }
  if (mp > 0.0) {
    let bm = vec2<u32>(minp_key(u32(min(mp, 1.0) * 16777216.0) * 128u, rw), ALL);
    if (shorter(bm, bf)) {
      bf = bm;
    }
  }
  // Chunk sums of the kept weights (ties of key bf.x counted apart: kept in id order).
  let c = span(lid, items.x);
  var s = vec2<u32>(0u, 0u);
  var ties = 0u;
  for (var j = c.x; j < c.y; j = j + 1u) {
    let key = keys[rw.base + item(j, items)];
    if (key > bf.x) {
      s = add64(s, vec2<u32>(weight_key(key, rw.kmax, rw.zmax), 0u));
    } else if (key == bf.x) {
      ties = ties + 1u;
    }
  }
  cs_lo[lid] = s.x;
  cs_hi[lid] = s.y;
  ct[lid] = ties;
  workgroupBarrier();
  if (lid == 0u) {
    let wf = weight_key(bf.x, rw.kmax, rw.zmax);
    // Exclusive prefixes of the kept weight and of the ties, in chunk order.
    var total = vec2<u32>(0u, 0u);
    var tb = 0u;
    for (var t = 0u; t < WG; t = t + 1u) {
      let kt = min(ct[t], bf.y - min(tb, bf.y));
      let w = add64(vec2<u32>(cs_lo[t], cs_hi[t]), mul32(kt, wf));
      cs_lo[t] = total.x;
      cs_hi[t] = total.y;
      ct[t] = tb;
      total = add64(total, w);
      tb = tb + kt;
    }
    let u = philox_x(vec4<u32>(opt_u(SEG_OFFSET, row), 0u, 0u, 0u), vec2<u32>(rowopts[TABLE_WORDS + SEG_SEED * p.b + 2u * row], rowopts[TABLE_WORDS + SEG_SEED * p.b + 2u * row + 1u]));
    // The target floor(u·W / 2^32) = hi(u·W.lo) + u·W.hi.
    let goal = add64(vec2<u32>(mul32(u, total.x).y, 0u), mul32(u, total.y));
    // The last chunk whose exclusive prefix is ≤ goal holds it.
    var t = WG - 1u;
    loop {
      if (ge64(goal, vec2<u32>(cs_lo[t], cs_hi[t])) || t == 0u) {
        break;
      }
      t = t - 1u;
    }
    bc.a = t;
    bc.b = goal.x;
    bc.c = goal.y;
  }
  let f = workgroupUniformLoad(&bc);
  if (lid == f.a) {
    let goal = vec2<u32>(f.b, f.c);
    var run = vec2<u32>(cs_lo[lid], cs_hi[lid]);
    var tb = ct[lid];
    var tok = -1;
    for (var j = c.x; j < c.y; j = j + 1u) {
      let id = item(j, items);
      let key = keys[rw.base + id];
      var kept = key > bf.x;
      if (key == bf.x) {
        kept = tb < bf.y;
        tb = tb + 1u;
      }
      if (kept) {
        run = add64(run, vec2<u32>(weight_key(key, rw.kmax, rw.zmax), 0u));
        if (!ge64(goal, run)) {
          tok = i32(id);
          break;
        }
      }
    }
    tokens[row] = tok;
    logprobs[row] = logprob(z_of_key(keys[rw.base + u32(max(tok, 0))]), lse);
  }
}
