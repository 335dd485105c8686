// sample, pass 2 of `open` rows (sampled, no top-k: temperature alone, top-p, min-p; row_plan
// in sample_common.wgsl): one workgroup per CHUNK keys of a row — workgroups [ceil(V/CHUNK), B],
// after sample_chunk stored the keys and chunk records. Every other row returns at once.
// With the row's largest key (from the chunk records) each token gets its integer weight and
// bin (bin_key: t >> 21 of the weight's fixed-point exponent); the chunk writes to mass
// (mass_at, layout in sample_common.wgsl) its total weight, its cumulative weight per bin and
// — when the row has top-p or min-p, whose boundary then falls in one bin — its weighed
// tokens' local indices grouped by bin (a counting sort: bin counts, an exclusive scan, then
// a workgroup cursor per bin; the order inside a bin is arbitrary, sample_select sorts the
// one bin it needs). Sums are exact 64-bit integers, so the split into chunks and bins
// changes nothing. sample_select then draws without another pass over the row.
// SUBGROUPS: the reductions and scans through subgroups.
#if SUBGROUPS
enable subgroups;
#endif

// 256: one bin per invocation (NB ≤ 256); the launcher never overrides it.
override WG: u32 = 256;
const ITEMS: u32 = 16u;

#include "sample/sample_common.wgsl"
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(3) var<storage, read> cand: array<u32>;
@group(0) @binding(4) var<storage, read_write> mass: array<u32>;
#include "sample/sample_scan.wgsl"

var<workgroup> cnt: array<atomic<u32>, 256>;
var<workgroup> wlo: array<atomic<u32>, 256>;
var<workgroup> whi: array<atomic<u32>, 256>;
// The grouped local indices, two 16-bit halves a word (OR-ed in, so zeroed first).
var<workgroup> slotw: array<atomic<u32>, 2048>;
// The chunk's count of weighed tokens (from the last bin's invocation).
var<workgroup> weighed: u32;

#include "common/wg_entry.wgsl"
  let chunk = wid.x;
  let row = wid.y;
  // Every invocation reads the row's options itself (the same words: one broadcast load a
  // subgroup), so the workgroups of other rows — every one when the rows have a top-k —
  // return without a barrier.
  let plan = row_plan(opt_f(SEG_TEMP, row), bitcast<i32>(opt_u(SEG_TOPK, row)));
  if (!plan.open) {
    return;
  }
  let tp = opt_f(SEG_TOPP, row);
  let mp = opt_f(SEG_MINP, row);
  // Slots are needed when a filter's boundary may fall inside a bin (a min-p below 2^-24
  // keeps everything).
  let slots_on = tp < 1.0 || u32(min(mp, 1.0) * 16777216.0) > 0u;

  // The row's largest key (the chunks' records).
  var km = 0u;
  for (var c = lid; c < p.nc; c = c + WG) {
    km = max(km, cand[rec_at(row, c)]);
  }
  km = wg_max_u(km, lid, sg_size);
  let zmax = z_of_key(km);

  atomicStore(&cnt[lid], 0u);
  atomicStore(&wlo[lid], 0u);
  atomicStore(&whi[lid], 0u);
  for (var i = lid; i < 2048u; i = i + WG) {
    atomicStore(&slotw[i], 0u);
  }
  workgroupBarrier();
  let start = chunk * CHUNK;
  let len = min(CHUNK, p.v - start);
  let base = row * p.v + start;
  // Token j = i·WG + lid: a subgroup's loads are contiguous. bins[i] = NB: no weight.
  var bins: array<u32, ITEMS>;
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    let j = i * WG + lid;
    bins[i] = NB;
    if (j < len) {
      let k = keys[base + j];
      let w = weight_key(k, km, zmax);
      let b = bin_key(k, km, zmax);
      if (w > 0u && b < NB) {
        bins[i] = b;
        atomicAdd(&cnt[b], 1u);
        let old = atomicAdd(&wlo[b], w);
        if (old + w < old) {
          atomicAdd(&whi[b], 1u);
        }
      }
    }
  }
  workgroupBarrier();
  // Invocation b holds bin b: exclusive count prefix (off) and inclusive weight prefix (cum).
  let cb = atomicLoad(&cnt[lid]);
  let wb = vec2<u32>(atomicLoad(&wlo[lid]), atomicLoad(&whi[lid]));
  let off = wg_scan2(vec2<u32>(cb, 0u), lid, sg_size).x - cb;
  let cum = wg_scan64(wb, lid, sg_size);
  let m = mass_at(row, chunk);
  if (lid < NB) {
    mass[m + 2u + 2u * lid] = cum.x;
    mass[m + 3u + 2u * lid] = cum.y;
  }
  if (lid <= NB) {
    mass[m + MASS_OFF + lid] = off;
  }
  if (lid == WG - 1u) {
    mass[m] = cum.x;
    mass[m + 1u] = cum.y;
    weighed = off + cb;
  }
  if (!slots_on) {
    return;
  }
  // The counting sort: each bin's cursor starts at its offset (after every read of cnt above).
  workgroupBarrier();
  atomicStore(&cnt[lid], off);
  workgroupBarrier();
  for (var i = 0u; i < ITEMS; i = i + 1u) {
    if (bins[i] < NB) {
      let s = atomicAdd(&cnt[bins[i]], 1u);
      atomicOr(&slotw[s >> 1u], (i * WG + lid) << (16u * (s & 1u)));
    }
  }
  workgroupBarrier();
  let n = (workgroupUniformLoad(&weighed) + 1u) / 2u;
  for (var i = lid; i < n; i = i + WG) {
    mass[m + MASS_SLOTS + i] = atomicLoad(&slotw[i]);
  }
}
