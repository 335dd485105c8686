// sample_select's merge when every chunk list is in the order (RANKED: sample_chunk writes its
// first c tokens ranked, key desc then id asc). The row's c-th key is bounded from below by L,
// the c-th largest of the lists' heads (the first J entries of each list, J·nc ≤ HEADS: c
// heads are row tokens with keys ≥ L). The list entries ≥ L are a prefix of each list and hold
// the row's first c tokens (each one is within its chunk's first c, and its key is ≥ the row's
// c-th ≥ L); typically exactly c of them, read once: the heads already loaded, plus — for a list
// whose J-th head is ≥ L — the rest of its prefix, found by a binary search. No radix rounds, no
// rereads of the lists. Needs sample_select.wgsl's sel_key/sel_id/ord/pick and sample_full's
// cs_lo/cs_hi (WG ≥ HEADS words each; that path never runs at the same time).

// Heads ranked per row (one per invocation of the first HEADS).
const HEADS: u32 = 256u;
// The id order of the selected tokens (idord[t]: the sel_* index of the t-th lowest id) and
// each one's rank in the order.
var<workgroup> idord: array<u32, KC>;
var<workgroup> rk: array<u32, KC>;

// The survivors (the list entries ≥ L) into sel_key/sel_id, chunk after chunk; returns how many
// (uniform), or 0 when the lists cannot bound (more than HEADS chunks) or more than KC survive
// (ties at L, a flat row): the caller merges by radix select then.
fn merge_heads(row: u32, c: u32, lid: u32, sg_size: u32) -> u32 {
  let nc = p.nc;
  if (nc > HEADS) {
    return 0u;
  }
  let hj = min(HEADS / nc, c);
  let nh = nc * hj;
  // Invocation t < nh holds head t % hj of chunk t / hj (key 0 past the list: below every key).
  var hk = 0u;
  var hid = 0u;
  var hb = 0u;
  var hi = 0u;
  if (lid < nh) {
    hb = lid / hj;
    hi = lid - hb * hj;
    if (hi < cand[rec_at(row, hb) + 4u]) {
      let at = pair_at(row, hb) + 2u * hi;
      hk = cand[at];
      hid = cand[at + 1u];
    }
  }
  if (lid < HEADS) {
    cs_lo[lid] = hk;
  }
  workgroupBarrier();
  var lb = 1u;
  if (nh >= c) {
    // L: the head of rank c − 1 among the heads (larger keys, or equal ones at lower slots).
    if (lid < nh) {
      var r = 0u;
      // A constant bound (and a break at nh): Dawn's robustness proves u < HEADS ≤ WG.
      for (var u = 0u; u < HEADS; u = u + 1u) {
        if (u >= nh) {
          break;
        }
        let x = cs_lo[u];
        r = r + select(0u, 1u, x > hk || (x == hk && u < lid));
      }
      if (r == c - 1u) {
        pick.x = hk;
      }
    }
    lb = max(workgroupUniformLoad(&pick).x, 1u);
  }
  // Survivors of chunk b (invocation b): its heads ≥ L, and when all hj are, the rest of its
  // prefix ≥ L by a binary search of the list (descending keys).
  var sb = 0u;
  if (lid < nc) {
    let cnt = cand[rec_at(row, lid) + 4u];
    let m = min(cnt, hj);
    for (var i = 0u; i < m; i = i + 1u) {
      sb = sb + select(0u, 1u, cs_lo[lid * hj + i] >= lb);
    }
    if (sb == hj && cnt > hj) {
      var a = hj;
      var z = cnt;
      let base = pair_at(row, lid);
      while (a < z) {
        let mid = (a + z) / 2u;
        if (cand[base + 2u * mid] >= lb) {
          a = mid + 1u;
        } else {
          z = mid;
        }
      }
      sb = a;
    }
  }
  let off = wg_scan2(vec2<u32>(sb, 0u), lid, sg_size).x - sb;
  let total = scan_total().x;
  if (total > KC) {
    return 0u;
  }
  if (lid < nc) {
    cs_hi[lid] = off;
  }
  workgroupBarrier();
  // A head ≥ L is entry hi of its chunk's prefix (hk ≥ L ≥ 1: a real entry).
  if (lid < nh && hk >= lb) {
    let at = cs_hi[hb] + hi;
    sel_key[at] = hk;
    sel_id[at] = hid;
  }
  // The prefix past the heads (a chunk with more than hj survivors).
  if (lid < nc && sb > hj) {
    let base = pair_at(row, lid);
    for (var i = hj; i < sb; i = i + 1u) {
      sel_key[off + i] = cand[base + 2u * i];
      sel_id[off + i] = cand[base + 2u * i + 1u];
    }
  }
  workgroupBarrier();
  return total;
}

// The n ≤ KC selected tokens' ranks in the order (key desc, id asc) into ord and rk, and their
// id order into idord, by counting (they stand in no particular order). Returns this
// invocation's element's rank (invocations < n).
fn rank_selected(n: u32, lid: u32) -> u32 {
  var r = 0u;
  if (lid < n) {
    let k = sel_key[lid];
    let id = sel_id[lid];
    var below = 0u;
    for (var u = 0u; u < KC; u = u + 1u) {
      if (u >= n) {
        break;
      }
      let x = sel_key[u];
      let lower = sel_id[u] < id;
      r = r + select(0u, 1u, x > k || (x == k && lower));
      below = below + select(0u, 1u, lower);
    }
    ord[r] = lid;
    rk[lid] = r;
    idord[below] = lid;
  }
  workgroupBarrier();
  return r;
}
