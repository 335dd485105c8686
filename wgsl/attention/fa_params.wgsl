// The Params of the attention forward kernels (FA_PARAMS in src/backend/webgpu/launchers/
// flash_attention.ts). Positions are element offsets; strides are (batch, position, head) in
// elements, so both layouts and packed varlen tensors are read in place. Head dims, the
// varlen/sinks/softcap switches and the tile's key count are runtime values: one pipeline
// per dtype, head-dim class and tier (few compiles; loops the driver cannot fully unroll).
struct Params {
  // Problem rows per (batch, kv head): Sq·G query rows of the G heads sharing a kv head
  // (varlen: totalQ·G).
  rows: u32,
  // Row blocks per (batch, kv head), workgroups in this dispatch (blocks·hkv·batches) and the
  // grid's x extent.
  blocks: u32,
  groups: u32,
  groups_x: u32,
  // Batches in this dispatch (varlen: the sequence count B).
  batches: u32,
  // Positions per batch (varlen: the packed totals).
  sq: u32,
  sk: u32,
  hq: u32,
  hkv: u32,
  group: u32,
  // Head dims D and Dv (multiples of 8, ≤ MAXD) and the keys per tile (= BK).
  d: u32,
  dv: u32,
  bk: u32,
  varlen: u32,
  has_sinks: u32,
  has_cap: u32,
  q_base: u32,
  q_sb: u32,
  q_ss: u32,
  q_sh: u32,
  k_base: u32,
  k_sb: u32,
  k_ss: u32,
  k_sh: u32,
  v_base: u32,
  v_sb: u32,
  v_ss: u32,
  v_sh: u32,
  o_base: u32,
  o_sb: u32,
  o_ss: u32,
  o_sh: u32,
  lse_base: u32,
  sink_base: u32,
  // queryOffset when given (else Sk − Sq of each sequence), window sides (2^30 = unbounded;
  // the host folds causal into right ≤ 0).
  has_offset: u32,
  offset: i32,
  left: i32,
  right: i32,
  scale: f32,
  cap: f32,
  inv_cap: f32,
}
