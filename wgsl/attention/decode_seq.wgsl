// Sequence b of a decode step: its length and whether it can be read — 0 ≤ length ≤ capacity
// and, paged, every block-table entry it uses names a block of the cache (the workgroup checks
// those together) — and where key j's row starts. Include in the entry point after `lid`, `b`
// (gives seq_len, seq_ok, both workgroup-uniform) with the workgroup's size WG; needs the
// bindings lengths, table and workgroup vars seq_bad_count, seq_bad_flag.
  let seq_raw = lengths[p.len_base + b];
  let len_ok = seq_raw >= 0 && u32(seq_raw) <= p.capacity;
  let seq_len = select(0u, u32(seq_raw), len_ok);
  if (!len_ok && lid == 0u) {
    atomicAdd(&seq_bad_count, 1u);
  }
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
  let seq_ok = workgroupUniformLoad(&seq_bad_flag) == 0u;
