// embedding_backward, pass 1: the chains of tokens that share an id, without sorting and
// without float atomics. Token t's key is its id, or −1 when the id is outside [0, vocab)
// or the padding index (no gradient). Each invocation compares its key with every token's
// (tiles of WG keys through workgroup memory: count² comparisons in all) and writes
//   links[t] = the next token with the same key (0x7fffffff: none) | 0x80000000 if t is the
//              first token with its key (the chain's head),
//   head[key] = t for that first token (one writer per key: no race).
// head is not cleared: embedding_dw.wgsl accepts head[v] only when it names a token whose key
// is v and that is a head, which identifies the true head whatever the buffer held before.
override WG: u32 = 256;

@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> links: array<u32>;
@group(0) @binding(2) var<storage, read_write> head: array<u32>;

struct Params {
  count: u32,
  vocab: u32,
  pad: i32,
  groups_x: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> tile: array<i32, WG>;

fn key_of(id: i32) -> i32 {
  return select(-1, id, id >= 0 && u32(id) < p.vocab && id != p.pad);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * p.groups_x) * WG + lid;
  let live = t < p.count;
  var key = -1;
  if (live) {
    key = key_of(ids[t]);
  }
  var next = 0x7fffffffu;
  var first = true;
  // Every invocation walks every tile (uniform control flow around the barriers).
  for (var base = 0u; base < p.count; base = base + WG) {
    var kj = -1;
    if (base + lid < p.count) {
      kj = key_of(ids[base + lid]);
    }
    tile[lid] = kj;
    workgroupBarrier();
    // A loop bounded by the workgroup size, so every tile index is provably in range
    // (entries past the end of the ids hold −1, which no key equals).
    if (key >= 0) {
      for (var q = 0u; q < WG; q = q + 1u) {
        if (tile[q] == key) {
          let tq = base + q;
          if (tq < t) {
            first = false;
          } else if (tq > t && next == 0x7fffffffu) {
            next = tq;
          }
        }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let is_head = first && key >= 0;
    links[t] = next | select(0u, 0x80000000u, is_head);
    if (is_head) {
      head[u32(key)] = t;
    }
  }
}
