// The Params of rope.wgsl and rope_vec.wgsl (one list, ROPE_PARAMS in the launcher).
struct Params {
  // Tokens in this chunk and the global index of its first (for the position).
  tokens: u32,
  tok0: u32,
  heads: u32,
  seq: u32,
  // Words per head row, rotated words per head, and work units per head (words: 32-bit
  // words of 2 elements in rope.wgsl, 16-byte words of EPV in rope_vec.wgsl).
  row_words: u32,
  rot_words: u32,
  rot_units: u32,
  units: u32,
  // rope_vec.wgsl: invocations per token and tokens per workgroup (lanes · tpw ≤ WG).
  lanes: u32,
  tpw: u32,
  groups_x: u32,
  // Window bases, in the kernel's words (rope.wgsl: elements, even).
  x_base: u32,
  y_base: u32,
  // Elements between batches in positions: S for [B, S], 0 for [S].
  pos_bstride: u32,
  offset: i32,
  mscale: f32,
  // QK: k's heads per token (0 without QK) and its window bases (kx, yk), in the kernel's words.
  heads_k: u32,
  k_base: u32,
  yk_base: u32,
}
@group(0) @binding(4) var<uniform> p: Params;
