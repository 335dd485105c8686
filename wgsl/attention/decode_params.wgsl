// The Params of decode_stream.wgsl and decode_reduce.wgsl (DECODE_PARAMS in
// src/backend/webgpu/launchers/decode_attention.ts). Element offsets; the cache is contiguous
// [B, Hkv, Smax, ·] or paged [numBlocks, blockSize, Hkv, ·] through the block table.
struct Params {
  // Problem rows per (sequence, kv head): T·G (query token, head of the group) pairs.
  rows: u32,
  blocks: u32,
  splits: u32,
  // Keys per split (a multiple of the keys a workgroup step covers).
  split_len: u32,
  groups: u32,
  groups_x: u32,
  batches: u32,
  t: u32,
  hq: u32,
  hkv: u32,
  group: u32,
  d: u32,
  dv: u32,
  paged: u32,
  smax: u32,
  block_size: u32,
  num_blocks: u32,
  max_blocks: u32,
  capacity: u32,
  q_base: u32,
  k_base: u32,
  v_base: u32,
  len_base: u32,
  table_base: u32,
  // The partials' base in vec4 words, and words per record (1 + Dv/4: (m, l), then acc).
  part_base: u32,
  rec_words: u32,
  o_base: u32,
  lse_base: u32,
  sink_base: u32,
  has_sinks: u32,
  has_cap: u32,
  left: i32,
  scale: f32,
  cap: f32,
  inv_cap: f32,
}
