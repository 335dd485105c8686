// Whether sequence b's used block-table entries (the blocks of its first seq_len keys) all
// name a block of the cache — always true for a contiguous cache. Every invocation checks a
// stride of the entries; the answer is workgroup-uniform. Call in uniform control flow (one
// barrier); needs the bindings table, p, and the workgroup vars seq_bad_count (atomic<u32>)
// and seq_bad_flag (u32), each used by one call.
fn table_ok(b: u32, seq_len: u32, lid: u32) -> bool {
  if (p.paged != 0u) {
    let used = (seq_len + p.block_size - 1u) / p.block_size;
    for (var x = lid; x < used; x = x + WG) {
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
