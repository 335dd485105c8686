// Embedding lookup and its weight gradient (metal3 tier: a gather and a chained sum have
// nothing for the tensor units to do). The same algorithms as wgsl/embedding/*.wgsl.
//
// embedding_gather_b32 / _b16: one threadgroup a token, y[t] = w[ids[t]] copied as raw 32-
//   or 16-bit words (bit-exact); an id outside [0, vocab) gives a zero row (never read);
//   threadgroup 0 also counts the ids outside [0, vocab) (integer sums).
// embedding_count: that count alone (an empty batch, where no gather threadgroup runs).
// embedding_links: token t's key is its id, or −1 outside [0, vocab) or at the padding
//   index. Each thread compares its key with every token's (tiles through threadgroup
//   memory: count² comparisons) and writes links[t] = next token with the same key
//   (0x7fffffff: none) | 0x80000000 for the first one, and head[key] = t for that first
//   token (one writer per key). head needs no clear: embedding_dw accepts head[v] only when
//   it names a first token whose key is v, which only the true head is.
// embedding_dw_<dt>: threadgroup (r·cblocks + column block) sums the dy rows of vocabulary
//   row r's chain in token order onto dw_in[r] or 0 and writes dW[r] once: deterministic.
#include <metal_stdlib>
using namespace metal;

// Same fields, in order, as EMBEDDING_PARAMS in src/backend/metal/launchers/embedding.ts.
struct EmbeddingParams {
  uint rows;
  uint h;
  uint vocab;
};
// Same fields, in order, as EMBEDDING_LINKS_PARAMS.
struct EmbeddingLinksParams {
  uint count;
  uint vocab;
  int pad;
};
// Same fields, in order, as EMBEDDING_DW_PARAMS.
struct EmbeddingDwParams {
  uint rows;
  uint cols;
  uint cblocks;
  uint count;
  int pad;
};

constant bool emb_has_in [[function_constant(0)]];

#define EMB_NONE 0x7fffffffu
#define EMB_TILE 256

// The count of ids outside [0, vocab) into invalid[0], by one whole threadgroup (integer sums).
inline void emb_count(device const int* ids, device int* invalid, uint count, uint vocab, uint lid, uint tpg, uint sg, uint lane, uint nsg) {
  threadgroup uint part[32];
  uint c = 0;
  for (uint i = lid; i < count; i += tpg) {
    const int id = ids[i];
    c += (id < 0 || uint(id) >= vocab) ? 1u : 0u;
  }
  c = simd_sum(c);
  if (lane == 0) part[sg] = c;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (lid == 0) {
    uint total = 0;
    for (uint k = 0; k < nsg; k++) total += part[k];
    invalid[0] = int(total);
  }
}

// Threadgroup 0 also counts the invalid ids (every id: the launcher binds them all), so the
// count is not a launch of its own.
template <typename S>
kernel void embedding_gather(device const int* ids [[buffer(0)]],
                             device const S* w [[buffer(1)]],
                             device S* y [[buffer(2)]],
                             constant EmbeddingParams& p [[buffer(3)]],
                             device int* invalid [[buffer(4)]],
                             uint row [[threadgroup_position_in_grid]],
                             uint lid [[thread_index_in_threadgroup]],
                             uint tpg [[threads_per_threadgroup]],
                             uint sg [[simdgroup_index_in_threadgroup]],
                             uint lane [[thread_index_in_simdgroup]],
                             uint nsg [[simdgroups_per_threadgroup]]) {
  if (row == 0) emb_count(ids, invalid, p.rows, p.vocab, lid, tpg, sg, lane, nsg);
  if (row >= p.rows) return;
  const int id = ids[row];
  const bool valid = id >= 0 && uint(id) < p.vocab;
  const ulong src = valid ? ulong(id) * p.h : 0;
  const ulong dst = ulong(row) * p.h;
  for (uint j = lid; j < p.h; j += tpg) y[dst + j] = valid ? w[src + j] : S(0);
}

// An empty batch (no gather threadgroup): invalid[0] = 0 all the same. The gather's Params
// (rows: the ids to count).
kernel void embedding_count(device const int* ids [[buffer(0)]],
                            device int* invalid [[buffer(1)]],
                            constant EmbeddingParams& p [[buffer(2)]],
                            uint lid [[thread_index_in_threadgroup]],
                            uint tpg [[threads_per_threadgroup]],
                            uint sg [[simdgroup_index_in_threadgroup]],
                            uint lane [[thread_index_in_simdgroup]],
                            uint nsg [[simdgroups_per_threadgroup]]) {
  emb_count(ids, invalid, p.rows, p.vocab, lid, tpg, sg, lane, nsg);
}

inline int emb_key(int id, uint vocab, int pad) {
  return (id >= 0 && uint(id) < vocab && id != pad) ? id : -1;
}

kernel void embedding_links(device const int* ids [[buffer(0)]],
                            device uint* links [[buffer(1)]],
                            device uint* head [[buffer(2)]],
                            constant EmbeddingLinksParams& p [[buffer(4)]],
                            uint tg [[threadgroup_position_in_grid]],
                            uint lid [[thread_index_in_threadgroup]]) {
  threadgroup int tile[EMB_TILE];
  const uint t = tg * EMB_TILE + lid;
  const bool live = t < p.count;
  const int key = live ? emb_key(ids[t], p.vocab, p.pad) : -1;
  uint next = EMB_NONE;
  bool first = true;
  for (uint base = 0; base < p.count; base += EMB_TILE) {
    tile[lid] = base + lid < p.count ? emb_key(ids[base + lid], p.vocab, p.pad) : -1;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const uint n = min(uint(EMB_TILE), p.count - base);
    if (key >= 0) {
      for (uint q = 0; q < n; q++) {
        if (tile[q] != key) continue;
        const uint tq = base + q;
        if (tq < t) first = false;
        else if (tq > t && next == EMB_NONE) next = tq;
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  if (live) {
    const bool is_head = first && key >= 0;
    links[t] = next | (is_head ? 0x80000000u : 0u);
    if (is_head) head[key] = t;
  }
}

template <typename T>
kernel void embedding_dw(device const T* dy [[buffer(0)]],
                         device const int* ids [[buffer(1)]],
                         device const uint* links [[buffer(2)]],
                         device const uint* head [[buffer(3)]],
                         device float* dw [[buffer(4)]],
                         device const float* dw_in [[buffer(5), function_constant(emb_has_in)]],
                         constant EmbeddingDwParams& p [[buffer(6)]],
                         uint l [[threadgroup_position_in_grid]],
                         uint lid [[thread_index_in_threadgroup]],
                         uint tpg [[threads_per_threadgroup]]) {
  const uint r = l / p.cblocks;
  const uint c = (l % p.cblocks) * tpg + lid;
  if (r >= p.rows || c >= p.cols) return;
  uint s = head[r];
  if (s >= p.count || ids[s] != int(r) || int(r) == p.pad || (links[s] & 0x80000000u) == 0u) s = EMB_NONE;
  const ulong o = ulong(r) * p.cols + c;
  float acc = emb_has_in ? dw_in[o] : 0.0f;
  while (s < p.count) {
    acc += float(dy[ulong(s) * p.cols + c]);
    s = links[s] & EMB_NONE;
  }
  dw[o] = acc;
}

template [[host_name("embedding_gather_b32")]] [[kernel]] decltype(embedding_gather<uint>) embedding_gather<uint>;
template [[host_name("embedding_gather_b16")]] [[kernel]] decltype(embedding_gather<ushort>) embedding_gather<ushort>;
template [[host_name("embedding_dw_f32")]] [[kernel]] decltype(embedding_dw<float>) embedding_dw<float>;
template [[host_name("embedding_dw_f16")]] [[kernel]] decltype(embedding_dw<half>) embedding_dw<half>;
template [[host_name("embedding_dw_bf16")]] [[kernel]] decltype(embedding_dw<bfloat>) embedding_dw<bfloat>;
