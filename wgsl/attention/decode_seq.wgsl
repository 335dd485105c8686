// Sequence b of a decode step: its length and whether it can be read — 0 ≤ length ≤ capacity
// and, paged, every block-table entry it uses names a block of the cache (the workgroup checks
// those together) — and where key j's row starts. Include in the entry point after `lid`, `b`
// (gives seq_len, seq_ok, both workgroup-uniform) with the workgroup's size WG; needs the
// binding lengths and decode_table_ok.wgsl at module scope.
  let seq_raw = lengths[p.len_base + b];
  let len_ok = seq_raw >= 0 && u32(seq_raw) <= p.capacity;
  let seq_len = select(0u, u32(seq_raw), len_ok);
  let tab_ok = table_ok(b, 0u, seq_len, lid);
  let seq_ok = len_ok && tab_ok;
