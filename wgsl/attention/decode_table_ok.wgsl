// Whether the block-table entries of keys [k0, k1) of sequence b (k0 < k1, or none) all name a
// block of the cache — always true for a contiguous cache. Every invocation checks a stride of
// the entries; the answer is workgroup-uniform. Call in uniform control flow (one barrier);
// needs the binding table, p (paged, block_size, table_base, max_blocks, num_blocks), WG, and
// the workgroup vars seq_bad_count (atomic<u32>) and seq_bad_flag (u32), each used by one call.
fn table_ok(b: u32, k0: u32, k1: u32, lid: u32) -> bool {
  if (p.paged != 0u) {
    let e1 = (k1 + p.block_size - 1u) / p.block_size;
    for (var x = k0 / p.block_size + lid; x < e1; x = x + WG) {
      let e = table[p.table_base + b * p.max_blocks + x];
      if (e < 0 || u32(e) >= p.num_blocks) {
        atomicAdd(&seq_bad_count, 1u);
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    seq_bad_flag = atomicLoad(&seq_bad_count);
  }
  return workgroupUniformLoad(&seq_bad_flag) == 0u;
}
