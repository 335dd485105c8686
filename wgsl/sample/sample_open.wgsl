// sample: the draw of an `open` row (sampled, no top-k; row_plan in sample_common.wgsl) from
// sample_mass.wgsl's per-chunk bins, by sample_select.wgsl's workgroup of the row — no pass
// over the vocabulary:
//  1. min-p: its boundary key (minp_key: a binary search of the key space) and that key's bin;
//  2. top-p: the row's cumulative weight per bin is the sum of the chunks' (each invocation
//     sums one bin over a share of the chunks); W is the last, T_p = max(1, ceil(W·P/2^24)),
//     and the first bin whose cumulative weight reaches T_p holds the top-p boundary;
//  3. the earlier of the two bins is the only one whose tokens are looked at: its tokens (at
//     most CAP, else the row goes sample_full.wgsl's way) are gathered from the chunks' slot
//     lists, and for top-p sorted by the order (bitonic, key desc, id asc) and scanned for the
//     first whose inclusive prefix reaches what T_p still needs past the earlier bins. The
//     kept prefix is then (K, last): every key > K and key K at ids ≤ last;
//  4. each chunk's kept weight: its weight in the earlier bins (cum) plus its kept tokens of the
//     boundary bin; the draw target floor(u·W_kept/2^32) picks the chunk by a scan, and a scan
//     over that chunk's 4096 keys (in id order) the token — the reference's id-order rule.
// Needs sample_common.wgsl, sample_scan.wgsl, sample_full.wgsl and sample_select's topp_target.

@group(0) @binding(4) var<storage, read> mass: array<u32>;
// The boundary bin's keys (their ids in sample_full's set_ids).
var<workgroup> set_keys: array<u32, CAP>;
var<workgroup> ob: vec4<u32>;

fn mass64(at: u32) -> vec2<u32> {
  return vec2<u32>(mass[at], mass[at + 1u]);
}

// Token (ka, ia) comes before (kb, ib) in the order.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

// In the kept prefix kb = (K, last).
fn kept_in(key: u32, id: u32, kb: vec2<u32>) -> bool {
  return key > kb.x || (key == kb.x && id <= kb.y);
}

fn draw_open(rw: Row, row: u32, tp: f32, mp: f32, lse: f32, lid: u32, sg: u32) {
  // 1. min-p: every key ≥ kmin; bm = its bin (NB: no min-p; a min-p below 2^-24 keeps all).
  let thr = u32(min(max(mp, 0.0), 1.0) * 16777216.0) * 128u;
  var kmin = 0u;
  var bm = NB;
  if (mp > 0.0 && thr > 0u) {
    kmin = minp_key(thr, rw);
    bm = bin_key(kmin, rw.kmax, rw.zmax);
  }

  // 2. top-p: bp = the boundary's bin, need = what T_p still needs there.
  var bp = NB;
  var need = vec2<u32>(0u, 0u);
  if (tp < 1.0) {
    let b = lid % 256u;
    let groups = WG / 256u;
    var acc = vec2<u32>(0u, 0u);
    if (b < NB) {
      for (var c = lid / 256u; c < p.nc; c = c + groups) {
        acc = add64(acc, mass64(mass_at(row, c) + 2u + 2u * b));
      }
    }
    cs_lo[lid] = acc.x;
    cs_hi[lid] = acc.y;
    workgroupBarrier();
    var rc = vec2<u32>(0u, 0u);
    if (lid < 256u) {
      for (var g = 0u; g < groups; g = g + 1u) {
        rc = add64(rc, vec2<u32>(cs_lo[g * 256u + lid], cs_hi[g * 256u + lid]));
      }
    }
    workgroupBarrier();
    if (lid < 256u) {
      cs_lo[lid] = rc.x;
      cs_hi[lid] = rc.y;
    }
    let w = vec2<u32>(workgroupUniformLoad(&cs_lo[NB - 1u]), workgroupUniformLoad(&cs_hi[NB - 1u]));
    let t = topp_target(w, u32(max(tp, 0.0) * 16777216.0));
    if (lid < NB) {
      var prev = vec2<u32>(0u, 0u);
      if (lid > 0u) {
        prev = vec2<u32>(cs_lo[lid - 1u], cs_hi[lid - 1u]);
      }
      if (ge64(rc, t) && !ge64(prev, t)) {
        let r = sub64(t, prev);
        ob = vec4<u32>(lid, r.x, r.y, 0u);
      }
    }
    let f = workgroupUniformLoad(&ob);
    bp = f.x;
    need = f.yz;
  }
  let bf = min(bp, bm);

  // 3. The kept prefix kb = (K, last); (0, ALL) keeps everything (real keys are > 0).
  var kb = vec2<u32>(0u, ALL);
  if (bf < NB) {
    var cnt = 0u;
    var o0 = 0u;
    if (lid < p.nc) {
      let m = mass_at(row, lid) + MASS_OFF + bf;
      o0 = mass[m];
      cnt = mass[m + 1u] - o0;
    }
    let incl = wg_scan2(vec2<u32>(cnt, 0u), lid, sg).x;
    let nb = scan_total().x;
    if (nb > CAP) {
      draw_full(rw, row, 0, tp, mp, lse, lid);
      return;
    }
    // Chunk c's tokens of the bin go to [ct[c], ct[c] + cnt) of the set; its slots start at cs_lo[c].
    if (lid < p.nc) {
      ct[lid] = incl - cnt;
      cs_lo[lid] = o0;
    }
    workgroupBarrier();
    var n2 = 1u;
    while (n2 < nb) {
      n2 = n2 << 1u;
    }
    for (var q = lid; q < n2; q = q + WG) {
      var key = 0u;
      var id = ALL;
      if (q < nb) {
        // The last chunk whose first set index is ≤ q holds it (empty chunks share the next's).
        var lo = 0u;
        var hi = p.nc - 1u;
        for (var it = 0u; it < 9u; it = it + 1u) {
          if (lo < hi) {
            let mid = (lo + hi + 1u) / 2u;
            if (ct[mid] <= q) {
              lo = mid;
            } else {
              hi = mid - 1u;
            }
          }
        }
        let s = cs_lo[lo] + q - ct[lo];
        let word = mass[mass_at(row, lo) + MASS_SLOTS + s / 2u];
        id = lo * CHUNK + ((word >> (16u * (s & 1u))) & 0xffffu);
        key = keys[rw.base + id];
      }
      set_keys[q] = key;
      set_ids[q] = id;
    }
    workgroupBarrier();
    if (bp == bf) {
      // Bitonic sort of the n2 (padded: key 0 sorts last) into the order.
      for (var k = 2u; k <= n2; k = k << 1u) {
        for (var j = k >> 1u; j > 0u; j = j >> 1u) {
          for (var q = lid; q < n2; q = q + WG) {
            let l = q ^ j;
            if (l > q) {
              let ka = set_keys[q];
              let ia = set_ids[q];
              let kl = set_keys[l];
              let il = set_ids[l];
              if (before(kl, il, ka, ia) == ((q & k) == 0u)) {
                set_keys[q] = kl;
                set_ids[q] = il;
                set_keys[l] = ka;
                set_ids[l] = ia;
              }
            }
          }
          workgroupBarrier();
        }
      }
      // The first in the order whose inclusive prefix (within the bin) reaches need.
      let sp = span(lid, nb);
      var s = vec2<u32>(0u, 0u);
      for (var q = sp.x; q < sp.y; q = q + 1u) {
        s = add64(s, vec2<u32>(weight_key(set_keys[q], rw.kmax, rw.zmax), 0u));
      }
      let hi = wg_scan64(s, lid, sg);
      var run = sub64(hi, s);
      if (ge64(hi, need) && !ge64(run, need)) {
        for (var q = sp.x; q < sp.y; q = q + 1u) {
          run = add64(run, vec2<u32>(weight_key(set_keys[q], rw.kmax, rw.zmax), 0u));
          if (ge64(run, need)) {
            ob = vec4<u32>(set_keys[q], set_ids[q], 0u, 0u);
            break;
          }
        }
      }
      kb = workgroupUniformLoad(&ob).xy;
      // Both filters' boundaries in this bin: min-p is the shorter when its key is larger.
      if (bm == bf && kmin > kb.x) {
        kb = vec2<u32>(kmin, ALL);
      }
    } else {
      kb = vec2<u32>(kmin, ALL);
    }
    // Each chunk's kept weight in the bin (hist_lo/hi indexed by chunk: nc ≤ NCMAX = 256).
    if (lid < 256u) {
      atomicStore(&hist_lo[lid], 0u);
      atomicStore(&hist_hi[lid], 0u);
    }
    workgroupBarrier();
    for (var q = lid; q < nb; q = q + WG) {
      let key = set_keys[q];
      let id = set_ids[q];
      if (kept_in(key, id, kb)) {
        hist_add(id / CHUNK, vec2<u32>(weight_key(key, rw.kmax, rw.zmax), 0u));
      }
    }
    workgroupBarrier();
  }

  // 4. Chunk lid's kept weight, the target, its chunk, then its token.
  var sc = vec2<u32>(0u, 0u);
  if (lid < p.nc) {
    let m = mass_at(row, lid);
    if (bf == NB) {
      sc = mass64(m);
    } else {
      if (bf > 0u) {
        sc = mass64(m + 2u * bf);
      }
      sc = add64(sc, vec2<u32>(atomicLoad(&hist_lo[lid]), atomicLoad(&hist_hi[lid])));
    }
  }
  let ci = wg_scan64(sc, lid, sg);
  let wt = scan_total();
  let u = philox_x(vec4<u32>(opt_u(SEG_OFFSET, row), 0u, 0u, 0u), vec2<u32>(rowopts[TABLE_WORDS + SEG_SEED * p.b + 2u * row], rowopts[TABLE_WORDS + SEG_SEED * p.b + 2u * row + 1u]));
  // The target floor(u·W / 2^32) = hi(u·W.lo) + u·W.hi.
  let goal = add64(vec2<u32>(mul32(u, wt.x).y, 0u), mul32(u, wt.y));
  if (lid < p.nc && !ge64(goal, ci) && ge64(goal, sub64(ci, sc))) {
    let r = sub64(goal, sub64(ci, sc));
    ob = vec4<u32>(lid, r.x, r.y, 0u);
  }
  let f = workgroupUniformLoad(&ob);
  let start = f.x * CHUNK;
  let r = f.yz;
  let sp = span(lid, min(CHUNK, p.v - start));
  var s = vec2<u32>(0u, 0u);
  for (var j = sp.x; j < sp.y; j = j + 1u) {
    let key = keys[rw.base + start + j];
    if (kept_in(key, start + j, kb)) {
      s = add64(s, vec2<u32>(weight_key(key, rw.kmax, rw.zmax), 0u));
    }
  }
  let hi = wg_scan64(s, lid, sg);
  var run = sub64(hi, s);
  if (!ge64(r, hi) && ge64(r, run)) {
    for (var j = sp.x; j < sp.y; j = j + 1u) {
      let key = keys[rw.base + start + j];
      if (kept_in(key, start + j, kb)) {
        run = add64(run, vec2<u32>(weight_key(key, rw.kmax, rw.zmax), 0u));
        if (!ge64(r, run)) {
          tokens[row] = i32(start + j);
          logprobs[row] = logprob(z_of_key(key), lse);
          break;
        }
      }
    }
  }
}
